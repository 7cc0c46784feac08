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
	"github.com/catsync/catsync/internal/sim/simtest"
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
	sa := importDirect(t, prim, sec, importer.Options{StoreID: "DS_PROD", CatalogFiles: true})
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

// importDirect imports a FULL of DS_PROD from prim into sec through the
// activities alone, and returns the secondary's.
func importDirect(t *testing.T, prim, sec string, opts importer.Options) *activities.Activities {
	t.Helper()
	ctx, dir := context.Background(), t.TempDir()
	p, s := sqltest.Open(t, prim), sqltest.Open(t, sec)
	keys := simtest.Signing(t, dir)
	outbox := snapshot.Area{Root: filepath.Join(dir, "outbox"), Keys: keys.Primary}
	source := snapshot.Area{Root: outbox.Root, Keys: keys.Secondary}
	pa := &activities.Activities{Site: &activities.Site{Name: "prim", Catalog: p, Staging: outbox}}
	sa := &activities.Activities{Site: &activities.Site{Name: "secd", Catalog: s, Staging: snapshot.Area{Root: filepath.Join(dir, "staging"), Keys: keys.Secondary}, Source: source}}
	ref, err := pa.Snapshot(ctx, activities.SnapshotInput{ID: "s1", Store: opts.StoreID, Type: snapshot.Full, CatalogFiles: opts.CatalogFiles})
	if err != nil {
		t.Fatal(err)
	}
	if err := sa.Transfer(ctx, ref); err != nil {
		t.Fatal(err)
	}
	res, err := sa.Apply(ctx, activities.ImportInput{Ref: ref, Options: opts})
	if err != nil || len(res.Failed) > 0 {
		t.Fatalf("apply: %v %v", err, res.Failed)
	}
	return sa
}

// verify compares as the store's last import wrote, as the secondary
// recorded it (CATALOGFILES, node pairs), unless a flag says otherwise.
func TestVerifyTakesTheLastImportsOptions(t *testing.T) {
	prim := newPrimary(t)
	sec := filepath.Join(t.TempDir(), "secondary.db")
	mustRun(t, "sim", "init-secondary", "--catalog", sec, "--primary", prim)
	importDirect(t, prim, sec, importer.Options{StoreID: "DS_PROD", CatalogFiles: true,
		NodePairs: []importer.NodePair{{From: `\PRIM`, To: `\PRIMDR`}}})
	args := []string{"verify", "--store", "DS_PROD", "--primary", prim, "--secondary", sec}
	out, errOut, code := catsync(t, args...)
	if code != 0 || !strings.Contains(out, "no drift") || !strings.Contains(errOut, `CATALOGFILES YES (as the last import), node pairs \PRIM=\PRIMDR (as the last import)`) {
		t.Fatalf("verify without flags after an import with node pairs: exit %d\n%s%s", code, out, errOut)
	}
	// Told otherwise, it compares otherwise: the DISKFILE names differ.
	out, errOut, code = catsync(t, append(args, "--node-map", "")...)
	if code != 1 || !strings.Contains(out, "DISKFILE") || !strings.Contains(errOut, "node pairs none (as given)") {
		t.Errorf("verify --node-map '': exit %d\n%s%s", code, out, errOut)
	}
	mustRun(t, append(args, "--catalogfiles", "no")...)
}

func TestVerifyFlagsRefused(t *testing.T) {
	mustFail(t, []string{"--store"}, "verify")
	mustFail(t, []string{"--catalogfiles", "maybe"}, "verify", "--store", "DS_PROD", "--catalogfiles", "maybe")
}
