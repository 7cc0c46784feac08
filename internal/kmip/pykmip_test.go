package kmip

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/keys/keytest"
	"github.com/catsync/catsync/internal/kmip/pykmiptest"
)

// client connects as a client whose certificate names cn: PyKMIP gives
// each identity its own objects.
func client(t *testing.T, s *pykmiptest.Server, cn string) *Manager {
	t.Helper()
	cert := s.PKI.Issue(t, cn, false)
	m := &Manager{New(Config{Addr: s.Addr, Timeout: 20 * time.Second,
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: s.PKI.Pool, MinVersion: tls.VersionTLS12}})}
	t.Cleanup(func() { m.Close() })
	return m
}

var identities atomic.Int64

func TestPyKMIPSuite(t *testing.T) {
	s := pykmiptest.Start(t)
	keytest.Run(t, func(t *testing.T) keys.Manager { return client(t, s, fmt.Sprintf("client%d", identities.Add(1))) })
}

func TestPyKMIPErrors(t *testing.T) {
	s := pykmiptest.Start(t)
	ctx := context.Background()

	// A client certificate from another CA: a configuration error naming
	// the endpoint, not something to retry.
	stranger := pykmiptest.NewPKI(t).Issue(t, "stranger", false)
	m := &Manager{New(Config{Addr: s.Addr, Timeout: 10 * time.Second,
		TLS: &tls.Config{Certificates: []tls.Certificate{stranger}, RootCAs: s.PKI.Pool, MinVersion: tls.VersionTLS12}})}
	defer m.Close()
	var ce *keys.ConfigError
	if _, err := m.Lookup(ctx, "BPPRIM01", []string{"K1"}); !errors.As(err, &ce) || ce.Endpoint != s.Addr {
		t.Errorf("unknown client certificate: %v", err)
	}
	// A server we do not trust.
	m2 := &Manager{New(Config{Addr: s.Addr, Timeout: 10 * time.Second,
		TLS: &tls.Config{Certificates: []tls.Certificate{s.PKI.Issue(t, "ok", false)}, RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}})}
	defer m2.Close()
	if _, err := m2.Lookup(ctx, "BPPRIM01", []string{"K1"}); !errors.As(err, &ce) {
		t.Errorf("untrusted server: %v", err)
	}
	// Nobody listening: retryable, not a configuration error.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	m3 := &Manager{New(Config{Addr: closed, Timeout: 2 * time.Second, TLS: &tls.Config{RootCAs: s.PKI.Pool}})}
	if _, err := m3.Lookup(ctx, "BPPRIM01", []string{"K1"}); err == nil || errors.As(err, &ce) {
		t.Errorf("refused connection: %v, want a retryable error", err)
	}
	// A server error carries its reason and message.
	c := client(t, s, "errors")
	_, err := c.Material(ctx, "999999")
	var re *ResultError
	if !errors.Is(err, keys.ErrNotFound) || !errors.As(err, &re) && err.Error() == "" {
		t.Errorf("unknown key: %v", err)
	}
}
