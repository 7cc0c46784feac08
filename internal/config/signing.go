package config

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"strings"

	"github.com/catsync/catsync/internal/snapshot"
)

// Signing are the sites' snapshot keys. Each site may sign (the snapshots
// it makes: the primary's always, the secondary's once a failover makes
// it the store's owner) and trusts the other site's keys; several trusted
// keys are a rotation.
type Signing struct {
	Primary, Secondary *snapshot.Keyring
}

// SigningKeyEnv and TrustedKeysEnv name a role's signing variables:
// CATSYNC_PRIMARY_SIGNING_KEY, the file of the private key the site signs
// its snapshots with, and CATSYNC_PRIMARY_TRUSTED_KEYS, the
// comma-separated public key files of the keys whose snapshots it accepts.
func SigningKeyEnv(role string) string  { return Prefix(role) + "_SIGNING_KEY" }
func TrustedKeysEnv(role string) string { return Prefix(role) + "_TRUSTED_KEYS" }

// readSigning reads both roles' keys. A variable that is set names files
// that must hold keys; an error names the variable and the file.
func readSigning() (Signing, error) {
	var s Signing
	for _, role := range []string{RolePrimary, RoleSecondary} {
		k, err := readKeyring(role)
		if err != nil {
			return s, err
		}
		if role == RolePrimary {
			s.Primary = k
		} else {
			s.Secondary = k
		}
	}
	return s, nil
}

func readKeyring(role string) (*snapshot.Keyring, error) {
	signEnv, trustEnv := SigningKeyEnv(role), TrustedKeysEnv(role)
	var priv ed25519.PrivateKey
	if path := strings.TrimSpace(os.Getenv(signEnv)); path != "" {
		var err error
		if priv, err = snapshot.ReadPrivateKeyFile(path); err != nil {
			return nil, fmt.Errorf("%s: %w", signEnv, err)
		}
	}
	var trusted []ed25519.PublicKey
	if v := strings.TrimSpace(os.Getenv(trustEnv)); v != "" {
		for _, path := range strings.Split(v, ",") {
			if path = strings.TrimSpace(path); path == "" {
				return nil, Bad(trustEnv, v, "want comma-separated public key files (catsync keygen writes them), without empty entries")
			}
			pub, err := snapshot.ReadPublicKeyFile(path)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", trustEnv, err)
			}
			trusted = append(trusted, pub)
		}
	}
	k := snapshot.NewKeyring(priv, trusted...)
	k.SignEnv, k.TrustEnv = signEnv, trustEnv
	return k, nil
}

// Keyring is the snapshot keys of a role's site: the secondary's for
// RoleSecondary, the primary's otherwise. A configuration not read from
// the environment has an empty one, which signs nothing and trusts no key.
func (c *Config) Keyring(role string) *snapshot.Keyring {
	k := c.Signing.Primary
	if role == RoleSecondary {
		k = c.Signing.Secondary
	}
	if k == nil {
		k = snapshot.NewKeyring(nil)
		k.SignEnv, k.TrustEnv = SigningKeyEnv(role), TrustedKeysEnv(role)
	}
	return k
}
