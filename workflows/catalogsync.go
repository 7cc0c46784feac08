// Package workflows holds catsync's workflows. Workflow code here is
// deterministic: it only sequences activities, which do all I/O, and it
// carries references (snapshot id and digest, counts), never catalog rows.
package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/snapshot"
)

// TaskQueue is the queue of the workflow workers.
const TaskQueue = "catsync"

// Search attributes that let the Web UI filter and explain runs.
var (
	StoreKey   = temporal.NewSearchAttributeKeyKeyword("CatsyncStore")
	TypeKey    = temporal.NewSearchAttributeKeyKeyword("CatsyncType")
	OutcomeKey = temporal.NewSearchAttributeKeyKeyword("CatsyncOutcome")
	ChangesKey = temporal.NewSearchAttributeKeyInt64("CatsyncChanges")
)

// Outcomes of a sync.
const (
	OutcomeRunning   = "Running"
	OutcomeCompleted = "Completed"
	// Some volume sets failed to import; the next UPDATE re-imports all.
	OutcomeCompletedWithFailures = "CompletedWithFailures"
	// Some volume sets broke a safety rule and were left out; the next
	// UPDATE re-imports all.
	OutcomeCompletedWithConflicts = "CompletedWithConflicts"
	// A strict run found conflicts in its plan and applied nothing.
	OutcomeAbortedWithConflicts = "AbortedWithConflicts"
	// The catalogs were applied, but the secondary could not decrypt some
	// encrypted volume: a key is missing, inactive, other material or
	// filed under another BackPak id, or the domain lacks the entry.
	OutcomeKeyParityFailed = "KeyParityFailed"
	OutcomeFailed          = "Failed"
)

// Key-parity policies: what a run does when parity fails.
const (
	ParityReport = "report" // complete with outcome KeyParityFailed
	ParityFail   = "fail"   // fail the run with a KeyParityFailed error
)

// TypeKeyParity is the error type of a run failed by its key parity.
const TypeKeyParity = "KeyParityFailed"

// ProgressQuery is the query that returns a running sync's Progress.
const ProgressQuery = "progress"

// SyncID is the workflow id of the sync of a data store: one id per store,
// so that a second sync of a store cannot start while one runs.
func SyncID(storeID string) string { return "catalogsync-" + storeID }

// SyncInput starts a CatalogSync.
type SyncInput struct {
	Store        string              `json:"store"`
	Type         snapshot.Type       `json:"type"`
	CatalogFiles bool                `json:"catalog_files"`
	Primary      string              `json:"primary"`   // site names: their workers'
	Secondary    string              `json:"secondary"` // queues are catsync.<site>
	NodePairs    []importer.NodePair `json:"node_pairs,omitempty"`
	// Strict applies nothing when any volume set is in conflict.
	Strict bool `json:"strict,omitempty"`
	// KeyParity is the policy when key parity fails: ParityReport (the
	// default) or ParityFail.
	KeyParity string `json:"key_parity,omitempty"`
	// HeartbeatTimeout of the streaming steps: how soon a dead worker's
	// step is retried elsewhere (default one minute).
	HeartbeatTimeout time.Duration `json:"heartbeat_timeout,omitempty"`
}

// Step records one step of a run.
type Step struct {
	Name     string    `json:"name"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitempty"`
	Note     string    `json:"note,omitempty"`
}

// Progress is what the progress query answers.
type Progress struct {
	Step  string `json:"step"`
	Steps []Step `json:"steps"`
}

// SyncResult summarizes a run.
type SyncResult struct {
	Store     string                  `json:"store"`
	Type      snapshot.Type           `json:"type"`
	Outcome   string                  `json:"outcome"`
	Snapshot  snapshot.Ref            `json:"snapshot"`
	Plan      activities.ImportResult `json:"plan"`
	Applied   activities.ImportResult `json:"applied"`
	Watermark importer.Watermark      `json:"watermark"`
	// Conflicts are the volume sets left out (or, strict, that stopped
	// the run) because they break a safety rule.
	Conflicts safety.Report `json:"conflicts"`
	// Keys is the key-manager parity of the snapshot's encrypted volumes.
	Keys     parity.Report `json:"keys"`
	Steps    []Step        `json:"steps"`
	Started  time.Time     `json:"started"`
	Finished time.Time     `json:"finished"`
}

// Summary is the one-line description kept in the run's memo.
func (r *SyncResult) Summary() string {
	return fmt.Sprintf("%s %s of %s: %d volume sets applied, %d records changed, %d sets failed, %d sets in conflict, %d of %d encrypted volumes' keys in parity, watermark %d",
		r.Outcome, r.Type, r.Store, r.Applied.Sets-int64(r.Conflicts.Sets)-int64(len(r.Applied.Failed)), r.Applied.Counts.Changed(),
		len(r.Applied.Failed), r.Conflicts.Sets, r.Keys.OK, r.Keys.Volumes, r.Watermark.Seq)
}

var nonRetryable = []string{activities.TypeValidation, activities.TypeConfig, activities.TypeCorrupt, activities.TypeConflict, TypeKeyParity}

// Activity options per kind of step: short catalog reads and writes, and
// long streaming steps that heartbeat their cursor.
func shortStep(ctx workflow.Context, site string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           activities.TaskQueue(site),
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second,
			MaximumAttempts: 10, NonRetryableErrorTypes: nonRetryable},
	})
}

func longStep(ctx workflow.Context, site string, heartbeat time.Duration) workflow.Context {
	o := workflow.ActivityOptions{
		TaskQueue:           activities.TaskQueue(site),
		StartToCloseTimeout: 6 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, MaximumInterval: time.Minute,
			MaximumAttempts: 20, NonRetryableErrorTypes: nonRetryable},
	}
	o.HeartbeatTimeout = heartbeat
	return workflow.WithActivityOptions(ctx, o)
}

// maxRetransfers bounds how often a corrupt staged snapshot is copied again
// before the run gives up on it.
const maxRetransfers = 2

// CatalogSync replicates one data store's catalogs from the primary site to
// the secondary: check the configuration, read the applied watermark,
// snapshot on the primary, transfer to the secondary's staging area, plan
// (with the safety checks of every volume set), apply, record the new
// watermark, prove key-manager parity for the encrypted volumes and append
// the run to the audit trail.
func CatalogSync(ctx workflow.Context, in SyncInput) (*SyncResult, error) {
	res := &SyncResult{Store: in.Store, Type: in.Type, Outcome: OutcomeRunning, Started: workflow.Now(ctx)}
	progress := Progress{Step: "starting"}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) {
		progress.Steps = res.Steps
		return progress, nil
	}); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), activities.TypeConfig, nil)
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, StoreKey.ValueSet(in.Store), TypeKey.ValueSet(string(in.Type)),
		OutcomeKey.ValueSet(OutcomeRunning)); err != nil {
		return nil, err
	}

	var a *activities.Activities // method references only; the workers hold the sites
	hb := in.HeartbeatTimeout
	if hb <= 0 {
		hb = time.Minute
	}
	step := func(name string, fn func() error) error {
		progress.Step = name
		res.Steps = append(res.Steps, Step{Name: name, Started: workflow.Now(ctx)})
		err := fn()
		res.Steps[len(res.Steps)-1].Finished = workflow.Now(ctx)
		return err
	}
	record := func(errText string) error {
		return workflow.ExecuteActivity(shortStep(ctx, in.Secondary), a.Record, res.auditEntry(ctx, in, errText)).Get(ctx, nil)
	}
	fail := func(err error) (*SyncResult, error) {
		res.Outcome, res.Finished = OutcomeFailed, workflow.Now(ctx)
		progress.Step = "failed"
		_ = workflow.UpsertTypedSearchAttributes(ctx, OutcomeKey.ValueSet(OutcomeFailed))
		_ = workflow.UpsertMemo(ctx, map[string]any{"summary": fmt.Sprintf("Failed %s of %s at %s: %v", in.Type, in.Store, res.lastStep(), err)})
		// The failure is recorded too, when the secondary can be reached;
		// the run's own error is what it returns either way.
		_ = record(fmt.Sprintf("at %s: %v", res.lastStep(), err))
		return nil, err
	}

	// done ends a run that did not fail: it records it, then shows the
	// outcome in the Web UI.
	done := func(outcome string) (*SyncResult, error) {
		res.Outcome, res.Finished = outcome, workflow.Now(ctx)
		if err := step("record", func() error { return record("") }); err != nil {
			return fail(err)
		}
		progress.Step = "done"
		if err := workflow.UpsertTypedSearchAttributes(ctx, OutcomeKey.ValueSet(res.Outcome),
			ChangesKey.ValueSet(res.Applied.Counts.Changed())); err != nil {
			return nil, err
		}
		memo := map[string]any{"summary": res.Summary()}
		if res.Conflicts.Total > 0 {
			memo["conflicts"] = res.Conflicts.Summary()
		}
		if res.Keys.Volumes > 0 || res.Keys.Domain != "" {
			memo["keys"] = res.Keys.Summary()
		}
		if err := workflow.UpsertMemo(ctx, memo); err != nil {
			return nil, err
		}
		return res, nil
	}

	// 0. Refuse an unsafe configuration before anything moves.
	var prim safety.Primary
	opts := importer.Options{StoreID: in.Store, CatalogFiles: in.CatalogFiles, NodePairs: in.NodePairs}
	if err := step("check", func() error {
		if err := workflow.ExecuteActivity(shortStep(ctx, in.Primary), a.Describe, in.Store).Get(ctx, &prim); err != nil {
			return err
		}
		return workflow.ExecuteActivity(shortStep(ctx, in.Secondary), a.CheckConfig,
			activities.CheckInput{Primary: prim, Options: opts}).Get(ctx, nil)
	}); err != nil {
		return fail(err)
	}

	// 1. What the secondary has applied.
	var wm importer.Watermark
	if err := step("watermark", func() error {
		return workflow.ExecuteActivity(shortStep(ctx, in.Secondary), a.ReadWatermark, in.Store).Get(ctx, &wm)
	}); err != nil {
		return fail(err)
	}
	after := wm.Seq
	if wm.Reimport {
		after = 0 // a volume failed last time: re-import every volume of the store
	}

	// 2. Snapshot on the primary.
	snapIn := activities.SnapshotInput{ID: workflow.GetInfo(ctx).WorkflowExecution.RunID, Store: in.Store, Type: in.Type,
		After: after, CatalogFiles: in.CatalogFiles}
	if err := step("snapshot", func() error {
		return workflow.ExecuteActivity(longStep(ctx, in.Primary, hb), a.Snapshot, snapIn).Get(ctx, &res.Snapshot)
	}); err != nil {
		return fail(err)
	}

	// 3-4. Transfer and plan; a snapshot found corrupt in staging is copied
	// again, and one that stays corrupt fails the run naming the file.
	imp := activities.ImportInput{Ref: res.Snapshot, Options: opts, Groups: prim.Groups, Strict: in.Strict}
	for attempt := 0; ; attempt++ {
		if err := step("transfer", func() error {
			return workflow.ExecuteActivity(longStep(ctx, in.Secondary, 0), a.Transfer, res.Snapshot).Get(ctx, nil)
		}); err != nil {
			return fail(err)
		}
		err := step("plan", func() error {
			return workflow.ExecuteActivity(longStep(ctx, in.Secondary, hb), a.Plan, imp).Get(ctx, &res.Plan)
		})
		var appErr *temporal.ApplicationError
		if err != nil && errors.As(err, &appErr) && appErr.Type() == activities.TypeCorrupt && attempt < maxRetransfers {
			res.Steps[len(res.Steps)-1].Note = "corrupt staged snapshot, transferring again: " + appErr.Message()
			continue
		}
		if err != nil {
			return fail(err)
		}
		break
	}

	// A strict run applies nothing when the plan found conflicts; the
	// watermark stays where it was.
	if in.Strict && res.Plan.Conflicts.Total > 0 {
		res.Conflicts = res.Plan.Conflicts
		return done(OutcomeAbortedWithConflicts)
	}

	// 5. Apply, volume set by volume set.
	if err := step("apply", func() error {
		return workflow.ExecuteActivity(longStep(ctx, in.Secondary, hb), a.Apply, imp).Get(ctx, &res.Applied)
	}); err != nil {
		return fail(err)
	}
	res.Conflicts = res.Applied.Conflicts

	// 6. Key parity: the secondary holds every key it needs to decrypt.
	// Failing it leaves the watermark where it was, so the next run proves
	// these volumes again once the keys are repaired.
	if err := step("keys", func() error {
		return workflow.ExecuteActivity(longStep(ctx, in.Secondary, hb), a.KeyParity, res.Snapshot).Get(ctx, &res.Keys)
	}); err != nil {
		return fail(err)
	}
	if res.Keys.Failed() && in.KeyParity == ParityFail {
		return fail(temporal.NewNonRetryableApplicationError("key parity: "+res.Keys.Summary(), TypeKeyParity, nil))
	}

	// Move the watermark; a set left out, in conflict or failed, or a key
	// not in parity, makes the next UPDATE re-import (and re-prove) all.
	conflicts, failed := res.Conflicts.Total > 0, len(res.Applied.Failed) > 0
	if err := step("finish", func() error {
		return workflow.ExecuteActivity(shortStep(ctx, in.Secondary), a.Finish,
			activities.FinishInput{Ref: res.Snapshot, Failed: failed || conflicts || res.Keys.Failed()}).Get(ctx, &res.Watermark)
	}); err != nil {
		return fail(err)
	}

	outcome := OutcomeCompleted
	switch {
	case res.Keys.Failed():
		outcome = OutcomeKeyParityFailed
	case conflicts:
		outcome = OutcomeCompletedWithConflicts
	case failed:
		outcome = OutcomeCompletedWithFailures
	}
	return done(outcome)
}

// auditEntry is what the audit trail keeps of a run.
func (r *SyncResult) auditEntry(ctx workflow.Context, in SyncInput, errText string) audit.Entry {
	info := workflow.GetInfo(ctx)
	e := audit.Entry{WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID, Store: in.Store,
		Type: string(in.Type), Outcome: r.Outcome, Snapshot: r.Snapshot.Digest, FromSeq: r.Snapshot.FromSeq,
		ToSeq: r.Snapshot.ToSeq, Counts: r.Applied.Counts, Error: errText, Started: r.Started, Finished: r.Finished}
	if info.ParentWorkflowExecution != nil {
		e.Trigger = "workflow " + info.ParentWorkflowExecution.ID
	}
	if r.Conflicts.Total > 0 {
		e.Conflicts = &r.Conflicts
	}
	if r.Keys.Volumes > 0 || r.Keys.Domain != "" {
		e.Keys = &r.Keys
	}
	for _, f := range r.Applied.Failed {
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
	case in.Store == "":
		return errors.New("sync input: store is empty")
	case !slices.Contains([]snapshot.Type{snapshot.Update, snapshot.Full}, in.Type):
		return fmt.Errorf("sync input: type %q must be UPDATE or FULL", in.Type)
	case in.Primary == "" || in.Secondary == "":
		return errors.New("sync input: primary and secondary site names are required")
	case strings.EqualFold(in.Primary, in.Secondary):
		return fmt.Errorf("sync input: primary and secondary are both %s", in.Primary)
	case in.KeyParity != "" && in.KeyParity != ParityReport && in.KeyParity != ParityFail:
		return fmt.Errorf("sync input: key_parity %q must be %s or %s", in.KeyParity, ParityReport, ParityFail)
	}
	return nil
}
