package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/restore"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/snapshot"
)

// a names the activities by method; the workers hold the sites.
var a *activities.Activities

// maxRetransfers bounds how often a corrupt staged snapshot is copied again
// before the run gives up on it.
const maxRetransfers = 2

// CatalogSync replicates one data store's catalogs from the primary site to
// the secondary: check the configuration, read the applied watermark,
// snapshot on the primary, transfer to the secondary's staging area, plan
// (with the safety checks of every volume set), apply, prove key-manager
// parity for the encrypted volumes, record the new watermark and append
// the run to the audit trail.
func CatalogSync(ctx workflow.Context, in SyncInput) (*SyncResult, error) {
	r, err := startSync(ctx, in)
	if err != nil {
		return nil, err
	}
	return r.sync(ctx)
}

// syncRun is one run of a sync: its input, the result it builds step by
// step and what the progress query answers. Its steps are methods, for
// every workflow that imports a snapshot to reuse.
type syncRun struct {
	in       SyncInput
	res      *SyncResult
	progress Progress
	// heartbeat is the HeartbeatTimeout of the streaming steps.
	heartbeat time.Duration
	// primary is what the check learnt of the primary's data store.
	primary safety.Primary
	// applied is the secondary's watermark before the run.
	applied importer.Watermark
	// wrote tells that the apply began: the secondary may hold part of
	// the snapshot, and a run that fails from there on must leave the
	// next UPDATE re-importing everything.
	wrote bool
	// version is the run's workflow.GetVersion of changeLease.
	version workflow.Version
	// lease is the run's lease on the store, once taken; stopLease ends
	// its renewal, and lost is why the lease was lost, when it was.
	lease       *activities.LeaseInput
	stopLease   workflow.CancelFunc
	cancelSteps workflow.CancelFunc
	lost        error
}

// defaultLeaseTTL is how long a store's lease outlives its run's last
// renewal, unless the input says otherwise.
const defaultLeaseTTL = 5 * time.Minute

// startSync validates the input, answers the progress query and shows the
// run in the Web UI.
func startSync(ctx workflow.Context, in SyncInput) (*syncRun, error) {
	r := &syncRun{in: in, res: &SyncResult{Store: in.Store, Type: in.Type, Verify: in.Verify, Outcome: OutcomeRunning, Started: workflow.Now(ctx)},
		progress: Progress{Step: "starting"}, heartbeat: in.HeartbeatTimeout}
	if r.heartbeat <= 0 {
		r.heartbeat = time.Minute
	}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, r.currentProgress); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), activities.TypeConfig, nil)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, StoreKey.ValueSet(in.Store), TypeKey.ValueSet(string(in.Type)),
		OutcomeKey.ValueSet(OutcomeRunning)); err != nil {
		return nil, err
	}
	return r, nil
}

// sync runs the steps of a CatalogSync in order; any step failing fails
// the run.
func (r *syncRun) sync(ctx workflow.Context) (*SyncResult, error) {
	r.version = workflow.GetVersion(ctx, changeLease, workflow.DefaultVersion, 1)
	if r.version == workflow.DefaultVersion {
		return r.steps(ctx)
	}
	// The steps run on a context of their own, which a lost lease cancels.
	steps, stop := workflow.WithCancel(ctx)
	defer stop()
	r.cancelSteps = stop
	res, err := r.steps(steps)
	r.releaseLease(ctx)
	return res, err
}

// steps runs the steps in order, and ends the run with done or fail.
func (r *syncRun) steps(ctx workflow.Context) (*SyncResult, error) {
	if why := r.in.Window.missed(ctx); why != "" {
		r.res.Note = why
		return r.done(ctx, OutcomeSkipped)
	}
	for _, step := range []func(workflow.Context) error{r.check, r.takeLease, r.watermark, r.snapshot, r.transferAndPlan} {
		if err := step(ctx); err != nil {
			return r.fail(ctx, err)
		}
	}
	if r.in.Verify {
		if err := r.keys(ctx); err != nil {
			return r.fail(ctx, err)
		}
		return r.done(ctx, r.verified())
	}
	// A strict run applies nothing when the plan found conflicts; the
	// watermark stays where it was.
	if r.in.Strict && r.res.Plan.Conflicts.Total > 0 {
		r.res.Conflicts = r.res.Plan.Conflicts
		return r.done(ctx, OutcomeAbortedWithConflicts)
	}
	if err := r.apply(ctx); err != nil {
		if rolledBack, ok := r.strictConflict(ctx, err); ok {
			r.res.Conflicts = rolledBack.Conflicts
			return r.done(ctx, OutcomeAbortedWithConflicts)
		}
		return r.fail(ctx, err)
	}
	for _, step := range []func(workflow.Context) error{r.keys, r.restore, r.finish} {
		if err := step(ctx); err != nil {
			return r.fail(ctx, err)
		}
	}
	return r.done(ctx, r.outcome())
}

func (r *syncRun) currentProgress() (Progress, error) {
	r.progress.Steps = r.res.Steps
	return r.progress, nil
}

// begin starts step name: the progress query shows it, and the result
// lists it from now until end.
func (r *syncRun) begin(ctx workflow.Context, name string) {
	workflow.GetLogger(ctx).Info("step started", "step", name)
	r.progress.Step = name
	r.res.Steps = append(r.res.Steps, Step{Name: name, Started: workflow.Now(ctx)})
	workflow.SetCurrentDetails(ctx, r.details())
}

// details is what the Web UI shows of the run as it goes: the steps done,
// the one running.
func (r *syncRun) details() string {
	var b strings.Builder
	for _, st := range r.res.Steps {
		if st.Finished.IsZero() {
			fmt.Fprintf(&b, "- **%s**: running\n", st.Name)
		} else {
			fmt.Fprintf(&b, "- %s: %s\n", st.Name, st.Finished.Sub(st.Started).Round(time.Millisecond))
		}
	}
	return b.String()
}

func (r *syncRun) end(ctx workflow.Context) {
	r.res.Steps[len(r.res.Steps)-1].Finished = workflow.Now(ctx)
}

func (r *syncRun) options() importer.Options {
	return importer.Options{StoreID: r.in.Store, CatalogFiles: r.in.CatalogFiles, NodePairs: r.in.NodePairs}
}

func (r *syncRun) importInput() activities.ImportInput {
	return activities.ImportInput{Ref: r.res.Snapshot, Options: r.options(), Groups: r.primary.Groups, Strict: r.in.Strict, Lease: r.lease}
}

// check refuses an unsafe configuration before anything moves.
func (r *syncRun) check(ctx workflow.Context) error {
	r.begin(ctx, "check")
	defer r.end(ctx)
	if err := workflow.ExecuteActivity(summarized(shortStep(ctx, r.in.Primary), "Describe %s on the primary %s", r.in.Store, r.in.Primary),
		a.Describe, r.in.Store).Get(ctx, &r.primary); err != nil {
		return err
	}
	return workflow.ExecuteActivity(summarized(shortStep(ctx, r.in.Secondary), "Check the configuration of %s on the secondary", r.in.Store), a.CheckConfig,
		activities.CheckInput{Primary: r.primary, Options: r.options()}).Get(ctx, nil)
}

// takeLease takes the secondary's lease on the store, refused while
// another run holds it, and keeps it alive until the run ends: the import
// of a store is one run's at a time, whoever started it.
func (r *syncRun) takeLease(ctx workflow.Context) error {
	if r.version == workflow.DefaultVersion {
		return nil
	}
	r.begin(ctx, "lease")
	defer r.end(ctx)
	info := workflow.GetInfo(ctx).WorkflowExecution
	in := activities.LeaseInput{Store: r.in.Store, Holder: importer.Holder{WorkflowID: info.ID, RunID: info.RunID}, TTL: r.in.LeaseTTL}
	if in.TTL <= 0 {
		in.TTL = defaultLeaseTTL
	}
	if err := workflow.ExecuteActivity(summarized(shortStep(ctx, r.in.Secondary), "Take the lease of %s: one import at a time", r.in.Store), a.TakeLease, in).Get(ctx, nil); err != nil {
		return err
	}
	r.lease = &in
	keeper, stop := workflow.WithCancel(ctx)
	r.stopLease = stop
	workflow.Go(keeper, r.keepLease)
	return nil
}

// keepLease renews the lease a third of its TTL apart until the run ends;
// a lease lost stops the steps. A renewal that fails otherwise (the
// secondary unreachable) is tried again at the next: the lease lasts its
// TTL, and every write of the apply checks it.
func (r *syncRun) keepLease(ctx workflow.Context) {
	for workflow.Sleep(ctx, r.lease.TTL/3) == nil {
		err := workflow.ExecuteActivity(summarized(shortStep(ctx, r.in.Secondary), "Renew the lease of %s", r.in.Store), a.RenewLease, *r.lease).Get(ctx, nil)
		if isType(err, activities.TypeLeaseLost) {
			r.lost = err
			r.cancelSteps()
			return
		}
	}
}

// releaseLease frees the store for the next run, whatever this one's end.
func (r *syncRun) releaseLease(ctx workflow.Context) {
	if r.lease == nil {
		return
	}
	r.stopLease()
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	if err := workflow.ExecuteActivity(summarized(shortStep(ctx, r.in.Secondary), "Release the lease of %s", r.in.Store), a.ReleaseLease, *r.lease).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("the lease was not released: it expires on its own", "store", r.in.Store, "error", err)
	}
}

// waitQuiet holds an apply due in the quiet window until the window ends:
// no import while DSM/TC's daily expiration runs. The lease is kept
// meanwhile, so no other import starts in the window either.
func (r *syncRun) waitQuiet(ctx workflow.Context) error {
	end, err := r.in.Window.quietEnd(ctx)
	if err != nil || end.IsZero() {
		return err
	}
	r.begin(ctx, "quiet window")
	defer r.end(ctx)
	r.res.Steps[len(r.res.Steps)-1].Note = fmt.Sprintf("DSM/TC expiration (%s): the apply waits until %s", r.in.Window.Quiet, end.Format(time.RFC3339))
	workflow.SetCurrentDetails(ctx, r.details())
	return workflow.Sleep(ctx, end.Sub(workflow.Now(ctx)))
}

// isType tells whether err is an application error of type typ.
func isType(err error, typ string) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == typ
}

// watermark reads what the secondary has applied.
func (r *syncRun) watermark(ctx workflow.Context) error {
	r.begin(ctx, "watermark")
	defer r.end(ctx)
	err := workflow.ExecuteActivity(summarized(shortStep(ctx, r.in.Secondary), "Read the watermark of %s", r.in.Store), a.ReadWatermark, r.in.Store).Get(ctx, &r.applied)
	r.res.Watermark = r.applied // until finish moves it, the watermark is where it was
	return err
}

// snapshot exports on the primary the volume sets changed after the
// watermark (UPDATE) or all of them (FULL).
func (r *syncRun) snapshot(ctx workflow.Context) error {
	r.begin(ctx, "snapshot")
	defer r.end(ctx)
	after := r.applied.Seq
	if r.applied.Reimport {
		after = 0 // a volume failed last time: re-import every volume of the store
	}
	in := activities.SnapshotInput{ID: workflow.GetInfo(ctx).WorkflowExecution.RunID, Store: r.in.Store, Type: r.in.Type,
		After: after, CatalogFiles: r.in.CatalogFiles}
	what := "every volume set"
	if r.in.Type == snapshot.Update {
		what = fmt.Sprintf("the volume sets changed after change %d", after)
	}
	return workflow.ExecuteActivity(summarized(longStep(ctx, r.in.Primary, r.heartbeat), "Snapshot %s of %s: %s", r.in.Type, r.in.Store, what),
		a.Snapshot, in).Get(ctx, &r.res.Snapshot)
}

// transferAndPlan copies the snapshot to the secondary's staging area and
// plans its import there; a snapshot found corrupt in staging is copied
// again, and one that stays corrupt fails the run naming the file.
func (r *syncRun) transferAndPlan(ctx workflow.Context) error {
	for attempt := 0; ; attempt++ {
		if err := r.transfer(ctx); err != nil {
			return err
		}
		err := r.plan(ctx)
		var appErr *temporal.ApplicationError
		if err != nil && errors.As(err, &appErr) && appErr.Type() == activities.TypeCorrupt && attempt < maxRetransfers {
			r.res.Steps[len(r.res.Steps)-1].Note = "corrupt staged snapshot, transferring again: " + appErr.Message()
			continue
		}
		return err
	}
}

func (r *syncRun) transfer(ctx workflow.Context) error {
	r.begin(ctx, "transfer")
	defer r.end(ctx)
	return workflow.ExecuteActivity(summarized(longStep(ctx, r.in.Secondary, r.heartbeat), "Transfer: %d volume sets, changes (%d, %d]",
		r.res.Snapshot.Sets, r.res.Snapshot.FromSeq, r.res.Snapshot.ToSeq), a.Transfer, r.res.Snapshot).Get(ctx, nil)
}

// plan validates every record of the staged snapshot, checks every volume
// set against the safety rules and diffs it against the secondary.
func (r *syncRun) plan(ctx workflow.Context) error {
	r.begin(ctx, "plan")
	defer r.end(ctx)
	return workflow.ExecuteActivity(summarized(longStep(ctx, r.in.Secondary, r.heartbeat), "Plan: %d volume sets, safety checks and diff",
		r.res.Snapshot.Sets), a.Plan, r.importInput()).Get(ctx, &r.res.Plan)
}

// apply imports the staged snapshot volume set by volume set.
func (r *syncRun) apply(ctx workflow.Context) error {
	if err := r.waitQuiet(ctx); err != nil {
		return err
	}
	r.begin(ctx, "apply")
	defer r.end(ctx)
	r.wrote = true
	// A cancel stops the apply at a set boundary: the run waits for it
	// to stop, so that it records what was applied.
	ctx = workflow.WithWaitForCancellation(summarized(longStep(ctx, r.in.Secondary, r.heartbeat), "Apply: %d volume sets, %d records to change, %d conflicts",
		r.res.Plan.Sets, r.res.Plan.Counts.Changed(), r.res.Plan.Conflicts.Total), true)
	if err := workflow.ExecuteActivity(ctx, a.Apply, r.importInput()).Get(ctx, &r.res.Applied); err != nil {
		return err
	}
	r.res.Conflicts = r.res.Applied.Conflicts
	return nil
}

// strictConflict tells whether err is a strict apply stopped by a
// conflict (a local backup took a label after the plan), which rolled
// every set of the run back, and returns the apply's report of it.
func (r *syncRun) strictConflict(ctx workflow.Context, err error) (activities.ImportResult, bool) {
	var appErr *temporal.ApplicationError
	if !r.in.Strict || !errors.As(err, &appErr) || appErr.Type() != activities.TypeConflict {
		return activities.ImportResult{}, false
	}
	if workflow.GetVersion(ctx, changeStrictApplyAborts, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return activities.ImportResult{}, false // runs started before the change failed here
	}
	r.res.Steps[len(r.res.Steps)-1].Note = "strict: " + appErr.Message() + "; every volume set of the run rolled back"
	var rolledBack activities.ImportResult
	if err := appErr.Details(&rolledBack); err != nil && !errors.Is(err, temporal.ErrNoData) {
		workflow.GetLogger(ctx).Warn("the conflict of a strict apply carries no report", "error", err)
	}
	return rolledBack, true
}

// keys proves that the secondary holds every key it needs to decrypt.
// Failing it leaves the watermark where it was, so the next run proves
// these volumes again once the keys are repaired.
func (r *syncRun) keys(ctx workflow.Context) error {
	r.begin(ctx, "keys")
	defer r.end(ctx)
	if err := workflow.ExecuteActivity(summarized(longStep(ctx, r.in.Secondary, r.heartbeat), "Key parity of the encrypted volumes of %d volume sets",
		r.res.Snapshot.Sets), a.KeyParity, r.res.Snapshot).Get(ctx, &r.res.Keys); err != nil {
		return err
	}
	if r.res.Keys.Failed() && r.in.KeyParity == ParityFail {
		return temporal.NewNonRetryableApplicationError("key parity: "+r.res.Keys.Summary(), TypeKeyParity, nil)
	}
	return nil
}

// restore tests on the secondary that a sample of the store's volumes can
// be restored from; its failures say so in the outcome, and the catalogs,
// applied, stay.
func (r *syncRun) restore(ctx workflow.Context) error {
	if workflow.GetVersion(ctx, changeRestoreTest, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	r.begin(ctx, "restore")
	defer r.end(ctx)
	in := activities.RestoreInput{Ref: r.res.Snapshot, Options: restore.Options{Sample: r.in.RestoreSample, Budget: r.in.RestoreBudget,
		Seed: seed(workflow.GetInfo(ctx).WorkflowExecution.RunID)}}
	return workflow.ExecuteActivity(summarized(longStep(ctx, r.in.Secondary, r.heartbeat), "Restore test of %s: a sample of %d volumes",
		r.in.Store, cmp.Or(r.in.RestoreSample, restore.DefaultSample)), a.RestoreTest, in).Get(ctx, &r.res.Restore)
}

// seed draws a run's random sample from its run id: the same on replay.
func seed(runID string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(runID))
	return h.Sum64()
}

// finish moves the watermark; a set left out, in conflict or failed, or a
// key not in parity, makes the next UPDATE re-import (and re-prove) all.
func (r *syncRun) finish(ctx workflow.Context) error {
	r.begin(ctx, "finish")
	defer r.end(ctx)
	in := activities.FinishInput{Ref: r.res.Snapshot, Failed: r.res.Conflicts.Total > 0 || len(r.res.Applied.Failed) > 0 || r.res.Keys.Failed(),
		Lease: r.lease}
	return workflow.ExecuteActivity(summarized(shortStep(ctx, r.in.Secondary), "Finish: watermark to change %d", r.res.Snapshot.ToSeq),
		a.Finish, in).Get(ctx, &r.res.Watermark)
}

// verified is the outcome of a verification.
func (r *syncRun) verified() string {
	switch {
	case r.res.Keys.Failed():
		return OutcomeKeyParityFailed
	case r.res.Drift() > 0 || r.res.Plan.Conflicts.Total > 0:
		return OutcomeDrift
	}
	return OutcomeVerified
}

// outcome is the outcome of a run that applied its snapshot.
func (r *syncRun) outcome() string {
	switch {
	case r.res.Keys.Failed():
		return OutcomeKeyParityFailed
	case r.res.Conflicts.Total > 0:
		return OutcomeCompletedWithConflicts
	case len(r.res.Applied.Failed) > 0:
		return OutcomeCompletedWithFailures
	case r.res.Restore.Failures():
		return OutcomeRestoreTestFailed
	}
	return OutcomeCompleted
}

// record appends the run to the secondary's audit trail, as a step.
func (r *syncRun) record(ctx workflow.Context) error {
	r.begin(ctx, "record")
	defer r.end(ctx)
	return r.audit(ctx, "")
}

// audit appends the run, and errText when it failed, to the audit trail.
func (r *syncRun) audit(ctx workflow.Context, errText string) error {
	e := r.auditEntry(ctx, errText)
	return workflow.ExecuteActivity(summarized(shortStep(ctx, r.in.Secondary), "Record %s in the audit trail", e.Outcome), a.Record, e).Get(ctx, nil)
}

// done ends a run that did not fail: it records it, then shows the outcome
// in the Web UI.
func (r *syncRun) done(ctx workflow.Context, outcome string) (*SyncResult, error) {
	r.res.Outcome, r.res.Finished = outcome, workflow.Now(ctx)
	if err := r.record(ctx); err != nil {
		return r.fail(ctx, err)
	}
	r.progress.Step = "done"
	workflow.GetLogger(ctx).Info("run ended", "step", "done", "outcome", r.res.Outcome, "summary", r.res.Summary())
	workflow.SetCurrentDetails(ctx, r.details()+"\n"+r.res.Summary())
	attrs := []temporal.SearchAttributeUpdate{OutcomeKey.ValueSet(r.res.Outcome), ChangesKey.ValueSet(r.res.Applied.Counts.Changed())}
	if r.res.Restore.Sampled > 0 {
		attrs = append(attrs, RestorableKey.ValueSet(r.res.Restore.Fraction))
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, attrs...); err != nil {
		return nil, err
	}
	if err := workflow.UpsertMemo(ctx, r.memo()); err != nil {
		return nil, err
	}
	return r.res, nil
}

// fail ends a run with err. When the apply had begun, the secondary is
// told first that the next UPDATE must re-import every volume, so the
// watermark and its flag never claim more than the run applied, and the
// result takes what the apply committed. The failure is recorded too, when
// the secondary can be reached; the run's own error is what it returns
// either way. A cancelled run ends the same way, on a context the cancel
// does not end, with the outcome Cancelled.
func (r *syncRun) fail(ctx workflow.Context, err error) (*SyncResult, error) {
	outcome := OutcomeFailed
	if r.version != workflow.DefaultVersion {
		switch {
		case r.lost != nil:
			err = r.lost // the steps were cancelled because the lease was lost
		case temporal.IsCanceledError(err) && ctx.Err() != nil:
			outcome = OutcomeCancelled
		}
		ctx, _ = workflow.NewDisconnectedContext(ctx)
	}
	r.res.Outcome, r.res.Finished = outcome, workflow.Now(ctx)
	r.progress.Step = strings.ToLower(outcome)
	at := r.res.lastStep()
	switch {
	case !r.wrote:
	case r.version != workflow.DefaultVersion:
		var u activities.Unfinished
		if workflow.ExecuteActivity(summarized(shortStep(ctx, r.in.Secondary), "Read what the apply committed"), a.Unfinished, r.res.Snapshot).Get(ctx, &u) == nil {
			r.res.Applied, r.res.Watermark = u.Applied, u.Watermark
			r.res.Conflicts = u.Applied.Conflicts
		}
	case workflow.GetVersion(ctx, changeFailMarksReimport, workflow.DefaultVersion, 1) == 1:
		_ = workflow.ExecuteActivity(shortStep(ctx, r.in.Secondary), a.Finish,
			activities.FinishInput{Ref: r.res.Snapshot, Failed: true}).Get(ctx, &r.res.Watermark)
	}
	attrs := []temporal.SearchAttributeUpdate{OutcomeKey.ValueSet(outcome)}
	why := err.Error()
	if r.version != workflow.DefaultVersion {
		attrs, why = append(attrs, ChangesKey.ValueSet(r.res.Applied.Counts.Changed())), Reason(err)
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, attrs...)
	summary := fmt.Sprintf("%s %s of %s at %s: %s", outcome, r.in.Type, r.in.Store, at, why)
	workflow.GetLogger(ctx).Warn("run ended", "step", at, "outcome", outcome, "summary", summary)
	workflow.SetCurrentDetails(ctx, r.details()+"\n"+summary)
	_ = workflow.UpsertMemo(ctx, map[string]any{"summary": summary})
	_ = r.audit(ctx, fmt.Sprintf("at %s: %s", at, why))
	return nil, err
}

// memo is what the Web UI shows of a run that did not fail.
func (r *syncRun) memo() map[string]any {
	memo := map[string]any{"summary": r.res.Summary()}
	if r.res.Conflicts.Total > 0 {
		memo["conflicts"] = r.res.Conflicts.Summary()
	}
	if r.res.Keys.Volumes > 0 || r.res.Keys.Domain != "" {
		memo["keys"] = r.res.Keys.Summary()
	}
	if r.res.Restore.Volumes > 0 || r.res.Restore.Skipped != "" {
		memo["restore"] = r.res.Restore.Summary()
	}
	return memo
}

// auditEntry is what the audit trail keeps of a run.
func (r *syncRun) auditEntry(ctx workflow.Context, errText string) audit.Entry {
	info, res := workflow.GetInfo(ctx), r.res
	e := audit.Entry{WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID, Store: r.in.Store,
		Type: string(r.in.Type), Outcome: res.Outcome, Snapshot: res.Snapshot.Digest, FromSeq: res.Snapshot.FromSeq,
		ToSeq: res.Snapshot.ToSeq, Counts: res.Applied.Counts, Error: errText, Started: res.Started, Finished: res.Finished}
	if info.ParentWorkflowExecution != nil {
		e.Trigger = "workflow " + info.ParentWorkflowExecution.ID
	}
	if res.Outcome == OutcomeSkipped {
		e.Detail = res.Note
	}
	if r.in.Verify {
		e.Counts = res.Plan.Counts // what the import would do: nothing was applied
		e.Detail = "verification: a FULL snapshot planned against the secondary, nothing applied"
	}
	if res.Conflicts.Total > 0 {
		e.Conflicts = &res.Conflicts
	}
	if res.Keys.Volumes > 0 || res.Keys.Domain != "" {
		e.Keys = &res.Keys
	}
	if res.Restore.Volumes > 0 || res.Restore.Skipped != "" {
		e.Restore = &res.Restore
	}
	for _, f := range res.Applied.Failed {
		e.Failed = append(e.Failed, f.Set)
	}
	return e
}

func (r *SyncResult) lastStep() string {
	if len(r.Steps) == 0 {
		return "start"
	}
	return r.Steps[len(r.Steps)-1].Name
}

func (in *SyncInput) validate() error {
	switch {
	case !catalog.ValidStoreID(in.Store):
		return fmt.Errorf("sync input: data store %q %s", in.Store, catalog.StoreIDRule)
	case !slices.Contains([]snapshot.Type{snapshot.Update, snapshot.Full}, in.Type):
		return fmt.Errorf("sync input: type %q must be UPDATE or FULL", in.Type)
	case in.Primary == "" || in.Secondary == "":
		return errors.New("sync input: primary and secondary site names are required")
	case strings.EqualFold(in.Primary, in.Secondary):
		return fmt.Errorf("sync input: primary and secondary are both %s", in.Primary)
	case in.KeyParity != "" && in.KeyParity != ParityReport && in.KeyParity != ParityFail:
		return fmt.Errorf("sync input: key_parity %q must be %s or %s", in.KeyParity, ParityReport, ParityFail)
	case in.Verify && in.Type != snapshot.Full:
		return fmt.Errorf("sync input: verify plans a FULL snapshot: type %q must be FULL", in.Type)
	}
	if err := importer.CheckNodePairs(in.NodePairs); err != nil {
		return fmt.Errorf("sync input: %w", err)
	}
	if err := in.Window.validate(); err != nil {
		return fmt.Errorf("sync input: window: %w", err)
	}
	return nil
}
