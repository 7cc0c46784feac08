package workflows

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/restore"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/snapshot"
)

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Activities{})
	env.RegisterWorkflow(CatalogSync)
	return env
}

func input(typ snapshot.Type) SyncInput {
	return SyncInput{Store: "DS_PROD", Type: typ, CatalogFiles: true, Primary: "prim", Secondary: "secd"}
}

var primaryFacts = safety.Primary{Node: `\PRIM`, StoreAccess: catalog.AccessPrimary, Groups: []string{"VG_PROD_1"}}

var ref = snapshot.Ref{Store: "DS_PROD", ID: "run", Digest: "d1g35t", Type: snapshot.Update, FromSeq: 5, ToSeq: 42, Sets: 3}

// finishing matches the finish of ref, failed or not, under the run's
// lease (none in runs from before leases).
func finishing(failed bool) any {
	return mock.MatchedBy(func(in activities.FinishInput) bool {
		return in.Ref == ref && in.Failed == failed && (in.Lease == nil || in.Lease.Store == ref.Store)
	})
}

// happy mocks every step succeeding, recording the order they ran in.
// Steps named in except are left for the test to mock.
func happy(env *testsuite.TestWorkflowEnvironment, order *[]string, wm importer.Watermark, except ...string) {
	rec := func(name string) func(mock.Arguments) { return func(mock.Arguments) { *order = append(*order, name) } }
	mocks := map[string]func(){
		"check": func() {
			env.OnActivity(a.Describe, mock.Anything, "DS_PROD").Return(primaryFacts, nil).Run(rec("describe"))
			env.OnActivity(a.CheckConfig, mock.Anything, activities.CheckInput{Primary: primaryFacts,
				Options: importer.Options{StoreID: "DS_PROD", CatalogFiles: true}}).Return(nil).Run(rec("check"))
		},
		"lease": func() {
			env.OnActivity(a.TakeLease, mock.Anything, mock.Anything).Return(nil).Run(rec("lease"))
			env.OnActivity(a.RenewLease, mock.Anything, mock.Anything).Return(nil).Maybe()
			env.OnActivity(a.ReleaseLease, mock.Anything, mock.Anything).Return(nil).Run(rec("release"))
		},
		"watermark": func() {
			env.OnActivity(a.ReadWatermark, mock.Anything, "DS_PROD").Return(wm, nil).Run(rec("watermark"))
		},
		"snapshot": func() { env.OnActivity(a.Snapshot, mock.Anything, mock.Anything).Return(ref, nil).Run(rec("snapshot")) },
		"transfer": func() { env.OnActivity(a.Transfer, mock.Anything, ref).Return(nil).Run(rec("transfer")) },
		"plan": func() {
			env.OnActivity(a.Plan, mock.Anything, mock.Anything).Return(activities.ImportResult{Sets: 3, Counts: importer.Counts{"tapefile.create": 7}}, nil).Run(rec("plan"))
		},
		"apply": func() {
			env.OnActivity(a.Apply, mock.Anything, mock.Anything).Return(activities.ImportResult{Sets: 3, Counts: importer.Counts{"tapefile.create": 7}}, nil).Run(rec("apply"))
		},
		"record": func() { env.OnActivity(a.Record, mock.Anything, mock.Anything).Return(nil).Run(rec("record")) },
		"finish": func() {
			env.OnActivity(a.Finish, mock.Anything, finishing(false)).Return(importer.Watermark{Seq: 42}, nil).Run(rec("finish"))
		},
		"restore": func() {
			env.OnActivity(a.RestoreTest, mock.Anything, mock.MatchedBy(func(in activities.RestoreInput) bool { return in.Ref == ref })).Return(
				restore.Report{Store: "DS_PROD", Sampled: 2, Passed: 2, Volumes: 4, Verified: 2, Fraction: 0.5}, nil).Run(rec("restore"))
		},
		"keys": func() {
			env.OnActivity(a.KeyParity, mock.Anything, ref).Return(parity.Report{BackPakID: "BPPRIM01", Volumes: 2, OK: 2}, nil).Run(rec("keys"))
		},
	}
	for _, name := range []string{"check", "lease", "watermark", "snapshot", "transfer", "plan", "apply", "finish", "keys", "restore", "record"} {
		if !slices.Contains(except, name) {
			mocks[name]()
		}
	}
}

func TestStepsInOrder(t *testing.T) {
	env := newEnv(t)
	var order []string
	happy(env, &order, importer.Watermark{Seq: 5}, "snapshot")
	env.OnActivity(a.Snapshot, mock.Anything, mock.MatchedBy(func(in activities.SnapshotInput) bool {
		return in.After == 5 && in.Type == snapshot.Update && in.Store == "DS_PROD" && in.ID != ""
	})).Return(ref, nil).Run(func(mock.Arguments) { order = append(order, "snapshot") })
	env.ExecuteWorkflow(CatalogSync, input(snapshot.Update))
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res SyncResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	want := "describe check lease watermark snapshot transfer plan apply keys restore finish record release"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("steps ran as %q, want %q", got, want)
	}
	if res.Outcome != OutcomeCompleted || res.Watermark.Seq != 42 || len(res.Steps) != 11 || res.Restore.Passed != 2 || res.Keys.OK != 2 {
		t.Errorf("result %+v", res)
	}
}

func TestReimportAfterFailure(t *testing.T) {
	env := newEnv(t)
	var order []string
	happy(env, &order, importer.Watermark{Seq: 5, Reimport: true}, "snapshot")
	var after int64 = -1
	env.OnActivity(a.Snapshot, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SnapshotInput) (snapshot.Ref, error) {
		after = in.After
		return ref, nil
	})
	env.ExecuteWorkflow(CatalogSync, input(snapshot.Update))
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if after != 0 {
		t.Errorf("after a failed volume the UPDATE exported changes after %d, want 0 (everything)", after)
	}
}

func TestFailedSetsMarkReimport(t *testing.T) {
	env := newEnv(t)
	var order []string
	happy(env, &order, importer.Watermark{}, "apply", "finish")
	env.OnActivity(a.Apply, mock.Anything, mock.Anything).Return(activities.ImportResult{Sets: 3,
		Failed: []activities.SetFailure{{Set: "T00001", Error: "boom"}}}, nil)
	env.OnActivity(a.Finish, mock.Anything, finishing(true)).Return(importer.Watermark{Reimport: true}, nil).Once()
	env.ExecuteWorkflow(CatalogSync, input(snapshot.Update))
	var res SyncResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeCompletedWithFailures || !res.Watermark.Reimport {
		t.Errorf("result %+v", res)
	}
}

func TestRetryableErrorsAreRetried(t *testing.T) {
	env := newEnv(t)
	var order []string
	happy(env, &order, importer.Watermark{}, "snapshot")
	calls := 0
	env.OnActivity(a.Snapshot, mock.Anything, mock.Anything).Return(func(_ context.Context, _ activities.SnapshotInput) (snapshot.Ref, error) {
		if calls++; calls < 3 {
			return snapshot.Ref{}, errors.New("database is locked")
		}
		return ref, nil
	})
	env.ExecuteWorkflow(CatalogSync, input(snapshot.Full))
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Errorf("snapshot ran %d times, want 3", calls)
	}
}

func TestValidationErrorIsNotRetried(t *testing.T) {
	env := newEnv(t)
	var order []string
	happy(env, &order, importer.Watermark{}, "plan")
	calls := 0
	env.OnActivity(a.Plan, mock.Anything, mock.Anything).Return(func(_ context.Context, _ activities.ImportInput) (activities.ImportResult, error) {
		calls++
		return activities.ImportResult{}, temporal.NewNonRetryableApplicationError(
			`volume set T00001: TAPEVOLUME \SECD.VCREPL PROD_POOL1 T000001: VOLSER "T000001": must be 1-6 upper-case letters or digits`,
			activities.TypeValidation, nil)
	})
	env.ExecuteWorkflow(CatalogSync, input(snapshot.Full))
	err := env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "T000001") {
		t.Fatalf("workflow error %v, want the validation error naming the record", err)
	}
	if calls != 1 {
		t.Errorf("plan ran %d times, want 1", calls)
	}
	if strings.Contains(strings.Join(order, " "), "apply") {
		t.Error("apply ran after a failed plan")
	}
}

func corrupt(name string) error {
	return temporal.NewNonRetryableApplicationError("snapshot file "+name+": damaged", activities.TypeCorrupt, nil, name)
}

func TestCorruptSegmentIsTransferredAgain(t *testing.T) {
	env := newEnv(t)
	var order []string
	happy(env, &order, importer.Watermark{}, "plan")
	plans := 0
	env.OnActivity(a.Plan, mock.Anything, mock.Anything).Return(func(_ context.Context, _ activities.ImportInput) (activities.ImportResult, error) {
		if plans++; plans == 1 {
			return activities.ImportResult{}, corrupt("seg-000002.jsonl")
		}
		return activities.ImportResult{Sets: 3}, nil
	})
	env.ExecuteWorkflow(CatalogSync, input(snapshot.Full))
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(strings.Join(order, " "), "transfer"); got != 2 || plans != 2 {
		t.Errorf("%d transfers and %d plans, want 2 and 2", got, plans)
	}
}

func TestSnapshotThatStaysCorruptFails(t *testing.T) {
	env := newEnv(t)
	var order []string
	happy(env, &order, importer.Watermark{}, "plan")
	env.OnActivity(a.Plan, mock.Anything, mock.Anything).Return(activities.ImportResult{}, corrupt("seg-000002.jsonl"))
	env.ExecuteWorkflow(CatalogSync, input(snapshot.Full))
	err := env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "seg-000002.jsonl") {
		t.Fatalf("workflow error %v, want one naming the segment", err)
	}
	if got := strings.Count(strings.Join(order, " "), "transfer"); got != 1+maxRetransfers {
		t.Errorf("%d transfers, want %d", got, 1+maxRetransfers)
	}
}

func TestBadInputRefused(t *testing.T) {
	for _, tc := range []struct {
		edit func(*SyncInput)
		want string
	}{
		{func(in *SyncInput) { in.Type = "WEEKLY" }, `type "WEEKLY" must be UPDATE or FULL`},
		{func(in *SyncInput) { in.Store = "" }, `data store "" must be 1-32 printable characters`},
		{func(in *SyncInput) { in.Store = " DS_PROD" }, `data store " DS_PROD" must be`},
		{func(in *SyncInput) { in.Store = "DS_PROD\nX" }, `data store "DS_PROD\nX" must be`},
		{func(in *SyncInput) { in.Store = strings.Repeat("D", 33) }, "must be 1-32 printable"},
		{func(in *SyncInput) { in.Secondary = "PRIM" }, "primary and secondary are both prim"},
		{func(in *SyncInput) { in.KeyParity = "warn" }, `key_parity "warn"`},
		{func(in *SyncInput) {
			in.NodePairs = []importer.NodePair{{From: `\PRIM`, To: `\A`}, {From: `\PRIM`, To: `\B`}}
		}, `rename \PRIM two ways`},
	} {
		in := input(snapshot.Update)
		tc.edit(&in)
		env := newEnv(t)
		env.ExecuteWorkflow(CatalogSync, in)
		if err := env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", in, err, tc.want)
		}
		// StartSync refuses it before the store becomes a workflow id: it
		// never reaches the (absent) client.
		if _, err := StartSync(context.Background(), nil, in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("StartSync %+v: %v, want %q", in, err, tc.want)
		}
	}
}

var labelConflict = safety.Conflict{Set: "T00007", Label: "T00007", Rule: safety.LabelLocal,
	Where: safety.Where{Store: "DS_LOCAL"}, Detail: "label T00007 is a local volume"}

func conflictReport() safety.Report {
	var r safety.Report
	r.Add([]safety.Conflict{labelConflict})
	return r
}

func TestConflictsLeaveSetsOutAndMarkReimport(t *testing.T) {
	env := newEnv(t)
	var order []string
	happy(env, &order, importer.Watermark{Seq: 5}, "apply", "finish")
	env.OnActivity(a.Apply, mock.Anything, mock.Anything).Return(activities.ImportResult{Sets: 3,
		Counts: importer.Counts{"tapefile.create": 4}, Conflicts: conflictReport()}, nil)
	env.OnActivity(a.Finish, mock.Anything, finishing(true)).Return(importer.Watermark{Seq: 5, Reimport: true}, nil).Once()
	env.ExecuteWorkflow(CatalogSync, input(snapshot.Update))
	var res SyncResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeCompletedWithConflicts || !res.Watermark.Reimport || res.Conflicts.Total != 1 ||
		res.Conflicts.Conflicts[0] != labelConflict {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(res.Summary(), "1 sets in conflict") {
		t.Errorf("summary %q", res.Summary())
	}
}

func TestStrictAbortsOnPlannedConflicts(t *testing.T) {
	env := newEnv(t)
	var order []string
	happy(env, &order, importer.Watermark{Seq: 5}, "plan", "apply", "finish")
	env.OnActivity(a.Plan, mock.Anything, mock.MatchedBy(func(in activities.ImportInput) bool {
		return in.Strict && slices.Equal(in.Groups, primaryFacts.Groups)
	})).Return(activities.ImportResult{Sets: 3, Conflicts: conflictReport()}, nil).Run(func(mock.Arguments) { order = append(order, "plan") })
	in := input(snapshot.Update)
	in.Strict = true
	env.ExecuteWorkflow(CatalogSync, in)
	var res SyncResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	// Neither apply nor finish ran: nothing written, the watermark kept.
	if got, want := strings.Join(order, " "), "describe check lease watermark snapshot transfer plan record release"; got != want {
		t.Errorf("steps ran as %q, want %q", got, want)
	}
	if res.Outcome != OutcomeAbortedWithConflicts || res.Conflicts.Total != 1 {
		t.Errorf("result %+v", res)
	}
}

func TestUnsafeConfigurationFailsBeforeAnything(t *testing.T) {
	env := newEnv(t)
	var order []string
	happy(env, &order, importer.Watermark{}, "check")
	env.OnActivity(a.Describe, mock.Anything, "DS_PROD").Return(primaryFacts, nil)
	refused := safety.ProblemsError([]safety.Problem{{Rule: safety.ConfigSearchList, Detail: `the system search list of the secondary \SECD includes catalogs of the primary \PRIM`}})
	env.OnActivity(a.CheckConfig, mock.Anything, mock.Anything).Return(temporal.NewNonRetryableApplicationError(refused.Error(), activities.TypeConfig, refused))
	env.ExecuteWorkflow(CatalogSync, input(snapshot.Full))
	err := env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "CONFIG_SEARCH_LIST") {
		t.Fatalf("workflow error %v, want the search list refusal", err)
	}
	if got := strings.Join(order, " "); got != "record" {
		t.Errorf("steps after the refusal: %q, want only the audit record", got)
	}
}

func parityFailure() parity.Report {
	return parity.Report{BackPakID: "BPPRIM01", Volumes: 2, OK: 1, Total: 1, ByProblem: map[parity.Problem]int{parity.Missing: 1},
		Findings: []parity.Finding{{Set: "T00001", Label: "T00001", LabelType: catalog.Labeled, Key: "K1", Problem: parity.Missing, Detail: "no key"}}}
}

// Under the default policy a parity failure completes the run, with the
// catalogs applied, as KeyParityFailed; the watermark stays and the next
// UPDATE re-imports and re-proves every volume.
func TestKeyParityFailedOutcome(t *testing.T) {
	env := newEnv(t)
	var order []string
	happy(env, &order, importer.Watermark{Seq: 5}, "keys", "finish")
	env.OnActivity(a.KeyParity, mock.Anything, ref).Return(parityFailure(), nil)
	env.OnActivity(a.Finish, mock.Anything, finishing(true)).Return(importer.Watermark{Seq: 5, Reimport: true}, nil).Once()
	env.ExecuteWorkflow(CatalogSync, input(snapshot.Update))
	var res SyncResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeKeyParityFailed || !res.Watermark.Reimport || res.Keys.Findings[0].Key != "K1" {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(res.Summary(), "1 of 2 encrypted volumes' keys in parity") {
		t.Errorf("summary %q", res.Summary())
	}
}

// The fail policy fails the run with a non-retryable KeyParityFailed error,
// after recording it in the audit trail; the watermark is not moved.
func TestKeyParityFailPolicy(t *testing.T) {
	env := newEnv(t)
	var order []string
	happy(env, &order, importer.Watermark{Seq: 5}, "keys", "record", "finish")
	env.OnActivity(a.KeyParity, mock.Anything, ref).Return(parityFailure(), nil)
	var recorded string
	env.OnActivity(a.Record, mock.Anything, mock.Anything).Return(func(_ context.Context, e audit.Entry) error {
		if e.Keys == nil || e.Keys.Total != 1 {
			return errors.New("the audit entry lacks the parity report")
		}
		recorded = e.Error
		return nil
	})
	in := input(snapshot.Update)
	in.KeyParity = ParityFail
	env.ExecuteWorkflow(CatalogSync, in)
	var appErr *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != TypeKeyParity || !appErr.NonRetryable() {
		t.Fatalf("workflow error %v, want a non-retryable %s", err, TypeKeyParity)
	}
	if !strings.Contains(recorded, "at keys: key parity: 2 encrypted volumes under BPPRIM01: 1 in parity, MISSING 1") {
		t.Errorf("audit error %q", recorded)
	}
}

func TestUnknownParityPolicyRefused(t *testing.T) {
	env := newEnv(t)
	in := input(snapshot.Update)
	in.KeyParity = "ignore"
	env.ExecuteWorkflow(CatalogSync, in)
	if err := env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), `key_parity "ignore"`) {
		t.Fatalf("got %v", err)
	}
}

// A strict apply meeting a conflict the plan did not see (a local backup
// took a label in between) rolls every set of the run back: the run ends
// AbortedWithConflicts with the apply's report, recorded, without keys or
// finish, so the watermark stays. Runs started before that change still
// fail there.
func TestStrictConflictAtApplyAborts(t *testing.T) {
	rolledBack := activities.ImportResult{Sets: 2, Conflicts: conflictReport()}
	for _, tc := range []struct {
		name    string
		details []any
		version workflow.Version
		want    string // the outcome, or "" for the run's failure
		total   int
	}{
		{"report", []any{rolledBack}, 1, OutcomeAbortedWithConflicts, 1},
		{"no report", nil, 1, OutcomeAbortedWithConflicts, 0},
		{"before the change", []any{rolledBack}, workflow.DefaultVersion, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			var order []string
			happy(env, &order, importer.Watermark{Seq: 5}, "apply", "record")
			env.OnGetVersion(changeStrictApplyAborts, workflow.DefaultVersion, 1).Return(tc.version)
			env.OnActivity(a.Apply, mock.Anything, mock.MatchedBy(func(in activities.ImportInput) bool { return in.Strict })).Return(
				activities.ImportResult{}, temporal.NewNonRetryableApplicationError("volume set T00007 is in conflict", activities.TypeConflict, nil, tc.details...)).
				Run(func(mock.Arguments) { order = append(order, "apply") })
			var recorded audit.Entry
			env.OnActivity(a.Record, mock.Anything, mock.Anything).Return(func(_ context.Context, e audit.Entry) error {
				order, recorded = append(order, "record"), e
				return nil
			})
			in := input(snapshot.Update)
			in.Strict = true
			env.ExecuteWorkflow(CatalogSync, in)
			if got, want := strings.Join(order, " "), "describe check lease watermark snapshot transfer plan apply record release"; got != want {
				t.Errorf("steps ran as %q, want %q", got, want)
			}
			if tc.want == "" {
				if err := env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), "T00007") || recorded.Outcome != OutcomeFailed {
					t.Errorf("workflow error %v, recorded %s; want the conflict failing the run", err, recorded.Outcome)
				}
				return
			}
			var res SyncResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tc.want || res.Conflicts.Total != tc.total || res.Applied.Sets != 0 || res.Applied.Counts != nil ||
				res.Keys.Volumes != 0 || res.Watermark != (importer.Watermark{Seq: 5}) { // where it was

				t.Errorf("result %+v", res)
			}
			if recorded.Outcome != tc.want || recorded.Error != "" || (recorded.Conflicts != nil) != (tc.total > 0) {
				t.Errorf("audit entry %+v", recorded)
			}
		})
	}
}

// A run that fails once its apply began (in the apply, at key parity with
// the fail policy, at finish, or recording itself) tells the secondary to
// re-import everything next time before it records the failure; one that
// fails before the apply leaves the watermark alone.
func TestFailureAfterApplyMarksReimport(t *testing.T) {
	boom := temporal.NewNonRetryableApplicationError("boom", activities.TypeValidation, nil)
	for _, tc := range []struct {
		name     string
		except   []string
		plant    func(env *testsuite.TestWorkflowEnvironment)
		keyFail  bool
		reimport bool
	}{
		{"apply fails", []string{"apply"}, func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(a.Apply, mock.Anything, mock.Anything).Return(activities.ImportResult{}, boom)
		}, false, true},
		{"key parity fails the run", []string{"keys"}, func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(a.KeyParity, mock.Anything, ref).Return(parityFailure(), nil)
		}, true, true},
		{"finish fails", []string{"finish"}, func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(a.Finish, mock.Anything, finishing(false)).Return(importer.Watermark{}, boom)
		}, false, true},
		{"the record fails", []string{"record"}, func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(a.Record, mock.Anything, mock.Anything).Return(boom)
		}, false, true},
		{"the snapshot fails", []string{"snapshot"}, func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(a.Snapshot, mock.Anything, mock.Anything).Return(snapshot.Ref{}, boom)
		}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			var order []string
			happy(env, &order, importer.Watermark{Seq: 5}, tc.except...)
			tc.plant(env)
			marked := 0
			env.OnActivity(a.Unfinished, mock.Anything, ref).Return(
				func(context.Context, snapshot.Ref) (activities.Unfinished, error) {
					marked++
					return activities.Unfinished{Watermark: importer.Watermark{Seq: 5, Reimport: true}}, nil
				})
			in := input(snapshot.Update)
			if tc.keyFail {
				in.KeyParity = ParityFail
			}
			env.ExecuteWorkflow(CatalogSync, in)
			if env.GetWorkflowError() == nil {
				t.Fatal("the run did not fail")
			}
			if want := map[bool]int{true: 1, false: 0}[tc.reimport]; marked != want {
				t.Errorf("re-import marked %d times, want %d", marked, want)
			}
		})
	}
}
