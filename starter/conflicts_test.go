package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/store"
)

// TestConflictsAfterSync runs syncs of a pair whose secondary has two
// labels of one volume set as local volumes, on the dev server: strict
// (nothing applied), lenient (all but the set applied), then after the
// operator's fix; `catsync conflicts` reports each run.
func TestConflictsAfterSync(t *testing.T) {
	c := devClient(t)
	ctx := context.Background()
	prim, sec, cfg := smallPair(t)
	sets := prodSets(t, prim)
	set, _ := pickSets(t, sets)
	member := sets[set][1]
	plantLocal(t, sec, set)
	plantLocal(t, sec, member)
	// The key managers replicate: the runs' parity holds.
	mustRun(t, "sim", "replicate-keys", "--catalog", prim)
	serveSites(t, c, cfg)
	summary := "1 volume sets, 2 conflicts, LABEL_LOCAL 2"
	conflictsLine := "CONFLICTS: " + summary + "; catsync conflicts catalogsync-DS_PROD prints the report"
	bothListed := func(what, out string) {
		t.Helper()
		wantConflict(t, out, set, set)
		wantConflict(t, out, set, member)
		if n := listed(out); n != 2 {
			t.Errorf("%s lists %d conflicts, want 2:\n%s", what, n, out)
		}
	}

	// Strict: the plan finds the conflicts and nothing is applied.
	before := digest(t, sec)
	out, strictRun := syncedRun(t, 1, "AbortedWithConflicts", "--type", "full", "--strict")
	if !strings.Contains(out, conflictsLine) {
		t.Errorf("strict sync does not report the conflicts:\n%s", out)
	}
	if digest(t, sec) != before {
		t.Error("a strict sync in conflict changed the secondary")
	}
	out = mustRun(t, "conflicts", "catalogsync-DS_PROD")
	head := "FULL of DS_PROD, workflow catalogsync-DS_PROD run " + strictRun + ": AbortedWithConflicts\n" + summary + "\n"
	if !strings.HasPrefix(out, head) {
		t.Errorf("conflicts after the strict sync:\n%s\nwant it to start\n%s", out, head)
	}
	bothListed("conflicts of the strict sync", out)

	// Lenient: every other set is applied, this one is left out.
	out, lenientRun := syncedRun(t, 1, "CompletedWithConflicts", "--type", "full")
	if !strings.Contains(out, conflictsLine) {
		t.Errorf("sync does not report the conflicts:\n%s", out)
	}
	out = mustRun(t, "conflicts", "catalogsync-DS_PROD")
	head = "FULL of DS_PROD, workflow catalogsync-DS_PROD run " + lenientRun + ": CompletedWithConflicts\n" + summary + "\n"
	if !strings.HasPrefix(out, head) {
		t.Errorf("conflicts after the sync:\n%s\nwant it to start\n%s", out, head)
	}
	bothListed("conflicts", out)

	rep := jsonValue[runReport[safety.Report]](t, mustRun(t, "conflicts", "catalogsync-DS_PROD", "--json"))
	if rep.WorkflowID != "catalogsync-DS_PROD" || rep.RunID != lenientRun || rep.Store != "DS_PROD" || rep.Type != "FULL" ||
		rep.Outcome != "CompletedWithConflicts" || rep.Report.Total != 2 || rep.Report.Sets != 1 || rep.Report.ByRule["LABEL_LOCAL"] != 2 {
		t.Errorf("conflicts --json: %+v", rep)
	}
	var labels []string
	for _, cf := range rep.Report.Conflicts {
		labels = append(labels, cf.Label)
		if cf.Set != set || cf.Rule != safety.LabelLocal || cf.Where.Store != "DS_LOCAL" || cf.Detail == "" ||
			cf.Action != safety.Rules[safety.LabelLocal].Action {
			t.Errorf("conflicts --json: %+v", cf)
		}
	}
	if slices.Sort(labels); !slices.Equal(labels, slices.Sorted(slices.Values([]string{set, member}))) {
		t.Errorf("conflicts --json: labels %v, want %s and %s", labels, set, member)
	}
	// An earlier run stays readable by its id.
	rep = jsonValue[runReport[safety.Report]](t, mustRun(t, "conflicts", "catalogsync-DS_PROD", "--run", strictRun, "--json"))
	if rep.RunID != strictRun || rep.Outcome != "AbortedWithConflicts" || rep.Report.Total != 2 {
		t.Errorf("conflicts --run %s --json: %+v", strictRun, rep)
	}
	// The sets applied are the store's now, not collisions: the check
	// still finds exactly these two conflicts.
	out, errs, code := catsync(t, "check", "--store", "DS_PROD", "--primary", prim, "--secondary", sec)
	if code != 1 || !strings.Contains(errs, ": 2 conflicts in ") {
		t.Errorf("check after the sync: exit %d, %q", code, errs)
	}
	bothListed("check after the sync", out)

	// The operator deletes the local volumes; the next UPDATE re-imports
	// every set, since the last run left one out.
	editSite(t, sec, func(ctx context.Context, tx store.Tx) error {
		for _, label := range []string{set, member} {
			if err := tx.DeleteVolume(ctx, catalog.VolumeKey{Label: label, LabelType: catalog.Labeled}); err != nil {
				return err
			}
		}
		return nil
	})
	out, fixedRun := syncedRun(t, 0, "Completed", "--type", "update")
	if strings.Contains(out, "CONFLICTS") {
		t.Errorf("sync after the fix:\n%s", out)
	}
	want := "UPDATE of DS_PROD, workflow catalogsync-DS_PROD run " + fixedRun + ": Completed\nno conflicts\n"
	if out := mustRun(t, "conflicts", "catalogsync-DS_PROD"); out != want {
		t.Errorf("conflicts after the fix: %q, want %q", out, want)
	}
	rep = jsonValue[runReport[safety.Report]](t, mustRun(t, "conflicts", "catalogsync-DS_PROD", "--json"))
	if rep.RunID != fixedRun || rep.Outcome != "Completed" || rep.Report.Total != 0 || len(rep.Report.Conflicts) != 0 {
		t.Errorf("conflicts --json after the fix: %+v", rep)
	}
	mustRun(t, "verify", "--store", "DS_PROD", "--primary", prim, "--secondary", sec)
	mustRun(t, "check", "--store", "DS_PROD", "--primary", prim, "--secondary", sec)

	// A run still going has no report yet, nor has one that was stopped:
	// with no worker on its primary's queue the run waits until terminated.
	t.Setenv("CATSYNC_PRIMARY_NAME", "chkgone")
	r := rows(mustRun(t, "sync", "--store", "DS_PROD", "--type", "update"), "workflow")
	if len(r) != 1 || len(r[0]) != 4 {
		t.Fatalf("sync without --wait: %v", r)
	}
	hungRun := r[0][3]
	mustFail(t, []string{"catalogsync-DS_PROD", hungRun, "still running"}, "conflicts", "catalogsync-DS_PROD")
	must(t, c.TerminateWorkflow(ctx, "catalogsync-DS_PROD", hungRun, "test over"))
	mustFail(t, []string{"catalogsync-DS_PROD", hungRun, "ended without a report"}, "conflicts", "catalogsync-DS_PROD")

	mustFail(t, []string{"catalogsync-DS_NOSUCH"}, "conflicts", "catalogsync-DS_NOSUCH")
	mustFail(t, []string{"catalogsync-DS_PROD"}, "conflicts", "catalogsync-DS_PROD", "--run", "00000000-0000-4000-8000-000000000000")
	mustFail(t, []string{"WORKFLOW_ID"}, "conflicts")
}
