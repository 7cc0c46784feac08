// Package kmip is a small KMIP 1.2 client over mutual TLS: the operations
// catsync needs (Locate, Get Attributes, Get, Create, Register, Activate,
// Revoke, Encrypt), sent in batches so that checking many keys costs few
// round trips.
package kmip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/kmip/spec"
	"github.com/catsync/catsync/internal/kmip/ttlv"
)

// Config says how to reach a KMIP server.
type Config struct {
	Addr    string // host:port
	TLS     *tls.Config
	Timeout time.Duration // per round trip (default 30 s)
	Batch   int           // items per request (default 250)
}

// Client talks to one KMIP server over one connection, reopened when it
// breaks.
type Client struct {
	cfg  Config
	mu   sync.Mutex
	conn net.Conn
}

// New returns a client; it connects on first use.
func New(cfg Config) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 250
	}
	return &Client{cfg: cfg}
}

// ResultError is a batch item the server refused, with its reason.
type ResultError struct {
	Operation int
	Status    uint32
	Reason    uint32
	Message   string
}

func (e *ResultError) Error() string {
	return fmt.Sprintf("KMIP operation 0x%02x: result status %d, reason %d: %s", e.Operation, e.Status, e.Reason, e.Message)
}

// call is one batch item of a request.
type call struct {
	op      int
	payload []ttlv.Item
}

// result is a batch item's answer: its payload, or the server's refusal.
type result struct {
	payload ttlv.Item
	err     *ResultError
}

// roundTrip sends calls in one request message and returns one result per
// call, in order. Network failures are returned as they are (retryable);
// a TLS handshake or certificate failure as a keys.ConfigError.
func (c *Client) roundTrip(ctx context.Context, calls []call) ([]result, error) {
	items := []ttlv.Item{ttlv.Struct(spec.TagRequestHeader,
		ttlv.Struct(spec.TagProtocolVersion, ttlv.Int(spec.TagProtocolVersionMajor, 1), ttlv.Int(spec.TagProtocolVersionMinor, 2)),
		ttlv.Enum(spec.TagBatchErrorContinuation, spec.BatchContinue), ttlv.Int(spec.TagBatchCount, int32(len(calls))))}
	for i, cl := range calls {
		items = append(items, ttlv.Struct(spec.TagBatchItem, ttlv.Enum(spec.TagOperation, uint32(cl.op)),
			ttlv.Bytes(spec.TagUniqueBatchItemID, []byte(strconv.Itoa(i))), ttlv.Struct(spec.TagRequestPayload, cl.payload...)))
	}
	msg, err := ttlv.Marshal(ttlv.Struct(spec.TagRequestMessage, items...))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	resp, err := c.exchange(ctx, msg)
	if err != nil {
		if c.conn != nil {
			c.conn.Close()
			c.conn = nil
		}
		return nil, err
	}
	return parseResponse(resp, calls)
}

func (c *Client) exchange(ctx context.Context, msg []byte) ([]byte, error) {
	if c.conn == nil {
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: c.cfg.Timeout}, Config: c.cfg.TLS}
		conn, err := d.DialContext(ctx, "tcp", c.cfg.Addr)
		if err != nil {
			return nil, classifyConn(c.cfg.Addr, err)
		}
		c.conn = conn
	}
	deadline := time.Now().Add(c.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	// In TLS 1.3 a server refusing our certificate says so after the
	// handshake: its alert comes with the first write or read.
	if _, err := c.conn.Write(msg); err != nil {
		return nil, classifyConn(c.cfg.Addr, err)
	}
	resp, err := ttlv.ReadMessage(c.conn)
	if err != nil {
		var te *ttlv.Error
		if errors.As(err, &te) {
			return nil, &keys.ConfigError{Endpoint: c.cfg.Addr, Err: fmt.Errorf("not a KMIP answer: %w", err)}
		}
		return nil, classifyConn(c.cfg.Addr, err)
	}
	return resp, nil
}

// classifyConn tells a server that cannot be reached now (retryable) from
// one that refuses who we are, or that we do not trust (configuration).
func classifyConn(addr string, err error) error {
	var certErr *tls.CertificateVerificationError
	var alert tls.AlertError
	var recErr tls.RecordHeaderError
	var opErr *net.OpError
	remoteAlert := errors.As(err, &opErr) && opErr.Op == "remote error" // the server refused the handshake
	if remoteAlert || errors.As(err, &certErr) || errors.As(err, &alert) || errors.As(err, &recErr) {
		return &keys.ConfigError{Endpoint: addr, Err: fmt.Errorf("TLS: %w", err)}
	}
	return fmt.Errorf("KMIP server %s: %w", addr, err)
}

func parseResponse(b []byte, calls []call) ([]result, error) {
	msg, err := ttlv.Unmarshal(b)
	if err != nil {
		return nil, err
	}
	out := make([]result, len(calls))
	seen := 0
	for _, bi := range msg.All(spec.TagBatchItem) {
		idx := 0
		if id, ok := bi.Find(spec.TagUniqueBatchItemID); ok {
			raw, _ := id.Value.([]byte)
			if idx, err = strconv.Atoi(string(raw)); err != nil || idx < 0 || idx >= len(calls) {
				return nil, fmt.Errorf("KMIP answer names batch item %q, not one asked", raw)
			}
		}
		st, _ := bi.Find(spec.TagResultStatus)
		status, _ := st.Value.(uint32)
		if status != spec.StatusSuccess {
			re := &ResultError{Operation: calls[idx].op, Status: status}
			if r, ok := bi.Find(spec.TagResultReason); ok {
				re.Reason, _ = r.Value.(uint32)
			}
			if m, ok := bi.Find(spec.TagResultMessage); ok {
				re.Message, _ = m.Value.(string)
			}
			if _, ok := bi.Find(spec.TagUniqueBatchItemID); !ok && len(calls) > 1 {
				return nil, re // the server refused the whole request
			}
			out[idx].err = re
		} else {
			out[idx].payload, _ = bi.Find(spec.TagResponsePayload)
		}
		seen++
	}
	if seen != len(calls) {
		return nil, fmt.Errorf("KMIP answer holds %d batch items for %d asked", seen, len(calls))
	}
	return out, nil
}

// Close closes the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}
