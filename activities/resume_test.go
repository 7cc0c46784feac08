package activities

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// dyingStore is a secondary whose worker dies after its n-th committed
// transaction: the context of the step is cancelled at once, as a killed
// process would stop, and the step's next write fails.
type dyingStore struct {
	store.Store
	n      int64
	cancel context.CancelFunc
	done   atomic.Int64
}

func (d *dyingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	err := d.Store.Update(ctx, fn)
	if err == nil && d.done.Add(1) == d.n {
		d.cancel()
	}
	return err
}

// TestResumedApplyCountsEveryWrite: an apply that dies after any number
// of committed sets (early, midway, late, during a FULL's deletions) and
// is run again counts exactly what an uninterrupted apply of the same
// snapshot counts, for every entity and action.
func TestResumedApplyCountsEveryWrite(t *testing.T) {
	ctx := context.Background()
	opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
	// setUp builds the same pair each time: a secondary holding the store,
	// a primary that moved on and dropped a volume set, the FULL staged.
	setUp := func(t *testing.T) (*pair, ImportInput, ImportResult) {
		p := newPair(t, simtest.Small())
		p.syncOnce(t, "full", snapshot.Full, opts)
		if err := sim.Advance(ctx, p.prim.Site.Catalog, 2, nil); err != nil {
			t.Fatal(err)
		}
		simtest.DropSetWithFiles(t, p.prim.Site.Catalog)
		in, plan := p.stageNext(t, "again", snapshot.Full, opts)
		return p, in, plan
	}
	p, in, plan := setUp(t)
	whole, err := p.sec.Apply(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	sameCounts(t, "uninterrupted", plan.Counts, whole.Counts)
	if whole.Counts["volume.delete"] == 0 || whole.Counts.Changed() == 0 {
		t.Fatalf("the snapshot deletes or changes nothing: %v", whole.Counts)
	}
	sets := whole.Sets
	for _, at := range []int64{1, sets / 2, sets - 1, sets + 1} {
		t.Run(fmt.Sprintf("dies after %d writes", at), func(t *testing.T) {
			p, in, _ := setUp(t)
			dctx, cancel := context.WithCancel(ctx)
			defer cancel()
			real := p.sec.Site.Catalog
			p.sec.Site.Catalog = &dyingStore{Store: real, n: at, cancel: cancel}
			if _, err := p.sec.Apply(dctx, in); !errors.Is(err, context.Canceled) {
				t.Fatalf("the dying apply: %v, want it stopped by its context", err)
			}
			p.sec.Site.Catalog = real
			res, err := p.sec.Apply(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if res.Sets != whole.Sets {
				t.Errorf("resumed apply handled %d sets, the whole one %d", res.Sets, whole.Sets)
			}
			sameCounts(t, "resumed", whole.Counts, res.Counts)
			p.NoDrift(t, opts)
		})
	}
}
