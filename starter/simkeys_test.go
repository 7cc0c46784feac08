package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/store"
)

// A simulated primary files its encrypted volumes' keys; replicate-keys
// copies them, with the faults asked for, and says what it did.
func TestSimReplicateKeys(t *testing.T) {
	prim := newPrimary(t)
	out := mustRun(t, "sim", "replicate-keys", "--catalog", prim)
	if !strings.HasSuffix(out, "already present, 0 left out, 0 deactivated, 0 altered, 0 missing at the primary\n") ||
		strings.HasPrefix(out, "0 keys replicated") {
		t.Errorf("first replication: %q", out)
	}
	out = mustRun(t, "sim", "replicate-keys", "--catalog", prim)
	if !strings.HasPrefix(out, "0 keys replicated, ") {
		t.Errorf("a second replication copied again: %q", out)
	}
	mustFail(t, []string{"label ZZZ999: not an encrypted volume"}, "sim", "replicate-keys", "--catalog", prim, "--omit", "zzz999")
}

func TestSimKeysNeedAKeyManager(t *testing.T) {
	t.Setenv("CATSYNC_PRIMARY_KEYS", "")
	dir := t.TempDir()
	mustFail(t, []string{"CATSYNC_PRIMARY_KEYS is not set", "--keys none"}, "sim", "init", "--catalog", filepath.Join(dir, "p.db"), "--volumes", "10")
	mustRun(t, "sim", "init", "--catalog", filepath.Join(dir, "p.db"), "--volumes", "10", "--days", "2", "--keys", "none")
	mustFail(t, []string{"CATSYNC_PRIMARY_KEYS is not set"}, "sim", "replicate-keys", "--catalog", filepath.Join(dir, "p.db"))
	mustFail(t, []string{`--keys "both"`}, "sim", "advance", "--catalog", filepath.Join(dir, "p.db"), "--keys", "both")
	t.Setenv("CATSYNC_PRIMARY_KEYS", "vault://x")
	mustFail(t, []string{`CATSYNC_PRIMARY_KEYS="vault://x": want keystore:PATH or kmip://HOST:PORT`}, "sim", "advance", "--catalog", filepath.Join(dir, "p.db"))
}

// TestKeysAfterSync: a key left out of the replication makes the sync end
// KeyParityFailed, with a KEYS line; `catsync keys` names the volume and
// its key; --key-parity fail fails the run.
func TestKeysAfterSync(t *testing.T) {
	c := devClient(t)
	ctx := context.Background()
	prim, sec := smallPair(t)
	var label, name string
	st := openStore(t, prim)
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
	serveSites(t, c, "key", prim, sec)

	out, runID := syncedRun(t, 1, "KeyParityFailed", "--type", "full")
	if !strings.Contains(out, ", MISSING 1; catsync keys catalogsync-DS_PROD prints the report\n") || !strings.Contains(out, "KEYS: ") {
		t.Errorf("sync output lacks the KEYS line:\n%s", out)
	}
	out = mustRun(t, "keys", "catalogsync-DS_PROD")
	wantLine := "MISSING " + label + "/LABELED key " + name + ": no key of this name under BackPak id BPPRIM01\n  do: "
	if !strings.HasPrefix(out, "FULL of DS_PROD, workflow catalogsync-DS_PROD run "+runID+": KeyParityFailed\n") || !strings.Contains(out, wantLine) {
		t.Errorf("keys:\n%s\nwant a line %q", out, wantLine)
	}
	var rep runReport[parity.Report]
	dec := json.NewDecoder(strings.NewReader(mustRun(t, "keys", "catalogsync-DS_PROD", "--json")))
	dec.DisallowUnknownFields()
	must(t, dec.Decode(&rep))
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

// encryptedLabels lists a catalog's encrypted volumes, label to key name.
func encryptedLabels(t *testing.T, path string) map[string]string {
	t.Helper()
	st := openStore(t, path)
	defer st.Close()
	out := map[string]string{}
	must(t, st.ScanVolumes(context.Background(), store.Filter{StoreID: "DS_PROD"}, func(v *catalog.Volume) error {
		if v.MediaKeyName != "" {
			out[v.Label] = v.MediaKeyName
		}
		return nil
	}))
	return out
}

func TestParityCommand(t *testing.T) {
	prim, sec := smallPair(t)
	enc := encryptedLabels(t, prim)
	labels := slices.Sorted(maps.Keys(enc))
	missing, altered := labels[0], labels[1]
	mustRun(t, "sim", "replicate-keys", "--catalog", prim, "--omit", missing, "--alter", altered)
	out, errs, code := catsync(t, "parity", "--store", "DS_PROD", "--primary", prim, "--secondary", sec)
	want := fmt.Sprintf("data store DS_PROD: 2 of %d encrypted volumes' keys not in parity", len(enc))
	if code != 1 || !strings.Contains(errs, want) {
		t.Errorf("parity: exit %d, %q, want %q", code, errs, want)
	}
	for _, line := range []string{
		fmt.Sprintf("%d encrypted volumes under BPPRIM01: %d in parity, MISMATCHED 1, MISSING 1\n", len(enc), len(enc)-2),
		"MISSING " + missing + "/LABELED key " + enc[missing] + ": no key of this name under BackPak id BPPRIM01\n  do: ",
		"MISMATCHED " + altered + "/LABELED key " + enc[altered] + ": fingerprint kcv:",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("parity output lacks %q:\n%s", line, out)
		}
	}
	var r parity.Report
	out, _, _ = catsync(t, "parity", "--store", "DS_PROD", "--primary", prim, "--secondary", sec, "--json")
	must(t, json.Unmarshal([]byte(out), &r))
	if r.Total != 2 || len(r.Findings) != 2 || r.Volumes != len(enc) {
		t.Errorf("parity --json: %+v", r)
	}
	t.Setenv("CATSYNC_SECONDARY_KEYS", "")
	mustFail(t, []string{"CATSYNC_SECONDARY_KEYS is not set"}, "parity", "--store", "DS_PROD", "--primary", prim, "--secondary", sec)
}
