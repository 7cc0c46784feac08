package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/keys/keystore"
	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/store"
)

// A simulated primary files its encrypted volumes' keys; replicate-keys
// copies them to CATSYNC_SECONDARY_KEYS, with the faults asked for, and
// says what it did.
func TestSimReplicateKeys(t *testing.T) {
	ctx := context.Background()
	prim := newPrimary(t)
	enc := encryptedLabels(t, prim)
	labels := slices.Sorted(maps.Keys(enc))
	n := len(enc)
	summary := func(replicated, present, omitted, deactivated, altered, missing int) string {
		return fmt.Sprintf("%d keys replicated, %d already present, %d left out, %d deactivated, %d altered, %d missing at the primary\n",
			replicated, present, omitted, deactivated, altered, missing)
	}
	if out := mustRun(t, "sim", "replicate-keys", "--catalog", prim, "--omit", labels[0], "--deactivate", strings.ToLower(labels[1]),
		"--alter", labels[2]); out != summary(n-1, 0, 1, 1, 1, 0) {
		t.Errorf("first replication: %q", out)
	}
	if out := mustRun(t, "sim", "replicate-keys", "--catalog", prim); out != summary(1, n-1, 0, 0, 0, 0) {
		t.Errorf("second replication: %q", out)
	}

	// The copies are in the secondary's keystore under the primary's id.
	master, err := keystore.MasterKey()
	must(t, err)
	lookup := func(role string) map[string]keys.Info {
		ks, err := keystore.Open(strings.TrimPrefix(os.Getenv(config.Prefix(role)+"_KEYS"), "keystore:"), master)
		must(t, err)
		defer ks.Close()
		found, err := ks.Lookup(ctx, "BPPRIM01", slices.Collect(maps.Values(enc)))
		must(t, err)
		return found
	}
	src, dst := lookup(config.RolePrimary), lookup(config.RoleSecondary)
	for i, l := range labels {
		s, d := src[enc[l]], dst[enc[l]]
		wantSame, wantActive := i != 2, i != 1 // labels[2] altered, labels[1] deactivated
		if same := s.Fingerprint != "" && s.Fingerprint == d.Fingerprint; same != wantSame || (d.State == keys.Active) != wantActive {
			t.Errorf("volume %s: primary key %+v, secondary %+v", l, s, d)
		}
	}

	mustFail(t, []string{"label ZZZ999: not an encrypted volume"}, "sim", "replicate-keys", "--catalog", prim, "--omit", "zzz999")
	mustFail(t, []string{"data store DS_NONE"}, "sim", "replicate-keys", "--catalog", prim, "--store", "DS_NONE")

	// A primary key manager without the keys: each is listed, none fatal.
	dir := t.TempDir()
	t.Setenv("CATSYNC_PRIMARY_KEYS", "keystore:"+filepath.Join(dir, "empty.keys"))
	out := mustRun(t, "sim", "replicate-keys", "--catalog", prim, "--store", "DS_PROD")
	want := summary(0, 0, 0, 0, 0, n)
	for _, l := range labels {
		want += "missing at the primary: volume " + l + " key " + enc[l] + "\n"
	}
	if out != want {
		t.Errorf("replication from an empty key manager:\n%s\nwant\n%s", out, want)
	}

	t.Setenv("CATSYNC_SECONDARY_KEYS", "")
	_, errs, _ := catsync(t, "sim", "replicate-keys", "--catalog", prim)
	if !strings.Contains(errs, "CATSYNC_SECONDARY_KEYS is not set: replicate-keys copies the keys") || strings.Contains(errs, "--keys") {
		t.Errorf("without a secondary key manager: %q", errs)
	}
}

// init-secondary gives the secondary domain a key-manager entry with the
// primary's BackPak id, another one, or none.
func TestSimInitSecondaryKeyManager(t *testing.T) {
	ctx := context.Background()
	prim := newPrimary(t)
	dir := t.TempDir()
	for i, tc := range []struct {
		flags []string
		want  []catalog.KeyManagerEntry
	}{
		{nil, []catalog.KeyManagerEntry{{BackPakID: "BPPRIM01", Server: "kms.dr:5696"}}},
		{[]string{"--key-manager-id", "BPWRONG", "--key-manager-server", "eskm2:5696"}, []catalog.KeyManagerEntry{{BackPakID: "BPWRONG", Server: "eskm2:5696"}}},
		{[]string{"--key-manager-id", "none"}, nil},
	} {
		sec := filepath.Join(dir, fmt.Sprintf("secondary%d.db", i))
		mustRun(t, append([]string{"sim", "init-secondary", "--catalog", sec, "--primary", prim, "--node", `\DR`}, tc.flags...)...)
		site, err := openStore(t, sec).Site(ctx)
		must(t, err)
		if !reflect.DeepEqual(site.KeyManagers, tc.want) {
			t.Errorf("%v: entries %+v, want %+v", tc.flags, site.KeyManagers, tc.want)
		}
	}
}

func TestSimKeysNeedAKeyManager(t *testing.T) {
	t.Setenv("CATSYNC_PRIMARY_KEYS", "")
	t.Setenv("CATSYNC_SECONDARY_KEYS", "")
	dir := t.TempDir()
	prim := filepath.Join(dir, "p.db")
	mustFail(t, []string{"CATSYNC_PRIMARY_KEYS is not set: the simulated encrypted volumes need their keys", "--keys none"},
		"sim", "init", "--catalog", prim, "--volumes", "10")
	if _, err := os.Stat(prim); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused init left a catalog: %v", err)
	}
	mustRun(t, "sim", "init", "--catalog", prim, "--volumes", "10", "--days", "2", "--keys", "none")
	mustRun(t, "sim", "init", "--catalog", filepath.Join(dir, "plain.db"), "--volumes", "10", "--days", "2", "--encrypted-groups", "0")
	_, errs, _ := catsync(t, "sim", "replicate-keys", "--catalog", prim)
	if !strings.Contains(errs, "CATSYNC_PRIMARY_KEYS is not set: replicate-keys reads the primary's keys") || strings.Contains(errs, "--keys") {
		t.Errorf("replicate-keys without a primary key manager: %q", errs)
	}
	mustFail(t, []string{`--keys "both"`}, "sim", "advance", "--catalog", prim, "--keys", "both")
	// A secondary writes nothing to its replicas of the primary's
	// (encrypted) groups: with unencrypted local backups it needs no key
	// manager; with encrypted ones, its own.
	sec := filepath.Join(dir, "s.db")
	mustRun(t, "sim", "init-secondary", "--catalog", sec, "--primary", prim, "--volumes", "10", "--encrypted-groups", "0")
	mustRun(t, "sim", "advance", "--catalog", sec)
	mustFail(t, []string{"CATSYNC_SECONDARY_KEYS is not set"}, "sim", "init-secondary", "--catalog", filepath.Join(dir, "l.db"),
		"--primary", prim, "--volumes", "10")
	t.Setenv("CATSYNC_PRIMARY_KEYS", "vault://x")
	mustFail(t, []string{`CATSYNC_PRIMARY_KEYS="vault://x": want keystore:PATH or kmip://HOST:PORT`}, "sim", "advance", "--catalog", prim)
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
	// A secondary domain without the primary's BackPak id: said once, with
	// what to do.
	editSite(t, sec, func(ctx context.Context, tx store.Tx) error {
		site, err := tx.Site(ctx)
		if err != nil {
			return err
		}
		site.KeyManagers = []catalog.KeyManagerEntry{{BackPakID: "BPWRONG", Server: "kms.secd:5696"}}
		return tx.PutSite(ctx, &site)
	})
	out, _, code = catsync(t, "parity", "--store", "DS_PROD", "--primary", prim, "--secondary", sec)
	if code != 1 || strings.Count(out, "no key-manager entry with the primary's BackPak id BPPRIM01") != 1 ||
		!strings.Contains(out, "\n  do: add to the secondary BackPak domain a key-manager entry with BackPak id BPPRIM01") {
		t.Errorf("parity with a misconfigured domain: exit %d\n%s", code, out)
	}

	t.Setenv("CATSYNC_SECONDARY_KEYS", "")
	mustFail(t, []string{"CATSYNC_SECONDARY_KEYS is not set"}, "parity", "--store", "DS_PROD", "--primary", prim, "--secondary", sec)
}
