// Package workflows holds catsync's workflows. Workflow code here is
// deterministic: it only sequences activities, which do all I/O, and it
// carries references (snapshot id and digest, counts), never catalog rows.
//
// Versioning: a worker replays every run it resumes, and every finished run
// it answers a query for, with the code it has now, so the commands that
// code issues (activities, markers, search-attribute and memo upserts) must
// be those of the run's history. A change to them (a step added, removed
// or moved, an ending changed) goes behind workflow.GetVersion: name its
// change id as a constant in versions.go, call GetVersion where the new
// code parts from the old, keep the old path for workflow.DefaultVersion,
// and add a history of the new path to testdata/ beside the old ones
// (replay_test.go says how), so that the replay test proves both. An old
// path goes only when no run that took it can still be replayed: raise
// GetVersion's minimum then.
package workflows
