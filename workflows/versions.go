package workflows

// Change ids of workflow.GetVersion: one for each change to the commands a
// workflow issues, made once runs of it existed (see the package doc).
// Never rename or reuse one.
const (
	// A strict apply stopped by a conflict ends the run
	// AbortedWithConflicts and records it, where it used to fail the run.
	changeStrictApplyAborts = "strict-apply-aborts"
	// A run that fails once its apply began sets the re-import flag
	// (Finish with Failed) before it records the failure.
	changeFailMarksReimport = "fail-marks-reimport"
	// A run holds the secondary's lease on its data store from the check
	// to its end; a run cancelled, failed or stopped by a lost lease
	// records what its apply committed, on a disconnected context.
	changeLease = "lease"
	// After key parity, a restore test of a sample of the store's
	// volumes runs on the secondary.
	changeRestoreTest = "restore-test"
)
