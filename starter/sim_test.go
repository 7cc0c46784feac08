package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/keys/keystore"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

func TestSimInitSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "primary.db")
	out := mustRun(t, "sim", "init", "--catalog", path, "--volumes", "60", "--days", "10", "--stores", "DS_PROD,DS_TEST")
	n, err := sqltest.Open(t, path).Count(context.Background())
	must(t, err)
	for _, want := range []string{`Site \PRIM`, "DS_PROD (PRIMARY)", "DS_TEST (PRIMARY)", "Simulated clock: 2026-01-15."} {
		if !strings.Contains(out, want) {
			t.Errorf("summary %q lacks %q", out, want)
		}
	}
	for _, tab := range store.Tables {
		if want := tab + " " + strconv.FormatInt(n[tab], 10); !strings.Contains(out, want) {
			t.Errorf("summary %q lacks %q", out, want)
		}
	}
	if strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("summary is not one paragraph: %q", out)
	}
}

func TestSimInitFlags(t *testing.T) {
	// Every sim.Params field has its flag.
	out := mustRun(t, "sim", "init", "--help")
	for _, f := range []string{"seed", "node", "domain", "backpak-id", "start", "days", "stores", "groups",
		"encrypted-groups", "volumes", "label-prefix", "dsm-only-volumes", "backups-per-day", "files-per-backup",
		"diskfiles-per-file", "max-volumes-per-set", "retention", "parallel-percent", "rerun-percent", "bad-percent"} {
		if !strings.Contains(out, "--"+f+" ") {
			t.Errorf("sim init has no --%s", f)
		}
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "site.db")
	mustRun(t, "sim", "init", "--catalog", path, "--node", `\EAST`, "--domain", "BBX2", "--backpak-id", "BPEAST",
		"--start", "2025-06-01", "--days", "3", "--stores", "DS_PAY", "--groups", "3", "--encrypted-groups", "0",
		"--volumes", "12", "--label-prefix", "E", "--dsm-only-volumes", "0", "--retention", "permanent:1")
	st := sqltest.Open(t, path)
	site, err := st.Site(ctx)
	must(t, err)
	if site.Node != `\EAST` || site.DomainID != "BBX2" || site.BackPakID != "BPEAST" {
		t.Errorf("site %+v", site)
	}
	groups := 0
	must(t, st.ScanVolumeGroups(ctx, func(g *catalog.VolumeGroup) error {
		groups++
		if g.Encrypted {
			t.Errorf("group %s encrypts with --encrypted-groups 0", g.Name)
		}
		return nil
	}))
	if groups != 3 {
		t.Errorf("%d groups, want 3", groups)
	}
	must(t, st.ScanVolumes(ctx, store.Filter{}, func(v *catalog.Volume) error {
		if v.StoreID != "DS_PAY" || v.Label[0] != 'E' {
			t.Errorf("volume %s in %s", v.Label, v.StoreID)
		}
		return nil
	}))
	must(t, st.ScanTapeFiles(ctx, store.Filter{}, func(f *catalog.TapeFile) error {
		if !f.Expiration.IsZero() {
			t.Errorf("%s expires with --retention permanent:1", f.Key())
		}
		return nil
	}))
}

func TestSimInitSecondary(t *testing.T) {
	ctx := context.Background()
	prim := newPrimary(t)
	dir := t.TempDir()

	// Without local backups: only the replicated store, no volumes yet.
	sec := filepath.Join(dir, "secondary.db")
	out := mustRun(t, "sim", "init-secondary", "--catalog", sec, "--primary", prim, "--repl-volcat", `\SECD.VCDR`)
	if !strings.Contains(out, `Site \SECD`) || !strings.Contains(out, "DS_PROD (SECONDARY)") || strings.Contains(out, "DS_LOCAL") {
		t.Errorf("init-secondary summary: %s", out)
	}
	rep := jsonValue[countsReport](t, mustRun(t, "counts", "--catalog", sec, "--json"))
	if len(rep.Stores) != 1 || rep.Stores[0].ID != "DS_PROD" || rep.Stores[0].Access != "SECONDARY" || rep.Tables[store.TableVolume] != 0 {
		t.Errorf("secondary without local backups: %+v", rep)
	}
	must(t, sqltest.Open(t, sec).ScanVolumeGroups(ctx, func(g *catalog.VolumeGroup) error {
		if g.Volcat != `\SECD.VCDR` || g.Filecat != `\SECD.FCREPL` {
			t.Errorf("replica group %s sends to %s and %s", g.Name, g.Volcat, g.Filecat)
		}
		return nil
	}))

	// With local backups: a PRIMARY local store beside the replicated one.
	local := filepath.Join(dir, "local.db")
	mustRun(t, "sim", "init-secondary", "--catalog", local, "--primary", prim, "--volumes", "20", "--days", "3", "--backups-per-day", "2")
	rep = jsonValue[countsReport](t, mustRun(t, "counts", "--catalog", local, "--json"))
	access := map[string]string{}
	for _, s := range rep.Stores {
		access[s.ID] = string(s.Access)
		if s.ID == "DS_LOCAL" && s.Volumes < 20 {
			t.Errorf("DS_LOCAL has %d volumes, want at least 20", s.Volumes)
		}
	}
	if access["DS_LOCAL"] != "PRIMARY" || access["DS_PROD"] != "SECONDARY" || rep.Tables[store.TableTapeFile] == 0 {
		t.Errorf("secondary with local backups: %+v", rep)
	}

	mustFail(t, []string{"--primary"}, "sim", "init-secondary", "--catalog", filepath.Join(dir, "x.db"))
	mustFail(t, []string{"--primary", "missing.db"}, "sim", "init-secondary", "--catalog", filepath.Join(dir, "x.db"),
		"--primary", filepath.Join(dir, "missing.db"))
	mustFail(t, []string{`\PRIM`}, "sim", "init-secondary", "--catalog", filepath.Join(dir, "x.db"), "--primary", prim,
		"--node", `\PRIM`)
}

func TestSimAdvance(t *testing.T) {
	ctx := context.Background()
	path := newPrimary(t)
	st := sqltest.Open(t, path)
	before, err := st.LastSeq(ctx, "DS_PROD")
	must(t, err)

	out := mustRun(t, "sim", "advance", "--catalog", path, "--days", "2")
	after, err := st.LastSeq(ctx, "DS_PROD")
	must(t, err)
	changed, deleted := 0, 0
	must(t, st.Changes(ctx, "DS_PROD", before, func(c store.Change) error {
		changed++
		if c.Deleted {
			deleted++
		}
		return nil
	}))
	if !strings.Contains(out, "Simulated clock: 2026-01-17.") {
		t.Errorf("advance does not report the new clock:\n%s", out)
	}
	r := rows(out, "DS_PROD")
	want := []string{"DS_PROD", "PRIMARY", strconv.Itoa(changed), strconv.Itoa(deleted),
		strconv.FormatInt(before, 10), "->", strconv.FormatInt(after, 10)}
	if changed == 0 || !hasRow(r, want) {
		t.Errorf("advance: DS_PROD row %v, want %v", r, want)
	}
	mustFail(t, []string{"--days"}, "sim", "advance", "--catalog", path, "--days", "-1")
}

func TestBadFlags(t *testing.T) {
	dir := t.TempDir()
	cat := filepath.Join(dir, "site.db")
	for _, c := range []struct {
		want []string
		args []string
	}{
		{[]string{"node", "PRIM"}, []string{"sim", "init", "--node", "PRIM"}},
		{[]string{"groups"}, []string{"sim", "init", "--groups", "0"}},
		{[]string{"label-prefix"}, []string{"sim", "init", "--label-prefix", "7"}},
		{[]string{"--start"}, []string{"sim", "init", "--start", "2026-02-30"}},
		{[]string{"--retention", "forever"}, []string{"sim", "init", "--retention", "7:3,forever:1"}},
		{[]string{"--days"}, []string{"sim", "init", "--days", "ten"}},
		{[]string{"--bogus"}, []string{"sim", "init", "--bogus"}},
		{[]string{"node", "SECD"}, []string{"sim", "init-secondary", "--primary", cat, "--node", "SECD"}},
		{[]string{"bogus"}, []string{"sim", "bogus"}},
	} {
		mustFail(t, c.want, append(c.args, "--catalog", cat)...)
	}
	// A refused flag leaves no catalog behind.
	if _, err := os.Stat(cat); err == nil {
		t.Errorf("a refused sim init created %s", cat)
	}
}

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
	cfg, err := config.Read()
	must(t, err)
	lookup := func(role string) map[string]keys.Info {
		ks, err := keystore.Open(strings.TrimPrefix(cfg.Site(role).Keys, "keystore:"), cfg.MasterKey)
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
		site, err := sqltest.Open(t, sec).Site(ctx)
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

// encryptedLabels lists a catalog's encrypted volumes, label to key name.
func encryptedLabels(t *testing.T, path string) map[string]string {
	t.Helper()
	st := sqltest.Open(t, path)
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
