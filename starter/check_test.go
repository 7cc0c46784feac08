package main

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// prodSets reads the volume sets of DS_PROD on the primary as an export
// forms them: a labeled volume cataloged in DSM/TC belongs to its tape
// volume's VOLSETID, any other volume is a set of its own. It maps each set
// to its BackPak labels, in VOLINDEX order.
func prodSets(t *testing.T, prim string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	st := sqltest.Open(t, prim)
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
	prim, sec, _ := smallPair(t)
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
	prim, sec, _ := smallPair(t)
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
			prim, sec, _ := smallPair(t)
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
	prim, sec, _ := smallPair(t)
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
	prim, sec, _ := smallPair(t)
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
	sqltest.Open(t, empty)
	mustFail(t, []string{"--secondary", "holds no site"}, "check", "--store", "DS_PROD", "--primary", prim, "--secondary", empty)

	mustFail(t, []string{"--catalogfiles", "maybe"}, "check", "--store", "DS_PROD", "--primary", prim, "--secondary", sec, "--catalogfiles", "maybe")
	mustFail(t, []string{"--node-map"}, "check", "--store", "DS_PROD", "--primary", prim, "--secondary", sec, "--node-map", "PRIM=SECD")
	mustFail(t, []string{"DS_PROD"}, "check", "DS_PROD", "--primary", prim, "--secondary", sec)
}
