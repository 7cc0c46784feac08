package workflows_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/schedule"
	"github.com/catsync/catsync/internal/serve"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/workflows"
)

// failoverWorld is a pair in step: keys and images replicated, a FULL
// sync applied.
func failoverWorld(t *testing.T) *world {
	w := imageWorld(t)
	w.replicateKeys(sim.KeyReplication{})
	w.pair.ReplicateData(t, sim.DataReplication{})
	w.mustSync(w.input(snapshot.Full, true))
	return w
}

func (w *world) failoverInput() workflows.FailoverInput {
	return workflows.FailoverInput{Store: w.storeID, Primary: w.cfg.Primary.Name, Secondary: w.cfg.Secondary.Name, CatalogFiles: true,
		RestoreSample: 20}
}

// startFailover starts a DRFailover; wait gets its result.
func (w *world) startFailover(in workflows.FailoverInput) client.WorkflowRun {
	w.t.Helper()
	run, err := w.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: workflows.FailoverID(w.storeID) + "-" + time.Now().Format("150405.000"), TaskQueue: workflows.TaskQueue}, workflows.DRFailover, in)
	if err != nil {
		w.t.Fatal(err)
	}
	return run
}

func (w *world) waitFailover(run client.WorkflowRun) *workflows.FailoverResult {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var res workflows.FailoverResult
	if err := run.Get(ctx, &res); err != nil {
		w.t.Fatalf("failover: %v", err)
	}
	return &res
}

// awaitApproval polls the failover's report until it waits for an answer.
func (w *world) awaitApproval(run client.WorkflowRun) *workflows.FailoverResult {
	w.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		v, err := w.c.QueryWorkflow(context.Background(), run.GetID(), run.GetRunID(), workflows.ReportQuery)
		if err == nil {
			var res workflows.FailoverResult
			if err := v.Get(&res); err != nil {
				w.t.Fatal(err)
			}
			if res.Outcome == workflows.OutcomeAwaitingApproval {
				return &res
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	w.t.Fatal("the failover never waited for approval")
	return nil
}

func (w *world) answer(run client.WorkflowRun, ap workflows.Approval) (string, error) {
	h, err := w.c.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(),
		UpdateName: workflows.ApproveUpdate, Args: []any{ap}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		return "", err
	}
	var msg string
	err = h.Get(context.Background(), &msg)
	return msg, err
}

func (w *world) access(t *testing.T) (catalog.DomainAccess, map[catalog.DomainAccess]int) {
	t.Helper()
	ds, err := w.sec.DataStore(context.Background(), w.storeID)
	if err != nil {
		t.Fatal(err)
	}
	vols := map[catalog.DomainAccess]int{}
	if err := w.sec.ScanVolumes(context.Background(), store.Filter{StoreID: w.storeID}, func(v *catalog.Volume) error {
		vols[v.Access]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ds.Access, vols
}

// auditSince returns the records appended after the first n.
func (w *world) auditSince(n int) []audit.Entry {
	w.t.Helper()
	var out []audit.Entry
	i := 0
	if _, err := audit.Verify(context.Background(), w.sec, func(_ store.AuditRecord, e audit.Entry) error {
		if i++; i > n {
			out = append(out, e)
		}
		return nil
	}); err != nil {
		w.t.Fatal(err)
	}
	return out
}

func kinds(es []audit.Entry) string {
	var out []string
	for _, e := range es {
		k := e.Kind
		if k == "" {
			k = audit.KindSync
		}
		out = append(out, k+" "+e.Outcome)
	}
	return strings.Join(out, ", ")
}

// An approved failover imports, verifies and proves, then promotes the
// secondary's store and its volumes; imports into it are refused after.
func TestFailoverApprovedPromotes(t *testing.T) {
	w := failoverWorld(t)
	ctx := context.Background()
	cfg, err := schedule.Parse(strings.NewReader(`time_zone: UTC
catch_up_window: 10m
stores:
  DS_PROD:
    daily_update: {at: "06:30"}
    weekly_drill: {weekday: sunday, at: "08:00"}
`), "schedules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wants, err := cfg.Build(schedule.Sites{Primary: w.cfg.Primary.Name, Secondary: w.cfg.Secondary.Name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := schedule.Apply(ctx, w.c, wants, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, want := range wants {
			_ = w.c.ScheduleClient().GetHandle(ctx, want.ID).Delete(ctx)
		}
	})
	before := len(w.auditSince(0))
	in := w.failoverInput()
	in.Approval = &workflows.Approval{Approve: true, Operator: "jdoe", Reason: "primary site lost"}
	res := w.waitFailover(w.startFailover(in))
	if res.Outcome != workflows.OutcomeFailedOver || res.PrimaryDown || res.Promoted == nil || res.Promoted.Volumes == 0 ||
		res.RTO == nil || *res.RTO <= 0 || res.RPO == nil || *res.RPO != 0 || res.Verify == nil || res.Verify.Outcome != workflows.OutcomeVerified {
		t.Fatalf("%s", res.Summary())
	}
	access, vols := w.access(t)
	if access != catalog.AccessPrimary || len(vols) != 1 || vols[catalog.AccessPrimary] == 0 {
		t.Fatalf("after the failover: store %s, volumes %v", access, vols)
	}
	got := w.auditSince(before)
	if k := kinds(got); k != "sync Completed, sync Verified, approval Approved, schedule paused, failover FailedOver" {
		t.Fatalf("audit records: %s", k)
	}
	if p := got[len(got)-2]; p.Operator != "jdoe" || !strings.Contains(p.Detail, "paused catsync-DS_PROD-daily-update") {
		t.Fatalf("schedule record %+v", p)
	}
	if f := got[len(got)-1]; f.Operator != "jdoe" || f.Reason != "primary site lost" || f.RTO == nil || f.RPO == nil ||
		!strings.Contains(f.Detail, "promoted data store DS_PROD and") || !strings.Contains(f.Detail, "paused schedules catsync-DS_PROD-") {
		t.Fatalf("failover record %+v", f)
	}
	if _, err := w.sync(w.input(snapshot.Update, true)); err == nil || !strings.Contains(err.Error(), "CONFIG_FAILED_OVER: data store DS_PROD was failed over") ||
		strings.Contains(err.Error(), "CONFIG_SHARED_CATALOG") {
		t.Fatalf("an import into the promoted store: %v", err)
	}
	if len(res.Paused) != len(wants) {
		t.Fatalf("paused %v, want the store's %d schedules", res.Paused, len(wants))
	}
	for _, want := range wants {
		d, err := w.c.ScheduleClient().GetHandle(ctx, want.ID).Describe(ctx)
		if err != nil || !d.Schedule.State.Paused || !strings.Contains(d.Schedule.State.Note, "failed over") {
			t.Fatalf("schedule %s after the failover: %+v %v", want.ID, d, err)
		}
	}
}

// A refused failover and one nobody answers change nothing; an answer
// without the operator's name is rejected.
func TestFailoverRefusedOrTimedOutChangesNothing(t *testing.T) {
	w := failoverWorld(t)
	ctx := context.Background()
	before, err := store.Digest(ctx, w.sec)
	if err != nil {
		t.Fatal(err)
	}
	run := w.startFailover(w.failoverInput())
	if rep := w.awaitApproval(run); len(rep.Findings) > 0 {
		t.Fatalf("findings of a clean pair: %v", rep.Findings)
	}
	if _, err := w.answer(run, workflows.Approval{Approve: true, Reason: "no name"}); err == nil || !strings.Contains(err.Error(), "operator's name is required") {
		t.Fatalf("approval without a name: %v", err)
	}
	if msg, err := w.answer(run, workflows.Approval{Approve: false, Operator: "jdoe", Reason: "primary is back"}); err != nil || !strings.Contains(msg, "refused") {
		t.Fatalf("refusal: %q %v", msg, err)
	}
	if res := w.waitFailover(run); res.Outcome != workflows.OutcomeRefused || res.Promoted != nil {
		t.Fatalf("refused: %s", res.Summary())
	}

	in := w.failoverInput()
	in.ApprovalTimeout = 2 * time.Second
	if res := w.waitFailover(w.startFailover(in)); res.Outcome != workflows.OutcomeApprovalTimedOut || res.Promoted != nil {
		t.Fatalf("timed out: %s", res.Summary())
	}
	after, err := store.Digest(ctx, w.sec)
	if err != nil || after != before {
		t.Fatalf("the secondary changed: digest %s, was %s (%v)", after, before, err)
	}
	if access, _ := w.access(t); access != catalog.AccessSecondary {
		t.Fatalf("store %s after a refusal and a timeout", access)
	}
}

// With the primary's worker gone, the failover proves what the secondary
// holds (key parity of the staged snapshots, a restore test), says so, and
// measures the RPO from the newest snapshot applied.
func TestFailoverWithThePrimaryDown(t *testing.T) {
	w := failoverWorld(t)
	w.stop()
	cfg := *w.cfg
	cfg.Serve = []string{config.RoleSecondary}
	var err error
	if w.workers, err = serve.Start(context.Background(), w.c, &cfg); err != nil {
		t.Fatal(err)
	}
	in := w.failoverInput()
	in.PrimaryTimeout = 2 * time.Second
	in.Approval = &workflows.Approval{Approve: true, Operator: "jdoe", Reason: "primary site lost"}
	started := time.Now()
	res := w.waitFailover(w.startFailover(in))
	if res.Outcome != workflows.OutcomeFailedOver || !res.PrimaryDown || res.Update != nil || len(res.Keys) == 0 || res.Restore == nil ||
		res.Restore.Failed != 0 || res.RPO == nil {
		t.Fatalf("%s", res.Summary())
	}
	st, err := w.activities(config.RoleSecondary).StagedState(context.Background(), w.storeID)
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi := started.Sub(st.Last().Taken), time.Since(st.Last().Taken); *res.RPO < lo || *res.RPO > hi {
		t.Fatalf("RPO %s, want the time since the last snapshot applied (%s to %s)", res.RPO, lo, hi)
	}
	if !hasFindingOf(res.Findings, "primary did not answer within 2s") {
		t.Fatalf("findings %v", res.Findings)
	}
}

// A running import holds the store: the failover waits until its lease is
// free before it imports.
func TestFailoverWaitsForARunningImport(t *testing.T) {
	w := failoverWorld(t)
	other := importer.Holder{WorkflowID: "nightly-DS_PROD", RunID: "0190b4c2-5d5e-7a39-9c1e-3f2a4b6c8d0e"}
	ttl := 4 * time.Second
	if err := importer.TakeLease(context.Background(), w.sec, w.storeID, other, time.Now(), ttl); err != nil {
		t.Fatal(err)
	}
	in := w.failoverInput()
	in.Running = workflows.RunningCancel
	in.ApprovalTimeout = time.Second
	start := time.Now()
	res := w.waitFailover(w.startFailover(in))
	if res.Update == nil || res.Update.Outcome != workflows.OutcomeCompleted || res.Update.Started.Sub(start) < ttl-time.Second {
		t.Fatalf("the final import did not wait for the lease (%s): %s", res.Update.Started.Sub(start), res.Summary())
	}
	if !hasFindingOf(res.Findings, "import nightly-DS_PROD (run "+other.RunID+") was running: cancelled") {
		t.Fatalf("findings %v", res.Findings)
	}
}

func hasFindingOf(findings []string, part string) bool {
	for _, f := range findings {
		if strings.Contains(f, part) {
			return true
		}
	}
	return false
}

// stuckApply is a secondary whose first apply never ends by itself: it
// heartbeats until its run is cancelled. Later applies are the real ones.
type stuckApply struct {
	*activities.Activities
	started chan struct{}
	once    *atomic.Bool
}

func (s stuckApply) Apply(ctx context.Context, in activities.ImportInput) (activities.ImportResult, error) {
	if s.once.Swap(true) {
		return s.Activities.Apply(ctx, in)
	}
	close(s.started)
	for ctx.Err() == nil {
		activity.RecordHeartbeat(ctx)
		time.Sleep(50 * time.Millisecond)
	}
	return activities.ImportResult{}, temporal.NewCanceledError()
}

// A failover told to cancel a sync it finds running cancels it, waits for
// it to record itself Cancelled and free the store, then imports.
func TestFailoverCancelsARunningSync(t *testing.T) {
	w := failoverWorld(t)
	w.advance(1)
	w.replicateKeys(sim.KeyReplication{})
	w.pair.ReplicateData(t, sim.DataReplication{})
	started := make(chan struct{})
	w.serveWith(config.RoleSecondary, &stuckApply{w.activities(config.RoleSecondary), started, new(atomic.Bool)})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sync, err := workflows.StartSync(ctx, w.c, w.input(snapshot.Update, true))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("the sync never reached its apply")
	}
	in := w.failoverInput()
	in.Running, in.ApprovalTimeout = workflows.RunningCancel, time.Second
	res := w.waitFailover(w.startFailover(in))
	if err := sync.Get(ctx, nil); !temporal.IsCanceledError(err) {
		t.Fatalf("the running sync ended %v, want cancelled", err)
	}
	if !hasFindingOf(res.Findings, "import "+sync.GetID()+" (run "+sync.GetRunID()+") was running: cancelled") ||
		res.Update == nil || res.Update.Outcome != workflows.OutcomeCompleted || res.Outcome != workflows.OutcomeApprovalTimedOut {
		t.Fatalf("%s", res.Summary())
	}
	if e := w.lastAuditOf(sync.GetRunID()); e.Outcome != workflows.OutcomeCancelled {
		t.Fatalf("the cancelled sync is recorded %q", e.Outcome)
	}
}

// lastAuditOf is the audit record of run.
func (w *world) lastAuditOf(runID string) audit.Entry {
	w.t.Helper()
	var out audit.Entry
	for _, e := range w.auditSince(0) {
		if e.RunID == runID {
			out = e
		}
	}
	return out
}
