package workflows_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/catsync/catsync/workflows"
)

// TestReplay replays every history in testdata/ through today's
// CatalogSync: a change to the workflow that runs already in history could
// not replay fails here (see the package doc on versioning). One history
// per outcome at least; each is a run on tiny simulated sites.
//
// To write them, on the dev server (the Temporal CLI, `make temporal`):
//
//	CATSYNC_WRITE_HISTORIES=1 CATSYNC_TEMPORAL_CLI=$PWD/.bin/temporal go test -count=1 -run TestWriteHistories ./workflows
//
// TestWriteHistories (histories_integration_test.go) runs its scenarios and
// writes testdata/<scenario>.json for each file that does not exist yet;
// delete a file to write it again. After a change behind
// workflow.GetVersion, keep the histories of the old code (rename them,
// say completed.json to completed-before-<change id>.json) and write the
// new ones beside them.
func TestReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no histories in testdata: %v", err)
	}
	outcomes := map[string]bool{}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".json"), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(workflows.CatalogSync)
			r.RegisterWorkflow(workflows.DRDrill)
			r.RegisterWorkflow(workflows.DRFailover)
			r.RegisterWorkflow(workflows.DRFailback)
			h := readHistory(t, path)
			// The run's own id: child workflow ids are made from it.
			start := h.Events[0].GetWorkflowExecutionStartedEventAttributes()
			if err := r.ReplayWorkflowHistoryWithOptions(nil, h, worker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: start.GetWorkflowId(), RunID: start.GetOriginalExecutionRunId()}}); err != nil {
				t.Fatal(err)
			}
			outcomes[historyOutcome(t, path, h)] = true
		})
	}
	for _, o := range []string{workflows.OutcomeCompleted, workflows.OutcomeCompletedWithFailures, workflows.OutcomeCompletedWithConflicts,
		workflows.OutcomeAbortedWithConflicts, workflows.OutcomeKeyParityFailed, workflows.OutcomeRestoreTestFailed, workflows.OutcomeFailed,
		workflows.OutcomeCancelled, workflows.OutcomeVerified, workflows.OutcomeDrillPassed, workflows.OutcomeFailedOver, workflows.OutcomeRefused,
		workflows.OutcomeApprovalTimedOut, workflows.OutcomeFailedBack, workflows.OutcomeSkipped} {
		if !outcomes[o] {
			t.Errorf("no history in testdata ends %s", o)
		}
	}
}

func readHistory(t *testing.T, path string) *historypb.History {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// historyOutcome is the outcome of the run history h of path holds.
func historyOutcome(t *testing.T, path string, h *historypb.History) string {
	t.Helper()
	last := h.Events[len(h.Events)-1]
	if last.GetWorkflowExecutionFailedEventAttributes() != nil {
		return workflows.OutcomeFailed
	}
	if last.GetWorkflowExecutionCanceledEventAttributes() != nil {
		return workflows.OutcomeCancelled
	}
	var res struct{ Outcome string } // every workflow's result has its outcome
	if err := converter.GetDefaultDataConverter().FromPayloads(last.GetWorkflowExecutionCompletedEventAttributes().GetResult(), &res); err != nil {
		t.Fatalf("the last event of %s is %s, not the run's result: %v", path, last.GetEventType(), err)
	}
	return res.Outcome
}
