// Package pykmiptest starts a real PyKMIP server (Debian's python3-pykmip)
// for tests, with a CA, server and client certificates generated per test.
// PyKMIP gives each client identity (certificate common name) its own
// objects.
package pykmiptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
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
)

// requireEnv makes a missing PyKMIP a failure instead of a skip (CI sets it).
const RequireEnv = "CATSYNC_REQUIRE_PYKMIP"

// PKI is a test certificate authority writing its PEM files in Dir.
type PKI struct {
	Dir  string
	Pool *x509.CertPool
	ca   *x509.Certificate
	key  *ecdsa.PrivateKey
	seq  atomic.Int64
}

// NewPKI makes a CA; its certificate is Dir/ca.pem.
func NewPKI(t testing.TB) *PKI {
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
	p := &PKI{Dir: t.TempDir(), ca: ca, key: key, Pool: x509.NewCertPool()}
	p.Pool.AddCert(ca)
	writePEM(t, filepath.Join(p.Dir, "ca.pem"), "CERTIFICATE", der)
	return p
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Issue makes a certificate for cn, for a server or a client, and writes
// it as Dir/cn.pem with its key Dir/cn.key; it returns the pair.
func (p *PKI) Issue(t testing.TB, cn string, server bool) tls.Certificate {
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
	writePEM(t, filepath.Join(p.Dir, cn+".pem"), "CERTIFICATE", der)
	der8, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(p.Dir, cn+".key"), "EC PRIVATE KEY", der8)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// Server is a running PyKMIP server and the CA of its certificates.
type Server struct {
	Addr string
	PKI  *PKI

	bin, conf, log string
	cmd            *exec.Cmd
	done           chan error
}

// Start starts pykmip-server with certificates of its own CA, and stops it
// with SIGINT (it ignores SIGTERM) when the test ends. Without PyKMIP the
// test is skipped, or fails when RequireEnv is set.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("pykmip-server")
	if err != nil {
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("pykmip-server is not installed (apt-get install python3-pykmip): %v", err)
		}
		t.Skip("pykmip-server is not installed (apt-get install python3-pykmip)")
	}
	p := NewPKI(t)
	p.Issue(t, "server", true)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	policies := filepath.Join(p.Dir, "policies")
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
`, port, filepath.Join(p.Dir, "server.pem"), filepath.Join(p.Dir, "server.key"), filepath.Join(p.Dir, "ca.pem"), policies,
		filepath.Join(p.Dir, "pykmip.db"))
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), PKI: p, bin: bin,
		conf: filepath.Join(p.Dir, "server.conf"), log: filepath.Join(p.Dir, "server.log")}
	if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s.launch(t)
	t.Cleanup(s.Stop)
	return s
}

// launch starts the server on its configuration and waits until it
// listens. Its port may still be held a moment after a Stop: a server
// that exits at once is started again, until the deadline.
func (s *Server) launch(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.cmd = exec.Command(s.bin, "-f", s.conf, "-l", s.log)
		if err := s.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		s.done = make(chan error, 1)
		go func(cmd *exec.Cmd, done chan error) { done <- cmd.Wait() }(s.cmd, s.done)
		exited := s.listening(deadline)
		if exited == nil {
			return
		}
		s.done = nil
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(s.log)
			t.Fatalf("pykmip-server did not listen on %s: %v\n%s", s.Addr, exited, log)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// listening waits until the server accepts connections (nil) or exits
// (how it exited); past the deadline it says so.
func (s *Server) listening(deadline time.Time) error {
	for {
		if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		select {
		case err := <-s.done:
			return fmt.Errorf("exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			s.cmd.Process.Kill()
			return fmt.Errorf("not listening after 30s: %v", <-s.done)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Log is the server's log file, for a test to keep when it fails.
func (s *Server) Log() string { return s.log }

// Stop stops the server (SIGINT: it ignores SIGTERM), its objects kept in
// its database for a Restart; a server that does not stop is killed.
func (s *Server) Stop() {
	if s.done == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.done = nil
}

// Restart starts a stopped server again on the same address, database and
// certificates.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.launch(t)
}

// Client issues a client certificate for cn and returns the PEM files a
// site's configuration names: the CA, the certificate and its key.
func (s *Server) Client(t testing.TB, cn string) (ca, cert, key string) {
	s.PKI.Issue(t, cn, false)
	return filepath.Join(s.PKI.Dir, "ca.pem"), filepath.Join(s.PKI.Dir, cn+".pem"), filepath.Join(s.PKI.Dir, cn+".key")
}
