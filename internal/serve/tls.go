package serve

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/catsync/catsync/internal/config"
)

// Secure sets the transport security of opts from cfg.TLS: TLS, the
// client certificate of mutual TLS, the server's CA and name, and the API
// key. The files are read and checked here, so that a bad one is named
// by its variable rather than by the TLS handshake's words.
func Secure(cfg *config.Config, opts *client.Options) error {
	t := cfg.TLS
	if !t.Enabled {
		return nil
	}
	prof := envconfig.ClientConfigProfile{APIKey: t.APIKey, TLS: &envconfig.ClientConfigTLS{
		ServerName: t.ServerName, DisableHostVerification: t.NoHostVerify}}
	if t.Mutual() {
		cert, err := readPEM(t.Cert, "CERTIFICATE")
		if err != nil {
			return err
		}
		key, err := readPEM(t.Key, "")
		if err != nil {
			return err
		}
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return config.Wrap(t.Key.Setting(), t.Key.Path, err, "the private key does not match "+t.Cert.Setting()+"'s certificate: give the key the certificate was issued for")
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return config.Wrap(t.Cert.Setting(), t.Cert.Path, err, "")
		}
		// The frontend's refusal of an expired certificate says only
		// "bad certificate": say it here, with the date.
		if now := time.Now(); now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
			return config.Bad(t.Cert.Setting(), t.Cert.Path, fmt.Sprintf("the client certificate %q is valid from %s to %s only: renew it",
				leaf.Subject.CommonName, leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339)))
		}
		prof.TLS.ClientCertData, prof.TLS.ClientKeyData = cert, key
	}
	if t.CA.Set() {
		ca, err := readPEM(t.CA, "CERTIFICATE")
		if err != nil {
			return err
		}
		if !x509.NewCertPool().AppendCertsFromPEM(ca) {
			return config.Bad(t.CA.Setting(), t.CA.Path, "holds no PEM certificate: give the CA that signed the frontend's certificate")
		}
		prof.TLS.ServerCACertData = ca
	}
	// The SDK's own reading of the standard settings makes the TLS
	// configuration and the API key's credentials, as its other clients do.
	o, err := prof.ToClientOptions(envconfig.ToClientOptionsRequest{})
	if err != nil {
		return fmt.Errorf("%s: %w", config.TLSEnv, err)
	}
	opts.ConnectionOptions.TLS = o.ConnectionOptions.TLS
	if o.Credentials != nil {
		opts.Credentials = o.Credentials
	}
	return nil
}

// readPEM reads a PEM item from its file or its variable; want is the
// block type it must hold ("" for a private key, of whatever type).
func readPEM(p config.PEM, want string) ([]byte, error) {
	data := []byte(p.Data)
	if p.Path != "" {
		var err error
		if data, err = os.ReadFile(p.Path); err != nil {
			return nil, config.PathError(p.PathEnv, p.Path, p.Path, err)
		}
	}
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type == want || (want == "" && strings.HasSuffix(b.Type, "PRIVATE KEY")) {
			return data, nil
		}
	}
	what := "a PEM " + strings.ToLower(want)
	if want == "" {
		what = "a PEM private key"
	}
	return nil, config.Bad(p.Setting(), p.Path, "holds no "+what)
}

// dialError is the error of a failed dial, naming the variable to fix: a
// TLS failure is not a server that is down.
func dialError(cfg *config.Config, err error) error {
	addr, text := cfg.TemporalAddress, err.Error()
	t := cfg.TLS
	switch {
	case !t.Enabled && (strings.Contains(text, "server preface") || strings.Contains(text, "connection reset") ||
		strings.Contains(text, "EOF") || strings.Contains(text, "http2")):
		// A TLS frontend hangs up on a clear-text client.
		return config.Wrap(config.TLSEnv, "", err, fmt.Sprintf(
			"the frontend at %s closed the connection: does it require TLS? set %s=true and the client certificate (%s, %s)",
			addr, config.TLSEnv, config.TLSCertPathEnv, config.TLSKeyPathEnv))
	case t.Enabled && !t.Mutual() && (strings.Contains(text, "broken pipe") || strings.Contains(text, "connection reset") ||
		strings.Contains(text, "EOF")):
		// A frontend requiring a client certificate hangs up on a client
		// with none, often before its alert is read.
		return config.Wrap(config.TLSCertPathEnv, "", err, fmt.Sprintf(
			"the frontend at %s closed the connection: does it require a client certificate? set %s and %s", addr, config.TLSCertPathEnv, config.TLSKeyPathEnv))
	case t.Mutual() && (strings.Contains(text, "broken pipe") || strings.Contains(text, "connection reset") ||
		strings.Contains(text, "EOF")):
		// The client sends no certificate the frontend's CAs did not
		// issue, and the frontend hangs up on it.
		return config.Wrap(t.Cert.Setting(), t.Cert.Path, err, fmt.Sprintf(
			"the frontend at %s closed the connection: it does not accept this client certificate%s; give one issued by a CA it trusts",
			addr, issuer(t.Cert)))
	case t.Enabled && (strings.Contains(text, "certificate required") || strings.Contains(text, "bad certificate") ||
		strings.Contains(text, "unknown certificate authority") || strings.Contains(text, "certificate revoked") ||
		strings.Contains(text, "expired certificate")):
		if !t.Mutual() {
			return config.Wrap(config.TLSCertPathEnv, "", err, fmt.Sprintf(
				"the frontend at %s requires a client certificate: set %s and %s", addr, config.TLSCertPathEnv, config.TLSKeyPathEnv))
		}
		return config.Wrap(t.Cert.Setting(), t.Cert.Path, err, fmt.Sprintf(
			"the frontend at %s refused this client certificate%s: give one issued by a CA it trusts", addr, issuer(t.Cert)))
	case t.Enabled && (strings.Contains(text, "x509:") || errors.As(err, new(*tls.CertificateVerificationError))):
		return config.Wrap(config.TLSCAPathEnv, t.CA.Path, err, fmt.Sprintf(
			"the certificate of the frontend at %s is not trusted: set %s to the CA that signed it, and %s to a name it holds",
			addr, config.TLSCAPathEnv, config.TLSServerNameEnv))
	case t.Enabled && (strings.Contains(text, "first record does not look like a TLS handshake") || strings.Contains(text, "tls:")):
		return config.Wrap(config.TLSEnv, "", err, fmt.Sprintf("TLS to %s failed: does the frontend speak TLS? if not, unset %s and the TEMPORAL_TLS_* variables", addr, config.TLSEnv))
	}
	return config.Wrap(AddressEnv, addr, err, "is the Temporal server running there? start it, or correct "+AddressEnv)
}

// issuer names the CA of the client certificate, for messages; "" when
// it cannot be read.
func issuer(p config.PEM) string {
	data, err := readPEM(p, "CERTIFICATE")
	if err != nil {
		return ""
	}
	b, rest := pem.Decode(data)
	for b != nil && b.Type != "CERTIFICATE" {
		b, rest = pem.Decode(rest)
	}
	if b == nil {
		return ""
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return ""
	}
	return fmt.Sprintf(" (issued by %q)", c.Issuer.CommonName)
}
