package workflows_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/workflows"
)

// heldPrimary snapshots only once released: a run holds its lease
// meanwhile.
type heldPrimary struct {
	*activities.Activities
	release chan struct{}
}

func (h heldPrimary) Snapshot(ctx context.Context, in activities.SnapshotInput) (snapshot.Ref, error) {
	select {
	case <-h.release:
	case <-ctx.Done():
		return snapshot.Ref{}, ctx.Err()
	}
	return h.Activities.Snapshot(ctx, in)
}

// startAs starts a CatalogSync under a workflow id of its own, as a
// schedule, a script or the Temporal CLI would.
func (w *world) startAs(id string, in workflows.SyncInput) client.WorkflowRun {
	w.t.Helper()
	run, err := w.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue}, workflows.CatalogSync, in)
	if err != nil {
		w.t.Fatal(err)
	}
	return run
}

// waitLease waits until the store's lease is in the state ok wants.
func (w *world) waitLease(what string, ok func(importer.Lease) bool) importer.Lease {
	w.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		l, _, err := importer.ReadLease(context.Background(), w.sec, w.storeID)
		if err != nil {
			w.t.Fatal(err)
		}
		if ok(l) {
			return l
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("the lease never %s: %+v", what, l)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// auditOf returns the audit entries of run, verifying the chain.
func (w *world) auditOf(runID string) []audit.Entry {
	w.t.Helper()
	var out []audit.Entry
	if _, err := audit.Verify(context.Background(), w.sec, func(_ store.AuditRecord, e audit.Entry) error {
		if e.RunID == runID {
			out = append(out, e)
		}
		return nil
	}); err != nil {
		w.t.Fatal(err)
	}
	return out
}

// The rule of one import per store belongs to the secondary: a CatalogSync
// of the store started under another workflow id while one imports is
// refused at the lease, naming the run that holds it, and changes nothing;
// once the first ends, another runs.
func TestSecondSyncRefusedAtTheLease(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	release := make(chan struct{})
	w.serveWith(config.RolePrimary, &heldPrimary{w.activities(config.RolePrimary), release})
	first, err := workflows.StartSync(ctx, w.c, w.input(snapshot.Full, true))
	if err != nil {
		t.Fatal(err)
	}
	w.waitLease("went to the first run", func(l importer.Lease) bool { return l.Holder.RunID == first.GetRunID() })
	digest, err := store.Digest(ctx, w.sec)
	if err != nil {
		t.Fatal(err)
	}

	second := w.startAs("nightly-DS_PROD", w.input(snapshot.Update, true))
	err = second.Get(ctx, nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.TypeLeaseHeld || !strings.Contains(appErr.Message(), first.GetID()) ||
		!strings.Contains(appErr.Message(), first.GetRunID()) {
		t.Fatalf("second run: %v; want refused at the lease, naming %s", err, first.GetID())
	}
	if after, _ := store.Digest(ctx, w.sec); after != digest {
		t.Error("the refused run changed the secondary")
	}
	if rec := w.auditOf(second.GetRunID()); len(rec) != 1 || rec[0].Outcome != workflows.OutcomeFailed || !strings.HasPrefix(rec[0].Error, "at lease: ") {
		t.Errorf("the refused run's record: %+v", rec)
	}

	close(release)
	var res workflows.SyncResult
	if err := first.Get(ctx, &res); err != nil || res.Outcome != workflows.OutcomeCompleted {
		t.Fatalf("first run: %v %s", err, res.Outcome)
	}
	l := w.waitLease("was released", func(l importer.Lease) bool { return !l.Released.IsZero() })
	if l.Holder.RunID != first.GetRunID() {
		t.Errorf("lease %+v after the first run", l)
	}
	third := w.startAs("nightly-DS_PROD-2", w.input(snapshot.Update, true))
	if err := third.Get(ctx, &res); err != nil || res.Outcome != workflows.OutcomeCompleted {
		t.Fatalf("a run after the first: %v %s", err, res.Outcome)
	}
	w.noDrift(importer.Options{StoreID: w.storeID, CatalogFiles: true})
}

// bigWorld is a catalog whose apply lasts long enough to be interrupted,
// in small segments.
func bigWorld(t *testing.T) *world {
	p := small()
	p.Volumes, p.Days, p.BackupsPerDay = 1500, 20, 40
	w := newWorld(t, p, sim.DefaultSecondaryParams())
	activities.SetsPerSegment = 50
	t.Cleanup(func() { activities.SetsPerSegment = 500 })
	// The apply commits every few sets, each commit a little slowed: it
	// lasts past the moment a test acts in its middle on any machine,
	// where a fast one finished before a cancel reached it.
	sec := w.activities(config.RoleSecondary)
	sec.ApplyBatch, sec.Site.Catalog = 500, slowCommits{sec.Site.Catalog, 20 * time.Millisecond}
	w.serveWith(config.RoleSecondary, sec)
	return w
}

// slowCommits is a store whose transactions each take d longer.
type slowCommits struct {
	store.Store
	d time.Duration
}

func (s slowCommits) Update(ctx context.Context, fn func(store.Tx) error) error {
	time.Sleep(s.d)
	return s.Store.Update(ctx, fn)
}

// waitApplying waits until the apply has written more than n volumes.
func (w *world) waitApplying(run client.WorkflowRun, n int64) {
	w.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for countRows(w.t, w.sec, store.TableVolume) <= n {
		if time.Now().After(deadline) {
			err := run.Get(context.Background(), nil)
			w.t.Fatalf("the apply never wrote %d volumes: %v", n, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settled waits until the secondary's volumes stop changing, and returns
// its row counts by table.
func (w *world) settled() map[string]int64 {
	w.t.Helper()
	for {
		before := countRows(w.t, w.sec, store.TableVolume)
		time.Sleep(2 * w.hbTimeout)
		if countRows(w.t, w.sec, store.TableVolume) == before {
			return w.rows()
		}
	}
}

// appliedAll fails unless counts, recorded by the first FULL of the store,
// created exactly the rows the secondary gained from before to after:
// every volume set applied whole or not at all, each counted once.
func appliedAll(t *testing.T, counts importer.Counts, before, after map[string]int64) {
	t.Helper()
	for table, entity := range map[string]string{store.TableVolume: "volume", store.TableTapeVolume: "tapevolume",
		store.TableTapeFile: "tapefile", store.TableTFTOV: "tftov", store.TableDiskFile: "diskfile"} {
		if got := after[table] - before[table]; counts[entity+".create"] != got {
			t.Errorf("recorded %d %s created, the secondary gained %d", counts[entity+".create"], entity, got)
		}
	}
}

// rows are the secondary's row counts by table.
func (w *world) rows() map[string]int64 {
	w.t.Helper()
	n, err := w.sec.Count(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

// A cancel during the apply stops it at a set boundary: the run ends
// cancelled, once, with one audit record counting exactly what was
// applied, the re-import flag set and the lease released; the next UPDATE
// brings the secondary level with the primary.
func TestCancelMidApplyRecordsWhatWasApplied(t *testing.T) {
	ctx := context.Background()
	w := bigWorld(t)
	// A cancel reaches the apply with its next heartbeat sent: soon.
	w.hbTimeout = time.Second
	before := w.rows()
	run, err := workflows.StartSync(ctx, w.c, w.input(snapshot.Full, true))
	if err != nil {
		t.Fatal(err)
	}
	w.waitApplying(run, 100)
	if err := w.c.CancelWorkflow(ctx, run.GetID(), run.GetRunID()); err != nil {
		t.Fatal(err)
	}
	var canceled *temporal.CanceledError
	if err := run.Get(ctx, nil); !errors.As(err, &canceled) {
		t.Fatalf("the cancelled run ended with %v", err)
	}
	rows := w.settled()
	rec := w.auditOf(run.GetRunID())
	if len(rec) != 1 || rec[0].Outcome != workflows.OutcomeCancelled || rec[0].Error != "at apply: cancelled" {
		t.Fatalf("records of the cancelled run: %+v", rec)
	}
	total := countRows(t, w.prim, store.TableVolume)
	if n := rows[store.TableVolume] - before[store.TableVolume]; n == 0 || n >= total {
		t.Fatalf("the cancel left %d of the primary's %d volumes: not mid-apply", n, total)
	}
	appliedAll(t, rec[0].Counts, before, rows)
	if wm, err := importer.ReadWatermark(ctx, w.sec, w.storeID); err != nil || !wm.Reimport || wm.Seq != 0 {
		t.Errorf("watermark after the cancel: %+v %v, want the re-import flag", wm, err)
	}
	w.waitLease("was released", func(l importer.Lease) bool { return !l.Released.IsZero() && l.Holder.RunID == run.GetRunID() })

	if res := w.mustSync(w.input(snapshot.Update, true)); res.Snapshot.FromSeq != 0 {
		t.Errorf("the UPDATE after the cancel exported from %d, want every volume", res.Snapshot.FromSeq)
	}
	w.noDrift(importer.Options{StoreID: w.storeID, CatalogFiles: true})
}

// A run terminated mid-apply runs no more code: the next run, taking the
// lease once it expired, records it as Abandoned with what its apply
// committed, and re-imports every volume.
func TestTerminatedRunRecordedByTheNext(t *testing.T) {
	ctx := context.Background()
	w := bigWorld(t)
	before := w.rows()
	in := w.input(snapshot.Full, true)
	in.LeaseTTL = 3 * time.Second
	run, err := workflows.StartSync(ctx, w.c, in)
	if err != nil {
		t.Fatal(err)
	}
	w.waitApplying(run, 100)
	if err := w.c.TerminateWorkflow(ctx, run.GetID(), run.GetRunID(), "operator stopped it"); err != nil {
		t.Fatal(err)
	}
	// The step in flight learns of the end at its next heartbeat; its
	// writes, committed with the lease renewed, stop then.
	rows := w.settled()
	l := w.waitLease("expired", func(l importer.Lease) bool { return !time.Now().Before(l.Expires) })
	if l.Holder.RunID != run.GetRunID() || !l.Released.IsZero() || !l.Applying {
		t.Fatalf("lease left by the terminated run: %+v", l)
	}
	if len(w.auditOf(run.GetRunID())) != 0 {
		t.Fatal("a terminated run recorded itself")
	}

	next := w.mustSync(w.input(snapshot.Update, true))
	rec := w.auditOf(run.GetRunID())
	if len(rec) != 1 || rec[0].Outcome != activities.OutcomeAbandoned || !strings.Contains(rec[0].Error, "without releasing its lease") {
		t.Fatalf("records of the terminated run: %+v", rec)
	}
	appliedAll(t, rec[0].Counts, before, rows)
	if next.Snapshot.FromSeq != 0 {
		t.Errorf("the run after the abandoned one exported from %d, want every volume", next.Snapshot.FromSeq)
	}
	w.noDrift(importer.Options{StoreID: w.storeID, CatalogFiles: true})
}

// A strict run cancelled mid-apply is all or nothing too: the apply undoes
// every set it wrote before it stops, so the secondary is as it was, and
// the run is recorded Cancelled with nothing applied.
func TestStrictCancelRollsBack(t *testing.T) {
	ctx := context.Background()
	w := bigWorld(t)
	w.hbTimeout = time.Second
	digest, err := store.Digest(ctx, w.sec)
	if err != nil {
		t.Fatal(err)
	}
	run, err := workflows.StartSync(ctx, w.c, strict(w.input(snapshot.Full, true)))
	if err != nil {
		t.Fatal(err)
	}
	w.waitApplying(run, 100)
	if err := w.c.CancelWorkflow(ctx, run.GetID(), run.GetRunID()); err != nil {
		t.Fatal(err)
	}
	var canceled *temporal.CanceledError
	if err := run.Get(ctx, nil); !errors.As(err, &canceled) {
		t.Fatalf("the cancelled run ended with %v", err)
	}
	w.settled()
	if after, _ := store.Digest(ctx, w.sec); after != digest {
		t.Error("the cancelled strict run left writes on the secondary")
	}
	rec := w.auditOf(run.GetRunID())
	if len(rec) != 1 || rec[0].Outcome != workflows.OutcomeCancelled || importer.Counts(rec[0].Counts).Changed() != 0 {
		t.Fatalf("records of the cancelled strict run: %+v", rec)
	}
	if _, pending, err := importer.PendingUndo(ctx, w.sec, w.storeID); err != nil || pending {
		t.Errorf("the cancelled strict run left its undo journal (%v)", err)
	}
}
