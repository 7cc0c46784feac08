package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// dyingStore is a secondary whose worker dies after its n-th committed
// transaction, or in the middle of one, after its n-th tape-file write
// (inTx): the context of the step is cancelled at once, as a killed
// process would stop, and the step's next write fails.
type dyingStore struct {
	store.Store
	n      int64
	inTx   bool
	cancel context.CancelFunc
	done   atomic.Int64
}

func (d *dyingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	err := d.Store.Update(ctx, func(tx store.Tx) error { return fn(dyingTx{tx, d}) })
	if err == nil && !d.inTx && d.done.Add(1) == d.n {
		d.cancel()
	}
	return err
}

type dyingTx struct {
	store.Tx
	d *dyingStore
}

func (t dyingTx) PutTapeFileVolume(ctx context.Context, e *catalog.TapeFileVolume) error {
	if t.d.inTx && t.d.done.Add(1) == t.d.n {
		t.d.cancel()
	}
	return t.Tx.PutTapeFileVolume(ctx, e)
}

// commitCounter counts the transactions committed.
type commitCounter struct {
	store.Store
	commits, tftov int64
}

func (c *commitCounter) Update(ctx context.Context, fn func(store.Tx) error) error {
	err := c.Store.Update(ctx, func(tx store.Tx) error { return fn(commitCounterTx{tx, c}) })
	if err == nil {
		c.commits++
	}
	return err
}

type commitCounterTx struct {
	store.Tx
	c *commitCounter
}

func (t commitCounterTx) PutTapeFileVolume(ctx context.Context, e *catalog.TapeFileVolume) error {
	t.c.tftov++
	return t.Tx.PutTapeFileVolume(ctx, e)
}

// TestResumedApplyCountsEveryWrite: an apply that dies after any number
// of committed transactions (early, midway, late, during a FULL's
// deletions) or in the middle of one, and is run again, counts exactly
// what an uninterrupted apply of the same snapshot counts, for every
// entity and action: with the default batches and with batches of a few
// sets each.
func TestResumedApplyCountsEveryWrite(t *testing.T) {
	ctx := context.Background()
	opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
	// setUp builds the same pair each time: a secondary holding the store,
	// a primary that moved on and dropped a volume set, the FULL staged.
	setUp := func(t *testing.T, batch int) (*pair, ImportInput, ImportResult) {
		p := newPair(t, simtest.Small())
		p.syncOnce(t, "full", snapshot.Full, opts)
		if err := sim.Advance(ctx, p.prim.Site.Catalog, 2, nil); err != nil {
			t.Fatal(err)
		}
		simtest.DropSetWithFiles(t, p.prim.Site.Catalog)
		in, plan := p.stageNext(t, "again", snapshot.Full, opts)
		p.sec.ApplyBatch = batch
		return p, in, plan
	}
	for _, batch := range []int{0, 40} {
		t.Run(fmt.Sprintf("batches of %d records", cmp.Or(batch, batchRecords)), func(t *testing.T) {
			p, in, plan := setUp(t, batch)
			counted := &commitCounter{Store: p.sec.Site.Catalog}
			p.sec.Site.Catalog = counted
			whole, err := p.sec.Apply(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			sameCounts(t, "uninterrupted", plan.Counts, whole.Counts)
			if whole.Counts["volume.delete"] == 0 || whole.Counts.Changed() == 0 {
				t.Fatalf("the snapshot deletes or changes nothing: %v", whole.Counts)
			}
			t.Logf("%d sets in %d transactions, %d TFTOV writes", whole.Sets, counted.commits, counted.tftov)
			type death struct {
				at   int64
				inTx bool
			}
			var deaths []death
			for _, at := range []int64{1, counted.commits / 2, counted.commits - 1} {
				deaths = append(deaths, death{at: at})
			}
			for _, at := range []int64{1, counted.tftov / 2, counted.tftov} {
				deaths = append(deaths, death{at: at, inTx: true})
			}
			for _, d := range deaths {
				name := fmt.Sprintf("dies after %d commits", d.at)
				if d.inTx {
					name = fmt.Sprintf("dies in a transaction, at TFTOV write %d", d.at)
				}
				t.Run(name, func(t *testing.T) {
					p, in, _ := setUp(t, batch)
					dctx, cancel := context.WithCancel(ctx)
					defer cancel()
					real := p.sec.Site.Catalog
					p.sec.Site.Catalog = &dyingStore{Store: real, n: d.at, inTx: d.inTx, cancel: cancel}
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
		})
	}
}
