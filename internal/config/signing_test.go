package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/snapshot"
)

func TestSigningVariables(t *testing.T) {
	dir := t.TempDir()
	prim, err := snapshot.WriteKeyPair(dir, "prim")
	if err != nil {
		t.Fatal(err)
	}
	old, _ := snapshot.WriteKeyPair(dir, "old")
	t.Setenv("CATSYNC_PRIMARY_SIGNING_KEY", prim.Private)
	// Rotation: the old key beside the new one.
	t.Setenv("CATSYNC_SECONDARY_TRUSTED_KEYS", old.Public+", "+prim.Public)
	c, err := Read()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Keyring(RolePrimary).SignerID(); got != prim.ID {
		t.Errorf("primary signs with %q, want %s", got, prim.ID)
	}
	if got := strings.Join(c.Keyring(RoleSecondary).TrustedIDs(), ","); len(c.Keyring(RoleSecondary).TrustedIDs()) != 2 ||
		!strings.Contains(got, prim.ID) || !strings.Contains(got, old.ID) {
		t.Errorf("secondary trusts %s", got)
	}
	if err := c.Keyring(RoleSecondary).CanSign(); err == nil || !strings.Contains(err.Error(), "CATSYNC_SECONDARY_SIGNING_KEY is not set") {
		t.Errorf("secondary without a signing key: %v", err)
	}

	for _, c := range []struct {
		env, value string
		want       []string
	}{
		{"CATSYNC_PRIMARY_SIGNING_KEY", filepath.Join(dir, "missing.key"), []string{"CATSYNC_PRIMARY_SIGNING_KEY", "missing.key"}},
		{"CATSYNC_PRIMARY_SIGNING_KEY", prim.Public, []string{"CATSYNC_PRIMARY_SIGNING_KEY", prim.Public}},
		{"CATSYNC_SECONDARY_TRUSTED_KEYS", prim.Private, []string{"CATSYNC_SECONDARY_TRUSTED_KEYS", prim.Private, "want \"PUBLIC KEY\""}},
		{"CATSYNC_SECONDARY_TRUSTED_KEYS", prim.Public + ",", []string{"CATSYNC_SECONDARY_TRUSTED_KEYS", "without empty entries"}},
		{"CATSYNC_PRIMARY_TRUSTED_KEYS", filepath.Join(dir, "nope.pub"), []string{"CATSYNC_PRIMARY_TRUSTED_KEYS", "nope.pub"}},
	} {
		t.Run(c.env+"="+filepath.Base(c.value), func(t *testing.T) {
			t.Setenv(c.env, c.value)
			_, err := Read()
			for _, w := range c.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("%v does not say %q", err, w)
				}
			}
		})
	}

	// A private key others may read is refused, as ssh refuses it.
	if err := os.Chmod(prim.Private, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(); err == nil || !strings.Contains(err.Error(), "CATSYNC_PRIMARY_SIGNING_KEY") || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a private key readable by others: %v", err)
	}
}
