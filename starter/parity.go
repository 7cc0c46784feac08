package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/importer"
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
		"print the report as JSON", c.parity)
}

func (c *cli) parity(ctx context.Context, p, s store.Store, opts importer.Options, asJSON bool) error {
	var managers [2]keys.Manager
	for i, role := range []string{config.RolePrimary, config.RoleSecondary} {
		m, err := siteKeys(role, "parity compares the "+role+"'s keys")
		if err != nil {
			return err
		}
		defer m.Close()
		managers[i] = m
	}
	psite, err := p.Site(ctx)
	if err != nil {
		return fmt.Errorf("primary: %w", err)
	}
	ssite, err := s.Site(ctx)
	if err != nil {
		return fmt.Errorf("secondary: %w", err)
	}
	// The scan must end before the key managers are asked: collect first.
	var vols []catalog.Volume
	if err := p.ScanVolumes(ctx, store.Filter{StoreID: opts.StoreID}, func(v *catalog.Volume) error {
		if v.MediaKeyName != "" {
			vols = append(vols, *v)
		}
		return nil
	}); err != nil {
		return err
	}
	chk := parity.New(managers[1], ssite, psite.BackPakID, true, 0)
	chk.ListAll()
	for batch := range slices.Chunk(vols, parity.DefaultBatch) {
		recorded, err := parity.Record(ctx, managers[0], psite.BackPakID, batch)
		if err != nil {
			return fmt.Errorf("primary key manager: %w", err)
		}
		for _, k := range recorded {
			if err := chk.Add(ctx, "", k); err != nil {
				return fmt.Errorf("secondary key manager: %w", err)
			}
		}
	}
	r, err := chk.Report(ctx)
	if err != nil {
		return fmt.Errorf("secondary key manager: %w", err)
	}
	if asJSON {
		if err := json.NewEncoder(c.out).Encode(r); err != nil {
			return err
		}
	} else {
		printParity(c.out, &r)
	}
	if r.Failed() {
		return fmt.Errorf("data store %s: %d of %d encrypted volumes' keys not in parity", opts.StoreID, r.Volumes-r.OK, r.Volumes)
	}
	return nil
}
