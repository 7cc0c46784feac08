package snapshot

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Key files are PEM: a private key as PKCS #8 ("PRIVATE KEY"), a public
// key as PKIX ("PUBLIC KEY"), the forms `openssl genpkey -algorithm
// ed25519` and `openssl pkey -pubout` write too.
const (
	privatePEM = "PRIVATE KEY"
	publicPEM  = "PUBLIC KEY"
)

// KeyFiles are the files of a key pair written by WriteKeyPair.
type KeyFiles struct {
	Private, Public string
	ID              string // the public key's KeyID
}

// WriteKeyPair generates an Ed25519 key pair and writes it into dir as
// name.key (the private key, mode 0600) and name.pub (the public key, mode
// 0644). It overwrites nothing: a file already there is an error naming
// it, and neither file is written.
func WriteKeyPair(dir, name string) (KeyFiles, error) {
	f := KeyFiles{Private: filepath.Join(dir, name+".key"), Public: filepath.Join(dir, name+".pub")}
	for _, p := range []string{f.Private, f.Public} {
		if _, err := os.Lstat(p); err == nil {
			return f, fmt.Errorf("%s exists: a key file is never overwritten; move it away or choose another name", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return f, err
		}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return f, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return f, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return f, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return f, err
	}
	if err := writeNew(f.Private, 0o600, pem.EncodeToMemory(&pem.Block{Type: privatePEM, Bytes: der})); err != nil {
		return f, err
	}
	if err := writeNew(f.Public, 0o644, pem.EncodeToMemory(&pem.Block{Type: publicPEM, Bytes: pubDER})); err != nil {
		os.Remove(f.Private)
		return f, err
	}
	f.ID = KeyID(pub)
	return f, nil
}

// writeNew writes a file that must not exist yet, with mode perm whatever
// the umask.
func writeNew(path string, perm os.FileMode, b []byte) error {
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if err := out.Chmod(perm); err != nil {
		out.Close()
		os.Remove(path)
		return err
	}
	if _, err := out.Write(b); err != nil {
		out.Close()
		os.Remove(path)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(path)
		return err
	}
	return out.Close()
}

// ReadPrivateKeyFile reads an Ed25519 private key file. Like ssh with its
// identity files, it refuses a file that others may read or write, or its
// group write: whoever can read it can sign snapshots the other site
// trusts. Group read is allowed, as for the TLS keys: a Kubernetes secret
// reaches a worker that does not own it through its group (fsGroup).
// Errors name the file but never quote its content.
func ReadPrivateKeyFile(path string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o027 != 0 {
		return nil, fmt.Errorf("private key file %s has mode %04o: it must be readable by its owner (and group) only, writable by its owner only (chmod 600 %s)", path, fi.Mode().Perm(), path)
	}
	der, err := readPEM(path, privatePEM)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("private key file %s: not a PKCS #8 private key", path)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key file %s: a %T, not an Ed25519 key", path, k)
	}
	return priv, nil
}

// ReadPublicKeyFile reads an Ed25519 public key file.
func ReadPublicKeyFile(path string) (ed25519.PublicKey, error) {
	der, err := readPEM(path, publicPEM)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("public key file %s: not a PKIX public key: %v", path, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key file %s: a %T, not an Ed25519 key", path, k)
	}
	return pub, nil
}

// readPEM returns the DER bytes of the first PEM block of a file, which
// must be of type typ.
func readPEM(path, typ string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("key file %s: no PEM block: want a %q PEM file (catsync keygen writes one)", path, typ)
	}
	if block.Type != typ {
		return nil, fmt.Errorf("key file %s holds a %q PEM block, want %q", path, block.Type, typ)
	}
	return block.Bytes, nil
}
