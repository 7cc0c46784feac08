package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/store"
)

func (c *cli) parityCmd() *cobra.Command {
	return c.twoSiteCmd("parity --store ID",
		"Prove that the secondary's key manager holds the key of every encrypted volume of a data store; exit 1 if not",
		`Looks up the key of every encrypted volume of the data store on the primary in the
primary's key manager (CATSYNC_PRIMARY_KEYS) and in the secondary's (CATSYNC_SECONDARY_KEYS):
each must be there under the primary's BackPak id, active, with the same fingerprint, and
the secondary domain must have a key-manager entry with that BackPak id. Lists every key
not in parity; writes nothing.`,
		"print the report as JSON", nil, c.parity)
}

func (c *cli) parity(ctx context.Context, p, s store.Store, storeID string, asJSON bool) error {
	var managers [2]keys.Manager
	for i, role := range []string{config.RolePrimary, config.RoleSecondary} {
		m, err := siteKeys(role, "parity compares the "+role+"'s keys")
		if err != nil {
			return err
		}
		defer m.Close()
		managers[i] = m
	}
	r, err := parity.ProveStore(ctx, parity.Site{Catalog: p, Keys: managers[0]}, parity.Site{Catalog: s, Keys: managers[1]}, storeID)
	if err != nil {
		return err
	}
	if asJSON {
		if err := json.NewEncoder(c.out).Encode(r); err != nil {
			return err
		}
	} else {
		printParity(c.out, &r)
	}
	if r.Failed() {
		return fmt.Errorf("data store %s: %d of %d encrypted volumes' keys not in parity", storeID, r.Volumes-r.OK, r.Volumes)
	}
	return nil
}
