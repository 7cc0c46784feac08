package main

import (
	"context"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// smallPair simulates a small primary and its secondary, as `catsync sim
// init --volumes 40 --days 5` and `sim init-secondary --volumes 10 --days 2
// --backups-per-day 2` would, and gives the CLI the sites' key managers:
// the primary's keys are not replicated yet (`catsync sim replicate-keys`
// does it). The secondary runs local backups of its own (data store
// DS_LOCAL, groups VG_LOCAL_*), so the check has local catalogs to tell
// from the replicated ones. cfg describes the pair, for serveSites.
func smallPair(t *testing.T) (prim, sec string, cfg *config.Config) {
	t.Helper()
	p := sim.DefaultParams()
	p.Volumes, p.Days = 40, 5
	sp := sim.DefaultSecondaryParams()
	sp.Local.Volumes, sp.Local.Days, sp.Local.BackupsPerDay = 10, 2, 2
	cfg = simtest.New(t, p, simtest.Options{Secondary: &sp, Keys: simtest.Keystores, Unreplicated: true}).Config
	useKeys(t, cfg)
	return cfg.Primary.Catalog, cfg.Secondary.Catalog, cfg
}

// editSite changes a site's catalog in one transaction.
func editSite(t *testing.T, path string, fn func(context.Context, store.Tx) error) {
	t.Helper()
	ctx := context.Background()
	must(t, sqltest.Open(t, path).Update(ctx, func(tx store.Tx) error { return fn(ctx, tx) }))
}

// plantLocal makes label a volume of the secondary's local data store: the
// label was created on both sides before an import.
func plantLocal(t *testing.T, sec, label string) {
	t.Helper()
	editSite(t, sec, func(ctx context.Context, tx store.Tx) error {
		return tx.PutVolume(ctx, &catalog.Volume{Label: label, LabelType: catalog.Labeled, StoreID: "DS_LOCAL", Group: "VG_LOCAL_1",
			Access: catalog.AccessPrimary, Auth: "GGO", Compression: catalog.CompressNone})
	})
}

// digest fingerprints a site's catalog records, to show a command wrote none.
func digest(t *testing.T, path string) string {
	t.Helper()
	d, err := store.Digest(context.Background(), sqltest.Open(t, path))
	must(t, err)
	return d
}
