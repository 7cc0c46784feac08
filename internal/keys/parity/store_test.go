package parity

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// storePair is a simulated primary whose encrypted writes filed their keys
// in its keystore, and its secondary (whose domain has a key-manager entry
// with the primary's BackPak id).
type storePair struct {
	prim, sec     store.Store
	primKeys      keys.Manager
	enc           map[string]string // encrypted volume label -> media key name
	labels        []string          // the labels of enc, sorted
	primID, secID string
}

func newStorePair(t *testing.T, dsn func(testing.TB) string) *storePair {
	t.Helper()
	ctx := context.Background()
	p := sim.DefaultParams()
	p.Volumes, p.Days = 40, 5
	sp := sim.DefaultSecondaryParams()
	// The secondary's keys come from the scenarios' replications (replicate).
	pair := simtest.New(t, p, simtest.Options{Secondary: &sp, DSN: dsn, Keys: simtest.Keystores, Unreplicated: true})
	w := &storePair{prim: pair.Primary, sec: pair.Secondary, primKeys: pair.PrimaryKeys, enc: map[string]string{},
		primID: p.BackPakID, secID: sp.Local.BackPakID}
	if err := w.prim.ScanVolumes(ctx, store.Filter{StoreID: "DS_PROD"}, func(v *catalog.Volume) error {
		if v.MediaKeyName != "" {
			w.enc[v.Label] = v.MediaKeyName
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	w.labels = slices.Sorted(maps.Keys(w.enc))
	if len(w.labels) < 5 {
		t.Fatalf("%d encrypted volumes, want at least 5", len(w.labels))
	}
	return w
}

// replicate gives the secondary a keystore of its own, filled by
// replication with the faults of opts.
func (w *storePair) replicate(t *testing.T, name string, opts sim.KeyReplication) keys.Manager {
	t.Helper()
	ks := keystoreAt(t, name)
	if _, err := sim.ReplicateKeys(context.Background(), w.prim, w.primKeys, ks, opts); err != nil {
		t.Fatal(err)
	}
	return ks
}

func (w *storePair) prove(t *testing.T, secKeys keys.Manager, batch int) Report {
	t.Helper()
	r, err := proveStore(context.Background(), Site{w.prim, w.primKeys}, Site{w.sec, secKeys}, "DS_PROD", batch)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestProveStore(t *testing.T) {
	sqltest.RunDSN(t, func(t *testing.T, dsn func(testing.TB) string) {
		ctx := context.Background()
		w := newStorePair(t, dsn)
		n := len(w.labels)

		full := w.replicate(t, "full", sim.KeyReplication{})
		r, err := ProveStore(ctx, Site{w.prim, w.primKeys}, Site{w.sec, full}, "DS_PROD")
		if err != nil {
			t.Fatal(err)
		}
		if r.Failed() || r.Volumes != n || r.OK != n || r.BackPakID != w.primID || r.Domain != "" {
			t.Errorf("all in parity: %+v", r)
		}

		// One key of each problem; the misfiled one is registered, with the
		// primary's material, under the secondary's own BackPak id, which
		// its domain presents.
		missing, inactive, altered, misfiled := w.labels[0], w.labels[1], w.labels[2], w.labels[3]
		faulty := w.replicate(t, "faulty", sim.KeyReplication{Omit: []string{missing, misfiled},
			Deactivate: []string{inactive}, Alter: []string{altered}})
		k, err := keys.Find(ctx, w.primKeys, w.primID, w.enc[misfiled])
		if err != nil {
			t.Fatal(err)
		}
		material, err := w.primKeys.Material(ctx, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := faulty.Register(ctx, w.secID, k.Name, material); err != nil {
			t.Fatal(err)
		}
		want := map[string]Problem{missing: Missing, inactive: Inactive, altered: Mismatched, misfiled: Misfiled}
		r = w.prove(t, faulty, DefaultBatch)
		got := map[string]Problem{}
		for _, f := range r.Findings {
			got[f.Label] = f.Problem
			if f.Key != w.enc[f.Label] || f.Set != "" || f.Detail == "" {
				t.Errorf("finding %+v: want key %s, no set, a detail", f, w.enc[f.Label])
			}
		}
		if !reflect.DeepEqual(got, want) || r.Volumes != n || r.OK != n-4 || r.Total != 4 || !r.Failed() ||
			!reflect.DeepEqual(r.ByProblem, map[Problem]int{Missing: 1, Inactive: 1, Mismatched: 1, Misfiled: 1}) {
			t.Errorf("faults %v: report %+v", want, r)
		}
		// Batches of the primary's lookups and the secondary's change
		// nothing but the number of lookups.
		for _, batch := range []int{1, 2, n - 1} {
			if b := w.prove(t, faulty, batch); !reflect.DeepEqual(b, r) {
				t.Errorf("batch %d: %+v, want %+v", batch, b, r)
			}
		}
	})
}

func TestProveStoreEdges(t *testing.T) {
	sqltest.RunDSN(t, func(t *testing.T, dsn func(testing.TB) string) {
		ctx := context.Background()
		w := newStorePair(t, dsn)
		full := w.replicate(t, "full", sim.KeyReplication{})

		// Without the primary's key manager nothing was fingerprinted.
		r, err := ProveStore(ctx, Site{Catalog: w.prim}, Site{w.sec, full}, "DS_PROD")
		if err != nil || r.ByProblem[Unrecorded] != len(w.labels) {
			t.Errorf("no primary key manager: %+v, %v", r, err)
		}
		// Without the secondary's, nothing can be checked.
		if _, err := ProveStore(ctx, Site{w.prim, w.primKeys}, Site{Catalog: w.sec}, "DS_PROD"); !errors.Is(err, ErrNoKeyManager) {
			t.Errorf("no secondary key manager: %v", err)
		}
		// A data store neither site defines is refused, naming it and the
		// site, not proved "with no encrypted volumes".
		var ce *catalog.ConfigError
		if _, err := ProveStore(ctx, Site{w.prim, w.primKeys}, Site{w.sec, full}, "DS_NONE"); !errors.As(err, &ce) ||
			!strings.Contains(err.Error(), `data store DS_NONE is not defined on the primary \PRIM`) {
			t.Errorf("an unknown data store: %v", err)
		}
		// A secondary domain without the primary's BackPak id fails.
		site, err := w.sec.Site(ctx)
		if err != nil {
			t.Fatal(err)
		}
		site.KeyManagers = nil
		if err := w.sec.Update(ctx, func(tx store.Tx) error { return tx.PutSite(ctx, &site) }); err != nil {
			t.Fatal(err)
		}
		if r := w.prove(t, full, DefaultBatch); !r.Failed() || r.Domain == "" || r.Total != 0 {
			t.Errorf("a domain without the primary's id: %+v", r)
		}
	})
}
