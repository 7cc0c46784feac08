package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/snapshot"
)

func (c *cli) keygenCmd() *cobra.Command {
	var dir, name string
	cmd := &cobra.Command{
		Use:   "keygen --out DIR [--name NAME]",
		Short: "Write a snapshot signing key pair",
		Long: `Writes an Ed25519 key pair for signing snapshots: DIR/NAME.key, the private key
(PKCS #8 PEM, mode 0600), and DIR/NAME.pub, the public key (PKIX PEM). It overwrites
nothing. Give the private key to the site that signs with it
(CATSYNC_PRIMARY_SIGNING_KEY or CATSYNC_SECONDARY_SIGNING_KEY) and the public key to
the other site (its CATSYNC_..._TRUSTED_KEYS). It prints the key id, which signature
files and refusals name.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return fmt.Errorf("--out is required: the folder to write the key pair into")
			}
			f, err := snapshot.WriteKeyPair(dir, name)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.out, "key %s\nprivate key %s (for the signing site's %s or %s)\npublic key  %s (for the other site's %s or %s)\n",
				f.ID, f.Private, config.SigningKeyEnv(config.RolePrimary), config.SigningKeyEnv(config.RoleSecondary),
				f.Public, config.TrustedKeysEnv(config.RoleSecondary), config.TrustedKeysEnv(config.RolePrimary))
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "out", "", "the folder to write the key pair into (created if missing)")
	cmd.Flags().StringVar(&name, "name", "signing", "the files' name: NAME.key and NAME.pub")
	return cmd
}
