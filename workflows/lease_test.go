package workflows

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/snapshot"
)

// A store's lease held by another run refuses the run before anything
// moves: it fails naming the holder, records its refusal, and releases
// nothing, since the lease is not its own.
func TestLeaseHeldRefusesTheRun(t *testing.T) {
	env := newEnv(t)
	var order []string
	happy(env, &order, importer.Watermark{Seq: 5}, "lease", "record")
	held := "data store DS_PROD is being imported by catalogsync-DS_PROD (run r1)"
	env.OnActivity(a.TakeLease, mock.Anything, mock.Anything).Return(
		temporal.NewNonRetryableApplicationError(held, activities.TypeLeaseHeld, nil))
	var recorded audit.Entry
	env.OnActivity(a.Record, mock.Anything, mock.Anything).Return(func(_ context.Context, e audit.Entry) error {
		recorded = e
		return nil
	})
	env.ExecuteWorkflow(CatalogSync, input(snapshot.Update))
	err := env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), held) {
		t.Fatalf("workflow error %v, want the lease refusal", err)
	}
	if got := strings.Join(order, " "); got != "describe check" {
		t.Errorf("steps ran as %q, want only the check before the refusal", got)
	}
	if recorded.Outcome != OutcomeFailed || recorded.Error != "at lease: "+held {
		t.Errorf("recorded %+v", recorded)
	}
}

// The lease is renewed while the steps run, a third of its TTL apart; a
// renewal that finds it lost stops the run, which reads what its apply
// committed and records the loss as its failure.
func TestLeaseLostStopsTheRun(t *testing.T) {
	env := newEnv(t)
	var order []string
	happy(env, &order, importer.Watermark{Seq: 5}, "lease", "apply", "record")
	// Short, for the renewals to come while the apply runs: the test
	// environment skips time only while no activity runs.
	ttl := 300 * time.Millisecond
	env.SetTestTimeout(time.Minute)
	env.OnActivity(a.TakeLease, mock.Anything, mock.MatchedBy(func(in activities.LeaseInput) bool {
		return in.TTL == ttl && in.Store == "DS_PROD" && in.Holder.RunID != ""
	})).Return(nil)
	renewals := 0
	lost := "data store DS_PROD: the lease of catalogsync-DS_PROD expired and another run took it"
	env.OnActivity(a.RenewLease, mock.Anything, mock.Anything).Return(func(context.Context, activities.LeaseInput) error {
		if renewals++; renewals < 3 {
			return nil
		}
		return temporal.NewNonRetryableApplicationError(lost, activities.TypeLeaseLost, nil)
	})
	env.OnActivity(a.ReleaseLease, mock.Anything, mock.Anything).Return(nil)
	// The apply outlasts three renewals, until the lost lease cancels it.
	env.OnActivity(a.Apply, mock.Anything, mock.Anything).Return(func(ctx context.Context, _ activities.ImportInput) (activities.ImportResult, error) {
		<-ctx.Done()
		return activities.ImportResult{}, ctx.Err()
	})
	env.OnActivity(a.Unfinished, mock.Anything, ref).Return(activities.Unfinished{
		Applied: activities.ImportResult{Sets: 2, Counts: importer.Counts{"tapefile.create": 4}}, Watermark: importer.Watermark{Seq: 5, Reimport: true}}, nil)
	var recorded audit.Entry
	env.OnActivity(a.Record, mock.Anything, mock.Anything).Return(func(_ context.Context, e audit.Entry) error {
		recorded = e
		return nil
	})
	in := input(snapshot.Update)
	in.LeaseTTL = ttl
	env.ExecuteWorkflow(CatalogSync, in)
	err := env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), lost) {
		t.Fatalf("workflow error %v, want the lost lease", err)
	}
	if renewals != 3 {
		t.Errorf("%d renewals, want 3", renewals)
	}
	if recorded.Outcome != OutcomeFailed || recorded.Error != "at apply: "+lost || recorded.Counts["tapefile.create"] != 4 {
		t.Errorf("recorded %+v", recorded)
	}
}

// A cancel during the apply, on a context the cancel does not end, reads
// what was committed, sets the re-import flag, records the run as
// Cancelled with those counts, and releases the lease; the workflow ends
// cancelled. (The test environment does not wait for a cancelled activity
// to stop; the dev-server test shows that the run does.)
func TestCancelDuringApplyRecordsWhatWasApplied(t *testing.T) {
	env := newEnv(t)
	var order []string
	happy(env, &order, importer.Watermark{Seq: 5}, "apply", "record")
	env.OnActivity(a.Apply, mock.Anything, mock.Anything).Return(func(ctx context.Context, _ activities.ImportInput) (activities.ImportResult, error) {
		<-ctx.Done()
		return activities.ImportResult{}, temporal.NewCanceledError()
	})
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Second)
	unfinished := 0
	env.OnActivity(a.Unfinished, mock.Anything, ref).Return(func(context.Context, snapshot.Ref) (activities.Unfinished, error) {
		unfinished++
		return activities.Unfinished{Applied: activities.ImportResult{Sets: 1, Counts: importer.Counts{"volume.create": 2}},
			Watermark: importer.Watermark{Seq: 5, Reimport: true}}, nil
	})
	var recorded []audit.Entry
	env.OnActivity(a.Record, mock.Anything, mock.Anything).Return(func(_ context.Context, e audit.Entry) error {
		recorded = append(recorded, e)
		order = append(order, "record")
		return nil
	})
	env.ExecuteWorkflow(CatalogSync, input(snapshot.Update))
	if err := env.GetWorkflowError(); !temporal.IsCanceledError(err) {
		t.Fatalf("workflow error %v, want cancelled", err)
	}
	if unfinished != 1 || len(recorded) != 1 {
		t.Fatalf("unfinished %d times, %d records; want 1 and 1", unfinished, len(recorded))
	}
	if e := recorded[0]; e.Outcome != OutcomeCancelled || e.Counts["volume.create"] != 2 || e.Error != "at apply: cancelled" {
		t.Errorf("recorded %+v", e)
	}
	if got := strings.Join(order, " "); !strings.HasSuffix(got, "record release") {
		t.Errorf("steps ran as %q, want the record then the release last", got)
	}
}

// Runs started before leases neither take nor release one.
func TestRunsBeforeLeasesTakeNone(t *testing.T) {
	env := newEnv(t)
	var order []string
	happy(env, &order, importer.Watermark{Seq: 5})
	env.OnGetVersion(changeLease, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	env.ExecuteWorkflow(CatalogSync, input(snapshot.Update))
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(order, " "), "describe check watermark snapshot transfer plan apply keys restore finish record"; got != want {
		t.Errorf("steps ran as %q, want %q", got, want)
	}
}
