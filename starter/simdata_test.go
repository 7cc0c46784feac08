package main

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/restore"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
	"github.com/catsync/catsync/internal/volimage"
)

// dataPair is a primary simulated with CATSYNC_PRIMARY_DATA set, so with
// its volume images, and a secondary holding a FULL import of DS_PROD
// and the primary's keys, CATSYNC_SECONDARY_DATA set to a folder of its
// own: what replicate-data and restore-test need.
type dataPair struct {
	prim, sec         string // the catalogs
	primData, secData string // the data roots
}

func newDataPair(t *testing.T) dataPair {
	t.Helper()
	dir := t.TempDir()
	d := dataPair{prim: filepath.Join(dir, "primary.db"), sec: filepath.Join(dir, "secondary.db"),
		primData: filepath.Join(dir, "primary-data"), secData: filepath.Join(dir, "secondary-data")}
	t.Setenv("CATSYNC_PRIMARY_DATA", d.primData)
	t.Setenv("CATSYNC_SECONDARY_DATA", d.secData)
	mustRun(t, "sim", "init", "--catalog", d.prim, "--volumes", "60", "--days", "10")
	mustRun(t, "sim", "init-secondary", "--catalog", d.sec, "--primary", d.prim)
	mustRun(t, "sim", "replicate-keys", "--catalog", d.prim)
	importDirect(t, d.prim, d.sec, importer.Options{StoreID: "DS_PROD", CatalogFiles: true})
	return d
}

// volumes returns the primary's labeled DS_PROD volumes, written or not.
func (d dataPair) volumes(t *testing.T) (written []catalog.Volume, unwritten int) {
	t.Helper()
	st := sqltest.Open(t, d.prim)
	defer st.Close()
	must(t, st.ScanVolumes(context.Background(), store.Filter{StoreID: "DS_PROD"}, func(v *catalog.Volume) error {
		switch {
		case v.LabelType != catalog.Labeled:
		case v.Timestamp.IsZero():
			unwritten++
		default:
			written = append(written, *v)
		}
		return nil
	}))
	slices.SortFunc(written, func(a, b catalog.Volume) int { return strings.Compare(a.Label, b.Label) })
	return written, unwritten
}

// labels returns the labels of the written volumes, clear and encrypted.
func (d dataPair) labels(t *testing.T) (plain, encrypted []string) {
	t.Helper()
	written, _ := d.volumes(t)
	for _, v := range written {
		if v.MediaKeyName == "" {
			plain = append(plain, v.Label)
		} else {
			encrypted = append(encrypted, v.Label)
		}
	}
	return plain, encrypted
}

// imagesAsWritten fails unless every written volume of the primary has
// its image, of the write the catalog knows.
func (d dataPair) imagesAsWritten(t *testing.T) {
	t.Helper()
	written, _ := d.volumes(t)
	for _, v := range written {
		im, err := volimage.Open(volimage.StoreDir(d.primData, "DS_PROD"), v.Label)
		if err != nil {
			t.Errorf("volume %s: %v", v.Label, err)
		} else if im.Header.Label != v.Label || !im.Header.Timestamp.Equal(v.Timestamp) {
			t.Errorf("volume %s written %s: image of %s written %s", v.Label, v.Timestamp, im.Header.Label, im.Header.Timestamp)
		}
	}
}

// replicationSummary is the line replicate-data prints.
func replicationSummary(r sim.DataReplicationResult) string { return r.String() + "\n" }

// tree maps the files under root to their contents.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		out[path] = string(b)
		return err
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

// With CATSYNC_PRIMARY_DATA set, sim init writes the image of every volume
// it writes; replicate-data copies them all, saying so, and restore-test
// at the secondary finds every volume restorable.
func TestSimReplicateData(t *testing.T) {
	d := newDataPair(t)
	written, unwritten := d.volumes(t)
	if len(written) == 0 || unwritten == 0 {
		t.Fatalf("%d volumes written, %d not: want both", len(written), unwritten)
	}
	d.imagesAsWritten(t)

	want := replicationSummary(sim.DataReplicationResult{Copied: len(written), Unwritten: unwritten})
	if out := mustRun(t, "sim", "replicate-data", "--catalog", d.prim); out != want {
		t.Errorf("replicate-data: %q, want %q", out, want)
	}
	secondary := tree(t, d.secData)
	for path, b := range tree(t, d.primData) {
		if copied := filepath.Join(d.secData, strings.TrimPrefix(path, d.primData)); secondary[copied] != b {
			t.Errorf("%s: the copy at the secondary differs", copied)
		}
	}
	rep := jsonLines[restore.Report](t, mustRun(t, "restore-test", "--store", "DS_PROD", "--secondary", d.sec, "--sample", "1000", "--json"))
	if len(rep) != 1 || rep[0].Sampled != len(written) || rep[0].Failed != 0 || rep[0].Fraction != 1 {
		t.Fatalf("restore-test after replicate-data: %+v", rep)
	}
}

// Each fault flag plants the fault the restore test tells on that volume,
// and on it alone; a clean replication repairs them.
func TestSimReplicateDataFaults(t *testing.T) {
	d := newDataPair(t)
	written, unwritten := d.volumes(t)
	plain, encrypted := d.labels(t)
	if len(plain) < 6 || len(encrypted) < 2 {
		t.Fatalf("%d plain and %d encrypted volumes written: too few for the faults", len(plain), len(encrypted))
	}
	want := map[string]string{plain[0]: restore.ImageMissing, plain[1]: restore.TimestampMismatch,
		encrypted[0]: restore.TimestampMismatch, encrypted[1]: restore.ImageDamaged, plain[5]: restore.ImageDamaged, plain[2]: restore.ImageTruncated,
		plain[4]: restore.LabelMismatch}
	// Labels are taken in any case, as replicate-keys takes them.
	out := mustRun(t, "sim", "replicate-data", "--catalog", d.prim, "--store", "DS_PROD", "--missing", strings.ToLower(plain[0]),
		"--stale", plain[1]+","+encrypted[0], "--corrupt", encrypted[1]+","+plain[5], "--truncated", plain[2], "--misfiled", plain[3]+"="+plain[4])
	if s := replicationSummary(sim.DataReplicationResult{Copied: len(written) - 1, Missing: 1, Stale: 2, Corrupt: 2,
		Truncated: 1, Misfiled: 1, Unwritten: unwritten}); out != s {
		t.Errorf("replicate-data with faults: %q, want %q", out, s)
	}

	args := []string{"restore-test", "--store", "DS_PROD", "--secondary", d.sec, "--json", "--sample", "1000"}
	out, errs, code := catsync(t, args...)
	rep := jsonLines[restore.Report](t, out)
	if code != 1 || len(rep) != 1 || rep[0].Failed != len(want) || rep[0].Passed != len(written)-len(want) {
		t.Fatalf("restore-test of the faults: exit %d, %+v\n%s", code, rep, errs)
	}
	for _, v := range rep[0].Verdicts {
		if v.Problem != want[v.Label] {
			t.Errorf("volume %s: %s, want %q", v.Label, v, want[v.Label])
		}
	}

	mustRun(t, "sim", "replicate-data", "--catalog", d.prim)
	tested := slices.Sorted(maps.Keys(want))
	rep = jsonLines[restore.Report](t, mustRun(t, append(args, "--labels", strings.Join(tested, ","))...))
	if len(rep) != 1 || rep[0].Passed != len(tested) {
		t.Errorf("restore-test after a clean replication: %+v", rep)
	}
}

// sim advance writes the images of its writes while CATSYNC_PRIMARY_DATA
// is set, none once it is unset; replicate-data names a written volume
// whose image is missing at the primary. A secondary's own backups write
// no images.
func TestSimAdvanceImages(t *testing.T) {
	d := newDataPair(t)
	mustRun(t, "sim", "advance", "--catalog", d.prim, "--days", "2")
	d.imagesAsWritten(t)

	written, unwritten := d.volumes(t)
	gone := written[0].Label
	must(t, os.Remove(filepath.Join(volimage.StoreDir(d.primData, "DS_PROD"), volimage.IndexName(gone))))
	want := replicationSummary(sim.DataReplicationResult{Copied: len(written) - 1, Unwritten: unwritten, MissingAtPrimary: []string{gone}}) +
		"missing at the primary: the images of written volumes " + gone + "\n"
	if out := mustRun(t, "sim", "replicate-data", "--catalog", d.prim); out != want {
		t.Errorf("replicate-data with %s's image gone: %q, want %q", gone, out, want)
	}

	t.Setenv("CATSYNC_PRIMARY_DATA", "")
	before := tree(t, d.primData)
	mustRun(t, "sim", "advance", "--catalog", d.prim)
	if !maps.Equal(tree(t, d.primData), before) {
		t.Error("sim advance without CATSYNC_PRIMARY_DATA changed the images")
	}

	t.Setenv("CATSYNC_PRIMARY_DATA", d.primData)
	local := filepath.Join(t.TempDir(), "local.db")
	mustRun(t, "sim", "init-secondary", "--catalog", local, "--primary", d.prim, "--volumes", "10", "--days", "2", "--encrypted-groups", "0")
	mustRun(t, "sim", "advance", "--catalog", local)
	if _, err := os.Stat(volimage.StoreDir(d.primData, "DS_LOCAL")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a secondary's own backups wrote images in the primary's data root: %v", err)
	}
}

// Bad settings and flags are refused, naming the variable, flag, label or
// store, and replicate nothing.
func TestSimReplicateDataRefused(t *testing.T) {
	d := newDataPair(t)
	plain, _ := d.labels(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	must(t, os.WriteFile(file, nil, 0o644))

	// Each refusal below leaves the fresh secondary root without a copy.
	fresh := filepath.Join(dir, "fresh")
	t.Setenv("CATSYNC_SECONDARY_DATA", fresh)
	rp := []string{"sim", "replicate-data", "--catalog", d.prim}
	mustFail(t, []string{"labels ZZZ999: not volumes with an image"}, append(rp, "--missing", plain[0]+",zzz999")...)
	mustFail(t, []string{"labels ZZZ998"}, append(rp, "--misfiled", plain[0]+"=ZZZ998")...)
	mustFail(t, []string{"--misfiled", "not FROM=TO"}, append(rp, "--misfiled", plain[0])...)
	mustFail(t, []string{"labels " + plain[0], "more than one fault"}, append(rp, "--missing", plain[0], "--corrupt", plain[0])...)
	mustFail(t, []string{"data store DS_NONE"}, append(rp, "--store", "DS_NONE")...)
	if copied := tree(t, fresh); len(copied) > 0 {
		t.Errorf("refused replications copied %d files", len(copied))
	}

	t.Setenv("CATSYNC_PRIMARY_KEYS", "")
	mustFail(t, []string{"CATSYNC_PRIMARY_KEYS is not set: --stale rewrites"}, append(rp, "--stale", plain[0])...)
	t.Setenv("CATSYNC_SECONDARY_DATA", "")
	mustFail(t, []string{"CATSYNC_SECONDARY_DATA is not set: replicate-data copies the images"}, rp...)
	t.Setenv("CATSYNC_SECONDARY_DATA", file)
	mustFail(t, []string{`CATSYNC_SECONDARY_DATA="` + file + `": not a folder`}, rp...)
	t.Setenv("CATSYNC_SECONDARY_DATA", d.primData)
	mustFail(t, []string{"CATSYNC_SECONDARY_DATA", "is the folder of CATSYNC_PRIMARY_DATA"}, rp...)
	t.Setenv("CATSYNC_PRIMARY_DATA", "")
	mustFail(t, []string{"CATSYNC_PRIMARY_DATA is not set: replicate-data reads the primary's volume images"}, rp...)
	t.Setenv("CATSYNC_PRIMARY_DATA", filepath.Join(dir, "none"))
	mustFail(t, []string{"CATSYNC_PRIMARY_DATA=", "no such folder"}, rp...)

	// sim init and advance refuse a data root they cannot write, before
	// anything is simulated; init leaves no catalog.
	cat := filepath.Join(dir, "p.db")
	for _, root := range []string{file, filepath.Join(file, "data")} {
		t.Setenv("CATSYNC_PRIMARY_DATA", root)
		mustFail(t, []string{`CATSYNC_PRIMARY_DATA="` + root + `"`}, "sim", "init", "--catalog", cat, "--volumes", "10")
		mustFail(t, []string{`CATSYNC_PRIMARY_DATA="` + root + `"`}, "sim", "advance", "--catalog", d.prim)
	}
	t.Setenv("CATSYNC_PRIMARY_DATA", filepath.Join(dir, "data"))
	mustFail(t, []string{"CATSYNC_PRIMARY_DATA is set", "--keys"}, "sim", "init", "--catalog", cat, "--volumes", "10", "--keys", "none")
	if _, err := os.Stat(cat); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused sim init left a catalog: %v", err)
	}
}
