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
	"github.com/catsync/catsync/internal/kmip/ttlv"
)

// Tags and enumeration values of KMIP 1.x used here.
const (
	tagRequestMessage          ttlv.Tag = 0x420078
	tagRequestHeader           ttlv.Tag = 0x420077
	tagProtocolVersion         ttlv.Tag = 0x420069
	tagProtocolVersionMajor    ttlv.Tag = 0x42006A
	tagProtocolVersionMinor    ttlv.Tag = 0x42006B
	tagBatchCount              ttlv.Tag = 0x42000D
	tagBatchItem               ttlv.Tag = 0x42000F
	tagBatchErrorContinuation  ttlv.Tag = 0x42000E
	tagOperation               ttlv.Tag = 0x42005C
	tagUniqueBatchItemID       ttlv.Tag = 0x420093
	tagRequestPayload          ttlv.Tag = 0x420079
	tagResponseHeader          ttlv.Tag = 0x42007A
	tagResponsePayload         ttlv.Tag = 0x42007C
	tagResultStatus            ttlv.Tag = 0x42007F
	tagResultReason            ttlv.Tag = 0x42007E
	tagResultMessage           ttlv.Tag = 0x42007D
	tagUniqueIdentifier        ttlv.Tag = 0x420094
	tagObjectType              ttlv.Tag = 0x420057
	tagTemplateAttribute       ttlv.Tag = 0x420091
	tagAttribute               ttlv.Tag = 0x420008
	tagAttributeName           ttlv.Tag = 0x42000A
	tagAttributeValue          ttlv.Tag = 0x42000B
	tagNameValue               ttlv.Tag = 0x420055
	tagNameType                ttlv.Tag = 0x420054
	tagSymmetricKey            ttlv.Tag = 0x42008F
	tagKeyBlock                ttlv.Tag = 0x420040
	tagKeyFormatType           ttlv.Tag = 0x420042
	tagKeyValue                ttlv.Tag = 0x420045
	tagKeyMaterial             ttlv.Tag = 0x420043
	tagCryptographicAlgorithm  ttlv.Tag = 0x420028
	tagCryptographicLength     ttlv.Tag = 0x42002A
	tagRevocationReason        ttlv.Tag = 0x420081
	tagRevocationReasonCode    ttlv.Tag = 0x420082
	tagCryptographicParameters ttlv.Tag = 0x42002B
	tagBlockCipherMode         ttlv.Tag = 0x420011
	tagPaddingMethod           ttlv.Tag = 0x42005F
	tagData                    ttlv.Tag = 0x4200C2

	opCreate        = 0x01
	opRegister      = 0x03
	opLocate        = 0x08
	opGet           = 0x0A
	opGetAttributes = 0x0B
	opActivate      = 0x12
	opRevoke        = 0x13
	opEncrypt       = 0x1F

	objectSymmetricKey  = 0x02
	algorithmAES        = 0x03
	nameUninterpreted   = 0x01
	formatRaw           = 0x01
	usageEncryptDecrypt = 0x04 | 0x08
	reasonCessation     = 0x06
	modeECB             = 0x02
	paddingPKCS5        = 0x03
	statusSuccess       = 0x00
	continueOnError     = 0x01 // a failed batch item does not stop the others
	resultItemNotFound  = 0x01
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
	items := []ttlv.Item{ttlv.Struct(tagRequestHeader,
		ttlv.Struct(tagProtocolVersion, ttlv.Int(tagProtocolVersionMajor, 1), ttlv.Int(tagProtocolVersionMinor, 2)),
		ttlv.Enum(tagBatchErrorContinuation, continueOnError), ttlv.Int(tagBatchCount, int32(len(calls))))}
	for i, cl := range calls {
		items = append(items, ttlv.Struct(tagBatchItem, ttlv.Enum(tagOperation, uint32(cl.op)),
			ttlv.Bytes(tagUniqueBatchItemID, []byte(strconv.Itoa(i))), ttlv.Struct(tagRequestPayload, cl.payload...)))
	}
	msg, err := ttlv.Marshal(ttlv.Struct(tagRequestMessage, items...))
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
	for _, bi := range msg.All(tagBatchItem) {
		idx := 0
		if id, ok := bi.Find(tagUniqueBatchItemID); ok {
			raw, _ := id.Value.([]byte)
			if idx, err = strconv.Atoi(string(raw)); err != nil || idx < 0 || idx >= len(calls) {
				return nil, fmt.Errorf("KMIP answer names batch item %q, not one asked", raw)
			}
		}
		st, _ := bi.Find(tagResultStatus)
		status, _ := st.Value.(uint32)
		if status != statusSuccess {
			re := &ResultError{Operation: calls[idx].op, Status: status}
			if r, ok := bi.Find(tagResultReason); ok {
				re.Reason, _ = r.Value.(uint32)
			}
			if m, ok := bi.Find(tagResultMessage); ok {
				re.Message, _ = m.Value.(string)
			}
			if _, ok := bi.Find(tagUniqueBatchItemID); !ok && len(calls) > 1 {
				return nil, re // the server refused the whole request
			}
			out[idx].err = re
		} else {
			out[idx].payload, _ = bi.Find(tagResponsePayload)
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
