package main

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/serve"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore"
)

// smallPair simulates a small primary and its secondary. The secondary runs
// local backups of its own (data store DS_LOCAL, groups VG_LOCAL_*), so the
// check has local catalogs to tell from the replicated ones.
func smallPair(t *testing.T) (prim, sec string) {
	t.Helper()
	dir := t.TempDir()
	prim, sec = filepath.Join(dir, "primary.db"), filepath.Join(dir, "secondary.db")
	mustRun(t, "sim", "init", "--catalog", prim, "--volumes", "40", "--days", "5")
	mustRun(t, "sim", "init-secondary", "--catalog", sec, "--primary", prim, "--volumes", "10", "--days", "2", "--backups-per-day", "2")
	return prim, sec
}

// editSite changes a site's catalog in one transaction and closes it before
// the command under test opens it.
func editSite(t *testing.T, path string, fn func(context.Context, store.Tx) error) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, path)
	must(t, err)
	defer st.Close()
	must(t, st.Update(ctx, func(tx store.Tx) error { return fn(ctx, tx) }))
}

// plantLocal makes label a volume of the secondary's local data store: the
// label was created on both sides before an import.
func plantLocal(t *testing.T, sec, label string) {
	t.Helper()
	editSite(t, sec, func(ctx context.Context, tx store.Tx) error {
		return tx.PutVolume(ctx, &catalog.Volume{Label: label, LabelType: catalog.Labeled, StoreID: "DS_LOCAL", Group: "VG_LOCAL_1",
			Access: catalog.AccessPrimary, Auth: "GGO", Compression: catalog.CompressNone})
	})
}

// prodSets reads the volume sets of DS_PROD on the primary as an export
// forms them: a labeled volume cataloged in DSM/TC belongs to its tape
// volume's VOLSETID, any other volume is a set of its own. It maps each set
// to its BackPak labels, in VOLINDEX order.
func prodSets(t *testing.T, prim string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	st := openStore(t, prim)
	var vols []catalog.Volume
	must(t, st.ScanVolumes(ctx, store.Filter{StoreID: "DS_PROD"}, collect(&vols)))
	type member struct {
		label string
		index int
	}
	bySet := map[string][]member{}
	for _, v := range vols {
		set, index := v.Key().String(), 0 // "/" keeps it apart from set ids
		if v.LabelType == catalog.Labeled {
			g, err := st.VolumeGroup(ctx, v.Group)
			must(t, err)
			var tvs []catalog.TapeVolume
			must(t, st.ScanTapeVolumes(ctx, store.Filter{Volcat: g.Volcat, Pool: g.Pool, Volser: v.Label}, collect(&tvs)))
			if len(tvs) == 1 && tvs[0].VolsetID != "" {
				set, index = tvs[0].VolsetID, tvs[0].VolIndex
			}
		}
		bySet[set] = append(bySet[set], member{v.Label, index})
	}
	out := map[string][]string{}
	for set, ms := range bySet {
		slices.SortFunc(ms, func(a, b member) int { return a.index - b.index })
		for _, m := range ms {
			out[set] = append(out[set], m.label)
		}
	}
	return out
}

// pickSets returns a volume set with at least two BackPak volumes and
// another set, the smallest ids first so that runs are repeatable.
func pickSets(t *testing.T, sets map[string][]string) (multi, other string) {
	t.Helper()
	for _, id := range slices.Sorted(maps.Keys(sets)) {
		switch {
		case strings.Contains(id, "/"):
			// a volume outside DSM/TC
		case multi == "" && len(sets[id]) >= 2 && sets[id][0] == id:
			multi = id
		case other == "":
			other = id
		}
	}
	if multi == "" || other == "" {
		t.Fatalf("no multi-volume set (%q) or second set (%q) in %v", multi, other, sets)
	}
	return multi, other
}

// digest fingerprints a site's catalog records, to show a command wrote none.
func digest(t *testing.T, path string) string {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, path)
	must(t, err)
	defer st.Close()
	d, err := store.Digest(ctx, st)
	must(t, err)
	return d
}

// jsonLines decodes every line of out as a T, refusing fields T lacks.
func jsonLines[T any](t *testing.T, out string) []T {
	t.Helper()
	if out == "" {
		return nil
	}
	var all []T
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var v T
		if err := dec.Decode(&v); err != nil {
			t.Errorf("line %q is not a %T: %v", line, v, err)
			continue
		}
		all = append(all, v)
	}
	return all
}

// listed counts the conflicts a text output lists.
func listed(out string) int {
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "volume set ") {
			n++
		}
	}
	return n
}

// wantConflict checks that out lists a LABEL_LOCAL conflict of set and
// label with a local volume of DS_LOCAL: what, where, why, what to do.
func wantConflict(t *testing.T, out, set, label string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	i := slices.Index(lines, "volume set "+set+", label "+label+": LABEL_LOCAL")
	if i < 0 || i+4 >= len(lines) {
		t.Errorf("no LABEL_LOCAL conflict of set %s label %s in\n%s", set, label, out)
		return
	}
	info := safety.Rules[safety.LabelLocal]
	for j, want := range []string{"  label " + label + " ", "  where: store DS_LOCAL", "  rule:  " + info.Explain, "  do:    " + info.Action} {
		if !strings.HasPrefix(lines[i+1+j], want) {
			t.Errorf("conflict of %s line %d: %q, want it to start %q", label, j+2, lines[i+1+j], want)
		}
	}
}

func TestCheckCleanPair(t *testing.T) {
	prim, sec := smallPair(t)
	n := len(prodSets(t, prim))
	before := digest(t, sec)
	args := []string{"check", "--store", "DS_PROD", "--primary", prim, "--secondary", sec}
	want := "safe: configuration sound, " + strconv.Itoa(n) + " volume sets of DS_PROD without conflict\n"
	if out := mustRun(t, args...); out != want {
		t.Errorf("check of a clean pair: %q, want %q", out, want)
	}
	// The count does not depend on DISKFILEs, and node pairs are accepted.
	if out := mustRun(t, append(args, "--catalogfiles", "no")...); out != want {
		t.Errorf("check --catalogfiles no: %q, want %q", out, want)
	}
	if out := mustRun(t, append(args, "--node-map", `\PRIM=\PRIMDR`)...); out != want {
		t.Errorf("check --node-map: %q, want %q", out, want)
	}
	// JSON lists problems and conflicts only: nothing to say.
	if out := mustRun(t, append(args, "--json")...); out != "" {
		t.Errorf("check --json of a clean pair: %q", out)
	}
	// The catalogs may come from the environment alone.
	t.Setenv("CATSYNC_PRIMARY_CATALOG", prim)
	t.Setenv("CATSYNC_SECONDARY_CATALOG", sec)
	if out := mustRun(t, "check", "--store", "DS_PROD"); out != want {
		t.Errorf("check with the catalogs from the environment: %q, want %q", out, want)
	}
	if after := digest(t, sec); after != before {
		t.Error("check changed the secondary's catalog")
	}
}

func TestCheckLabelCollision(t *testing.T) {
	prim, sec := smallPair(t)
	sets := prodSets(t, prim)
	set, other := pickSets(t, sets)
	member := sets[set][1]
	args := []string{"check", "--store", "DS_PROD", "--primary", prim, "--secondary", sec}
	total := strconv.Itoa(len(sets))

	// A later volume of a multi-volume set: the conflict names the set and
	// the label apart.
	plantLocal(t, sec, member)
	before := digest(t, sec)
	out, errs, code := catsync(t, args...)
	if code != 1 || errs != "catsync: data store DS_PROD: 1 conflicts in 1 of "+total+" volume sets\n" {
		t.Errorf("check with one collision: exit %d, stderr %q", code, errs)
	}
	wantConflict(t, out, set, member)
	if n := listed(out); n != 1 || strings.Contains(out, "safe:") {
		t.Errorf("check with one collision lists %d conflicts:\n%s", n, out)
	}
	if after := digest(t, sec); after != before {
		t.Error("check changed the secondary's catalog")
	}

	// The set's own label too, then a label of another set: every conflict
	// is listed, and the sets are counted once each.
	plantLocal(t, sec, set)
	plantLocal(t, sec, other)
	out, errs, code = catsync(t, args...)
	if code != 1 || errs != "catsync: data store DS_PROD: 3 conflicts in 2 of "+total+" volume sets\n" {
		t.Errorf("check with three collisions in two sets: exit %d, stderr %q", code, errs)
	}
	for _, c := range [][2]string{{set, member}, {set, set}, {other, other}} {
		wantConflict(t, out, c[0], c[1])
	}
	if n := listed(out); n != 3 {
		t.Errorf("check lists %d conflicts, want 3:\n%s", n, out)
	}

	out, _, code = catsync(t, append(args, "--json")...)
	if code != 1 {
		t.Errorf("check --json with collisions: exit %d", code)
	}
	var got [][2]string
	for _, c := range jsonLines[safety.Conflict](t, out) {
		got = append(got, [2]string{c.Set, c.Label})
		if c.Rule != safety.LabelLocal || c.Where.Store != "DS_LOCAL" || !strings.Contains(c.Detail, c.Label) ||
			c.Action != safety.Rules[safety.LabelLocal].Action {
			t.Errorf("check --json: %+v", c)
		}
	}
	slices.SortFunc(got, func(a, b [2]string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) })
	want := [][2]string{{set, member}, {set, set}, {other, other}}
	slices.SortFunc(want, func(a, b [2]string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) })
	if !slices.Equal(got, want) {
		t.Errorf("check --json: conflicts %v, want %v", got, want)
	}

	// Labels collide whether or not DISKFILEs travel.
	if _, errs, code := catsync(t, append(args, "--catalogfiles", "no")...); code != 1 || !strings.Contains(errs, "3 conflicts") {
		t.Errorf("check --catalogfiles no: exit %d, %q", code, errs)
	}
}

func TestCheckConfiguration(t *testing.T) {
	for _, c := range []struct {
		name string
		rule safety.Rule
		want string // in the problem's detail
		edit func(context.Context, store.Tx) error
	}{
		{"unmapped group", safety.ConfigGroupMapping, "VG_PROD_2", func(ctx context.Context, tx store.Tx) error {
			g, err := tx.VolumeGroup(ctx, "VG_PROD_2")
			if err != nil {
				return err
			}
			g.OriginalName = "VG_RETIRED"
			return tx.PutVolumeGroup(ctx, &g)
		}},
		{"shared search list", safety.ConfigSearchList, `\PRIM`, func(ctx context.Context, tx store.Tx) error {
			site, err := tx.Site(ctx)
			if err != nil {
				return err
			}
			site.SearchList = append(site.SearchList, `\PRIM.FCPROD`)
			return tx.PutSite(ctx, &site)
		}},
		{"store access", safety.ConfigStoreAccess, "SECONDARY", func(ctx context.Context, tx store.Tx) error {
			ds, err := tx.DataStore(ctx, "DS_PROD")
			if err != nil {
				return err
			}
			ds.Access = catalog.AccessPrimary
			return tx.PutDataStore(ctx, &ds)
		}},
		{"local FILECAT", safety.ConfigSharedCatalog, `\SECD.FCLOCAL`, func(ctx context.Context, tx store.Tx) error {
			g, err := tx.VolumeGroup(ctx, "VG_PROD_1")
			if err != nil {
				return err
			}
			g.Filecat = `\SECD.FCLOCAL`
			return tx.PutVolumeGroup(ctx, &g)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			prim, sec := smallPair(t)
			set, _ := pickSets(t, prodSets(t, prim))
			// A set in conflict too: a configuration problem stops the
			// check before any set is read.
			plantLocal(t, sec, set)
			editSite(t, sec, c.edit)
			args := []string{"check", "--store", "DS_PROD", "--primary", prim, "--secondary", sec}
			out, errs, code := catsync(t, args...)
			problems := jsonLines[safety.Problem](t, mustFailJSON(t, append(args, "--json")))
			if code != 1 || !strings.Contains(errs, "data store DS_PROD cannot be imported safely: "+strconv.Itoa(len(problems))+" configuration problems") {
				t.Errorf("exit %d, stderr %q, %d problems in JSON", code, errs, len(problems))
			}
			if listed(out) > 0 || strings.Contains(out, "safe:") {
				t.Errorf("volume sets checked despite the configuration:\n%s", out)
			}
			info := safety.Rules[c.rule]
			if r := rows(out, string(c.rule)); len(r) == 0 || !strings.Contains(out, "  rule: "+info.Explain+"\n") ||
				!strings.Contains(out, "  do:   "+info.Action+"\n") {
				t.Errorf("output does not name %s, its explanation and its action:\n%s", c.rule, out)
			}
			found := false
			for _, p := range problems {
				found = found || (p.Rule == c.rule && strings.Contains(p.Detail, c.want))
				if !strings.Contains(out, string(p.Rule)+"\n  "+p.Detail+"\n") {
					t.Errorf("problem %s not in the text output:\n%s", p, out)
				}
			}
			if !found {
				t.Errorf("JSON problems %+v lack %s naming %s", problems, c.rule, c.want)
			}
		})
	}

	// A data store neither site defines.
	prim, sec := smallPair(t)
	out, errs, code := catsync(t, "check", "--store", "DS_NOPE", "--primary", prim, "--secondary", sec)
	if code != 1 || len(rows(out, string(safety.ConfigStoreAccess))) != 2 || !strings.Contains(out, "DS_NOPE") ||
		!strings.Contains(errs, "data store DS_NOPE cannot be imported safely: 2 configuration problems") {
		t.Errorf("check of an unknown store: exit %d\n%s\n%s", code, out, errs)
	}
}

// mustFailJSON runs a check that must exit 1 and returns its output.
func mustFailJSON(t *testing.T, args []string) string {
	t.Helper()
	out, errs, code := catsync(t, args...)
	if code != 1 {
		t.Errorf("catsync %s: exit %d, want 1: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

func TestCheckRefused(t *testing.T) {
	prim, sec := smallPair(t)
	t.Setenv("CATSYNC_PRIMARY_CATALOG", "")
	t.Setenv("CATSYNC_SECONDARY_CATALOG", "")
	mustFail(t, []string{"--store"}, "check", "--primary", prim, "--secondary", sec)
	mustFail(t, []string{"--primary", "--secondary", "CATSYNC_PRIMARY_CATALOG", "CATSYNC_SECONDARY_CATALOG"}, "check", "--store", "DS_PROD")
	mustFail(t, []string{"CATSYNC_SECONDARY_CATALOG"}, "check", "--store", "DS_PROD", "--primary", prim)
	t.Setenv("CATSYNC_PRIMARY_CATALOG", prim)
	mustFail(t, []string{"CATSYNC_SECONDARY_CATALOG"}, "check", "--store", "DS_PROD")

	// Mistyped catalogs are named and not created.
	dir := t.TempDir()
	missing := filepath.Join(dir, "typo.db")
	mustFail(t, []string{"--secondary", missing, "no such catalog file"}, "check", "--store", "DS_PROD", "--primary", prim, "--secondary", missing)
	mustFail(t, []string{"--primary", missing, "no such catalog file"}, "check", "--store", "DS_PROD", "--primary", missing, "--secondary", sec)
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("check created %s", missing)
	}
	empty := filepath.Join(dir, "empty.db")
	openStore(t, empty)
	mustFail(t, []string{"--secondary", "holds no site"}, "check", "--store", "DS_PROD", "--primary", prim, "--secondary", empty)

	mustFail(t, []string{"--catalogfiles", "maybe"}, "check", "--store", "DS_PROD", "--primary", prim, "--secondary", sec, "--catalogfiles", "maybe")
	mustFail(t, []string{"--node-map"}, "check", "--store", "DS_PROD", "--primary", prim, "--secondary", sec, "--node-map", "PRIM=SECD")
	mustFail(t, []string{"DS_PROD"}, "check", "DS_PROD", "--primary", prim, "--secondary", sec)
}

// serveSites starts workers for a primary and a secondary catalog, named
// <name>prim and <name>secd, with the test's key managers, on the dev
// server, and points the CLI's environment at them.
func serveSites(t *testing.T, c client.Client, name, prim, sec string) {
	t.Helper()
	dir := t.TempDir()
	cfg := &config.Config{
		Primary: config.Site{Name: name + "prim", Catalog: prim, Staging: filepath.Join(dir, "outbox"),
			Keys: os.Getenv("CATSYNC_PRIMARY_KEYS")},
		Secondary: config.Site{Name: name + "secd", Catalog: sec, Staging: filepath.Join(dir, "staging"),
			Keys: os.Getenv("CATSYNC_SECONDARY_KEYS")},
		Serve: []string{config.RolePrimary, config.RoleSecondary}, Workflows: true,
	}
	cfg.Source = cfg.Primary.Staging
	workers, err := serve.Start(context.Background(), c, cfg)
	must(t, err)
	t.Cleanup(workers.Stop)
	for k, v := range map[string]string{"TEMPORAL_ADDRESS": devServer.FrontendHostPort(), "TEMPORAL_NAMESPACE": "default",
		"CATSYNC_PRIMARY_NAME": cfg.Primary.Name, "CATSYNC_SECONDARY_NAME": cfg.Secondary.Name} {
		t.Setenv(k, v)
	}
}

// syncedRun runs a sync that waits, checks its exit code and the outcome it
// reports, and returns its output and run id.
func syncedRun(t *testing.T, code int, outcome string, args ...string) (out, runID string) {
	t.Helper()
	out, errs, got := catsync(t, append([]string{"sync", "--store", "DS_PROD", "--wait"}, args...)...)
	r := rows(out, "workflow")
	if got != code || len(r) != 1 || len(r[0]) != 4 || r[0][1] != "catalogsync-DS_PROD" || !strings.Contains(out, outcome+" ") {
		t.Fatalf("sync %s: exit %d, want %d and %s\n%s\n%s", strings.Join(args, " "), got, code, outcome, out, errs)
	}
	if code != 0 && !strings.Contains(errs, "sync of DS_PROD ended "+outcome) {
		t.Errorf("sync %s: stderr %q does not give the outcome %s", strings.Join(args, " "), errs, outcome)
	}
	return out, r[0][3]
}

// conflictsJSON is the documented JSON form of `catsync conflicts`.
type conflictsJSON struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	Store      string `json:"store"`
	Type       string `json:"type"`
	Outcome    string `json:"outcome"`
	Report     struct {
		Conflicts []safety.Conflict `json:"conflicts"`
		Total     int               `json:"total"`
		Sets      int               `json:"sets"`
		ByRule    map[string]int    `json:"by_rule"`
	} `json:"report"`
}

// TestConflictsAfterSync runs syncs of a pair whose secondary has two
// labels of one volume set as local volumes, on the dev server: strict
// (nothing applied), lenient (all but the set applied), then after the
// operator's fix; `catsync conflicts` reports each run.
func TestConflictsAfterSync(t *testing.T) {
	c := devClient(t)
	ctx := context.Background()
	prim, sec := smallPair(t)
	sets := prodSets(t, prim)
	set, _ := pickSets(t, sets)
	member := sets[set][1]
	plantLocal(t, sec, set)
	plantLocal(t, sec, member)
	// The key managers replicate: the runs' parity holds.
	mustRun(t, "sim", "replicate-keys", "--catalog", prim)
	serveSites(t, c, "chk", prim, sec)
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

	var rep conflictsJSON
	dec := json.NewDecoder(strings.NewReader(mustRun(t, "conflicts", "catalogsync-DS_PROD", "--json")))
	dec.DisallowUnknownFields()
	must(t, dec.Decode(&rep))
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
	rep = conflictsJSON{}
	must(t, json.Unmarshal([]byte(mustRun(t, "conflicts", "catalogsync-DS_PROD", "--run", strictRun, "--json")), &rep))
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
	rep = conflictsJSON{}
	must(t, json.Unmarshal([]byte(mustRun(t, "conflicts", "catalogsync-DS_PROD", "--json")), &rep))
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
