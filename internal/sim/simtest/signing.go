package simtest

import (
	"path/filepath"
	"testing"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/snapshot"
)

// Signing writes a key pair per site into dir and returns the sites'
// keys read back from the files: each site signs with its own key and
// trusts the other's, so that syncs run both ways (a failback too).
func Signing(t testing.TB, dir string) config.Signing {
	t.Helper()
	files := map[string]snapshot.KeyFiles{}
	for _, role := range []string{config.RolePrimary, config.RoleSecondary} {
		f, err := snapshot.WriteKeyPair(filepath.Join(dir, "signing"), role)
		if err != nil {
			t.Fatal(err)
		}
		files[role] = f
	}
	other := map[string]string{config.RolePrimary: config.RoleSecondary, config.RoleSecondary: config.RolePrimary}
	var s config.Signing
	for role, f := range files {
		priv, err := snapshot.ReadPrivateKeyFile(f.Private)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := snapshot.ReadPublicKeyFile(files[other[role]].Public)
		if err != nil {
			t.Fatal(err)
		}
		k := snapshot.NewKeyring(priv, pub)
		k.SignEnv, k.TrustEnv = config.SigningKeyEnv(role), config.TrustedKeysEnv(role)
		if role == config.RolePrimary {
			s.Primary = k
		} else {
			s.Secondary = k
		}
	}
	return s
}
