package snapshot

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteKeyPairAndReadItBack(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	f, err := WriteKeyPair(dir, "prim")
	if err != nil {
		t.Fatal(err)
	}
	for path, mode := range map[string]os.FileMode{f.Private: 0o600, f.Public: 0o644} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, %v; want mode %04o", path, fi.Mode(), err, mode)
		}
	}
	priv, err := ReadPrivateKeyFile(f.Private)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ReadPublicKeyFile(f.Public)
	if err != nil {
		t.Fatal(err)
	}
	k := NewKeyring(priv, pub)
	if k.SignerID() != f.ID || KeyID(pub) != f.ID || len(f.ID) != 16 {
		t.Errorf("key ids: signer %s, public %s, written %s", k.SignerID(), KeyID(pub), f.ID)
	}

	// Nothing is overwritten.
	before, _ := os.ReadFile(f.Private)
	if _, err := WriteKeyPair(dir, "prim"); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("second keygen: %v", err)
	}
	if after, _ := os.ReadFile(f.Private); string(after) != string(before) {
		t.Error("the private key was overwritten")
	}
	// Nor is the half of a pair: the private key is not written either.
	if err := os.WriteFile(filepath.Join(dir, "half.pub"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteKeyPair(dir, "half"); err == nil || exists(filepath.Join(dir, "half.key")) {
		t.Errorf("keygen over a public key file: %v", err)
	}
}

func TestReadKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	f, err := WriteKeyPair(dir, "site")
	if err != nil {
		t.Fatal(err)
	}
	// Others' access or the group's write is refused; the group's read
	// is how a Kubernetes secret reaches a worker that does not own it.
	for mode, ok := range map[os.FileMode]bool{0o600: true, 0o400: true, 0o640: true, 0o440: true,
		0o604: false, 0o644: false, 0o660: false, 0o620: false, 0o602: false, 0o601: false, 0o610: true} {
		if err := os.Chmod(f.Private, mode); err != nil {
			t.Fatal(err)
		}
		_, err := ReadPrivateKeyFile(f.Private)
		if ok != (err == nil) {
			t.Errorf("a private key of mode %04o: %v, want refused %v", mode, err, !ok)
		}
		if err != nil && (!strings.Contains(err.Error(), fmt.Sprintf("mode %04o", mode)) || !strings.Contains(err.Error(), "chmod 600 "+f.Private)) {
			t.Errorf("a private key of mode %04o: %v", mode, err)
		}
	}
	os.Chmod(f.Private, 0o600)
	// Each file read as the other kind.
	if _, err := ReadPublicKeyFile(f.Private); err == nil || !strings.Contains(err.Error(), `"PRIVATE KEY" PEM block, want "PUBLIC KEY"`) {
		t.Errorf("a private key read as a public one: %v", err)
	}
	pubCopy := filepath.Join(dir, "pub-as-key")
	b, _ := os.ReadFile(f.Public)
	os.WriteFile(pubCopy, b, 0o600)
	if _, err := ReadPrivateKeyFile(pubCopy); err == nil || !strings.Contains(err.Error(), pubCopy) {
		t.Errorf("a public key read as a private one: %v", err)
	}
	garbage := filepath.Join(dir, "garbage")
	os.WriteFile(garbage, []byte("not a key"), 0o600)
	for _, read := range []func(string) error{
		func(p string) error { _, err := ReadPrivateKeyFile(p); return err },
		func(p string) error { _, err := ReadPublicKeyFile(p); return err },
	} {
		if err := read(garbage); err == nil || !strings.Contains(err.Error(), "no PEM block") {
			t.Errorf("garbage: %v", err)
		}
		if err := read(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
			t.Errorf("missing file: %v", err)
		}
	}
}
