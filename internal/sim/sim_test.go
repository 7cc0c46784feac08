package sim

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// openSite opens a new, empty SQLite catalog for the rest of the test.
func openSite(t *testing.T, name string) store.Store {
	t.Helper()
	return sqltest.Open(t, filepath.Join(t.TempDir(), name+".db"))
}

// busyParams makes a small site where every DSM/TC behaviour happens within
// a few weeks: short retentions, reruns, parallel copies, defects.
func busyParams() Params {
	p := DefaultParams()
	p.Stores = []string{"DS_PROD", "DS_TEST"}
	p.Volumes, p.Days, p.BackupsPerDay = 150, 40, 8
	p.Retention = []Retention{{3, 3}, {10, 3}, {31, 2}, {catalog.RetentionPermanent, 1}}
	p.ParallelPercent, p.RerunPercent, p.BadPercent = 40, 20, 3
	p.FilesPerBackup, p.DiskFilesPerFile = 1, 3
	return p
}

func newPrimary(t *testing.T, p Params) store.Store {
	t.Helper()
	st := openSite(t, "primary")
	if err := Init(context.Background(), st, p, nil); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestSiteInvariants(t *testing.T) {
	for _, files := range []int{1, 3} {
		t.Run(fmt.Sprintf("files-per-backup=%d", files), func(t *testing.T) {
			p := busyParams()
			p.FilesPerBackup = files
			st := newPrimary(t, p)
			checkInvariants(t, st, true)
			if err := Advance(context.Background(), st, 9, nil); err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, st, true)
		})
	}
}

type tfKey struct {
	filecat, fileID string
	gen             int
}

// checkInvariants asserts what DSM/TC and BackPak guarantee of a catalog;
// with variety, also that every simulated behaviour occurred.
func checkInvariants(t *testing.T, st store.Store, variety bool) {
	t.Helper()
	ctx := context.Background()
	clock, err := Clock(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	site, err := st.Site(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Labels are unique per site, across every VOLCAT and pool.
	tapeVols := map[string]catalog.TapeVolume{}
	must(t, st.ScanTapeVolumes(ctx, store.Filter{}, func(v *catalog.TapeVolume) error {
		if _, dup := tapeVols[v.Volser]; dup {
			t.Errorf("label %s cataloged twice", v.Volser)
		}
		tapeVols[v.Volser] = *v
		return nil
	}))
	groups := map[string]catalog.VolumeGroup{}
	must(t, st.ScanVolumeGroups(ctx, func(g *catalog.VolumeGroup) error { groups[g.Name] = *g; return nil }))
	encrypted := 0
	must(t, st.ScanVolumes(ctx, store.Filter{}, func(v *catalog.Volume) error {
		tv, ok := tapeVols[v.Label]
		g := groups[v.Group]
		switch {
		case !ok:
			t.Errorf("BackPak volume %s has no DSM/TC volume", v.Label)
		case tv.Volcat != g.Volcat || tv.Pool != g.Pool:
			t.Errorf("volume %s is in %s %s, its group says %s %s", v.Label, tv.Volcat, tv.Pool, g.Volcat, g.Pool)
		}
		if g.Encrypted && !v.Timestamp.IsZero() {
			encrypted++
			if v.MediaKeyName == "" {
				t.Errorf("encrypted volume %s written without a media key name", v.Label)
			}
		}
		if !g.Encrypted && v.MediaKeyName != "" {
			t.Errorf("clear volume %s has media key %s", v.Label, v.MediaKeyName)
		}
		return nil
	}))

	// Tape files: one VALID version per generation and copy, every volume
	// set in one FILECAT, nothing VALID past its expiration, generations
	// no higher than CONFIG says.
	valid := map[string]int{}
	maxVersion := map[string]int{}
	setFilecat := map[string]string{}
	setFiles := map[string]int{}
	lastGen := map[string]int{}
	must(t, st.ScanFileConfigs(ctx, store.Filter{}, func(c *catalog.FileConfig) error {
		lastGen[c.Filecat+" "+c.FileID] = c.LastGeneration
		return nil
	}))
	tapeFiles := map[string]bool{}
	var seen struct{ parallel, rerun, expired, multiVol, permanent int }
	must(t, st.ScanTapeFiles(ctx, store.Filter{}, func(tf *catalog.TapeFile) error {
		copyKey := fmt.Sprintf("%s %s %d %d.%d", tf.Filecat, tf.FileID, tf.Generation, tf.PhysicalCopy, tf.LogicalCopy)
		tapeFiles[fmt.Sprintf("%s %s %d %d %s", tf.Filecat, tf.FileID, tf.Generation, tf.Version, tf.VolsetID)] = true
		if tf.Status == catalog.FileValid {
			valid[copyKey]++
			if !tf.Expiration.IsZero() && tf.Expiration.Before(clock.Add(-day)) {
				t.Errorf("%s is VALID but expired on %s (clock %s)", tf.Key(), tf.Expiration.Format(time.DateOnly), clock.Format(time.DateOnly))
			}
			if tf.Version < maxVersion[copyKey] {
				t.Errorf("%s is VALID but a later version exists", tf.Key())
			}
		} else {
			seen.expired++
		}
		maxVersion[copyKey] = max(maxVersion[copyKey], tf.Version)
		set := tf.Volcat + " " + tf.VolsetID
		if fc, ok := setFilecat[set]; ok && fc != tf.Filecat {
			t.Errorf("volume set %s has tape files in %s and %s", set, fc, tf.Filecat)
		}
		setFilecat[set] = tf.Filecat
		setFiles[set]++
		if g := lastGen[tf.Filecat+" "+tf.FileID]; tf.Generation > g {
			t.Errorf("%s: generation above CONFIG.LASTGENERATION %d", tf.Key(), g)
		}
		if tf.LogicalCopy == 2 {
			seen.parallel++
		}
		if tf.Version > 0 {
			seen.rerun++
		}
		if tf.Expiration.IsZero() {
			seen.permanent++
		}
		return nil
	}))
	for k, n := range valid {
		if n > 1 {
			t.Errorf("%s has %d VALID versions", k, n)
		}
	}
	must(t, st.ScanVolumeFilecats(ctx, store.Filter{}, func(f *catalog.VolumeFilecat) error {
		if fc := setFilecat[f.Volcat+" "+f.VolsetID]; fc != f.Filecat {
			t.Errorf("VTOFC says %s %s is in %s, its tape files are in %q", f.Volcat, f.VolsetID, f.Filecat, fc)
		}
		return nil
	}))

	// Volume statuses agree with the tape files on them.
	statuses := map[catalog.VolumeStatus]int{}
	for _, tv := range tapeVols {
		statuses[tv.Status]++
		n := setFiles[tv.Volcat+" "+tv.VolsetID]
		switch tv.Status {
		case catalog.StatusAssigned, catalog.StatusFull:
			if n == 0 {
				t.Errorf("%s is %s but its volume set %q holds no tape file", tv.Volser, tv.Status, tv.VolsetID)
			}
		case catalog.StatusScratch, catalog.StatusReleased, catalog.StatusSelected:
			if tv.VolsetID != "" {
				t.Errorf("%s is %s but belongs to volume set %s", tv.Volser, tv.Status, tv.VolsetID)
			}
		case catalog.StatusInUse:
			t.Errorf("%s left INUSE after the day ended", tv.Volser)
		}
		if tv.VolIndex > 1 {
			seen.multiVol++
		}
	}

	// Every TFTOV, DISKFILE and DFTOV points to what exists.
	must(t, st.ScanTapeFileVolumes(ctx, store.Filter{}, func(v *catalog.TapeFileVolume) error {
		if !tapeFiles[fmt.Sprintf("%s %s %d %d %s", v.Filecat, v.FileID, v.Generation, v.Version, v.VolsetID)] {
			t.Errorf("TFTOV %s %s gen %d points to no tape file", v.Volser, v.FileID, v.Generation)
		}
		if tv := tapeVols[v.Volser]; tv.VolsetID != v.VolsetID {
			t.Errorf("TFTOV puts %s in set %s, TAPEVOLUME says %q", v.Volser, v.VolsetID, tv.VolsetID)
		}
		return nil
	}))
	dumps := map[string]bool{}
	must(t, st.ScanDiskFiles(ctx, store.Filter{}, func(d *catalog.DiskFile) error {
		if !tapeFiles[fmt.Sprintf("%s %s %d %d %s", d.Filecat, d.FileID, d.Generation, d.Version, d.VolsetID)] {
			t.Errorf("DISKFILE %s points to no tape file (%s gen %d)", d.Name, d.FileID, d.Generation)
		}
		if catalog.DiskFileNode(d.Name) != site.Node {
			t.Errorf("DISKFILE %s does not carry node %s", d.Name, site.Node)
		}
		dumps[fmt.Sprintf("%s %s %d %s", d.Filecat, d.Name, d.TimeDumped.UnixMicro(), d.VolsetID)] = true
		return nil
	}))
	must(t, st.ScanDiskFileVolumes(ctx, store.Filter{}, func(d *catalog.DiskFileVolume) error {
		if !dumps[fmt.Sprintf("%s %s %d %s", d.Filecat, d.Name, d.TimeDumped.UnixMicro(), d.VolsetID)] {
			t.Errorf("DFTOV %s on %s points to no DISKFILE", d.Name, d.Volser)
		}
		return nil
	}))

	if !variety {
		return
	}
	// The site shows the behaviours the parameters ask for.
	for what, n := range map[string]int{"parallel copies": seen.parallel, "VERSION NEW reruns": seen.rerun,
		"expired or superseded tape files": seen.expired, "multi-volume sets": seen.multiVol,
		"permanent tape files": seen.permanent, "encrypted writes": encrypted,
		"ASSIGNED volumes": statuses[catalog.StatusAssigned], "SCRATCH volumes": statuses[catalog.StatusScratch]} {
		if n == 0 {
			t.Errorf("no %s in the simulated site", what)
		}
	}
	if statuses[catalog.StatusBad]+statuses[catalog.StatusReleased] == 0 {
		t.Error("no BAD or RELEASED volume in the simulated site")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestDeterministic(t *testing.T) {
	ctx := context.Background()
	p := busyParams()
	p.Days = 20
	digest := func(st store.Store) string {
		d, err := store.Digest(ctx, st)
		must(t, err)
		return d
	}
	a, b := newPrimary(t, p), newPrimary(t, p)
	if digest(a) != digest(b) {
		t.Fatal("the same seed made two different sites")
	}
	// Simulating 20 days then 5 more equals simulating 25 at once: the
	// state rebuilt from the catalog is the state the simulator had.
	must(t, Advance(ctx, a, 5, nil))
	p.Days = 25
	c := newPrimary(t, p)
	if digest(a) != digest(c) {
		t.Error("init 20 days + advance 5 differs from init 25 days")
	}
	p.Seed = 99
	if digest(newPrimary(t, p)) == digest(c) {
		t.Error("another seed made the same site")
	}
}

func TestAdvanceMarksChanges(t *testing.T) {
	ctx := context.Background()
	st := newPrimary(t, busyParams())
	before := map[string]int64{}
	for _, id := range []string{"DS_PROD", "DS_TEST"} {
		seq, err := st.LastSeq(ctx, id)
		must(t, err)
		before[id] = seq
	}
	digest0, _ := store.Digest(ctx, st)
	must(t, Advance(ctx, st, 1, nil))
	for id, seq := range before {
		n, deleted := 0, 0
		must(t, st.Changes(ctx, id, seq, func(c store.Change) error {
			n++
			if c.Deleted {
				deleted++
				if _, err := st.Volume(ctx, c.Volume); err == nil {
					t.Errorf("tombstone for %s, which still exists", c.Volume)
				}
			} else if _, err := st.Volume(ctx, c.Volume); err != nil {
				t.Errorf("change for %s: %v", c.Volume, err)
			}
			return nil
		}))
		if n == 0 {
			t.Errorf("%s: a day of backups marked no volume", id)
		}
		t.Logf("%s: %d volumes marked, %d deleted", id, n, deleted)
	}
	if d, _ := store.Digest(ctx, st); d == digest0 {
		t.Error("advance changed nothing")
	}
}

func TestSecondary(t *testing.T) {
	ctx := context.Background()
	prim := newPrimary(t, busyParams())
	sp := DefaultSecondaryParams()
	sp.Local.Volumes, sp.Local.Days, sp.Local.BackupsPerDay = 40, 10, 3
	sec := openSite(t, "secondary")
	must(t, InitSecondary(ctx, sec, prim, sp, nil))

	for _, id := range []string{"DS_PROD", "DS_TEST"} {
		ds, err := sec.DataStore(ctx, id)
		must(t, err)
		if ds.Access != catalog.AccessSecondary {
			t.Errorf("%s on the secondary is %s, want SECONDARY", id, ds.Access)
		}
	}
	local, err := sec.DataStore(ctx, "DS_LOCAL")
	must(t, err)
	if local.Access != catalog.AccessPrimary {
		t.Errorf("DS_LOCAL is %s, want PRIMARY", local.Access)
	}
	must(t, prim.ScanVolumeGroups(ctx, func(g *catalog.VolumeGroup) error {
		r, err := sec.VolumeGroup(ctx, g.Name)
		if err != nil {
			return err
		}
		if r.OriginalName != g.Name || r.Volcat != `\SECD.VCREPL` || r.Filecat != `\SECD.FCREPL` || r.Encrypted != g.Encrypted {
			t.Errorf("replica of %s: %+v", g.Name, r)
		}
		return nil
	}))
	// Local backups stay in local catalogs, with local labels and node.
	must(t, sec.ScanTapeFiles(ctx, store.Filter{}, func(tf *catalog.TapeFile) error {
		if !strings.HasPrefix(tf.Filecat, `\SECD.FCLOCAL`) {
			t.Errorf("local backup %s cataloged in %s", tf.Key(), tf.Filecat)
		}
		return nil
	}))
	n := 0
	must(t, sec.ScanVolumes(ctx, store.Filter{}, func(v *catalog.Volume) error {
		n++
		if v.StoreID != "DS_LOCAL" || v.Label[0] != 'L' {
			t.Errorf("unexpected volume %s in %s on the secondary", v.Label, v.StoreID)
		}
		return nil
	}))
	if n < 40 {
		t.Errorf("%d local volumes, want at least 40", n)
	}
	checkInvariants(t, sec, false)
	// Advancing the secondary runs its local backups only.
	must(t, Advance(ctx, sec, 2, nil))
	if seq, _ := sec.LastSeq(ctx, "DS_PROD"); seq != 0 {
		t.Errorf("the secondary changed volumes of the replicated store DS_PROD (sequence %d)", seq)
	}
	// A secondary cannot take the primary's node.
	sp.Local.Node = `\PRIM`
	if err := InitSecondary(ctx, openSite(t, "again"), prim, sp, nil); err == nil || !strings.Contains(err.Error(), `\PRIM`) {
		t.Errorf("secondary on the primary's node: %v", err)
	}
}

func TestParamsRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Params)
	}{
		{"node", func(p *Params) { p.Node = "PRIM" }},
		{"groups", func(p *Params) { p.GroupsPerStore = 0 }},
		{"encrypted-groups", func(p *Params) { p.EncryptedGroups = 5 }},
		{"label-prefix", func(p *Params) { p.LabelPrefix = "7" }},
		{"files-per-backup", func(p *Params) { p.FilesPerBackup = 0 }},
		{"retention", func(p *Params) { p.Retention = []Retention{{0, 1}} }},
		{"stores", func(p *Params) { p.Stores = []string{" DS"} }},
	} {
		p := DefaultParams()
		c.edit(&p)
		err := Init(context.Background(), openSite(t, c.name), p, nil)
		if err == nil || !strings.Contains(err.Error(), c.name) {
			t.Errorf("%s: got %v, want an error naming the parameter", c.name, err)
		}
	}
	if _, err := ParseRetentionMix("7:3,forever:1"); err == nil || !strings.Contains(err.Error(), "forever") {
		t.Errorf("bad retention mix: %v", err)
	}
	mix, err := ParseRetentionMix("7:3, permanent:1")
	if err != nil || len(mix) != 2 || mix[1].Days != catalog.RetentionPermanent {
		t.Errorf("retention mix: %v %v", mix, err)
	}
}

func TestInitRefusesExistingSite(t *testing.T) {
	st := newPrimary(t, busyParams())
	if err := Init(context.Background(), st, busyParams(), nil); err == nil {
		t.Error("Init over an existing site succeeded")
	}
	if err := Advance(context.Background(), openSite(t, "empty"), 1, nil); err == nil {
		t.Error("Advance on an empty catalog succeeded")
	}
}

func TestSecondaryWithoutLocalBackups(t *testing.T) {
	ctx := context.Background()
	prim := newPrimary(t, busyParams())
	sec := openSite(t, "secondary")
	must(t, InitSecondary(ctx, sec, prim, DefaultSecondaryParams(), nil))
	if _, err := sec.DataStore(ctx, "DS_LOCAL"); err == nil {
		t.Error("a secondary without local backups got a local data store")
	}
	must(t, Advance(ctx, sec, 3, nil))
	n, err := sec.Count(ctx)
	must(t, err)
	if n[store.TableVolume] != 0 || n[store.TableTapeFile] != 0 {
		t.Errorf("a secondary without local backups grew catalogs: %v", n)
	}
	if n[store.TableTapeVolume] != 2 {
		t.Errorf("%d DSM/TC volumes, want the 2 physical tapes BackPak does not know", n[store.TableTapeVolume])
	}
}
