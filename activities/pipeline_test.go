package activities

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// pair is a simulated primary and secondary with their steps.
type pair struct {
	prim, sec *Activities
}

func newPair(t *testing.T, p sim.Params) *pair {
	t.Helper()
	return newPairOn(t, nil, p)
}

// newPairOn builds the pair on catalogs that dsn names (SQLite files when
// nil, or PostgreSQL schemas), without key managers.
func newPairOn(t *testing.T, dsn func(testing.TB) string, p sim.Params) *pair {
	t.Helper()
	return pairOf(simtest.New(t, p, simtest.Options{DSN: dsn}))
}

// pairOf gives the sites of a simulated pair their steps.
func pairOf(sp *simtest.Pair) *pair {
	cfg := sp.Config
	return &pair{
		prim: &Activities{Site: &Site{Name: cfg.Primary.Name, Catalog: sp.Primary, Staging: snapshot.Area{Root: cfg.Primary.Staging},
			Keys: sp.PrimaryKeys}},
		sec: &Activities{Site: &Site{Name: cfg.Secondary.Name, Catalog: sp.Secondary, Staging: snapshot.Area{Root: cfg.Secondary.Staging},
			Source: snapshot.Area{Root: cfg.Source}, Keys: sp.SecondaryKeys}},
	}
}

func smallSite() sim.Params { return simtest.Small() }

// syncOnce stages the next snapshot and plans it (stageNext), applies it
// and finishes the import.
func (p *pair) syncOnce(t testing.TB, id string, typ snapshot.Type, opts importer.Options) ImportResult {
	t.Helper()
	ctx := context.Background()
	in, plan := p.stageNext(t, id, typ, opts)
	res, err := p.sec.Apply(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) > 0 {
		t.Fatalf("failed sets: %v", res.Failed)
	}
	sameCounts(t, string(typ)+" "+id, plan.Counts, res.Counts)
	if _, err := p.sec.Finish(ctx, FinishInput{Ref: in.Ref}); err != nil {
		t.Fatal(err)
	}
	return res
}

// sameCounts fails unless the plan counted, for every entity and action,
// exactly what the apply did: compared both ways.
func sameCounts(t testing.TB, what string, plan, applied importer.Counts) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(plan)) {
		if plan[k] != applied[k] {
			t.Errorf("%s: %s: plan said %d, apply did %d", what, k, plan[k], applied[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(applied)) {
		if _, ok := plan[k]; !ok && applied[k] != 0 {
			t.Errorf("%s: %s: apply did %d, the plan did not count it", what, k, applied[k])
		}
	}
}

func (p *pair) verify(t *testing.T, opts importer.Options) []importer.Drift {
	t.Helper()
	var drifts []importer.Drift
	n, err := importer.Verify(context.Background(), p.prim.Site.Catalog, p.sec.Site.Catalog, opts, func(d importer.Drift) error {
		drifts = append(drifts, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("verify checked no volume set")
	}
	return drifts
}

func noDrift(t *testing.T, p *pair, opts importer.Options) {
	t.Helper()
	var d []importer.Drift
	for _, x := range p.verify(t, opts) {
		if x.IsDrift() { // a deletion pending the next FULL is not drift
			d = append(d, x)
		}
	}
	if len(d) > 0 {
		t.Fatalf("%d differences between primary and secondary, first: %v", len(d), d[:min(len(d), 5)])
	}
}

func TestFullUpdateFull(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, smallSite())
	opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
	full := p.syncOnce(t, "s1", snapshot.Full, opts)
	if full.Counts["tapefile.create"] == 0 || full.Counts["diskfile.create"] == 0 {
		t.Fatalf("FULL created nothing: %v", full.Counts)
	}
	noDrift(t, p, opts)

	// Re-applying changes nothing.
	again := p.syncOnce(t, "s1b", snapshot.Full, opts)
	if again.Counts.Changed() != 0 {
		t.Errorf("a second FULL of the same catalog changed %d records: %v", again.Counts.Changed(), again.Counts)
	}

	if err := sim.Advance(ctx, p.prim.Site.Catalog, 3, nil); err != nil {
		t.Fatal(err)
	}
	if d := p.verify(t, opts); len(d) == 0 {
		t.Fatal("the primary advanced three days and verify found no difference")
	}
	upd := p.syncOnce(t, "s2", snapshot.Update, opts)
	// The outbox keeps the last export only; staging keeps the chain that
	// rebuilds the store: the last FULL and the UPDATEs after it.
	outbox, _ := os.ReadDir(filepath.Join(p.prim.Site.Staging.Root, "DS_PROD"))
	if len(outbox) != 1 || outbox[0].Name() != "s2" {
		t.Errorf("outbox holds %v, want only s2", outbox)
	}
	if chain, err := p.sec.Site.Staging.Chain("DS_PROD"); err != nil || strings.Join(chain, ",") != "s1b,s2" {
		t.Errorf("staging chain %v (%v), want s1b,s2", chain, err)
	}
	if upd.Sets == 0 || upd.Sets >= full.Sets+again.Sets {
		t.Errorf("UPDATE applied %d sets (FULL had %d)", upd.Sets, full.Sets)
	}
	noDrift(t, p, opts)

	// Delete a scratch volume on the primary: UPDATE keeps it, FULL removes it.
	var victim catalog.TapeVolume
	err := p.prim.Site.Catalog.ScanTapeVolumes(ctx, store.Filter{Status: string(catalog.StatusScratch)}, func(tv *catalog.TapeVolume) error {
		if victim.Volser == "" && tv.Volser[0] == 'T' {
			victim = *tv
		}
		return nil
	})
	if err != nil || victim.Volser == "" {
		t.Fatalf("no scratch volume to delete: %v", err)
	}
	err = p.prim.Site.Catalog.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteTapeVolume(ctx, &victim); err != nil {
			return err
		}
		return tx.DeleteVolume(ctx, catalog.VolumeKey{Label: victim.Volser, LabelType: catalog.Labeled})
	})
	if err != nil {
		t.Fatal(err)
	}
	upd = p.syncOnce(t, "s3", snapshot.Update, opts)
	if upd.Counts["volume.deferred"] != 1 {
		t.Errorf("UPDATE after a deletion: %v, want one deferred deletion", upd.Counts)
	}
	d := p.verify(t, opts)
	if len(d) != 1 || d[0].IsDrift() || !strings.HasPrefix(d[0].Key, victim.Volser) {
		t.Errorf("after UPDATE, verify: %v; want the deleted volume pending deletion", d)
	}
	full = p.syncOnce(t, "s4", snapshot.Full, opts)
	if full.Counts["volume.delete"] != 1 || full.Counts["tapevolume.delete"] != 1 {
		t.Errorf("FULL after a deletion: %v", full.Counts)
	}
	noDrift(t, p, opts)
}
