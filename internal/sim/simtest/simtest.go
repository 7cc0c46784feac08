// Package simtest builds the simulated pair of sites that the tests of
// every package share: a primary made by the simulator, a secondary set
// up to receive its data store, their catalogs (SQLite files, or
// PostgreSQL schemas), staging folders and key managers, described by a
// config.Config as a worker would be configured for them.
package simtest

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/keys/keyconf"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// MasterKey seals the pair's embedded keystores: one operator's key for
// both sites.
var MasterKey = []byte("catsync integration master key!!")

// Small is a primary of 80 volumes with 15 days of backups: every kind of
// DSM/TC entry (reruns, parallel copies, bad tapes, expirations) in well
// under a second.
func Small() sim.Params {
	p := sim.DefaultParams()
	p.Volumes, p.Days, p.BackupsPerDay = 80, 15, 5
	p.Retention = []sim.Retention{{Days: 3, Weight: 1}, {Days: 20, Weight: 1}}
	p.ParallelPercent, p.RerunPercent, p.BadPercent = 30, 20, 3
	return p
}

// Options vary the pair.
type Options struct {
	// Secondary shapes the secondary; the zero value is
	// sim.DefaultSecondaryParams().
	Secondary *sim.SecondaryParams
	// DSN gives each catalog a new data source: sqltest.PostgresDSN for
	// PostgreSQL; SQLite files in the test's folder when nil.
	DSN func(testing.TB) string
	// Keys gives the sites key managers in cfg (Keystores, or KMIP
	// servers); none when nil.
	Keys func(t testing.TB, dir string, cfg *config.Config)
	// Unreplicated leaves the primary's keys out of the secondary's key
	// manager: New and Advance copy none, the test replicates them itself
	// (ReplicateKeys with its faults, or the CLI).
	Unreplicated bool
	// Images has the primary write the image of every volume it writes,
	// in the folder of cfg.Primary.Data; ReplicateData copies them to the
	// secondary's, cfg.Secondary.Data.
	Images bool
}

// Keystores gives each site an embedded keystore of its own.
func Keystores(_ testing.TB, dir string, cfg *config.Config) {
	cfg.Primary.Keys = "keystore:" + filepath.Join(dir, "primary.keys")
	cfg.Secondary.Keys = "keystore:" + filepath.Join(dir, "secondary.keys")
}

// Pair is a simulated primary and secondary.
type Pair struct {
	Config             *config.Config
	Primary, Secondary store.Store
	// The sites' key managers, nil without Options.Keys. The primary's
	// encrypted writes file their keys; the secondary's received them all
	// (none, with Options.Unreplicated).
	PrimaryKeys, SecondaryKeys keys.Manager

	unreplicated bool // Options.Unreplicated
}

var seq atomic.Int64

// New simulates the primary from p and sets up the secondary for it, with
// site names unique in the test binary (their task queues must not meet).
func New(t testing.TB, p sim.Params, o Options) *Pair {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	dsn := o.DSN
	if dsn == nil {
		dsn = sqltest.SQLiteDSN
	}
	n := seq.Add(1)
	cfg := &config.Config{
		Primary:   config.Site{Name: fmt.Sprintf("prim%d", n), Catalog: dsn(t), Staging: filepath.Join(dir, "outbox")},
		Secondary: config.Site{Name: fmt.Sprintf("secd%d", n), Catalog: dsn(t), Staging: filepath.Join(dir, "staging")},
		Serve:     []string{config.RolePrimary, config.RoleSecondary}, Workflows: true,
		MasterKey: MasterKey,
	}
	cfg.Source = cfg.Primary.Staging
	cfg.Signing = Signing(t, dir)
	if o.Images {
		cfg.Primary.Data, cfg.Secondary.Data = filepath.Join(dir, "primary-data"), filepath.Join(dir, "secondary-data")
		p.DataRoot = cfg.Primary.Data
	}
	pair := &Pair{Config: cfg, Primary: sqltest.Open(t, cfg.Primary.Catalog), Secondary: sqltest.Open(t, cfg.Secondary.Catalog),
		unreplicated: o.Unreplicated}
	if o.Keys != nil {
		o.Keys(t, dir, cfg)
		var err error
		if pair.PrimaryKeys, err = keyconf.Open(cfg, config.RolePrimary); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pair.PrimaryKeys.Close() })
		if pair.SecondaryKeys, err = keyconf.Open(cfg, config.RoleSecondary); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pair.SecondaryKeys.Close() })
	}
	if err := sim.Init(ctx, pair.Primary, p, pair.PrimaryKeys); err != nil {
		t.Fatal(err)
	}
	sp := sim.DefaultSecondaryParams()
	if o.Secondary != nil {
		sp = *o.Secondary
	}
	if err := sim.InitSecondary(ctx, pair.Secondary, pair.Primary, sp, pair.SecondaryKeys); err != nil {
		t.Fatal(err)
	}
	pair.replicate(t)
	return pair
}

// ReplicateKeys copies the primary's new keys to the secondary, as the key
// managers' own replication would.
func (p *Pair) ReplicateKeys(t testing.TB, opts sim.KeyReplication) sim.KeyReplicationResult {
	t.Helper()
	res, err := sim.ReplicateKeys(context.Background(), p.Primary, p.PrimaryKeys, p.SecondaryKeys, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// ReplicateData copies the primary's volume images to the secondary's data
// stores' folders, as the site's mirroring would, with opts's faults.
func (p *Pair) ReplicateData(t testing.TB, opts sim.DataReplication) sim.DataReplicationResult {
	t.Helper()
	if opts.Keys == nil {
		opts.Keys = p.PrimaryKeys
	}
	res, err := sim.ReplicateData(context.Background(), p.Primary, p.Config.Primary.Data, p.Config.Secondary.Data, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Advance simulates days on the primary, its keys replicated (unless
// Options.Unreplicated).
func (p *Pair) Advance(t testing.TB, days int) {
	t.Helper()
	if err := sim.Advance(context.Background(), p.Primary, days, p.PrimaryKeys); err != nil {
		t.Fatal(err)
	}
	p.replicate(t)
}

// replicate copies the primary's new keys, if the pair has key managers
// that replicate.
func (p *Pair) replicate(t testing.TB) {
	t.Helper()
	if p.PrimaryKeys != nil && !p.unreplicated {
		p.ReplicateKeys(t, sim.KeyReplication{})
	}
}
