package workflows

import (
	"context"
	"testing"

	"github.com/stretchr/testify/mock"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/restore"
	"github.com/catsync/catsync/internal/snapshot"
)

// A sampled volume that cannot be restored from ends the run
// RestoreTestFailed, the catalogs applied and the watermark moved (the
// catalogs are right; the data is not), with the report in the result and
// the audit entry.
func TestRestoreFailureOutcome(t *testing.T) {
	env := newEnv(t)
	var order []string
	happy(env, &order, importer.Watermark{Seq: 5}, "restore", "record")
	failed := restore.Report{Store: "DS_PROD", Sampled: 3, Passed: 2, Failed: 1, ByProblem: map[string]int{restore.ImageMissing: 1},
		Verdicts: []restore.Verdict{{Label: "T00001", Problem: restore.ImageMissing}}, Volumes: 9, Verified: 2}
	env.OnActivity(a.RestoreTest, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RestoreInput) (restore.Report, error) {
		if in.Options.Sample != 7 || in.Options.Seed == 0 {
			t.Errorf("restore options %+v", in.Options)
		}
		return failed, nil
	})
	var recorded audit.Entry
	env.OnActivity(a.Record, mock.Anything, mock.Anything).Return(func(_ context.Context, e audit.Entry) error {
		recorded = e
		return nil
	})
	in := input(snapshot.Update)
	in.RestoreSample = 7
	env.ExecuteWorkflow(CatalogSync, in)
	var res SyncResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeRestoreTestFailed || res.Watermark.Seq != 42 || res.Restore.Failed != 1 {
		t.Errorf("result %+v", res)
	}
	if recorded.Outcome != OutcomeRestoreTestFailed || recorded.Restore == nil || recorded.Restore.Failed != 1 {
		t.Errorf("recorded %+v", recorded)
	}
}
