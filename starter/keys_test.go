package main

import (
	"context"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// TestKeysAfterSync: a key left out of the replication makes the sync end
// KeyParityFailed, with a KEYS line; `catsync keys` names the volume and
// its key; --key-parity fail fails the run.
func TestKeysAfterSync(t *testing.T) {
	c := devClient(t)
	ctx := context.Background()
	prim, _, cfg := smallPair(t)
	var label, name string
	st := sqltest.Open(t, prim)
	must(t, st.ScanVolumes(ctx, store.Filter{StoreID: "DS_PROD"}, func(v *catalog.Volume) error {
		if v.MediaKeyName != "" && label == "" {
			label, name = v.Label, v.MediaKeyName
		}
		return nil
	}))
	st.Close()
	if label == "" {
		t.Fatal("no encrypted volume")
	}
	mustRun(t, "sim", "replicate-keys", "--catalog", prim, "--omit", label)
	serveSites(t, c, cfg)

	out, runID := syncedRun(t, 1, "KeyParityFailed", "--type", "full")
	if !strings.Contains(out, ", MISSING 1; catsync keys catalogsync-DS_PROD prints the report\n") || !strings.Contains(out, "KEYS: ") {
		t.Errorf("sync output lacks the KEYS line:\n%s", out)
	}
	out = mustRun(t, "keys", "catalogsync-DS_PROD")
	wantLine := "MISSING " + label + "/LABELED key " + name + ": no key of this name under BackPak id BPPRIM01\n  do: "
	if !strings.HasPrefix(out, "FULL of DS_PROD, workflow catalogsync-DS_PROD run "+runID+": KeyParityFailed\n") || !strings.Contains(out, wantLine) {
		t.Errorf("keys:\n%s\nwant a line %q", out, wantLine)
	}
	rep := jsonValue[runReport[parity.Report]](t, mustRun(t, "keys", "catalogsync-DS_PROD", "--json"))
	if rep.RunID != runID || rep.Report.Total != 1 || rep.Report.Findings[0].Label != label || rep.Report.Findings[0].Key != name ||
		rep.Report.OK != rep.Report.Volumes-1 || rep.Report.BackPakID != "BPPRIM01" {
		t.Errorf("keys --json: %+v", rep)
	}

	_, errs, code := catsync(t, "sync", "--store", "DS_PROD", "--type", "full", "--key-parity", "fail", "--wait")
	if code != 1 || !strings.Contains(errs, "KeyParityFailed") || !strings.Contains(errs, "MISSING 1") {
		t.Errorf("--key-parity fail: exit %d, %q", code, errs)
	}
	mustFail(t, []string{`--key-parity "ignore"`}, "sync", "--store", "DS_PROD", "--key-parity", "ignore")

	// Once replicated, the key is in parity again.
	mustRun(t, "sim", "replicate-keys", "--catalog", prim)
	out, _ = syncedRun(t, 0, "Completed", "--type", "update")
	if !strings.Contains(out, "keys: ") || strings.Contains(out, "KEYS:") {
		t.Errorf("sync after the replication:\n%s", out)
	}
}
