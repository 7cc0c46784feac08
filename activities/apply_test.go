package activities

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// stageNext snapshots the primary after the secondary's watermark (from
// the start when it must re-import), stages the snapshot for the
// secondary, and returns the import input with its plan.
func (p *pair) stageNext(t testing.TB, id string, typ snapshot.Type, opts importer.Options) (ImportInput, ImportResult) {
	t.Helper()
	ctx := context.Background()
	w, err := p.sec.ReadWatermark(ctx, opts.StoreID)
	if err != nil {
		t.Fatal(err)
	}
	after := w.Seq
	if w.Reimport {
		after = 0
	}
	t0 := time.Now()
	ref, err := p.prim.Snapshot(ctx, SnapshotInput{ID: id, Store: opts.StoreID, Type: typ, After: after, CatalogFiles: opts.CatalogFiles})
	if err != nil {
		t.Fatal(err)
	}
	t0 = p.took("snapshot", t0)
	if err := p.sec.Transfer(ctx, ref); err != nil {
		t.Fatal(err)
	}
	t0 = p.took("transfer", t0)
	in := ImportInput{Ref: ref, Options: opts, Groups: groups(t, p)}
	plan, err := p.sec.Plan(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	p.took("plan", t0)
	return in, plan
}

// lastSet is the id of the last volume set of a staged snapshot.
func (p *pair) lastSet(t testing.TB, ref snapshot.Ref) string {
	t.Helper()
	staged, err := p.sec.Site.Staging.Open(ref)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	if err := staged.ReadSegment(len(staged.Manifest.Segments)-1, 0, func(_ int, s *snapshot.VolumeSet) error {
		id = s.ID
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

// takeLabel makes label a volume of the secondary's own data store, as a
// local backup writing to it would.
func takeLabel(t testing.TB, st store.Store, label string) {
	t.Helper()
	ctx := context.Background()
	err := st.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutDataStore(ctx, &catalog.DataStore{ID: "DS_LOCAL", Access: catalog.AccessPrimary, Status: catalog.StoreActive}); err != nil {
			return err
		}
		return tx.PutVolume(ctx, &catalog.Volume{Label: label, LabelType: catalog.Labeled, StoreID: "DS_LOCAL", Group: "VG_LOCAL",
			Access: catalog.AccessPrimary, Auth: "GGO", Compression: catalog.CompressNone})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func digest(t *testing.T, st store.Reader) string {
	t.Helper()
	d, err := store.Digest(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestStrictApplyIsAllOrNothing: under --strict, a conflict that appears
// between plan and apply (a local backup takes the label of the run's last
// set) rolls back every set the apply had written, into an empty secondary
// (FULL) and over one that holds the store (UPDATE after days of activity,
// with deletions): the secondary's digest is what it was before the apply.
func TestStrictApplyIsAllOrNothing(t *testing.T) {
	sqltest.RunDSN(t, func(t *testing.T, dsn func(testing.TB) string) {
		for _, typ := range []snapshot.Type{snapshot.Full, snapshot.Update} {
			t.Run(string(typ), func(t *testing.T) {
				ctx := context.Background()
				p := newPairOn(t, dsn, smallSite())
				opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: false}
				if typ == snapshot.Update {
					p.syncOnce(t, "full", snapshot.Full, opts)
					if err := sim.Advance(ctx, p.prim.Site.Catalog, 3, nil); err != nil {
						t.Fatal(err)
					}
				}
				in, plan := p.stageNext(t, "strict", typ, opts)
				if plan.Conflicts.Total != 0 || plan.Counts.Changed() == 0 {
					t.Fatalf("plan: %v, %+v", plan.Counts, plan.Conflicts)
				}
				sec := p.sec.Site.Catalog
				taken := p.lastSet(t, in.Ref)
				key := catalog.VolumeKey{Label: taken, LabelType: catalog.Labeled}
				ours, err := sec.Volume(ctx, key)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					t.Fatal(err)
				}
				takeLabel(t, sec, taken)
				before := digest(t, sec)

				in.Strict = true
				res, err := p.sec.Apply(ctx, in)
				var appErr *temporal.ApplicationError
				if !errors.As(err, &appErr) || appErr.Type() != TypeConflict || !strings.Contains(err.Error(), taken) {
					t.Fatalf("strict apply: %v, want a conflict error naming %s", err, taken)
				}
				var detail ImportResult
				if err := appErr.Details(&detail); err != nil || detail.Conflicts.Total != 1 || detail.Conflicts.Conflicts[0].Rule != safety.LabelLocal ||
					detail.RolledBack == 0 || detail.Counts.Changed() != 0 {
					t.Fatalf("the conflict error's details: %+v (%v)", detail, err)
				}
				if res.RolledBack != detail.RolledBack {
					t.Errorf("result rolled back %d, details %d", res.RolledBack, detail.RolledBack)
				}
				if after := digest(t, sec); after != before {
					t.Fatalf("the strict apply rolled back %d sets and left the secondary changed", detail.RolledBack)
				}
				if run, ok, err := importer.PendingUndo(ctx, sec, "DS_PROD"); err != nil || ok {
					t.Fatalf("undo journal left by %q (%v)", run, err)
				}

				// With the label free again the same strict apply applies
				// everything and leaves no journal.
				if err := sec.Update(ctx, func(tx store.Tx) error {
					if ours.Label != "" { // the replicated entry the local one replaced
						return tx.PutVolume(ctx, &ours)
					}
					return tx.DeleteVolume(ctx, key)
				}); err != nil {
					t.Fatal(err)
				}
				res, err = p.sec.Apply(ctx, in)
				if err != nil || res.Conflicts.Total != 0 {
					t.Fatalf("strict apply with the label free: %+v, %v", res.Conflicts, err)
				}
				sameCounts(t, "strict", plan.Counts, res.Counts)
				if _, ok, _ := importer.PendingUndo(ctx, sec, "DS_PROD"); ok {
					t.Error("a strict apply that succeeded left its undo journal")
				}
			})
		}
	})
}

// TestAbandonedStrictRunIsUndone: a strict run that stopped with sets
// written and its journal kept (a terminated workflow) is undone by the
// next import of the store before it writes anything.
func TestAbandonedStrictRunIsUndone(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, smallSite())
	opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
	p.syncOnce(t, "full", snapshot.Full, opts)
	if err := sim.Advance(ctx, p.prim.Site.Catalog, 2, nil); err != nil {
		t.Fatal(err)
	}
	sec := p.sec.Site.Catalog
	before := digest(t, sec)

	// The dead run wrote two sets of an UPDATE under its journal.
	in, _ := p.stageNext(t, "dead", snapshot.Update, opts)
	im, err := importer.New(ctx, sec, opts, in.Groups)
	if err != nil {
		t.Fatal(err)
	}
	staged, err := p.sec.Site.Staging.Open(in.Ref)
	if err != nil {
		t.Fatal(err)
	}
	j := &importer.Journal{Store: "DS_PROD", Run: "dead"}
	written := 0
	if err := staged.ReadSegment(0, 0, func(_ int, s *snapshot.VolumeSet) error {
		if written == 2 {
			return nil
		}
		prep, err := im.PrepareStaged(s)
		if err != nil {
			return err
		}
		c, _, err := im.ApplySet(ctx, sec, prep, j, nil)
		if c.Changed() > 0 {
			written++
		}
		return err
	}); err != nil || written != 2 {
		t.Fatalf("wrote %d sets: %v", written, err)
	}
	if digest(t, sec) == before {
		t.Fatal("the dead run changed nothing")
	}
	if run, ok, _ := importer.PendingUndo(ctx, sec, "DS_PROD"); !ok || run != "dead" {
		t.Fatalf("journal of %q", run)
	}
	n, err := im.Rollback(ctx, sec, "DS_PROD", nil)
	if err != nil || n != 2 {
		t.Fatalf("rolled back %d entries: %v", n, err)
	}
	if digest(t, sec) != before {
		t.Fatal("rolling the dead run back did not restore the secondary")
	}

	// Again, and this time the next run finds the journal: its plan undoes
	// it first, and counts what its apply then does.
	written = 0
	if err := staged.ReadSegment(0, 0, func(_ int, s *snapshot.VolumeSet) error {
		prep, err := im.PrepareStaged(s)
		if err != nil {
			return err
		}
		_, _, err = im.ApplySet(ctx, sec, prep, j, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	next, plan := p.stageNext(t, "next", snapshot.Update, opts)
	res, err := p.sec.Apply(ctx, next)
	if err != nil || len(res.Failed) > 0 {
		t.Fatalf("apply after the dead run: %v, %v", res.Failed, err)
	}
	sameCounts(t, "after the dead run", plan.Counts, res.Counts)
	if _, ok, _ := importer.PendingUndo(ctx, sec, "DS_PROD"); ok {
		t.Error("the dead run's journal is still there")
	}
	p.NoDrift(t, opts)
}

// failingStore is a secondary on which writing the TFTOV entries of one
// volume set fails, after the set's other entries were written: a disk
// that fills, a constraint the store enforces.
type failingStore struct {
	store.Store
	volset string
}

func (f *failingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return f.Store.Update(ctx, func(tx store.Tx) error { return fn(failingTx{tx, f.volset}) })
}

type failingTx struct {
	store.Tx
	volset string
}

func (t failingTx) PutTapeFileVolume(ctx context.Context, e *catalog.TapeFileVolume) error {
	if e.VolsetID == t.volset {
		return errors.New("no space left on device")
	}
	return t.Tx.PutTapeFileVolume(ctx, e)
}

// TestFailingSetIsLeftOutAlone: a set whose write fails half way, in the
// middle of a batch, is recorded as failed and leaves nothing on the
// secondary, while the sets before and after it in the batch are applied;
// under --strict the same failure undoes the whole run.
func TestFailingSetIsLeftOutAlone(t *testing.T) {
	sqltest.RunDSN(t, func(t *testing.T, dsn func(testing.TB) string) {
		ctx := context.Background()
		p := newPairOn(t, dsn, smallSite())
		opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
		target := simtest.FindSet(t, p.Primary, func(s *snapshot.VolumeSet) bool { return len(s.TFTOV) > 0 && len(s.TapeFiles) > 0 }).ID
		in, plan := p.stageNext(t, "full", snapshot.Full, opts)
		sec := p.sec.Site.Catalog
		before := digest(t, sec)
		p.sec.Site.Catalog = &failingStore{Store: sec, volset: target}

		in.Strict = true
		if _, err := p.sec.Apply(ctx, in); err == nil || !strings.Contains(err.Error(), "no space left") {
			t.Fatalf("strict apply with set %s failing: %v", target, err)
		}
		if after := digest(t, sec); after != before {
			t.Fatal("a strict apply whose set failed left the secondary changed")
		}

		in.Strict = false
		res, err := p.sec.Apply(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Failed) != 1 || res.Failed[0].Set != target || !strings.Contains(res.Failed[0].Error, "no space left") {
			t.Fatalf("failed sets %+v, want %s alone", res.Failed, target)
		}
		if res.Sets != plan.Sets || res.Counts.Changed() == 0 || res.Counts.Changed() >= plan.Counts.Changed() {
			t.Errorf("applied %d of %d sets, %d of %d changes: want every set handled and all but the failed one's changes",
				res.Sets, plan.Sets, res.Counts.Changed(), plan.Counts.Changed())
		}
		n := 0
		for _, scan := range []func() error{
			func() error {
				return sec.ScanTapeFiles(ctx, store.Filter{VolsetID: target}, func(*catalog.TapeFile) error { n++; return nil })
			},
			func() error {
				return sec.ScanVolumeFilecats(ctx, store.Filter{VolsetID: target}, func(*catalog.VolumeFilecat) error { n++; return nil })
			},
		} {
			if err := scan(); err != nil {
				t.Fatal(err)
			}
		}
		if n != 0 {
			t.Errorf("%d entries of the failed set %s on the secondary, written before its failure", n, target)
		}
		for _, d := range p.Verify(t, opts) {
			if d.IsDrift() && d.Set != target {
				t.Errorf("drift outside the failed set: %v", d)
			}
		}
	})
}
