package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys/keystore"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore"
)

// catsync runs one command line in-process.
func catsync(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	keyEnv(t)
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// keyEnv gives a test, the first time it runs catsync, its own primary and
// secondary keystores as an operator's environment would; a test that set
// CATSYNC_PRIMARY_KEYS itself (even empty) keeps its setting.
func keyEnv(t *testing.T) {
	if _, set := os.LookupEnv("CATSYNC_PRIMARY_KEYS"); set {
		return
	}
	dir := t.TempDir()
	t.Setenv(keystore.MasterKeyEnv, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{4}, 32)))
	t.Setenv("CATSYNC_PRIMARY_KEYS", "keystore:"+filepath.Join(dir, "primary.keys"))
	t.Setenv("CATSYNC_SECONDARY_KEYS", "keystore:"+filepath.Join(dir, "secondary.keys"))
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := catsync(t, args...)
	if code != 0 {
		t.Fatalf("catsync %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

// mustFail runs a command that must fail with a message holding every want.
func mustFail(t *testing.T, want []string, args ...string) {
	t.Helper()
	out, errs, code := catsync(t, args...)
	if code != 1 {
		t.Errorf("catsync %s: exit %d, want 1 (stdout %q)", strings.Join(args, " "), code, out)
	}
	for _, w := range want {
		if !strings.Contains(errs, w) {
			t.Errorf("catsync %s: stderr %q does not name %q", strings.Join(args, " "), errs, w)
		}
	}
}

// newPrimary simulates a small primary site: 10 days from 2026-01-05.
func newPrimary(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "primary.db")
	mustRun(t, "sim", "init", "--catalog", path, "--volumes", "60", "--days", "10")
	return path
}

func openStore(t *testing.T, path string) *sqlstore.DB {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// rows returns the whitespace-separated fields of the output lines whose
// first field is first.
func rows(out, first string) [][]string {
	var found [][]string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == first {
			found = append(found, f)
		}
	}
	return found
}

func TestSimInitSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "primary.db")
	out := mustRun(t, "sim", "init", "--catalog", path, "--volumes", "60", "--days", "10", "--stores", "DS_PROD,DS_TEST")
	n, err := openStore(t, path).Count(context.Background())
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
	st := openStore(t, path)
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

func TestCounts(t *testing.T) {
	ctx := context.Background()
	path := newPrimary(t)
	st := openStore(t, path)
	n, err := st.Count(ctx)
	must(t, err)
	seq, err := st.LastSeq(ctx, "DS_PROD")
	must(t, err)
	// The join, done the slow way: one lookup per volume.
	var vols []catalog.Volume
	must(t, st.ScanVolumes(ctx, store.Filter{StoreID: "DS_PROD"}, collect(&vols)))
	byStatus := map[string]int64{}
	for _, v := range vols {
		g, err := st.VolumeGroup(ctx, v.Group)
		must(t, err)
		status := noTapeVolume
		must(t, st.ScanTapeVolumes(ctx, store.Filter{Volcat: g.Volcat, Pool: g.Pool, Volser: v.Label}, func(tv *catalog.TapeVolume) error {
			status = string(tv.Status)
			return nil
		}))
		byStatus[status]++
	}

	text := mustRun(t, "counts", "--catalog", path)
	for _, tab := range store.Tables {
		r := rows(text, tab)
		if len(r) != 1 || r[0][1] != strconv.FormatInt(n[tab], 10) {
			t.Errorf("counts: table %s: %v, want %d", tab, r, n[tab])
		}
	}
	r := rows(text, "DS_PROD")
	if len(r) != 1 || r[0][1] != "PRIMARY" || r[0][2] != strconv.Itoa(len(vols)) || r[0][len(r[0])-1] != strconv.FormatInt(seq, 10) {
		t.Errorf("counts: DS_PROD row %v, want %d volumes, last seq %d", r, len(vols), seq)
	}

	var rep countsReport
	must(t, json.Unmarshal([]byte(mustRun(t, "counts", "--catalog", path, "--json")), &rep))
	if rep.Node != `\PRIM` || rep.Clock != "2026-01-15" {
		t.Errorf("counts --json: node %q clock %q", rep.Node, rep.Clock)
	}
	for _, tab := range store.Tables {
		if rep.Tables[tab] != n[tab] {
			t.Errorf("counts --json: %s %d, want %d", tab, rep.Tables[tab], n[tab])
		}
	}
	if len(rep.Stores) != 1 {
		t.Fatalf("counts --json: stores %+v", rep.Stores)
	}
	sc := rep.Stores[0]
	if sc.ID != "DS_PROD" || sc.Volumes != int64(len(vols)) || sc.ByAccess["PRIMARY"] != sc.Volumes || sc.LastSeq != seq {
		t.Errorf("counts --json: %+v, want %d PRIMARY volumes, last seq %d", sc, len(vols), seq)
	}
	if len(sc.ByStatus) != len(byStatus) {
		t.Errorf("counts --json: by status %v, want %v", sc.ByStatus, byStatus)
	}
	for s, want := range byStatus {
		if sc.ByStatus[s] != want {
			t.Errorf("counts --json: %s %d, want %d", s, sc.ByStatus[s], want)
		}
	}
}

func TestInfoTapeVolume(t *testing.T) {
	ctx := context.Background()
	path := newPrimary(t)
	st := openStore(t, path)
	// An ASSIGNED BackPak volume, and a tape BackPak does not know.
	var assigned, dsmOnly []catalog.TapeVolume
	must(t, st.ScanTapeVolumes(ctx, store.Filter{Status: string(catalog.StatusAssigned)}, collect(&assigned)))
	must(t, st.ScanTapeVolumes(ctx, store.Filter{Pool: "MEDIA_POOL"}, collect(&dsmOnly)))
	if len(assigned) == 0 || len(dsmOnly) == 0 {
		t.Fatalf("no ASSIGNED (%d) or DSM/TC-only (%d) tape volume to show", len(assigned), len(dsmOnly))
	}
	tv := assigned[len(assigned)-1]
	entry, err := st.Volume(ctx, catalog.VolumeKey{Label: tv.Volser, LabelType: catalog.Labeled})
	must(t, err)
	var files []catalog.TapeFile
	must(t, st.ScanTapeFiles(ctx, store.Filter{Volcat: tv.Volcat, VolsetID: tv.VolsetID}, collect(&files)))
	if len(files) == 0 {
		t.Fatalf("no file on the volume set of %s", tv.Volser)
	}

	out := mustRun(t, "info", "tapevolume", strings.ToLower(tv.Volser), "--catalog", path)
	for _, want := range [][]string{
		{"TAPEVOLUME", tv.Volser}, {"VOLCAT", tv.Volcat}, {"POOL", tv.Pool}, {"STATUS", "ASSIGNED"},
		{"VOLSETID", tv.VolsetID}, {"VOLINDEX", strconv.Itoa(tv.VolIndex)}, {"TAPE", "FORMAT", "ARCHIVE"},
		{"FILECAT", files[0].Filecat}, {"BACKPAK", "VOLUME", tv.Volser, "(LABELED)"}, {"DATA", "STORE", "DS_PROD"},
		{"VOLUME", "GROUP", entry.Group}, {"IND", entry.IndexPath}, {"DAT", entry.DataPath},
	} {
		if r := rows(out, want[0]); !hasRow(r, want) {
			t.Errorf("info tapevolume: no line %q in\n%s", want, out)
		}
	}
	for _, f := range files {
		if r := rows(out, f.Filecat); !hasRow(r, []string{f.Filecat, f.FileID, strconv.Itoa(f.Generation)}) {
			t.Errorf("info tapevolume: file %s not listed", f.Key())
		}
	}

	out = mustRun(t, "info", "tapevolume", dsmOnly[0].Volser, "--catalog", path)
	if !strings.Contains(out, "MEDIA_POOL") || strings.Contains(out, "BACKPAK") {
		t.Errorf("info tapevolume of a DSM/TC-only tape:\n%s", out)
	}
	mustFail(t, []string{"Q99999"}, "info", "tapevolume", "Q99999", "--catalog", path)
	mustFail(t, []string{"LABEL"}, "info", "tapevolume", "--catalog", path)
}

// hasRow reports whether one of rs starts with want.
func hasRow(rs [][]string, want []string) bool {
	for _, r := range rs {
		if len(r) >= len(want) && strings.Join(r[:len(want)], " ") == strings.Join(want, " ") {
			return true
		}
	}
	return false
}

func TestInfoTapeFile(t *testing.T) {
	ctx := context.Background()
	path := newPrimary(t)
	st := openStore(t, path)
	var all []catalog.TapeFile
	must(t, st.ScanTapeFiles(ctx, store.Filter{}, collect(&all)))
	tf := all[len(all)/2]
	var same []catalog.TapeFile
	must(t, st.ScanTapeFiles(ctx, store.Filter{FileID: tf.FileID}, collect(&same)))
	var tftov []catalog.TapeFileVolume
	must(t, st.ScanTapeFileVolumes(ctx, store.Filter{Filecat: tf.Filecat, FileID: tf.FileID, Generation: tf.Generation}, collect(&tftov)))
	disks := 0
	must(t, st.ScanDiskFiles(ctx, store.Filter{Filecat: tf.Filecat, FileID: tf.FileID, Generation: tf.Generation}, func(d *catalog.DiskFile) error {
		if d.Version == tf.Version && d.PhysicalCopy == tf.PhysicalCopy && d.LogicalCopy == tf.LogicalCopy {
			disks++
		}
		return nil
	}))

	out := mustRun(t, "info", "tapefile", tf.FileID, "--catalog", path)
	if r := rows(out, tf.Filecat); len(r) != len(same) {
		t.Errorf("info tapefile %s: %d rows, want %d:\n%s", tf.FileID, len(r), len(same), out)
	}
	out = mustRun(t, "info", "tapefile", tf.FileID, "--gen", strconv.Itoa(tf.Generation), "--catalog", path)
	copyNo := strconv.Itoa(tf.PhysicalCopy) + "." + strconv.Itoa(tf.LogicalCopy)
	var row []string
	for _, r := range rows(out, tf.Filecat) {
		if r[1] != strconv.Itoa(tf.Generation) {
			t.Errorf("info tapefile --gen %d shows generation %s", tf.Generation, r[1])
		}
		if r[2] == strconv.Itoa(tf.Version) && r[3] == copyNo {
			row = r
		}
	}
	if row == nil {
		t.Fatalf("info tapefile: %s not listed:\n%s", tf.Key(), out)
	}
	if row[4] != tf.Status || row[len(row)-1] != strconv.Itoa(disks) {
		t.Errorf("info tapefile: row %v, want status %s and %d disk files", row, tf.Status, disks)
	}
	for _, v := range tftov {
		if v.Version == tf.Version && v.LogicalCopy == tf.LogicalCopy && !strings.Contains(row[len(row)-2], v.Volser) {
			t.Errorf("info tapefile: volumes %s lack %s", row[len(row)-2], v.Volser)
		}
	}
	mustFail(t, []string{"NO_SUCH_FILE"}, "info", "tapefile", "NO_SUCH_FILE", "--catalog", path)
	mustFail(t, []string{tf.FileID, "generation 32000"}, "info", "tapefile", tf.FileID, "--gen", "32000", "--catalog", path)
	mustFail(t, []string{"--gen"}, "info", "tapefile", tf.FileID, "--gen", "-1", "--catalog", path)
}

func TestInfoDiskFile(t *testing.T) {
	ctx := context.Background()
	path := newPrimary(t)
	st := openStore(t, path)
	var first catalog.DiskFile
	found := false
	must(t, st.ScanDiskFiles(ctx, store.Filter{}, func(d *catalog.DiskFile) error {
		if !found {
			first, found = *d, true
		}
		return nil
	}))
	if !found {
		t.Fatal("no disk file")
	}
	var entries []catalog.DiskFile
	must(t, st.ScanDiskFiles(ctx, store.Filter{Filecat: first.Filecat, Name: first.Name}, collect(&entries)))
	var dftov []catalog.DiskFileVolume
	must(t, st.ScanDiskFileVolumes(ctx, store.Filter{Filecat: first.Filecat, Name: first.Name}, collect(&dftov)))

	out := mustRun(t, "info", "diskfile", first.Name, "--catalog", path)
	r := rows(out, first.Filecat)
	if len(r) != len(entries) {
		t.Errorf("info diskfile: %d rows, want %d:\n%s", len(r), len(entries), out)
	}
	if !hasRow(r, []string{first.Filecat, first.FileID, strconv.Itoa(first.Generation), strconv.Itoa(first.Version)}) {
		t.Errorf("info diskfile: %s generation %d not listed:\n%s", first.FileID, first.Generation, out)
	}
	for _, v := range dftov {
		if !strings.Contains(out, v.Volser) {
			t.Errorf("info diskfile: volume %s not listed", v.Volser)
		}
	}
	mustFail(t, []string{`\PRIM.$NONE.NO.SUCH`}, "info", "diskfile", `\PRIM.$NONE.NO.SUCH`, "--catalog", path)
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
	var rep countsReport
	must(t, json.Unmarshal([]byte(mustRun(t, "counts", "--catalog", sec, "--json")), &rep))
	if len(rep.Stores) != 1 || rep.Stores[0].ID != "DS_PROD" || rep.Stores[0].Access != "SECONDARY" || rep.Tables[store.TableVolume] != 0 {
		t.Errorf("secondary without local backups: %+v", rep)
	}
	must(t, openStore(t, sec).ScanVolumeGroups(ctx, func(g *catalog.VolumeGroup) error {
		if g.Volcat != `\SECD.VCDR` || g.Filecat != `\SECD.FCREPL` {
			t.Errorf("replica group %s sends to %s and %s", g.Name, g.Volcat, g.Filecat)
		}
		return nil
	}))

	// With local backups: a PRIMARY local store beside the replicated one.
	local := filepath.Join(dir, "local.db")
	mustRun(t, "sim", "init-secondary", "--catalog", local, "--primary", prim, "--volumes", "20", "--days", "3", "--backups-per-day", "2")
	rep = countsReport{}
	must(t, json.Unmarshal([]byte(mustRun(t, "counts", "--catalog", local, "--json")), &rep))
	access := map[string]string{}
	for _, s := range rep.Stores {
		access[s.ID] = s.Access
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
	st := openStore(t, path)
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

func TestCatalogFlag(t *testing.T) {
	t.Setenv(envCatalog, "")
	mustFail(t, []string{"--catalog", envCatalog}, "counts")
	mustFail(t, []string{"--catalog", envCatalog}, "sim", "init", "--volumes", "1")
	mustFail(t, []string{"--catalog", envCatalog}, "info", "tapevolume", "T00001")

	path := newPrimary(t)
	t.Setenv(envCatalog, path)
	if out := mustRun(t, "counts"); !strings.Contains(out, `Site \PRIM`) {
		t.Errorf("counts from %s: %s", envCatalog, out)
	}

	// Read commands open existing sites only, and create nothing.
	dir := t.TempDir()
	missing := filepath.Join(dir, "typo.db")
	mustFail(t, []string{"--catalog", missing}, "counts", "--catalog", missing)
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("counts created %s", missing)
	}
	empty := filepath.Join(dir, "empty.db")
	openStore(t, empty)
	mustFail(t, []string{"holds no site"}, "counts", "--catalog", empty)
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
