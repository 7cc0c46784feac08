// Package keyconf opens the key manager a site's configuration names: the
// embedded keystore (keystore:PATH) or a KMIP server (kmip://HOST:PORT)
// reached over mutual TLS with the site's certificate.
package keyconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/keys/keystore"
	"github.com/catsync/catsync/internal/kmip"
)

// Open opens the key manager of the site of role in cfg (an embedded
// keystore opens under cfg's master key); errors name the variable at
// fault. A site without one gives nil and no error: callers decide whether
// they need it.
func Open(cfg *config.Config, role string) (keys.Manager, error) {
	site, prefix := cfg.Site(role), config.Prefix(role)
	spec := strings.TrimSpace(site.Keys)
	switch {
	case spec == "":
		return nil, nil
	case strings.HasPrefix(spec, "keystore:"):
		path := strings.TrimPrefix(spec, "keystore:")
		if path == "" {
			return nil, fmt.Errorf("%s_KEYS=%q: give the keystore file, keystore:PATH", prefix, spec)
		}
		master, err := cfg.KeystoreMasterKey()
		if err != nil {
			return nil, err
		}
		ks, err := keystore.Open(path, master)
		var notOpened *fs.PathError
		switch {
		case err == nil:
			return ks, nil
		case errors.As(err, &notOpened):
			return nil, config.PathError(prefix+"_KEYS", spec, path, err)
		}
		// The file opened but does not read back under this master key.
		return nil, config.Wrap(prefix+"_KEYS", spec, err, "check that "+config.MasterKeyEnv+" is the key it was written under")
	case strings.HasPrefix(spec, "kmip://"):
		addr := strings.TrimPrefix(spec, "kmip://")
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("%s_KEYS=%q: want kmip://HOST:PORT", prefix, spec)
		}
		cfg, err := tlsConfig(site.KMIP, prefix+"_KMIP")
		if err != nil {
			return nil, err
		}
		cfg.ServerName = host
		return &kmip.Manager{Client: kmip.New(kmip.Config{Addr: addr, TLS: cfg})}, nil
	}
	return nil, fmt.Errorf("%s_KEYS=%q: want keystore:PATH or kmip://HOST:PORT", prefix, spec)
}

func tlsConfig(f config.KMIPFiles, prefix string) (*tls.Config, error) {
	for _, v := range []struct{ value, name string }{{f.CA, "CA"}, {f.Cert, "CERT"}, {f.Key, "KEY"}} {
		if v.value == "" {
			return nil, fmt.Errorf("%s_%s is not set: a KMIP server is reached over mutual TLS with a CA, a client certificate and its key", prefix, v.name)
		}
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("%s_CERT/%s_KEY: %w", prefix, prefix, err)
	}
	pem, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, fmt.Errorf("%s_CA: %w", prefix, err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s_CA=%s: no PEM certificate in it", prefix, f.CA)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, MinVersion: tls.VersionTLS12}, nil
}
