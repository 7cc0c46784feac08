package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/restore"
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
	// RestorableKey is the store's verified-restorable fraction after the
	// run's restore test, from 0 to 1.
	RestorableKey = temporal.NewSearchAttributeKeyFloat64("CatsyncRestorable")
)

// SearchAttributes are catsync's search attributes, for a namespace to
// register (with the zero value of each).
func SearchAttributes() temporal.SearchAttributes {
	return temporal.NewSearchAttributes(StoreKey.ValueSet(""), TypeKey.ValueSet(""), OutcomeKey.ValueSet(""),
		ChangesKey.ValueSet(0), RestorableKey.ValueSet(0))
}

// Outcomes of a sync.
const (
	OutcomeRunning   = "Running"
	OutcomeCompleted = "Completed"
	// Some volume sets failed to import; the next UPDATE re-imports all.
	OutcomeCompletedWithFailures = "CompletedWithFailures"
	// Some volume sets broke a safety rule and were left out; the next
	// UPDATE re-imports all.
	OutcomeCompletedWithConflicts = "CompletedWithConflicts"
	// A strict run found conflicts, in its plan or while applying (then
	// every set of the run was rolled back): nothing applied, the
	// watermark kept.
	OutcomeAbortedWithConflicts = "AbortedWithConflicts"
	// The catalogs were applied, but the secondary could not decrypt some
	// encrypted volume: a key is missing, inactive, other material or
	// filed under another BackPak id, or the domain lacks the entry.
	OutcomeKeyParityFailed = "KeyParityFailed"
	// The catalogs and keys are in place, but a sampled volume could not
	// be restored from at the secondary (its image missing, stale or
	// damaged, its key unusable, a tape file not where the catalog says).
	OutcomeRestoreTestFailed = "RestoreTestFailed"
	// A verification (SyncInput.Verify) found the secondary as the
	// import would make it: no record to create or update, every key in
	// parity.
	OutcomeVerified = "Verified"
	// A verification found records the import would create or update:
	// the secondary is behind the primary, or differs from it.
	OutcomeDrift  = "Drift"
	OutcomeFailed = "Failed"
	// The run was cancelled; what its apply committed stays, and the next
	// UPDATE re-imports every volume.
	OutcomeCancelled = "Cancelled"
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

// SyncID is the workflow id the CLI gives the sync of a data store. One
// import per store at a time is the secondary's rule, whatever the id: the
// store's lease (see LeaseTTL).
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
	// LeaseTTL is how long the secondary's lease on the store outlives
	// the run's last sign of life (default five minutes): a run that
	// stops renewing it (terminated, its workers gone) frees the store for
	// the next run that long after.
	LeaseTTL time.Duration `json:"lease_ttl,omitempty"`
	// RestoreSample is how many volumes the restore test samples
	// (default 10); RestoreBudget ends it early (0: none).
	RestoreSample int           `json:"restore_sample,omitempty"`
	RestoreBudget time.Duration `json:"restore_budget,omitempty"`
	// Verify plans a FULL snapshot against the secondary and proves the
	// keys of every encrypted volume in it, applying nothing: the
	// verification of a drill or a failover. It ends Verified, Drift or
	// KeyParityFailed; the watermark stays where it was.
	Verify bool `json:"verify,omitempty"`
	// Window holds a scheduled run to its catch-up and quiet windows.
	Window *StartWindow `json:"window,omitempty"`
}

// title is the one-line summary the Web UI shows for a run of in.
func (in SyncInput) title() string {
	kind := "sync"
	if in.Verify {
		kind = "verification"
	}
	files := "without DISKFILEs"
	if in.CatalogFiles {
		files = "with DISKFILEs"
	}
	return fmt.Sprintf("%s %s of %s, %s to %s, %s", in.Type, kind, in.Store, in.Primary, in.Secondary, files)
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
	Verify    bool                    `json:"verify,omitempty"` // a verification: planned, nothing applied
	Outcome   string                  `json:"outcome"`
	Snapshot  snapshot.Ref            `json:"snapshot"`
	Plan      activities.ImportResult `json:"plan"`
	Applied   activities.ImportResult `json:"applied"`
	Watermark importer.Watermark      `json:"watermark"`
	// Conflicts are the volume sets left out (or, strict, that stopped
	// the run) because they break a safety rule.
	Conflicts safety.Report `json:"conflicts"`
	// Keys is the key-manager parity of the snapshot's encrypted volumes.
	Keys parity.Report `json:"keys"`
	// Restore is the restore test of a sample of the store's volumes.
	Restore  restore.Report `json:"restore"`
	Steps    []Step         `json:"steps"`
	Started  time.Time      `json:"started"`
	Finished time.Time      `json:"finished"`
	// Note says why a run was Skipped.
	Note string `json:"note,omitempty"`
}

// Drift is what a verification found to create or update on the
// secondary; deletions are reported apart (PendingDeletes).
func (r *SyncResult) Drift() int64 {
	var n int64
	for k, v := range r.Plan.Counts {
		if strings.HasSuffix(k, ".create") || strings.HasSuffix(k, ".update") {
			n += v
		}
	}
	return n
}

// PendingDeletes is what a verification found to delete on the secondary:
// volumes the primary deleted, which UPDATE imports leave for the next
// FULL, or records the primary never had.
func (r *SyncResult) PendingDeletes() int64 {
	var n int64
	for k, v := range r.Plan.Counts {
		if strings.HasSuffix(k, ".delete") {
			n += v
		}
	}
	return n
}

// Summary is the one-line description kept in the run's memo.
func (r *SyncResult) Summary() string {
	if r.Outcome == OutcomeSkipped {
		return fmt.Sprintf("%s %s of %s: %s", r.Outcome, r.Type, r.Store, r.Note)
	}
	if r.Verify {
		return fmt.Sprintf("verification of %s: %s: %d volume sets of the primary planned against the secondary, %d records to create or update, %d to delete, %d sets in conflict, %d of %d encrypted volumes' keys in parity",
			r.Store, r.Outcome, r.Snapshot.Sets, r.Drift(), r.PendingDeletes(), r.Plan.Conflicts.Sets, r.Keys.OK, r.Keys.Volumes)
	}
	applied := r.Applied.Sets - int64(r.Conflicts.Sets) - int64(len(r.Applied.Failed))
	return fmt.Sprintf("%s %s of %s: %d of %d volume sets applied, %d records changed, %d sets failed, %d sets in conflict, %d of %d encrypted volumes' keys in parity, watermark %d",
		r.Outcome, r.Type, r.Store, max(applied, 0), r.Snapshot.Sets, r.Applied.Counts.Changed(),
		len(r.Applied.Failed), r.Conflicts.Sets, r.Keys.OK, r.Keys.Volumes, r.Watermark.Seq)
}
