package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// TestVerify checks verify on a secondary that has not been synced (drift,
// exit 1) and after a sync made by the activities directly (no drift).
func TestVerify(t *testing.T) {
	prim := newPrimary(t)
	dir := t.TempDir()
	sec := filepath.Join(dir, "secondary.db")
	mustRun(t, "sim", "init-secondary", "--catalog", sec, "--primary", prim)
	mustFail(t, []string{"differences in data store DS_PROD"}, "verify", "--store", "DS_PROD", "--primary", prim, "--secondary", sec)
	out, _, code := catsync(t, "verify", "--store", "DS_PROD", "--primary", prim, "--secondary", sec, "--json")
	if drift := jsonLines[importer.Drift](t, out); code != 1 || !slices.ContainsFunc(drift, func(d importer.Drift) bool {
		return d.Entity == "VOLUME" && d.Kind == "missing"
	}) {
		t.Errorf("verify --json of an empty secondary: exit %d, %d differences", code, len(drift))
	}

	ctx := context.Background()
	p, s := sqltest.Open(t, prim), sqltest.Open(t, sec)
	outbox := snapshot.Area{Root: filepath.Join(dir, "outbox")}
	pa := &activities.Activities{Site: &activities.Site{Name: "prim", Catalog: p, Staging: outbox}}
	sa := &activities.Activities{Site: &activities.Site{Name: "secd", Catalog: s, Staging: snapshot.Area{Root: filepath.Join(dir, "staging")}, Source: outbox}}
	ref, err := pa.Snapshot(ctx, activities.SnapshotInput{ID: "s1", Store: "DS_PROD", Type: snapshot.Full, CatalogFiles: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := sa.Transfer(ctx, ref); err != nil {
		t.Fatal(err)
	}
	res, err := sa.Apply(ctx, activities.ImportInput{Ref: ref, Options: importer.Options{StoreID: "DS_PROD", CatalogFiles: true}})
	if err != nil || len(res.Failed) > 0 {
		t.Fatalf("apply: %v %v", err, res.Failed)
	}
	out = mustRun(t, "verify", "--store", "DS_PROD", "--primary", prim, "--secondary", sec)
	if !strings.Contains(out, "no drift") {
		t.Errorf("verify after a FULL import: %q", out)
	}
	// The audit trail lists what was recorded; this sync went through the
	// activities alone, so it is empty but intact.
	if out := mustRun(t, "audit", "--catalog", sec); !strings.Contains(out, "0 records, hash chain intact") {
		t.Errorf("audit: %q", out)
	}
	if err := sa.Record(ctx, audit.Entry{RunID: "r1", Store: "DS_PROD", Type: "FULL", Outcome: "Completed"}); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "audit", "--catalog", sec); !strings.Contains(out, "1 records, hash chain intact") || !strings.Contains(out, "r1") {
		t.Errorf("audit: %q", out)
	}
	if recs := jsonLines[auditRecord](t, mustRun(t, "audit", "--catalog", sec, "--json")); len(recs) != 1 || recs[0].Seq != 1 ||
		recs[0].Hash == "" || recs[0].Entry.RunID != "r1" || recs[0].Entry.Outcome != "Completed" {
		t.Errorf("audit --json: %+v", recs)
	}
	// Comparing without DISKFILEs matches too.
	mustRun(t, "verify", "--store", "DS_PROD", "--primary", prim, "--secondary", sec, "--catalogfiles", "no")
}

func TestVerifyFlagsRefused(t *testing.T) {
	mustFail(t, []string{"--store"}, "verify")
	mustFail(t, []string{"--catalogfiles", "maybe"}, "verify", "--store", "DS_PROD", "--catalogfiles", "maybe")
}
