package workflows_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/daytime"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/workflows"
)

// writeHistoriesEnv makes TestWriteHistories write testdata/*.json.
const writeHistoriesEnv = "CATSYNC_WRITE_HISTORIES"

// historyScenario is a run on tiny simulated sites whose history the
// replay test keeps: arrange plants what the run needs and returns its
// input; the run must end with outcome.
type historyScenario struct {
	name    string
	outcome string
	arrange func(*world) workflows.SyncInput
}

var historyScenarios = []historyScenario{
	{"completed", workflows.OutcomeCompleted, func(w *world) workflows.SyncInput {
		return w.input(snapshot.Full, true)
	}},
	{"completed_with_conflicts", workflows.OutcomeCompletedWithConflicts, func(w *world) workflows.SyncInput {
		w.plant(w.sec, otherStoreVolume(prodLabel(w)))
		return w.input(snapshot.Full, true)
	}},
	{"completed_with_failures", workflows.OutcomeCompletedWithFailures, func(w *world) workflows.SyncInput {
		failWrites(w, prodLabel(w))
		return w.input(snapshot.Full, true)
	}},
	{"aborted_with_conflicts", workflows.OutcomeAbortedWithConflicts, func(w *world) workflows.SyncInput {
		w.plant(w.sec, otherStoreVolume(prodLabel(w)))
		return strict(w.input(snapshot.Full, true))
	}},
	{"aborted_with_conflicts_at_apply", workflows.OutcomeAbortedWithConflicts, func(w *world) workflows.SyncInput {
		w.serveWith(config.RoleSecondary, &lateConflict{w.activities(config.RoleSecondary), prodLabel(w)})
		return strict(w.input(snapshot.Full, true))
	}},
	{"key_parity_failed", workflows.OutcomeKeyParityFailed, func(w *world) workflows.SyncInput {
		w.plant(w.sec, wrongKeyManagerEntry)
		return w.input(snapshot.Full, true)
	}},
	{"failed_after_apply", workflows.OutcomeFailed, func(w *world) workflows.SyncInput {
		w.serveWith(config.RoleSecondary, &unrecordable{w.activities(config.RoleSecondary)})
		return w.input(snapshot.Full, true)
	}},
	{"failed", workflows.OutcomeFailed, func(w *world) workflows.SyncInput {
		w.serveWith(config.RolePrimary, &corruptingPrimary{w.activities(config.RolePrimary)})
		return w.input(snapshot.Full, true)
	}},
	{"failed_at_lease", workflows.OutcomeFailed, func(w *world) workflows.SyncInput {
		other := importer.Holder{WorkflowID: "nightly-DS_PROD", RunID: "elsewhere"}
		if err := importer.TakeLease(context.Background(), w.sec, w.storeID, other, time.Now(), time.Hour); err != nil {
			w.t.Fatal(err)
		}
		return w.input(snapshot.Full, true)
	}},
	{"verified", workflows.OutcomeVerified, func(w *world) workflows.SyncInput {
		w.mustSync(w.input(snapshot.Full, true))
		in := w.input(snapshot.Full, true)
		in.Verify = true
		return in
	}},
	{"cancelled", workflows.OutcomeCancelled, func(w *world) workflows.SyncInput {
		w.serveWith(config.RoleSecondary, &cancelledApply{w.activities(config.RoleSecondary), w.c})
		return w.input(snapshot.Full, true)
	}},
	{"skipped", workflows.OutcomeSkipped, func(w *world) workflows.SyncInput {
		in := w.input(snapshot.Update, true)
		in.Window = &workflows.StartWindow{Scheduled: time.Now().Add(-2 * time.Hour), CatchUp: time.Hour}
		return in
	}},
	{"completed_after_quiet_window", workflows.OutcomeCompleted, func(w *world) workflows.SyncInput {
		// A quiet window that holds now and ends in a few seconds: the
		// apply waits for it.
		sec, day := daytime.Second(time.Now().UTC()), daytime.Day
		in := w.input(snapshot.Full, true)
		in.Window = &workflows.StartWindow{Quiet: &workflows.QuietWindow{Span: daytime.Span{Start: (sec - 60 + day) % day, End: (sec + 5) % day}, Zone: "UTC"}}
		return in
	}},
}

// imageScenarios run on sites whose primary writes the image of every
// volume, for the restore test to read.
var imageScenarios = []historyScenario{
	{"restore_test_failed", workflows.OutcomeRestoreTestFailed, func(w *world) workflows.SyncInput {
		plain, encrypted := w.written()
		w.pair.ReplicateData(w.t, sim.DataReplication{Store: w.storeID, Missing: append(plain, encrypted...)[:1]})
		in := w.input(snapshot.Full, true)
		in.RestoreSample = 1000 // every volume
		return in
	}},
}

// drScenarios are runs of the DR workflows, on sites whose primary writes
// images: start starts the run; it must end with outcome.
var drScenarios = []struct {
	name, outcome string
	start         func(*world) client.WorkflowRun
}{
	{"drill_passed", workflows.OutcomeDrillPassed, func(w *world) client.WorkflowRun {
		return w.startDR(workflows.DRDrill, workflows.DrillInput{Store: w.storeID, Primary: w.cfg.Primary.Name, Secondary: w.cfg.Secondary.Name,
			CatalogFiles: true})
	}},
	{"failover_approved", workflows.OutcomeFailedOver, func(w *world) client.WorkflowRun {
		in := w.failoverInput()
		in.Approval = &workflows.Approval{Approve: true, Operator: "jdoe", Reason: "primary site lost"}
		return w.startDR(workflows.DRFailover, in)
	}},
	{"failover_refused", workflows.OutcomeRefused, func(w *world) client.WorkflowRun {
		in := w.failoverInput()
		in.Approval = &workflows.Approval{Approve: false, Operator: "jdoe", Reason: "the primary is back"}
		return w.startDR(workflows.DRFailover, in)
	}},
	{"failback_approved", workflows.OutcomeFailedBack, func(w *world) client.WorkflowRun {
		in := w.failoverInput()
		in.Approval = &workflows.Approval{Approve: true, Operator: "jdoe", Reason: "primary site lost"}
		w.waitFailover(w.startFailover(in))
		w.knowDR()
		return w.startDR(workflows.DRFailback, workflows.FailbackInput{Store: w.storeID, Returning: w.cfg.Primary.Name, Owner: w.cfg.Secondary.Name,
			CatalogFiles: true, Approval: &workflows.Approval{Approve: true, Operator: "jdoe", Reason: "primary site repaired"}})
	}},
	{"failover_timed_out", workflows.OutcomeApprovalTimedOut, func(w *world) client.WorkflowRun {
		in := w.failoverInput()
		in.ApprovalTimeout = time.Second
		return w.startDR(workflows.DRFailover, in)
	}},
}

// startDR starts a DR workflow on the world.
func (w *world) startDR(wf any, in any) client.WorkflowRun {
	w.t.Helper()
	run, err := w.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{TaskQueue: workflows.TaskQueue}, wf, in)
	if err != nil {
		w.t.Fatal(err)
	}
	return run
}

// TestWriteHistories runs every scenario on the dev server and writes its
// history as testdata/<name>.json, for the replay test (replay_test.go).
// It runs only when CATSYNC_WRITE_HISTORIES is set, and never overwrites a
// history: delete a file to write it again.
func TestWriteHistories(t *testing.T) {
	if os.Getenv(writeHistoriesEnv) == "" {
		t.Skip(writeHistoriesEnv + " is not set: the histories in testdata/ stay as committed")
	}
	images := map[string]bool{}
	for _, sc := range imageScenarios {
		images[sc.name] = true
	}
	for _, sc := range append(historyScenarios, imageScenarios...) {
		t.Run(sc.name, func(t *testing.T) {
			path := filepath.Join("testdata", sc.name+".json")
			if _, err := os.Stat(path); err == nil {
				t.Skipf("%s exists: delete it to write it again", path)
			}
			sp := sim.DefaultSecondaryParams()
			w := newWorldWith(t, tiny(), simtest.Options{Secondary: &sp, Keys: simtest.Keystores, Images: images[sc.name]})
			run, res, err := w.run(sc.arrange(w))
			fails := sc.outcome == workflows.OutcomeFailed || sc.outcome == workflows.OutcomeCancelled
			switch {
			case fails && err == nil:
				t.Fatalf("the run ended %s, want it %s", res.Outcome, sc.outcome)
			case !fails && err != nil:
				t.Fatal(err)
			case err == nil && res.Outcome != sc.outcome:
				t.Fatalf("the run ended %s, want %s", res.Outcome, sc.outcome)
			}
			w.writeHistory(path, run)
		})
	}
	for _, sc := range drScenarios {
		t.Run(sc.name, func(t *testing.T) {
			path := filepath.Join("testdata", sc.name+".json")
			if _, err := os.Stat(path); err == nil {
				t.Skipf("%s exists: delete it to write it again", path)
			}
			w := newWorldWith(t, tiny(), simtest.Options{Keys: simtest.Keystores, Images: true})
			w.pair.ReplicateData(t, sim.DataReplication{})
			run := sc.start(w)
			var res struct{ Outcome string }
			if err := run.Get(context.Background(), &res); err != nil || res.Outcome != sc.outcome {
				t.Fatalf("the run ended %s (%v), want %s", res.Outcome, err, sc.outcome)
			}
			w.writeHistory(path, run)
		})
	}
}

// tiny is the smallest site that still has every kind of entry: the
// histories do not grow with the catalog, but the results they carry do.
func tiny() sim.Params {
	p := small()
	p.Volumes, p.Days, p.BackupsPerDay, p.DiskFilesPerFile = 12, 3, 2, 1
	return p
}

func strict(in workflows.SyncInput) workflows.SyncInput {
	in.Strict = true
	return in
}

// prodLabel is the label of a volume of the primary's DS_PROD.
func prodLabel(w *world) string {
	w.t.Helper()
	var label string
	if err := w.prim.ScanVolumes(context.Background(), store.Filter{StoreID: w.storeID}, func(v *catalog.Volume) error {
		if label == "" {
			label = v.Label
		}
		return nil
	}); err != nil || label == "" {
		w.t.Fatalf("no volume of %s on the primary: %v", w.storeID, err)
	}
	return label
}

// plant writes on a site's catalog in one transaction.
func (w *world) plant(st store.Store, fn func(context.Context, store.Tx) error) {
	w.t.Helper()
	ctx := context.Background()
	if err := st.Update(ctx, func(tx store.Tx) error { return fn(ctx, tx) }); err != nil {
		w.t.Fatal(err)
	}
}

// otherStoreVolume gives another replicated data store, DS_OTHER, a volume
// labelled label: a LABEL_OTHER_STORE conflict for the set holding it.
func otherStoreVolume(label string) func(context.Context, store.Tx) error {
	return func(ctx context.Context, tx store.Tx) error {
		if err := tx.PutDataStore(ctx, &catalog.DataStore{ID: "DS_OTHER", Access: catalog.AccessSecondary, Status: catalog.StoreActive}); err != nil {
			return err
		}
		return tx.PutVolume(ctx, &catalog.Volume{Label: label, LabelType: catalog.Labeled, StoreID: "DS_OTHER", Group: "VG_OTHER",
			Access: catalog.AccessSecondary, Auth: "GGO", Compression: catalog.CompressZlib})
	}
}

// wrongKeyManagerEntry gives the secondary domain a key-manager entry under
// another BackPak id than the primary's: every key is there, but BackPak
// would not look for it.
func wrongKeyManagerEntry(ctx context.Context, tx store.Tx) error {
	site, err := tx.Site(ctx)
	if err != nil {
		return err
	}
	site.KeyManagers = []catalog.KeyManagerEntry{{BackPakID: "BPWRONG", Server: "kms.secd:5696"}}
	return tx.PutSite(ctx, &site)
}

// failWrites makes every write of the volume labelled label fail on the
// secondary's SQLite catalog, as a full disk would for its set.
func failWrites(w *world, label string) {
	w.t.Helper()
	db, err := sql.Open("sqlite", w.cfg.Secondary.Catalog)
	if err != nil {
		w.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(fmt.Sprintf(`CREATE TRIGGER fail_%[1]s BEFORE INSERT ON volume WHEN NEW.label = '%[1]s'
		BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END`, label)); err != nil {
		w.t.Fatal(err)
	}
}

// cancelledApply is a secondary whose apply has its run cancelled, then
// stops at the cancel as the real one does.
type cancelledApply struct {
	*activities.Activities
	c client.Client
}

func (c cancelledApply) Apply(ctx context.Context, _ activities.ImportInput) (activities.ImportResult, error) {
	run := activity.GetInfo(ctx).WorkflowExecution
	if err := c.c.CancelWorkflow(ctx, run.ID, run.RunID); err != nil {
		return activities.ImportResult{}, err
	}
	for ctx.Err() == nil {
		activity.RecordHeartbeat(ctx)
		time.Sleep(50 * time.Millisecond)
	}
	return activities.ImportResult{}, temporal.NewCanceledError()
}

// lateConflict is a secondary whose plan is followed by a local backup
// taking a label of the snapshot: the apply meets a conflict the plan did
// not see.
type lateConflict struct {
	*activities.Activities
	label string
}

func (l lateConflict) Plan(ctx context.Context, in activities.ImportInput) (activities.ImportResult, error) {
	res, err := l.Activities.Plan(ctx, in)
	if err != nil {
		return res, err
	}
	return res, l.Site.Catalog.Update(ctx, func(tx store.Tx) error { return otherStoreVolume(l.label)(ctx, tx) })
}

// writeHistory writes the history of run as path.
func (w *world) writeHistory(path string, run client.WorkflowRun) {
	w.t.Helper()
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: " "}.Marshal(w.history(run))
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		w.t.Fatal(err)
	}
	w.t.Logf("wrote %s: %d bytes", path, len(b)+1)
}
