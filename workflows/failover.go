package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/restore"
	"github.com/catsync/catsync/internal/snapshot"
)

// FailoverInput starts a DRFailover of a data store.
type FailoverInput struct {
	Store        string              `json:"store"`
	Primary      string              `json:"primary"`
	Secondary    string              `json:"secondary"`
	CatalogFiles bool                `json:"catalog_files"`
	NodePairs    []importer.NodePair `json:"node_pairs,omitempty"`
	// PrimaryTimeout is how long the primary's worker has to answer
	// before the failover goes on without it, from what the secondary
	// already holds (default DefaultPrimaryTimeout).
	PrimaryTimeout time.Duration `json:"primary_timeout,omitempty"`
	// ApprovalTimeout is how long the failover waits for an operator's
	// answer; none within it leaves everything as it was (default
	// DefaultApprovalTimeout).
	ApprovalTimeout time.Duration `json:"approval_timeout,omitempty"`
	// Running is what the failover does with an import of the store that
	// is running: RunningWait (the default) or RunningCancel.
	Running string `json:"running,omitempty"`
	// RestoreSample and RestoreBudget shape the restore test (default
	// DrillSample volumes, no budget).
	RestoreSample int           `json:"restore_sample,omitempty"`
	RestoreBudget time.Duration `json:"restore_budget,omitempty"`
	// Approval, when given, answers the approval at start: an unattended
	// failover.
	Approval *Approval `json:"approval,omitempty"`
}

// What a failover does with an import of its store that is running.
const (
	RunningWait   = "wait"
	RunningCancel = "cancel"
)

// Defaults of a failover's time limits.
const (
	DefaultPrimaryTimeout  = 2 * time.Minute
	DefaultApprovalTimeout = 4 * time.Hour
)

// Approval is an operator's answer to a failover: promote the secondary,
// or not. Operator and Reason are required: the audit trail keeps them.
type Approval struct {
	Approve  bool   `json:"approve"`
	Operator string `json:"operator"`
	Reason   string `json:"reason"`
}

func (ap Approval) validate() error {
	switch {
	case strings.TrimSpace(ap.Operator) == "":
		return errors.New("approval: the operator's name is required")
	case strings.TrimSpace(ap.Reason) == "":
		return errors.New("approval: a reason is required")
	}
	return nil
}

// ApproveUpdate is the Update that answers a failover waiting for
// approval; ReportQuery returns its FailoverResult so far.
const (
	ApproveUpdate = "approve"
	ReportQuery   = "report"
)

// Outcomes of a failover.
const (
	OutcomeAwaitingApproval = "AwaitingApproval"
	OutcomeFailedOver       = "FailedOver" // the secondary's store is PRIMARY
	OutcomeRefused          = "Refused"    // an operator said no: nothing changed
	OutcomeApprovalTimedOut = "ApprovalTimedOut"
)

// FailoverID is the workflow id the CLI gives the failover of a store.
func FailoverID(storeID string) string { return "catsync-failover-" + storeID }

// FailoverResult is a failover's report.
type FailoverResult struct {
	Store    string   `json:"store"`
	Outcome  string   `json:"outcome"`
	Findings []string `json:"findings,omitempty"`
	// PrimaryDown tells that the primary's worker did not answer: no
	// final import, no verification against it.
	PrimaryDown bool        `json:"primary_down,omitempty"`
	Update      *SyncResult `json:"update,omitempty"`
	Verify      *SyncResult `json:"verify,omitempty"`
	// Keys (one report per staged snapshot of the store) and Restore are
	// the key parity and the restore test run at the secondary alone, when
	// the primary is down.
	Keys     []StagedParity            `json:"keys,omitempty"`
	Restore  *restore.Report           `json:"restore,omitempty"`
	Approval *Approval                 `json:"approval,omitempty"`
	Promoted *activities.PromoteResult `json:"promoted,omitempty"`
	// Paused are the store's schedules the promotion paused.
	Paused []string `json:"paused,omitempty"`
	// RPO is the newest primary change known against the newest applied;
	// RTO is the start of the failover to the promotion.
	RPO      *time.Duration `json:"rpo,omitempty"`
	RTO      *time.Duration `json:"rto,omitempty"`
	Started  time.Time      `json:"started"`
	Finished time.Time      `json:"finished,omitzero"`
}

// Summary is the one-line description kept in the failover's memo.
func (r *FailoverResult) Summary() string {
	s := fmt.Sprintf("%s failover of %s", r.Outcome, r.Store)
	if r.PrimaryDown {
		s += " (primary down: from what the secondary holds)"
	}
	if r.RPO != nil {
		s += fmt.Sprintf(", RPO %s", r.RPO.Round(time.Second))
	}
	if r.RTO != nil {
		s += fmt.Sprintf(", RTO %s", r.RTO.Round(time.Second))
	}
	if r.Approval != nil {
		verb := "refused"
		if r.Approval.Approve {
			verb = "approved"
		}
		s += fmt.Sprintf(", %s by %s: %s", verb, r.Approval.Operator, r.Approval.Reason)
	}
	if len(r.Findings) > 0 {
		s += fmt.Sprintf("; %d findings: %s", len(r.Findings), strings.Join(r.Findings, "; "))
	}
	return s
}

// DRFailover makes the secondary take over a data store, as BackPak's
// failover procedure does, with an operator's approval between the proof
// and the change: it waits for (or cancels) an import of the store that is
// running; runs a final UPDATE import and a verification when the
// primary's worker answers within PrimaryTimeout, else proves what the
// secondary already holds (key parity of the staged snapshots, a restore
// test) and says so; then waits for the ApproveUpdate, at most
// ApprovalTimeout. On approval it promotes the secondary's data store and
// its volumes SECONDARY to PRIMARY and pauses the store's schedules; a
// refusal or no answer changes nothing. RPO and RTO are measured, and every
// answer and the failover itself are in the audit trail.
func DRFailover(ctx workflow.Context, in FailoverInput) (*FailoverResult, error) {
	f := &failover{in: in, res: &FailoverResult{Store: in.Store, Outcome: OutcomeRunning, Started: workflow.Now(ctx)}}
	if err := f.start(ctx); err != nil {
		return nil, err
	}
	if err := f.awaitImports(ctx); err != nil {
		return nil, err
	}
	if f.primaryAnswers(ctx) && f.finalImport(ctx) {
		f.verify(ctx)
	} else if err := f.fromStaged(ctx); err != nil {
		return nil, err
	}
	return f.decide(ctx)
}

// failover is one run of DRFailover.
type failover struct {
	in   FailoverInput
	res  *FailoverResult
	gate *gate
}

func (f *failover) start(ctx workflow.Context) error {
	in := &f.in
	if in.PrimaryTimeout <= 0 {
		in.PrimaryTimeout = DefaultPrimaryTimeout
	}
	if in.ApprovalTimeout <= 0 {
		in.ApprovalTimeout = DefaultApprovalTimeout
	}
	if in.Running == "" {
		in.Running = RunningWait
	}
	if in.RestoreSample <= 0 {
		in.RestoreSample = DrillSample
	}
	bad := func(err error) error {
		return temporal.NewNonRetryableApplicationError("failover input: "+strings.TrimPrefix(err.Error(), "sync input: "), activities.TypeConfig, nil)
	}
	if sync := f.sync(snapshot.Update); sync.validate() != nil {
		return bad(sync.validate())
	}
	if in.Running != RunningWait && in.Running != RunningCancel {
		return bad(fmt.Errorf("running %q must be %s or %s", in.Running, RunningWait, RunningCancel))
	}
	if in.Approval != nil {
		if err := in.Approval.validate(); err != nil {
			return bad(err)
		}
	}
	if err := workflow.SetQueryHandler(ctx, ReportQuery, func() (*FailoverResult, error) { return f.res, nil }); err != nil {
		return err
	}
	f.gate = &gate{what: "failover of " + in.Store, answer: in.Approval,
		approved: "approved: the secondary's data store " + in.Store + " is being promoted", refused: "refused: nothing is changed"}
	if err := f.gate.register(ctx, func() string { return f.res.Outcome }); err != nil {
		return err
	}
	return workflow.UpsertTypedSearchAttributes(ctx, StoreKey.ValueSet(in.Store), TypeKey.ValueSet("FAILOVER"), OutcomeKey.ValueSet(OutcomeRunning))
}

// sync is the input of one of the failover's imports.
func (f *failover) sync(t snapshot.Type) SyncInput {
	return SyncInput{Store: f.in.Store, Type: t, CatalogFiles: f.in.CatalogFiles, Primary: f.in.Primary, Secondary: f.in.Secondary,
		NodePairs: f.in.NodePairs}
}

// awaitImports waits until no import holds the store's lease, cancelling
// the holder first when the input says so.
func (f *failover) awaitImports(ctx workflow.Context) error {
	cancelled := map[importer.Holder]bool{}
	for {
		var l activities.LeaseState
		if err := workflow.ExecuteActivity(shortStep(ctx, f.in.Secondary), a.ReadLease, f.in.Store).Get(ctx, &l); err != nil {
			return err
		}
		if !l.Held {
			return nil
		}
		if f.in.Running == RunningCancel && !cancelled[l.Holder] {
			cancelled[l.Holder] = true
			// The lease is a catalog row: a run id that is not one would
			// make a command the server rejects, again and again.
			if _, err := uuid.Parse(l.Holder.RunID); err != nil || l.Holder.WorkflowID == "" {
				f.res.Findings = append(f.res.Findings, fmt.Sprintf("the lease of %s is held by %q (run %q), not a Temporal run: waiting for it to expire at %s",
					f.in.Store, l.Holder.WorkflowID, l.Holder.RunID, l.Expires.Format(time.RFC3339)))
			} else {
				f.res.Findings = append(f.res.Findings, fmt.Sprintf("import %s (run %s) was running: cancelled", l.Holder.WorkflowID, l.Holder.RunID))
				// A holder that is gone already lets its lease expire.
				_ = workflow.RequestCancelExternalWorkflow(ctx, l.Holder.WorkflowID, l.Holder.RunID).Get(ctx, nil)
			}
		}
		if err := workflow.Sleep(ctx, 5*time.Second); err != nil {
			return err
		}
	}
}

// primaryAnswers asks the primary's worker to describe the store, giving
// it PrimaryTimeout to pick the question up.
func (f *failover) primaryAnswers(ctx workflow.Context) bool {
	pctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{TaskQueue: activities.TaskQueue(f.in.Primary),
		ScheduleToStartTimeout: f.in.PrimaryTimeout, StartToCloseTimeout: time.Minute, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}})
	if err := workflow.ExecuteActivity(pctx, a.Describe, f.in.Store).Get(ctx, nil); err != nil {
		why := Reason(err)
		if temporal.IsTimeoutError(err) {
			why = "no worker of site " + f.in.Primary + " took the question"
		}
		f.res.PrimaryDown = true
		f.res.Findings = append(f.res.Findings, fmt.Sprintf("the primary did not answer within %s (%s): failing over from what the secondary holds",
			f.in.PrimaryTimeout, why))
		return false
	}
	return true
}

// leaseRaces bounds how often the final import, refused at the store's
// lease by an import that started meanwhile, waits for it and tries again.
const leaseRaces = 3

// finalImport runs the last UPDATE import, with the restore test; a
// failed one leaves the failover to what the secondary holds. An import
// that took the store between the failover's look at its lease and its own
// import is waited for (or cancelled) like one found running.
func (f *failover) finalImport(ctx workflow.Context) bool {
	in := f.sync(snapshot.Update)
	in.RestoreSample, in.RestoreBudget = f.in.RestoreSample, f.in.RestoreBudget
	id := workflow.GetInfo(ctx).WorkflowExecution.ID + "-update"
	res, err := childSync(ctx, id, in)
	for try := 1; err != nil && isType(err, activities.TypeLeaseHeld) && try < leaseRaces; try++ {
		if werr := f.awaitImports(ctx); werr != nil {
			err = werr
			break
		}
		res, err = childSync(ctx, fmt.Sprintf("%s-%d", id, try+1), in)
	}
	if err != nil {
		f.res.Findings = append(f.res.Findings, "final UPDATE import failed, the primary answering: "+Reason(err))
		return false
	}
	f.res.Update = res
	f.res.Findings = append(f.res.Findings, importFindings(res)...)
	return true
}

// verify plans a FULL snapshot of the primary against the secondary, with
// the key parity of every encrypted volume.
func (f *failover) verify(ctx workflow.Context) {
	in := f.sync(snapshot.Full)
	in.Verify = true
	res, err := childSync(ctx, workflow.GetInfo(ctx).WorkflowExecution.ID+"-verify", in)
	if err != nil {
		f.res.Findings = append(f.res.Findings, "verification failed: "+Reason(err))
		return
	}
	f.res.Verify = res
	f.res.Findings = append(f.res.Findings, verifyFindings(res)...)
	// Normal between FULL imports, but a promotion would keep them, and a
	// failback would carry them back to the primary.
	if n := res.PendingDeletes(); n > 0 {
		f.res.Findings = append(f.res.Findings, fmt.Sprintf("%d records the primary deleted are still at the secondary (UPDATE imports leave deletions to a FULL): run a FULL sync of %s before approving, or they stay",
			n, f.in.Store))
	}
	rpo := time.Duration(0)
	if res.Drift() > 0 {
		rpo = max(res.Snapshot.Taken.Sub(f.res.Update.Snapshot.Taken), 0)
	}
	f.res.RPO = &rpo
}

// fromStaged proves what the secondary holds without the primary: the key
// parity of every snapshot that rebuilds the store, and a restore test.
// The RPO is then everything since the newest snapshot applied.
func (f *failover) fromStaged(ctx workflow.Context) error {
	var st activities.StagedState
	if err := workflow.ExecuteActivity(shortStep(ctx, f.in.Secondary), a.StagedState, f.in.Store).Get(ctx, &st); err != nil {
		return err
	}
	last := st.Last()
	if last.ID == "" {
		f.res.Findings = append(f.res.Findings, "no snapshot of "+f.in.Store+" is staged at the secondary: it was never imported there")
		return nil
	}
	for _, ref := range st.Chain {
		var r parity.Report
		if err := workflow.ExecuteActivity(longStep(ctx, f.in.Secondary, time.Minute), a.KeyParity, ref).Get(ctx, &r); err != nil {
			return err
		}
		f.res.Keys = append(f.res.Keys, StagedParity{Snapshot: ref.ID, Report: r})
		if r.Failed() {
			f.res.Findings = append(f.res.Findings, fmt.Sprintf("key parity of staged snapshot %s: %s", ref.ID, r.Summary()))
		}
	}
	in := activities.RestoreInput{Ref: last, Options: restore.Options{Sample: f.in.RestoreSample, Budget: f.in.RestoreBudget,
		Seed: seed(workflow.GetInfo(ctx).WorkflowExecution.RunID)}}
	var rep restore.Report
	if err := workflow.ExecuteActivity(longStep(ctx, f.in.Secondary, time.Minute), a.RestoreTest, in).Get(ctx, &rep); err != nil {
		return err
	}
	f.res.Restore = &rep
	f.res.Findings = append(f.res.Findings, restoreFindings(rep)...)
	if st.Watermark.Seq < last.ToSeq {
		f.res.Findings = append(f.res.Findings, fmt.Sprintf("staged snapshot %s reaches change %d, the secondary applied up to %d", last.ID, last.ToSeq, st.Watermark.Seq))
	}
	rpo := max(workflow.Now(ctx).Sub(last.Taken), 0)
	f.res.RPO = &rpo
	return nil
}

// decide waits for the operator's answer and acts on it.
func (f *failover) decide(ctx workflow.Context) (*FailoverResult, error) {
	f.res.Outcome = OutcomeAwaitingApproval
	if err := workflow.UpsertTypedSearchAttributes(ctx, OutcomeKey.ValueSet(f.res.Outcome)); err != nil {
		return nil, err
	}
	if err := workflow.UpsertMemo(ctx, map[string]any{"summary": f.res.Summary()}); err != nil {
		return nil, err
	}
	answer, err := f.gate.await(ctx, f.in.ApprovalTimeout)
	if err != nil {
		return nil, err
	}
	if answer == nil {
		f.res.Findings = append(f.res.Findings, fmt.Sprintf("no answer within %s: nothing was changed", f.in.ApprovalTimeout))
		return f.end(ctx, OutcomeApprovalTimedOut)
	}
	f.res.Approval = answer
	if err := f.record(ctx, approvalEntry(ctx, answer, f.in.Store, "FAILOVER", f.res.Findings, f.res.RPO)); err != nil {
		return nil, err
	}
	if !answer.Approve {
		return f.end(ctx, OutcomeRefused)
	}
	var p activities.PromoteResult
	if err := workflow.ExecuteActivity(shortStep(ctx, f.in.Secondary), a.Promote,
		activities.PromoteInput{Store: f.in.Store, Operator: answer.Operator}).Get(ctx, &p); err != nil {
		return nil, err
	}
	f.res.Promoted = &p
	rto := workflow.Now(ctx).Sub(f.res.Started)
	f.res.RTO = &rto
	if err := workflow.ExecuteActivity(shortStep(ctx, f.in.Secondary), a.PauseSchedules,
		activities.PauseInput{Store: f.in.Store, Note: "failed over to " + f.in.Secondary + " by " + workflow.GetInfo(ctx).WorkflowExecution.ID,
			Operator: answer.Operator}).Get(ctx, &f.res.Paused); err != nil {
		f.res.Findings = append(f.res.Findings, "the store's schedules could not be paused: "+Reason(err)+"; pause them by hand")
	}
	return f.end(ctx, OutcomeFailedOver)
}

// end records the failover and shows its outcome.
func (f *failover) end(ctx workflow.Context, outcome string) (*FailoverResult, error) {
	f.res.Outcome, f.res.Finished = outcome, workflow.Now(ctx)
	if err := f.record(ctx, f.auditEntry(ctx)); err != nil {
		return nil, err
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, OutcomeKey.ValueSet(outcome)); err != nil {
		return nil, err
	}
	if err := workflow.UpsertMemo(ctx, map[string]any{"summary": f.res.Summary()}); err != nil {
		return nil, err
	}
	return f.res, nil
}

func (f *failover) record(ctx workflow.Context, e audit.Entry) error {
	return workflow.ExecuteActivity(shortStep(ctx, f.in.Secondary), a.Record, e).Get(ctx, nil)
}

// approvalEntry records an operator's answer to a run of type typ.
func approvalEntry(ctx workflow.Context, ap *Approval, store, typ string, findings []string, rpo *time.Duration) audit.Entry {
	info := workflow.GetInfo(ctx)
	outcome := "Refused"
	if ap.Approve {
		outcome = "Approved"
	}
	return audit.Entry{Kind: audit.KindApproval, WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		Store: store, Type: typ, Outcome: outcome, Operator: ap.Operator, Reason: ap.Reason,
		Detail: strings.Join(findings, "; "), RPO: rpo, Started: workflow.Now(ctx), Finished: workflow.Now(ctx)}
}

// gate is the operator's approval of a run: the ApproveUpdate, taken once,
// and only while the run waits for it (its outcome AwaitingApproval), so
// that the operator answers what the run found.
type gate struct {
	what              string // "failover of DS_PROD", for errors
	approved, refused string // what the Update answers
	answer            *Approval
}

func (g *gate) register(ctx workflow.Context, outcome func() string) error {
	return workflow.SetUpdateHandlerWithOptions(ctx, ApproveUpdate, func(ctx workflow.Context, ap Approval) (string, error) {
		g.answer = &ap
		if ap.Approve {
			return g.approved, nil
		}
		return g.refused, nil
	}, workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, ap Approval) error {
		switch {
		case g.answer != nil:
			return fmt.Errorf("the %s was already answered by %s", g.what, g.answer.Operator)
		case outcome() != OutcomeAwaitingApproval:
			return fmt.Errorf("the %s is not waiting for approval yet (%s): ask again once its findings are in", g.what, outcome())
		}
		return ap.validate()
	}})
}

// await waits at most timeout for the answer; nil when none came.
func (g *gate) await(ctx workflow.Context, timeout time.Duration) (*Approval, error) {
	if g.answer == nil {
		if _, err := workflow.AwaitWithTimeout(ctx, timeout, func() bool { return g.answer != nil }); err != nil {
			return nil, err
		}
	}
	return g.answer, nil
}

// auditEntry is what the audit trail keeps of the failover.
func (f *failover) auditEntry(ctx workflow.Context) audit.Entry {
	info, r := workflow.GetInfo(ctx), f.res
	e := audit.Entry{Kind: audit.KindFailover, WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		Store: r.Store, Type: "FAILOVER", Outcome: r.Outcome, RPO: r.RPO, RTO: r.RTO, Detail: r.detail(),
		Started: r.Started, Finished: r.Finished, Restore: r.Restore}
	if r.Approval != nil {
		e.Operator, e.Reason = r.Approval.Operator, r.Approval.Reason
	}
	withRuns(&e, r.Update, r.Verify)
	if len(r.Keys) > 0 {
		k := mergeParity(r.Keys) // every staged snapshot's, summed; each is in the detail
		e.Keys = &k
	}
	return e
}

// detail is what the failover did and found, in words, for its audit record.
func (r *FailoverResult) detail() string {
	var parts []string
	if p := r.Promoted; p != nil {
		parts = append(parts, fmt.Sprintf("promoted data store %s and %d volumes to PRIMARY", p.Store, p.Volumes))
	}
	if len(r.Paused) > 0 {
		parts = append(parts, "paused schedules "+strings.Join(r.Paused, ", "))
	}
	for _, k := range r.Keys {
		parts = append(parts, fmt.Sprintf("key parity of staged snapshot %s: %s", k.Snapshot, k.Report.Summary()))
	}
	return strings.Join(append(parts, r.Findings...), "; ")
}

// mergeParity sums the key parity of staged snapshots into one report.
func mergeParity(ps []StagedParity) parity.Report {
	out := parity.Report{BackPakID: ps[0].BackPakID}
	for _, p := range ps {
		out.Volumes, out.OK, out.Total = out.Volumes+p.Volumes, out.OK+p.OK, out.Total+p.Total
		out.Domain = cmp.Or(out.Domain, p.Domain)
		for _, k := range slices.Sorted(maps.Keys(p.ByProblem)) {
			if out.ByProblem == nil {
				out.ByProblem = map[parity.Problem]int{}
			}
			out.ByProblem[k] += p.ByProblem[k]
		}
		out.Findings = append(out.Findings, p.Findings[:min(len(p.Findings), max(parity.MaxListed-len(out.Findings), 0))]...)
	}
	return out
}

// StagedParity is the key parity of one staged snapshot.
type StagedParity struct {
	Snapshot string `json:"snapshot"`
	parity.Report
}
