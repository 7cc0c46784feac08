package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/snapshot"
)

// keygen writes a pair the configuration reads back, prints its id, and
// never overwrites it.
func TestKeygen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	out, errOut, code := catsync(t, "keygen", "--out", dir, "--name", "prim")
	if code != 0 {
		t.Fatalf("keygen: %d %s", code, errOut)
	}
	pub, err := snapshot.ReadPublicKeyFile(filepath.Join(dir, "prim.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "key "+snapshot.KeyID(pub)) {
		t.Errorf("keygen printed %q, not the key id %s", out, snapshot.KeyID(pub))
	}
	fi, err := os.Stat(filepath.Join(dir, "prim.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("private key file: %v, %v", fi, err)
	}
	t.Setenv(config.SigningKeyEnv(config.RolePrimary), filepath.Join(dir, "prim.key"))
	t.Setenv(config.TrustedKeysEnv(config.RoleSecondary), filepath.Join(dir, "prim.pub"))
	cfg, err := config.Read()
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Keyring(config.RolePrimary).SignerID(); got != snapshot.KeyID(pub) {
		t.Errorf("primary signs with %q, want %s", got, snapshot.KeyID(pub))
	}
	if got := cfg.Keyring(config.RoleSecondary).TrustedIDs(); len(got) != 1 || got[0] != snapshot.KeyID(pub) {
		t.Errorf("secondary trusts %v", got)
	}

	if _, errOut, code := catsync(t, "keygen", "--out", dir, "--name", "prim"); code == 0 || !strings.Contains(errOut, "exists") {
		t.Errorf("keygen over an existing pair: %d %q", code, errOut)
	}
	if _, errOut, code := catsync(t, "keygen"); code == 0 || !strings.Contains(errOut, "--out is required") {
		t.Errorf("keygen without --out: %d %q", code, errOut)
	}
}
