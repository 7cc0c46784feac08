package workflows

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/restore"
	"github.com/catsync/catsync/internal/snapshot"
)

// DrillInput starts a DRDrill of a data store: an UPDATE import, a
// verification of the secondary against the primary, the key parity of
// every encrypted volume of the store, and a large restore-test sample; the
// secondary's data store stays SECONDARY.
type DrillInput struct {
	Store        string              `json:"store"`
	Primary      string              `json:"primary"`   // site names, as in SyncInput
	Secondary    string              `json:"secondary"` //
	CatalogFiles bool                `json:"catalog_files"`
	NodePairs    []importer.NodePair `json:"node_pairs,omitempty"`
	// RestoreSample is how many volumes the restore test samples (default
	// DrillSample); RestoreBudget ends it early (0: none).
	RestoreSample int           `json:"restore_sample,omitempty"`
	RestoreBudget time.Duration `json:"restore_budget,omitempty"`
	// Operator is who started the drill, for the audit trail ("" for a
	// schedule's).
	Operator string `json:"operator,omitempty"`
	// Window holds a scheduled drill to its catch-up window, and its
	// UPDATE import to the quiet window.
	Window *StartWindow `json:"window,omitempty"`
}

// DrillSample is a drill's default restore-test sample: large, as a drill
// is the proof a DR operator shows.
const DrillSample = 100

// DrillWorkflow is the workflow type name of DRDrill.
const DrillWorkflow = "DRDrill"

// Outcomes of a drill.
const (
	OutcomeDrillPassed = "DrillPassed" // every step passed: the store can be failed over
	OutcomeDrillFailed = "DrillFailed" // a finding says what would stop or spoil a failover
)

// DrillID is the workflow id the CLI gives the drill of a data store.
func DrillID(storeID string) string { return "catsync-drill-" + storeID }

// DrillResult is a drill's report.
type DrillResult struct {
	Store    string   `json:"store"`
	Outcome  string   `json:"outcome"`
	Findings []string `json:"findings,omitempty"`
	// Update is the UPDATE import, Verify the verification (nil when the
	// run failed; the findings say why).
	Update *SyncResult `json:"update,omitempty"`
	Verify *SyncResult `json:"verify,omitempty"`
	// RPO is the recovery point the drill measured: how far the primary
	// state the verification read is ahead of the state the UPDATE
	// applied; zero when the verification found nothing to import, nil
	// when it cannot be told.
	RPO      *time.Duration `json:"rpo,omitempty"`
	Started  time.Time      `json:"started"`
	Finished time.Time      `json:"finished"`
	// Note says why a drill was Skipped.
	Note string `json:"note,omitempty"`
}

// Summary is the one-line description kept in the drill's memo.
func (r *DrillResult) Summary() string {
	if r.Outcome == OutcomeSkipped {
		return fmt.Sprintf("drill of %s %s: %s", r.Store, r.Outcome, r.Note)
	}
	s := fmt.Sprintf("%s of %s", r.Outcome, r.Store)
	if r.Update != nil && r.Update.Restore.Volumes > 0 {
		s += fmt.Sprintf(": %.1f %% of volumes verified restorable", 100*r.Update.Restore.Fraction)
	}
	if r.RPO != nil {
		s += fmt.Sprintf(", RPO %s", r.RPO.Round(time.Second))
	}
	if len(r.Findings) > 0 {
		s += fmt.Sprintf("; %d findings: %s", len(r.Findings), strings.Join(r.Findings, "; "))
	}
	return s
}

// DRDrill proves, without a failover, that the secondary could take over
// a data store: an UPDATE import with a large restore-test sample, then a
// verification (a FULL snapshot of the primary planned against the
// secondary, with the key parity of every encrypted volume in it). The
// secondary's data store stays SECONDARY. Each step is a CatalogSync run,
// a child of the drill, so the store's lease keeps one import at a time.
// A drill that finds a problem completes DrillFailed with its findings; it
// is recorded in the audit trail either way.
func DRDrill(ctx workflow.Context, in DrillInput) (*DrillResult, error) {
	res := &DrillResult{Store: in.Store, Outcome: OutcomeRunning, Started: workflow.Now(ctx)}
	sample := in.RestoreSample
	if sample <= 0 {
		sample = DrillSample
	}
	update := SyncInput{Store: in.Store, Type: snapshot.Update, CatalogFiles: in.CatalogFiles, Primary: in.Primary, Secondary: in.Secondary,
		NodePairs: in.NodePairs, RestoreSample: sample, RestoreBudget: in.RestoreBudget, Window: in.Window.forChild(ctx)}
	verify := SyncInput{Store: in.Store, Type: snapshot.Full, CatalogFiles: in.CatalogFiles, Primary: in.Primary, Secondary: in.Secondary,
		NodePairs: in.NodePairs, Verify: true}
	if err := update.validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("drill input: "+strings.TrimPrefix(err.Error(), "sync input: "), activities.TypeConfig, nil)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, StoreKey.ValueSet(in.Store), TypeKey.ValueSet("DRILL"),
		OutcomeKey.ValueSet(OutcomeRunning)); err != nil {
		return nil, err
	}
	if why := in.Window.missed(ctx); why != "" {
		res.Note = why
		return res.finish(ctx, in, OutcomeSkipped)
	}
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	var err error
	if res.Update, err = childSync(ctx, id+"-update", update); err != nil {
		res.Findings = append(res.Findings, "UPDATE import failed: "+Reason(err))
	} else {
		res.Findings = append(res.Findings, importFindings(res.Update)...)
	}
	if res.Verify, err = childSync(ctx, id+"-verify", verify); err != nil {
		res.Findings = append(res.Findings, "verification failed: "+Reason(err))
	} else {
		res.Findings = append(res.Findings, verifyFindings(res.Verify)...)
		if res.Update != nil {
			rpo := time.Duration(0)
			if res.Verify.Drift() > 0 {
				rpo = max(res.Verify.Snapshot.Taken.Sub(res.Update.Snapshot.Taken), 0)
			}
			res.RPO = &rpo
		}
	}
	outcome := OutcomeDrillPassed
	if len(res.Findings) > 0 {
		outcome = OutcomeDrillFailed
	}
	return res.finish(ctx, in, outcome)
}

// finish ends the drill with outcome: it records it in the audit trail and
// shows it in the Web UI.
func (res *DrillResult) finish(ctx workflow.Context, in DrillInput, outcome string) (*DrillResult, error) {
	res.Outcome, res.Finished = outcome, workflow.Now(ctx)
	e := res.auditEntry(ctx)
	e.Operator = in.Operator
	if err := workflow.ExecuteActivity(shortStep(ctx, in.Secondary), a.Record, e).Get(ctx, nil); err != nil {
		return nil, err
	}
	attrs := []temporal.SearchAttributeUpdate{OutcomeKey.ValueSet(res.Outcome)}
	if res.Update != nil && res.Update.Restore.Sampled > 0 {
		attrs = append(attrs, RestorableKey.ValueSet(res.Update.Restore.Fraction))
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, attrs...); err != nil {
		return nil, err
	}
	if err := workflow.UpsertMemo(ctx, map[string]any{"summary": res.Summary()}); err != nil {
		return nil, err
	}
	return res, nil
}

// childSync runs a CatalogSync as a child of the workflow.
func childSync(ctx workflow.Context, id string, in SyncInput) (*SyncResult, error) {
	ctx = workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: id, TaskQueue: TaskQueue,
		StaticSummary: in.title() + ", for " + workflow.GetInfo(ctx).WorkflowType.Name})
	var res *SyncResult
	err := workflow.ExecuteChildWorkflow(ctx, CatalogSync, in).Get(ctx, &res)
	return res, err
}

// maxListed bounds the problems a finding lists one by one.
const maxListed = 10

// importFindings are what an import found that a failover could not live
// with: sets left out or failed, keys not in parity, volumes that cannot be
// restored, or no restore test at all.
func importFindings(r *SyncResult) []string {
	var out []string
	name := string(r.Type) + " import"
	if r.Conflicts.Total > 0 {
		out = append(out, name+": "+r.Conflicts.Summary())
	}
	if n := len(r.Applied.Failed); n > 0 {
		out = append(out, fmt.Sprintf("%s: %d volume sets failed to import", name, n))
	}
	if r.Keys.Failed() {
		out = append(out, name+": key parity: "+r.Keys.Summary())
	}
	return append(out, restoreFindings(r.Restore)...)
}

// restoreFindings are the volumes a restore test could not restore from,
// or why it tested none.
func restoreFindings(r restore.Report) []string {
	var out []string
	switch {
	case r.Skipped != "":
		out = append(out, "restore test skipped: "+r.Skipped)
	case r.Failures():
		listed := 0
		for _, v := range r.Verdicts {
			if v.Problem != "" && listed < maxListed {
				out = append(out, "restore test: "+v.String())
				listed++
			}
		}
		if r.Failed > listed {
			out = append(out, fmt.Sprintf("restore test: %d more volumes not restorable", r.Failed-listed))
		}
	case r.Sampled == 0:
		out = append(out, "restore test: no volume was tested")
	}
	return out
}

// verifyFindings are the differences a verification found.
func verifyFindings(r *SyncResult) []string {
	var out []string
	if n := r.Drift(); n > 0 {
		var kinds []string
		for _, k := range slices.Sorted(maps.Keys(r.Plan.Counts)) { // sorted: workflows never range over maps
			if v := r.Plan.Counts[k]; v > 0 && (strings.HasSuffix(k, ".create") || strings.HasSuffix(k, ".update")) {
				kinds = append(kinds, fmt.Sprintf("%s %d", k, v))
			}
		}
		out = append(out, fmt.Sprintf("verification: %d records of the primary to create or update on the secondary (%s)", n, strings.Join(kinds, ", ")))
	}
	if r.Plan.Conflicts.Total > 0 {
		out = append(out, "verification: "+r.Plan.Conflicts.Summary())
	}
	if r.Keys.Failed() {
		out = append(out, "key parity of every encrypted volume: "+r.Keys.Summary())
	}
	return out
}

// auditEntry is what the audit trail keeps of a drill.
func (r *DrillResult) auditEntry(ctx workflow.Context) audit.Entry {
	info := workflow.GetInfo(ctx)
	e := audit.Entry{Kind: audit.KindDrill, WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		Store: r.Store, Type: "DRILL", Outcome: r.Outcome, RPO: r.RPO, Started: r.Started, Finished: r.Finished,
		Detail: strings.Join(r.Findings, "; ")}
	switch {
	case r.Outcome == OutcomeSkipped:
		e.Detail = r.Note
	case len(r.Findings) == 0:
		e.Detail = "no finding"
	}
	if info.ParentWorkflowExecution != nil {
		e.Trigger = "workflow " + info.ParentWorkflowExecution.ID
	}
	withRuns(&e, r.Update, r.Verify)
	return e
}

// withRuns gives the audit record of a DR run what its child runs did: the
// import's snapshot, counts and restore test, the verification's key
// parity (nil: the run did not get that far).
func withRuns(e *audit.Entry, imported, verified *SyncResult) {
	if u := imported; u != nil {
		e.Snapshot, e.FromSeq, e.ToSeq, e.Counts = u.Snapshot.Digest, u.Snapshot.FromSeq, u.Snapshot.ToSeq, u.Applied.Counts
		if u.Restore.Volumes > 0 || u.Restore.Skipped != "" {
			e.Restore = &u.Restore
		}
	}
	if v := verified; v != nil && (v.Keys.Volumes > 0 || v.Keys.Domain != "") {
		e.Keys = &v.Keys
	}
}
