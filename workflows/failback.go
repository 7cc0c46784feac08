package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/snapshot"
)

// FailbackInput starts a DRFailback: the data store failed over to Owner
// goes back to Returning, the site that had it before.
type FailbackInput struct {
	Store string `json:"store"`
	// Returning is the old primary, back; Owner the site the store was
	// failed over to, PRIMARY there now.
	Returning    string              `json:"returning"`
	Owner        string              `json:"owner"`
	CatalogFiles bool                `json:"catalog_files"`
	NodePairs    []importer.NodePair `json:"node_pairs,omitempty"` // for the sync back, Owner to Returning
	// ForwardPairs are the node pairs of the first direction, Returning to
	// Owner, for the verification once the roles are back.
	ForwardPairs []importer.NodePair `json:"forward_pairs,omitempty"`
	// ApprovalTimeout bounds the wait for the switch of roles (default
	// DefaultApprovalTimeout); Approval answers it at start.
	ApprovalTimeout time.Duration `json:"approval_timeout,omitempty"`
	Approval        *Approval     `json:"approval,omitempty"`
	RestoreSample   int           `json:"restore_sample,omitempty"`
	RestoreBudget   time.Duration `json:"restore_budget,omitempty"`
}

// OutcomeFailedBack ends a failback that switched the roles back: Returning
// PRIMARY, Owner SECONDARY. Refused or timed out (OutcomeRefused,
// OutcomeApprovalTimedOut), the store stays with Owner, Returning in step
// as its secondary.
const OutcomeFailedBack = "FailedBack"

// FailbackID is the workflow id the CLI gives the failback of a store.
func FailbackID(storeID string) string { return "catsync-failback-" + storeID }

// FailbackResult is a failback's report.
type FailbackResult struct {
	Store    string                    `json:"store"`
	Outcome  string                    `json:"outcome"`
	Findings []string                  `json:"findings,omitempty"`
	Demoted  *activities.DemoteResult  `json:"demoted,omitempty"`  // the returning site's store made SECONDARY
	Back     *SyncResult               `json:"back,omitempty"`     // the FULL sync from the owner
	Verify   *SyncResult               `json:"verify,omitempty"`   // the verification of that sync
	Approval *Approval                 `json:"approval,omitempty"` // the answer to the switch of roles
	Released *activities.DemoteResult  `json:"released,omitempty"` // the owner's store made SECONDARY
	Promoted *activities.PromoteResult `json:"promoted,omitempty"` // the returning site's store made PRIMARY
	Resumed  []string                  `json:"resumed,omitempty"`  // the store's schedules unpaused
	Forward  *SyncResult               `json:"forward,omitempty"`  // the verification in the first direction again
	Started  time.Time                 `json:"started"`
	Finished time.Time                 `json:"finished,omitzero"`
}

// Summary is the one-line description kept in the failback's memo.
func (r *FailbackResult) Summary() string {
	s := fmt.Sprintf("%s failback of %s", r.Outcome, r.Store)
	if r.Approval != nil {
		verb := "refused"
		if r.Approval.Approve {
			verb = "approved"
		}
		s += fmt.Sprintf(", switch of roles %s by %s: %s", verb, r.Approval.Operator, r.Approval.Reason)
	}
	if len(r.Findings) > 0 {
		s += fmt.Sprintf("; %d findings: %s", len(r.Findings), strings.Join(r.Findings, "; "))
	}
	return s
}

// DRFailback gives a failed-over data store back to its old primary, as
// BackPak's procedure does: the returning site's store becomes SECONDARY
// (its volume groups mapped to the owner's of the same names), a FULL sync
// from the owner brings it in step with every safety check, key parity and
// a restore test, and a verification proves it. Only then it asks, through
// the same approval as a failover, to switch the roles back: the owner's
// store SECONDARY, the returning site's PRIMARY, the store's schedules
// resumed, and a verification in the first direction. Nothing written at
// the owner during the outage is lost: the sync back carries it. Refused or
// unanswered, the store stays with its owner, the returning site in step
// as its secondary.
func DRFailback(ctx workflow.Context, in FailbackInput) (*FailbackResult, error) {
	b := &failback{in: in, res: &FailbackResult{Store: in.Store, Outcome: OutcomeRunning, Started: workflow.Now(ctx)}}
	if err := b.start(ctx); err != nil {
		return nil, err
	}
	if err := workflow.ExecuteActivity(shortStep(ctx, in.Returning), a.Demote, activities.DemoteInput{Store: in.Store}).Get(ctx, &b.res.Demoted); err != nil {
		return b.fail(ctx, "the returning site's store could not be made SECONDARY", err)
	}
	back := b.sync(snapshot.Full, in.Owner, in.Returning)
	back.RestoreSample, back.RestoreBudget = b.in.RestoreSample, b.in.RestoreBudget // as defaulted
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	var err error
	if b.res.Back, err = childSync(ctx, id+"-back", back); err != nil {
		return b.fail(ctx, "the FULL sync back failed", err)
	}
	b.res.Findings = append(b.res.Findings, importFindings(b.res.Back)...)
	verify := b.sync(snapshot.Full, in.Owner, in.Returning)
	verify.Verify = true
	if b.res.Verify, err = childSync(ctx, id+"-verify", verify); err != nil {
		return b.fail(ctx, "the verification of the sync back failed", err)
	}
	b.res.Findings = append(b.res.Findings, verifyFindings(b.res.Verify)...)
	return b.decide(ctx)
}

type failback struct {
	in   FailbackInput
	res  *FailbackResult
	gate *gate
}

func (b *failback) start(ctx workflow.Context) error {
	in := &b.in
	if in.ApprovalTimeout <= 0 {
		in.ApprovalTimeout = DefaultApprovalTimeout
	}
	if in.RestoreSample <= 0 {
		in.RestoreSample = DrillSample
	}
	bad := func(err error) error {
		return temporal.NewNonRetryableApplicationError("failback input: "+strings.TrimPrefix(err.Error(), "sync input: "), activities.TypeConfig, nil)
	}
	if s := b.sync(snapshot.Full, in.Owner, in.Returning); s.validate() != nil {
		return bad(s.validate())
	}
	if in.Approval != nil {
		if err := in.Approval.validate(); err != nil {
			return bad(err)
		}
	}
	if err := workflow.SetQueryHandler(ctx, ReportQuery, func() (*FailbackResult, error) { return b.res, nil }); err != nil {
		return err
	}
	b.gate = &gate{what: "failback of " + in.Store, answer: in.Approval,
		approved: "approved: data store " + in.Store + " goes back to " + in.Returning,
		refused:  "refused: " + in.Store + " stays with " + in.Owner + ", " + in.Returning + " as its secondary"}
	if err := b.gate.register(ctx, func() string { return b.res.Outcome }); err != nil {
		return err
	}
	return workflow.UpsertTypedSearchAttributes(ctx, StoreKey.ValueSet(in.Store), TypeKey.ValueSet("FAILBACK"), OutcomeKey.ValueSet(OutcomeRunning))
}

func (b *failback) sync(t snapshot.Type, primary, secondary string) SyncInput {
	return SyncInput{Store: b.in.Store, Type: t, CatalogFiles: b.in.CatalogFiles, Primary: primary, Secondary: secondary, NodePairs: b.in.NodePairs}
}

// decide asks for the switch of roles and makes it.
func (b *failback) decide(ctx workflow.Context) (*FailbackResult, error) {
	in := b.in
	b.res.Outcome = OutcomeAwaitingApproval
	if err := workflow.UpsertTypedSearchAttributes(ctx, OutcomeKey.ValueSet(b.res.Outcome)); err != nil {
		return nil, err
	}
	if err := workflow.UpsertMemo(ctx, map[string]any{"summary": b.res.Summary()}); err != nil {
		return nil, err
	}
	answer, err := b.gate.await(ctx, in.ApprovalTimeout)
	if err != nil {
		return nil, err
	}
	if answer == nil {
		b.res.Findings = append(b.res.Findings, fmt.Sprintf("no answer within %s: %s stays with %s, %s in step as its secondary",
			in.ApprovalTimeout, in.Store, in.Owner, in.Returning))
		return b.end(ctx, OutcomeApprovalTimedOut)
	}
	b.res.Approval = answer
	if err := b.record(ctx, approvalEntry(ctx, answer, in.Store, "FAILBACK", b.res.Findings, nil)); err != nil {
		return nil, err
	}
	if !answer.Approve {
		return b.end(ctx, OutcomeRefused)
	}
	// The owner lets go first: at no moment are both sites PRIMARY.
	if err := workflow.ExecuteActivity(shortStep(ctx, in.Owner), a.Demote, activities.DemoteInput{Store: in.Store}).Get(ctx, &b.res.Released); err != nil {
		return b.fail(ctx, "the owner's store could not be made SECONDARY", err)
	}
	if err := workflow.ExecuteActivity(shortStep(ctx, in.Returning), a.Promote,
		activities.PromoteInput{Store: in.Store, Operator: answer.Operator, Failback: true}).Get(ctx, &b.res.Promoted); err != nil {
		return b.fail(ctx, "the returning site's store could not be made PRIMARY (the owner's is SECONDARY already)", err)
	}
	if err := workflow.ExecuteActivity(shortStep(ctx, in.Owner), a.UnpauseSchedules, activities.PauseInput{Store: in.Store,
		Note: "failed back to " + in.Returning + " by " + workflow.GetInfo(ctx).WorkflowExecution.ID, Operator: answer.Operator}).Get(ctx, &b.res.Resumed); err != nil {
		b.res.Findings = append(b.res.Findings, "the store's schedules could not be resumed: "+Reason(err)+"; unpause them by hand")
	}
	forward := b.sync(snapshot.Full, in.Returning, in.Owner)
	forward.Verify, forward.NodePairs = true, in.ForwardPairs
	if b.res.Forward, err = childSync(ctx, workflow.GetInfo(ctx).WorkflowExecution.ID+"-forward", forward); err != nil {
		b.res.Findings = append(b.res.Findings, "the verification in the first direction failed: "+Reason(err))
	} else {
		b.res.Findings = append(b.res.Findings, verifyFindings(b.res.Forward)...)
	}
	return b.end(ctx, OutcomeFailedBack)
}

// fail ends a failback that could not go on: what it did so far stays, and
// the record says where it stopped.
func (b *failback) fail(ctx workflow.Context, what string, err error) (*FailbackResult, error) {
	b.res.Findings = append(b.res.Findings, what+": "+Reason(err))
	if _, rerr := b.end(ctx, OutcomeFailed); rerr != nil {
		return nil, rerr
	}
	return nil, temporal.NewNonRetryableApplicationError(what+": "+Reason(err), "FailbackFailed", err)
}

func (b *failback) end(ctx workflow.Context, outcome string) (*FailbackResult, error) {
	b.res.Outcome, b.res.Finished = outcome, workflow.Now(ctx)
	if err := b.record(ctx, b.auditEntry(ctx)); err != nil {
		return nil, err
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, OutcomeKey.ValueSet(outcome)); err != nil {
		return nil, err
	}
	if err := workflow.UpsertMemo(ctx, map[string]any{"summary": b.res.Summary()}); err != nil {
		return nil, err
	}
	return b.res, nil
}

// record appends to the owner's audit trail, where the failover is.
func (b *failback) record(ctx workflow.Context, e audit.Entry) error {
	return workflow.ExecuteActivity(shortStep(ctx, b.in.Owner), a.Record, e).Get(ctx, nil)
}

func (b *failback) auditEntry(ctx workflow.Context) audit.Entry {
	info, r := workflow.GetInfo(ctx), b.res
	var parts []string
	if d := r.Demoted; d != nil {
		parts = append(parts, fmt.Sprintf("%s's data store %s and %d volumes made SECONDARY", b.in.Returning, d.Store, d.Volumes))
		if len(d.Mapped) > 0 {
			parts = append(parts, "volume groups "+strings.Join(d.Mapped, ", ")+" mapped to "+b.in.Owner+"'s of the same names")
		}
	}
	if d := r.Released; d != nil {
		parts = append(parts, fmt.Sprintf("%s's data store %s and %d volumes made SECONDARY", b.in.Owner, d.Store, d.Volumes))
	}
	if p := r.Promoted; p != nil {
		parts = append(parts, fmt.Sprintf("%s's data store %s and %d volumes made PRIMARY", b.in.Returning, p.Store, p.Volumes))
	}
	if len(r.Resumed) > 0 {
		parts = append(parts, "resumed schedules "+strings.Join(r.Resumed, ", "))
	}
	e := audit.Entry{Kind: audit.KindFailback, WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		Store: r.Store, Type: "FAILBACK", Outcome: r.Outcome, Detail: strings.Join(append(parts, r.Findings...), "; "),
		Started: r.Started, Finished: r.Finished}
	if r.Approval != nil {
		e.Operator, e.Reason = r.Approval.Operator, r.Approval.Reason
	}
	withRuns(&e, r.Back, r.Verify)
	return e
}
