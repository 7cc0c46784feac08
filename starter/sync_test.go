package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/snapshot"
)

func TestSyncFlagsRefused(t *testing.T) {
	for _, c := range []struct {
		want []string
		args []string
	}{
		{[]string{"--store"}, []string{"sync", "--type", "full"}},
		{[]string{"--type", "weekly"}, []string{"sync", "--store", "DS_PROD", "--type", "weekly"}},
		{[]string{"--catalogfiles", "maybe"}, []string{"sync", "--store", "DS_PROD", "--catalogfiles", "maybe"}},
		{[]string{"--node-map", "PRIM=SECD"}, []string{"sync", "--store", "DS_PROD", "--node-map", "PRIM=SECD"}},
		{[]string{"--store"}, []string{"verify"}},
	} {
		mustFail(t, c.want, c.args...)
	}
	t.Setenv("CATSYNC_PRIMARY_NAME", "")
	mustFail(t, []string{"CATSYNC_PRIMARY_NAME"}, "sync", "--store", "DS_PROD")
}

// TestVerify checks verify on a secondary that has not been synced (drift,
// exit 1) and after a sync made by the activities directly (no drift).
func TestVerify(t *testing.T) {
	prim := newPrimary(t)
	dir := t.TempDir()
	sec := filepath.Join(dir, "secondary.db")
	mustRun(t, "sim", "init-secondary", "--catalog", sec, "--primary", prim)
	mustFail(t, []string{"differences in data store DS_PROD"}, "verify", "--store", "DS_PROD", "--primary", prim, "--secondary", sec)

	ctx := context.Background()
	p, s := openStore(t, prim), openStore(t, sec)
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
	out := mustRun(t, "verify", "--store", "DS_PROD", "--primary", prim, "--secondary", sec)
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
	// Comparing without DISKFILEs matches too.
	mustRun(t, "verify", "--store", "DS_PROD", "--primary", prim, "--secondary", sec, "--catalogfiles", "no")
}
