package workflows_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/workflows"
	"go.temporal.io/sdk/temporal"
)

// localBackupAfterPlan is a secondary on which, once the plan is made, a
// local backup takes the label of the last volume set of the staged
// snapshot (it becomes a volume of another data store), so the apply meets
// a conflict its plan did not see. It keeps what the secondary was just
// before the apply, and the replicated entry the local one replaced.
type localBackupAfterPlan struct {
	*activities.Activities
	mu       sync.Mutex
	label    string
	replaced catalog.Volume
	before   string // the secondary's digest right before the apply
}

func (l *localBackupAfterPlan) Plan(ctx context.Context, in activities.ImportInput) (activities.ImportResult, error) {
	res, err := l.Activities.Plan(ctx, in)
	if err != nil {
		return res, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	staged, err := l.Site.Staging.Open(in.Ref)
	if err != nil {
		return res, err
	}
	if err := staged.ReadSegment(len(staged.Manifest.Segments)-1, 0, func(_ int, s *snapshot.VolumeSet) error {
		l.label = s.ID
		return nil
	}); err != nil {
		return res, err
	}
	st := l.Site.Catalog
	l.replaced, err = st.Volume(ctx, catalog.VolumeKey{Label: l.label, LabelType: catalog.Labeled})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return res, err
	}
	if err := st.Update(ctx, func(tx store.Tx) error { return otherStoreVolume(l.label)(ctx, tx) }); err != nil {
		return res, err
	}
	l.before, err = store.Digest(ctx, st)
	return res, err
}

// TestStrictConflictAtApplyRollsBack: an UPDATE over a secondary holding
// the store, run --strict on the dev server, meets a conflict at its last
// set: every set it had written is undone, the secondary's digest is what
// it was before the apply, the watermark stays, and the run ends
// AbortedWithConflicts in its result and its audit entry. With the label
// free again the next UPDATE applies it all.
func TestStrictConflictAtApplyRollsBack(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
	w.mustSync(w.input(snapshot.Full, true))
	w.advance(2)
	wm, err := importer.ReadWatermark(ctx, w.sec, "DS_PROD")
	if err != nil {
		t.Fatal(err)
	}

	late := &localBackupAfterPlan{Activities: w.activities(config.RoleSecondary)}
	w.serveWith(config.RoleSecondary, late)
	res, err := w.sync(strict(w.input(snapshot.Update, true)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != workflows.OutcomeAbortedWithConflicts || res.Conflicts.Total != 1 || res.Conflicts.Conflicts[0].Set != late.label ||
		res.Applied.Counts.Changed() != 0 {
		t.Fatalf("strict run with a late conflict on %s: %s; conflicts %+v", late.label, res.Summary(), res.Conflicts)
	}
	if res.Plan.Counts.Changed() == 0 {
		t.Fatal("the UPDATE had nothing to apply: the rollback was not tested")
	}
	if after, _ := store.Digest(ctx, w.sec); after != late.before {
		t.Fatal("the strict run left the secondary changed")
	}
	if now, _ := importer.ReadWatermark(ctx, w.sec, "DS_PROD"); now != wm {
		t.Errorf("watermark %+v, was %+v", now, wm)
	}
	if run, ok, err := importer.PendingUndo(ctx, w.sec, "DS_PROD"); ok || err != nil {
		t.Errorf("undo journal of %s left (%v)", run, err)
	}
	var last audit.Entry
	if _, err := audit.Verify(ctx, w.sec, func(_ store.AuditRecord, e audit.Entry) error { last = e; return nil }); err != nil ||
		last.Outcome != workflows.OutcomeAbortedWithConflicts || last.Conflicts == nil || last.Conflicts.Conflicts[0].Set != late.label {
		t.Errorf("audit entry of the strict run: %+v, %v", last, err)
	}

	// The local entry goes, the replicated one it replaced comes back: the
	// next UPDATE applies everything.
	w.plant(w.sec, func(ctx context.Context, tx store.Tx) error {
		if late.replaced.Label != "" {
			return tx.PutVolume(ctx, &late.replaced)
		}
		return tx.DeleteVolume(ctx, catalog.VolumeKey{Label: late.label, LabelType: catalog.Labeled})
	})
	w.stop()
	w.start()
	if res := w.mustSync(strict(w.input(snapshot.Update, true))); res.Applied.Counts.Changed() == 0 {
		t.Errorf("the strict UPDATE after the fix applied nothing: %s", res.Summary())
	}
	w.noDrift(opts)
}

// TestGroupMoveOnTheDevServer: a volume set moved to another volume group
// of the store on the primary is in one pool of the secondary after the
// next UPDATE run by the workers.
func TestGroupMoveOnTheDevServer(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
	w.mustSync(w.input(snapshot.Full, true))
	to, err := w.prim.VolumeGroup(ctx, "VG_PROD_2")
	if err != nil {
		t.Fatal(err)
	}
	set := simtest.FindSet(t, w.prim, func(s *snapshot.VolumeSet) bool {
		return len(s.TapeFiles) > 0 && s.Volumes[0].Group == "VG_PROD_1"
	})
	simtest.MoveSet(t, w.prim, set, to)
	res := w.mustSync(w.input(snapshot.Update, true))
	if n := int64(len(set.TapeVolumes)); res.Applied.Counts["tapevolume.delete"] != n {
		t.Errorf("UPDATE after the move: %v, want %d tape volumes moved", res.Applied.Counts, n)
	}
	for _, tv := range set.TapeVolumes {
		if got := simtest.Pools(t, w.sec, tv.Volser); len(got) != 1 || !strings.HasSuffix(got[0], " "+to.Pool) {
			t.Errorf("label %s is in %v on the secondary, want only %s", tv.Volser, got, to.Pool)
		}
	}
	w.noDrift(opts)
}

// unrecordable is a secondary whose audit trail refuses every record, a
// failure after the catalogs were written.
type unrecordable struct{ *activities.Activities }

func (*unrecordable) Record(context.Context, audit.Entry) error {
	return temporal.NewNonRetryableApplicationError("the audit trail refuses the record", "AuditRefused", nil)
}

// TestFailedAfterApplyReimportsNextTime: a run that applied its snapshot
// and then failed in its bookkeeping leaves the watermark saying so: the
// next UPDATE re-imports every volume of the store.
func TestFailedAfterApplyReimportsNextTime(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	full := w.mustSync(w.input(snapshot.Full, true))
	w.advance(1)
	w.serveWith(config.RoleSecondary, &unrecordable{w.activities(config.RoleSecondary)})
	if _, err := w.sync(w.input(snapshot.Update, true)); err == nil {
		t.Fatal("the run whose record failed did not fail")
	}
	if wm, err := importer.ReadWatermark(ctx, w.sec, "DS_PROD"); err != nil || !wm.Reimport {
		t.Fatalf("after the failed run the watermark is %+v (%v), want the re-import flag", wm, err)
	}
	w.stop()
	w.start()
	upd := w.mustSync(w.input(snapshot.Update, true))
	if upd.Snapshot.FromSeq != 0 || upd.Applied.Sets < full.Applied.Sets {
		t.Errorf("the UPDATE after the failure covered changes after %d with %d sets; the store has %d",
			upd.Snapshot.FromSeq, upd.Applied.Sets, full.Applied.Sets)
	}
	w.noDrift(importer.Options{StoreID: "DS_PROD", CatalogFiles: true})
}
