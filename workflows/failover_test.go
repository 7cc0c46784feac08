package workflows

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/restore"
)

// failoverEnv is a test environment where the primary answers, both
// imports complete clean, and every audit record is kept in order. The
// store's lease reads as leases say, one per read, then free.
func failoverEnv(t *testing.T, leases ...activities.LeaseState) (*testsuite.TestWorkflowEnvironment, *[]audit.Entry) {
	env := newEnv(t)
	env.RegisterWorkflow(DRFailover)
	env.OnActivity(a.ReadLease, mock.Anything, "DS_PROD").Return(func(context.Context, string) (activities.LeaseState, error) {
		if len(leases) == 0 {
			return activities.LeaseState{}, nil
		}
		l := leases[0]
		leases = leases[1:]
		return l, nil
	})
	env.OnActivity(a.Describe, mock.Anything, "DS_PROD").Return(primaryFacts, nil)
	taken := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	env.OnWorkflow(CatalogSync, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, in SyncInput) (*SyncResult, error) {
		res := &SyncResult{Store: in.Store, Type: in.Type, Verify: in.Verify, Outcome: OutcomeCompleted, Snapshot: ref, Started: workflow.Now(ctx)}
		res.Snapshot.Taken = taken
		if in.Verify {
			res.Outcome = OutcomeVerified
			res.Keys = parity.Report{Volumes: 3, OK: 3}
		} else {
			res.Restore = restore.Report{Sampled: 5, Passed: 5, Volumes: 5, Verified: 5, Fraction: 1}
		}
		return res, nil
	})
	var records []audit.Entry
	env.OnActivity(a.Record, mock.Anything, mock.Anything).Return(func(_ context.Context, e audit.Entry) error {
		records = append(records, e)
		return nil
	})
	return env, &records
}

func failoverInput() FailoverInput {
	return FailoverInput{Store: "DS_PROD", Primary: "prim", Secondary: "secd", CatalogFiles: true}
}

// No answer within the approval timeout: the failover ends
// ApprovalTimedOut and promotes nothing. Hours pass in the test's
// skipped time, not the test's.
func TestFailoverApprovalTimesOut(t *testing.T) {
	env, records := failoverEnv(t)
	env.ExecuteWorkflow(DRFailover, failoverInput())
	var res FailoverResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeApprovalTimedOut || res.Promoted != nil || res.Approval != nil {
		t.Fatalf("%s", res.Summary())
	}
	if waited := res.Finished.Sub(res.Started); waited < DefaultApprovalTimeout {
		t.Fatalf("gave up after %s, want the default approval timeout %s", waited, DefaultApprovalTimeout)
	}
	env.AssertNotCalled(t, "Promote", mock.Anything, mock.Anything)
	if len(*records) != 1 || (*records)[0].Kind != audit.KindFailover || (*records)[0].Outcome != OutcomeApprovalTimedOut {
		t.Fatalf("audit records %+v", *records)
	}
}

// An approval sent while the failover waits promotes the store and pauses
// its schedules; one without a reason is rejected and the wait goes on;
// a second answer is rejected.
func TestFailoverApprovedByUpdate(t *testing.T) {
	env, records := failoverEnv(t)
	env.OnActivity(a.Promote, mock.Anything, activities.PromoteInput{Store: "DS_PROD", Operator: "jdoe"}).Return(activities.PromoteResult{Store: "DS_PROD", Volumes: 12}, nil)
	env.OnActivity(a.PauseSchedules, mock.Anything, mock.Anything).Return([]string{"catsync-DS_PROD-daily-update"}, nil)
	var rejected, accepted, second error
	update := func(ap Approval, into *error) {
		env.UpdateWorkflow(ApproveUpdate, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { *into = err },
			OnAccept: func() {},
			OnComplete: func(_ any, err error) {
				if err != nil {
					*into = err
				}
			},
		}, ap)
	}
	env.RegisterDelayedCallback(func() {
		update(Approval{Approve: true, Operator: "jdoe"}, &rejected)
		update(Approval{Approve: true, Operator: "jdoe", Reason: "site A flooded"}, &accepted)
		update(Approval{Approve: false, Operator: "other", Reason: "late"}, &second)
	}, time.Hour)
	env.ExecuteWorkflow(DRFailover, failoverInput())
	var res FailoverResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if rejected == nil || !strings.Contains(rejected.Error(), "reason is required") {
		t.Errorf("approval without a reason: %v", rejected)
	}
	if accepted != nil {
		t.Errorf("approval: %v", accepted)
	}
	if second == nil || !strings.Contains(second.Error(), "already answered by jdoe") {
		t.Errorf("second answer: %v", second)
	}
	if res.Outcome != OutcomeFailedOver || res.Promoted == nil || res.Promoted.Volumes != 12 || len(res.Paused) != 1 ||
		res.RTO == nil || *res.RTO < time.Hour || res.RPO == nil || *res.RPO != 0 {
		t.Fatalf("%s", res.Summary())
	}
	kinds := []string{}
	for _, e := range *records {
		kinds = append(kinds, e.Kind+" "+e.Outcome+" "+e.Operator)
	}
	if got := strings.Join(kinds, ", "); got != "approval Approved jdoe, failover FailedOver jdoe" {
		t.Fatalf("audit records: %s", got)
	}
}

// An answer before the findings are in is refused: the operator approves
// what the failover found, not what it might find.
func TestFailoverRefusesAnEarlyAnswer(t *testing.T) {
	env, _ := failoverEnv(t)
	var early error
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(ApproveUpdate, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { early = err }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, Approval{Approve: true, Operator: "jdoe", Reason: "hurry"})
	}, 0)
	in := failoverInput()
	in.ApprovalTimeout = time.Minute
	env.ExecuteWorkflow(DRFailover, in)
	if early == nil || !strings.Contains(early.Error(), "not waiting for approval yet") {
		t.Fatalf("early answer: %v", early)
	}
}

// A lease whose holder is no Temporal run (a hand-made catalog row) is not
// cancelled, which would make a command the server rejects forever: the
// failover says so and waits for it to expire.
func TestFailoverWaitsOutALeaseOfNoRun(t *testing.T) {
	odd := activities.LeaseState{Held: true, Holder: importer.Holder{WorkflowID: "nightly", RunID: "elsewhere"},
		Expires: time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)}
	env, _ := failoverEnv(t, odd, odd, odd)
	in := failoverInput()
	in.Running, in.ApprovalTimeout = RunningCancel, time.Minute
	env.ExecuteWorkflow(DRFailover, in)
	var res FailoverResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) < 1 || !strings.Contains(res.Findings[0], `held by "nightly" (run "elsewhere"), not a Temporal run: waiting for it to expire`) {
		t.Fatalf("findings %q", res.Findings)
	}
	if waited := res.Update.Started.Sub(res.Started); waited < 15*time.Second {
		t.Fatalf("the final import started %s after the failover, before three reads of the lease", waited)
	}
}

// A failback whose switch of roles is refused leaves the store with its
// owner: the returning site was demoted and synced, nothing else changes.
func TestFailbackRefusedKeepsTheOwner(t *testing.T) {
	env, records := failoverEnv(t)
	env.RegisterWorkflow(DRFailback)
	env.OnActivity(a.Demote, mock.Anything, activities.DemoteInput{Store: "DS_PROD"}).Return(
		activities.DemoteResult{Store: "DS_PROD", Volumes: 12, Mapped: []string{"VG_PROD_1"}}, nil).Once()
	in := FailbackInput{Store: "DS_PROD", Returning: "prim", Owner: "secd", CatalogFiles: true,
		Approval: &Approval{Approve: false, Operator: "jdoe", Reason: "not tonight"}}
	env.ExecuteWorkflow(DRFailback, in)
	var res FailbackResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeRefused || res.Promoted != nil || res.Released != nil || res.Back == nil || res.Verify == nil {
		t.Fatalf("%s", res.Summary())
	}
	env.AssertNotCalled(t, "Promote", mock.Anything, mock.Anything)
	var got []string
	for _, e := range *records {
		got = append(got, e.Kind+" "+e.Outcome)
	}
	if strings.Join(got, ", ") != "approval Refused, failback Refused" || !strings.Contains((*records)[1].Detail, "VG_PROD_1 mapped") {
		t.Fatalf("audit records %v: %+v", got, *records)
	}
}
