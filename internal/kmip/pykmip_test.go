package kmip

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/keys/keytest"
)

// requireEnv makes a missing PyKMIP a failure instead of a skip (CI sets it).
const requireEnv = "CATSYNC_REQUIRE_PYKMIP"

// pki is a test certificate authority.
type pki struct {
	dir  string
	ca   *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	seq  atomic.Int64
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "catsync test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &pki{dir: t.TempDir(), ca: ca, key: key, pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	writePEM(t, filepath.Join(p.dir, "ca.pem"), "CERTIFICATE", der)
	return p
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// issue makes a certificate for cn, for a server or a client, and writes
// it with its key; it returns the pair.
func (p *pki) issue(t *testing.T, cn string, server bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.seq.Add(1) + 1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(p.dir, cn+".pem"), "CERTIFICATE", der)
	der8, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(p.dir, cn+".key"), "EC PRIVATE KEY", der8)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// pykmip is a running PyKMIP server.
type pykmip struct {
	addr string
	pki  *pki
}

// startPyKMIP starts pykmip-server with certificates of its own CA, and
// stops it with SIGINT (it ignores SIGTERM) when the test ends.
func startPyKMIP(t *testing.T) *pykmip {
	t.Helper()
	bin, err := exec.LookPath("pykmip-server")
	if err != nil {
		if os.Getenv(requireEnv) != "" {
			t.Fatalf("pykmip-server is not installed (apt-get install python3-pykmip): %v", err)
		}
		t.Skip("pykmip-server is not installed (apt-get install python3-pykmip)")
	}
	p := newPKI(t)
	p.issue(t, "server", true)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	policies := filepath.Join(p.dir, "policies")
	if err := os.Mkdir(policies, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`[server]
hostname=127.0.0.1
port=%d
certificate_path=%s
key_path=%s
ca_path=%s
auth_suite=TLS1.2
policy_path=%s
enable_tls_client_auth=True
tls_cipher_suites=
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
logging_level=INFO
database_path=%s
`, port, filepath.Join(p.dir, "server.pem"), filepath.Join(p.dir, "server.key"), filepath.Join(p.dir, "ca.pem"), policies,
		filepath.Join(p.dir, "pykmip.db"))
	confPath := filepath.Join(p.dir, "server.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(p.dir, "server.log")
	cmd := exec.Command(bin, "-f", confPath, "-l", logPath)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			break
		}
		select {
		case err := <-done:
			log, _ := os.ReadFile(logPath)
			t.Fatalf("pykmip-server exited: %v\n%s", err, log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("pykmip-server did not listen on %s:\n%s", addr, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return &pykmip{addr: addr, pki: p}
}

// client connects as a client whose certificate names cn: PyKMIP gives
// each identity its own objects.
func (s *pykmip) client(t *testing.T, cn string) *Manager {
	t.Helper()
	cert := s.pki.issue(t, cn, false)
	m := &Manager{New(Config{Addr: s.addr, Timeout: 20 * time.Second,
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: s.pki.pool, MinVersion: tls.VersionTLS12}})}
	t.Cleanup(func() { m.Close() })
	return m
}

var identities atomic.Int64

func TestPyKMIPSuite(t *testing.T) {
	s := startPyKMIP(t)
	keytest.Run(t, func(t *testing.T) keys.Manager { return s.client(t, fmt.Sprintf("client%d", identities.Add(1))) })
}

func TestPyKMIPErrors(t *testing.T) {
	s := startPyKMIP(t)
	ctx := context.Background()

	// A client certificate from another CA: a configuration error naming
	// the endpoint, not something to retry.
	stranger := newPKI(t).issue(t, "stranger", false)
	m := &Manager{New(Config{Addr: s.addr, Timeout: 10 * time.Second,
		TLS: &tls.Config{Certificates: []tls.Certificate{stranger}, RootCAs: s.pki.pool, MinVersion: tls.VersionTLS12}})}
	defer m.Close()
	var ce *keys.ConfigError
	if _, err := m.Lookup(ctx, "BPPRIM01", []string{"K1"}); !errors.As(err, &ce) || ce.Endpoint != s.addr {
		t.Errorf("unknown client certificate: %v", err)
	}
	// A server we do not trust.
	m2 := &Manager{New(Config{Addr: s.addr, Timeout: 10 * time.Second,
		TLS: &tls.Config{Certificates: []tls.Certificate{s.pki.issue(t, "ok", false)}, RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}})}
	defer m2.Close()
	if _, err := m2.Lookup(ctx, "BPPRIM01", []string{"K1"}); !errors.As(err, &ce) {
		t.Errorf("untrusted server: %v", err)
	}
	// Nobody listening: retryable, not a configuration error.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	m3 := &Manager{New(Config{Addr: closed, Timeout: 2 * time.Second, TLS: &tls.Config{RootCAs: s.pki.pool}})}
	if _, err := m3.Lookup(ctx, "BPPRIM01", []string{"K1"}); err == nil || errors.As(err, &ce) {
		t.Errorf("refused connection: %v, want a retryable error", err)
	}
	// A server error carries its reason and message.
	c := s.client(t, "errors")
	_, err := c.Material(ctx, "999999")
	var re *ResultError
	if !errors.Is(err, keys.ErrNotFound) || !errors.As(err, &re) && err.Error() == "" {
		t.Errorf("unknown key: %v", err)
	}
}
