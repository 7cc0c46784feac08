package workflows_test

// Staging faults on the dev server: a source that is not the primary's
// outbox, a staging area that cannot be written, a staged file that is
// garbage. Each fails the run at its first attempt (or after the bounded
// retransfers of a corrupt staged snapshot), naming the file or the
// variable; damaged bookkeeping is rebuilt when the staged snapshots allow.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/workflows"
)

// stepRun is one activity of a run's history: its type, the attempt it
// ended on, and whether it failed.
type stepRun struct {
	Step    string
	Attempt int32
	Failed  bool
}

// steps lists the activities of a finished run, in the order scheduled.
func (w *world) steps(run client.WorkflowRun) []stepRun {
	w.t.Helper()
	var out []stepRun
	at := map[int64]int{} // scheduled event id -> index in out
	for _, e := range w.history(run).Events {
		switch e.EventType {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			at[e.EventId] = len(out)
			out = append(out, stepRun{Step: e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()})
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			a := e.GetActivityTaskStartedEventAttributes()
			out[at[a.GetScheduledEventId()]].Attempt = a.GetAttempt()
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
			out[at[e.GetActivityTaskFailedEventAttributes().GetScheduledEventId()]].Failed = true
		}
	}
	return out
}

// failsAt runs a sync that must fail with a non-retryable error of type
// typ holding every want, at step on its first attempt, and returns the
// run's activities.
func (w *world) failsAt(in workflows.SyncInput, step, typ string, want ...string) []stepRun {
	w.t.Helper()
	run, _, err := w.run(in)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != typ || !appErr.NonRetryable() {
		w.t.Fatalf("sync: %v; want a non-retryable %s", err, typ)
	}
	for _, s := range want {
		if !strings.Contains(appErr.Message(), s) {
			w.t.Errorf("the run's error %q does not say %q", appErr.Message(), s)
		}
	}
	steps := w.steps(run)
	var failed []stepRun
	for _, s := range steps {
		if s.Failed {
			failed = append(failed, s)
		}
	}
	if len(failed) == 0 || failed[len(failed)-1] != (stepRun{Step: step, Attempt: 1, Failed: true}) {
		w.t.Errorf("failed steps %+v; want the last %s, at attempt 1", failed, step)
	}
	return steps
}

// restart restarts the workers on the world's configuration as it is now.
func (w *world) restart() {
	w.t.Helper()
	w.stop()
	w.start()
}

// TestStagingMissingSourceFailsTheRun: a source that does not exist, or a
// staging area that is a file, fails the transfer at once, naming the
// variable and the path; repaired, the next sync runs.
func TestStagingMissingSourceFailsTheRun(t *testing.T) {
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	source, staging := w.cfg.Source, w.cfg.Secondary.Staging

	w.cfg.Source = filepath.Join(t.TempDir(), "outbox-not-mounted")
	w.restart()
	w.failsAt(w.input(snapshot.Full, true), "Transfer", activities.TypeConfig,
		"CATSYNC_SECONDARY_SOURCE="+w.cfg.Source, "does not exist", "mount the primary's outbox there")

	w.cfg.Source = source
	w.cfg.Secondary.Staging = filepath.Join(t.TempDir(), "staging")
	if err := os.WriteFile(w.cfg.Secondary.Staging, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w.restart()
	w.failsAt(w.input(snapshot.Full, true), "Transfer", activities.TypeConfig,
		"CATSYNC_SECONDARY_STAGING="+w.cfg.Secondary.Staging, "cannot be written")

	w.cfg.Secondary.Staging = staging
	w.restart()
	w.mustSync(w.input(snapshot.Full, true))
	w.noDrift(importer.Options{StoreID: "DS_PROD", CatalogFiles: true})
}

// garblingSecondary stages every snapshot it transfers with its first
// segment turned to garbage, as a failing disk under the staging area
// would.
type garblingSecondary struct{ *activities.Activities }

func (g garblingSecondary) Transfer(ctx context.Context, ref snapshot.Ref) error {
	if err := g.Activities.Transfer(ctx, ref); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(g.Site.Staging.Dir(ref.Store, ref.ID), snapshot.SegmentName(1)), []byte("garbage\n"), 0o644)
}

// TestStagingGarbageSegmentFailsTheRun: a staged segment that stays
// garbage is copied again twice, then fails the run naming it; every
// attempt of every step is its first.
func TestStagingGarbageSegmentFailsTheRun(t *testing.T) {
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	w.serveWith(config.RoleSecondary, &garblingSecondary{w.activities(config.RoleSecondary)})
	seg := filepath.Join(w.cfg.Secondary.Staging, "DS_PROD")
	steps := w.failsAt(w.input(snapshot.Full, true), "Plan", activities.TypeCorrupt, seg, snapshot.SegmentName(1))
	var transfers, plans int
	for _, s := range steps {
		if s.Attempt != 1 {
			t.Errorf("step %s ended at attempt %d, want 1", s.Step, s.Attempt)
		}
		switch s.Step {
		case "Transfer":
			transfers++
		case "Plan":
			plans++
		}
	}
	if transfers != 3 || plans != 3 {
		t.Errorf("%d transfers and %d plans, want 3 of each (two retransfers): %+v", transfers, plans, steps)
	}
}

// TestStagingGarbageChain: a garbage chain file is rebuilt by the next
// UPDATE from the snapshots staged. When they cannot rebuild it (the FULL
// is gone too), finish refuses at its first attempt naming the file and
// the remedy; the next UPDATE re-imports from the start and rebuilds it.
func TestStagingGarbageChain(t *testing.T) {
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	staging := snapshot.Area{Root: w.cfg.Secondary.Staging}
	chainFile := filepath.Join(staging.Root, "DS_PROD", "chain.json")
	garble := func() {
		if err := os.WriteFile(chainFile, []byte("{\x00garbage"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	chainIs := func(want ...string) {
		t.Helper()
		if chain, err := staging.Chain("DS_PROD"); err != nil || !reflect.DeepEqual(chain, want) {
			t.Errorf("chain %q, %v; want %q", chain, err, want)
		}
	}
	full := w.mustSync(w.input(snapshot.Full, true))
	garble()
	w.advance(1)
	upd := w.mustSync(w.input(snapshot.Update, true))
	chainIs(full.Snapshot.ID, upd.Snapshot.ID)

	garble()
	os.RemoveAll(staging.Dir("DS_PROD", full.Snapshot.ID))
	w.advance(1)
	w.failsAt(w.input(snapshot.Update, true), "Finish", activities.TypeCorrupt,
		chainFile, "no FULL snapshot is staged", "remove the file and run a FULL sync of DS_PROD")
	wm, err := importer.ReadWatermark(context.Background(), w.sec, "DS_PROD")
	if err != nil || !wm.Reimport || wm.Seq != upd.Snapshot.ToSeq {
		t.Errorf("watermark after the refusal %+v (%v); want it at %d, re-importing", wm, err, upd.Snapshot.ToSeq)
	}
	again := w.mustSync(w.input(snapshot.Update, true))
	if again.Snapshot.FromSeq != 0 {
		t.Errorf("the UPDATE after the refusal covers changes after %d, want a re-import from 0", again.Snapshot.FromSeq)
	}
	chainIs(again.Snapshot.ID)
	w.noDrift(importer.Options{StoreID: "DS_PROD", CatalogFiles: true})
}
