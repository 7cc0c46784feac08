package workflows_test

import (
	"context"
	"testing"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
)

// TestPointInTimeFull: a CatalogSync FULL on the dev server, during whose
// export the simulator runs the primary two days on (its keys replicated), leaves the secondary
// holding exactly the primary's rows as of the snapshot's ToSeq, where the
// primary was when the run began: against a copy of the primary taken then,
// the secondary verifies without drift; against the primary as it is now,
// it does not.
func TestPointInTimeFull(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	opts := importer.Options{StoreID: w.storeID, CatalogFiles: true}
	old := activities.SetsPerSegment
	activities.SetsPerSegment = 10 // a key lookup every few sets, all along the export
	t.Cleanup(func() { activities.SetsPerSegment = old })

	seq, err := w.prim.LastSeq(ctx, w.storeID)
	if err != nil {
		t.Fatal(err)
	}
	asOf := simtest.Copy(t, w.prim)
	prim := w.activities(config.RolePrimary)
	busy := simtest.NewBusyKeys(prim.Site.Keys, func(ctx context.Context) error {
		if err := sim.Advance(ctx, w.prim, 2, w.primKeys); err != nil {
			return err
		}
		_, err := sim.ReplicateKeys(ctx, w.prim, w.primKeys, w.secKeys, sim.KeyReplication{})
		return err
	})
	prim.Site.Keys = busy
	w.serveWith(config.RolePrimary, prim)

	res := w.mustSync(w.input(snapshot.Full, true))
	if busy.LookupsAfter(t) == 0 {
		t.Fatal("the primary moved on once every set was read: the export never read a busy primary")
	}
	now, err := w.prim.LastSeq(ctx, w.storeID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Snapshot.ToSeq != seq || now <= seq {
		t.Fatalf("snapshot up to %d; the primary was at %d when the run began and is at %d", res.Snapshot.ToSeq, seq, now)
	}
	(&simtest.Pair{Primary: asOf, Secondary: w.sec}).NoDrift(t, opts)
	later := 0
	for _, d := range w.drift(opts) {
		if d.IsDrift() {
			later++
		}
	}
	if later == 0 {
		t.Fatal("the secondary also matches the primary as it is now: its two later days changed nothing the test could see")
	}
}
