package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/volimage"
)

// imaged is a busy primary that writes its images, with its key manager.
type imaged struct {
	st   store.Store
	km   keys.Manager
	root string
	site catalog.Site
}

// imagedParams make a busy site of 8 days, time enough to reuse volumes,
// writing filesPerBackup tape files a run: several share a volume set,
// one spans it.
func imagedParams(filesPerBackup int) Params {
	p := busyParams()
	p.Days, p.FilesPerBackup = 8, filesPerBackup
	return p
}

func newImaged(t *testing.T, filesPerBackup int) *imaged {
	t.Helper()
	ctx := context.Background()
	p := imagedParams(filesPerBackup)
	p.DataRoot = filepath.Join(t.TempDir(), "data")
	s := &imaged{st: openSite(t, "primary"), km: openKeys(t), root: p.DataRoot}
	must(t, Init(ctx, s.st, p, s.km))
	must(t, Advance(ctx, s.st, 3, s.km))
	var err error
	s.site, err = s.st.Site(ctx)
	must(t, err)
	return s
}

// key returns the material of a volume's key at the primary (nil: clear).
func (s *imaged) key(t *testing.T, v catalog.Volume) []byte {
	t.Helper()
	if v.MediaKeyName == "" {
		return nil
	}
	ctx := context.Background()
	k, err := keys.Find(ctx, s.km, s.site.BackPakID, v.MediaKeyName)
	must(t, err)
	m, err := s.km.Material(ctx, k.ID)
	must(t, err)
	return m
}

// written returns the volumes the primary wrote, by label.
func (s *imaged) written(t *testing.T) map[string]catalog.Volume {
	t.Helper()
	out := map[string]catalog.Volume{}
	must(t, s.st.ScanVolumes(context.Background(), store.Filter{}, func(v *catalog.Volume) error {
		if !v.Timestamp.IsZero() {
			out[v.Label] = *v
		}
		return nil
	}))
	return out
}

// files reads an image's tape files.
func files(dir string, v catalog.Volume, key []byte) (volimage.Header, []volimage.TapeFile, error) {
	im, err := volimage.Open(dir, v.Label)
	if err != nil {
		return volimage.Header{}, nil, err
	}
	var out []volimage.TapeFile
	err = im.Files(key, func(f volimage.TapeFile) error { out = append(out, f); return nil })
	return im.Header, out, err
}

// cataloged is what the catalog says volume v holds, as its image should,
// each HDR1 at its TFTOV's FILESEQLABELLBA.
func cataloged(t *testing.T, st store.Reader, v catalog.Volume) []volimage.TapeFile {
	t.Helper()
	ctx := context.Background()
	var tftovs []catalog.TapeFileVolume
	must(t, st.ScanTapeFileVolumes(ctx, store.Filter{Volser: v.Label}, func(r *catalog.TapeFileVolume) error {
		tftovs = append(tftovs, *r)
		return nil
	}))
	slices.SortFunc(tftovs, func(a, b catalog.TapeFileVolume) int { return a.FileSequence - b.FileSequence })
	var out []volimage.TapeFile
	for _, r := range tftovs {
		var tf catalog.TapeFile
		must(t, st.ScanTapeFiles(ctx, store.Filter{Filecat: r.Filecat, FileID: r.FileID, Generation: r.Generation},
			func(f *catalog.TapeFile) error {
				if f.Version == r.Version && f.PhysicalCopy == r.PhysicalCopy && f.LogicalCopy == r.LogicalCopy {
					tf = *f
				}
				return nil
			}))
		f := volimage.TapeFile{FileID: hdr1FileID(tf.FileID), FileSetID: tf.VolsetID, Section: r.FileSection,
			Sequence: r.FileSequence, Generation: tf.Generation, Version: tf.Version, Created: tf.Created, Expires: tf.Expiration,
			LBA: r.LabelLBA}
		if r.FileSection == 1 {
			must(t, st.ScanDiskFiles(ctx, store.Filter{Filecat: tf.Filecat, FileID: tf.FileID, Generation: tf.Generation,
				VolsetID: tf.VolsetID}, func(d *catalog.DiskFile) error {
				if d.Version == tf.Version && d.LogicalCopy == tf.LogicalCopy {
					f.Disk = append(f.Disk, volimage.DiskEntry{Name: d.Name, Size: d.EOF, Digest: DiskFileDigest(d.Name, d.EOF)})
				}
				return nil
			}))
		}
		out = append(out, f)
	}
	return out
}

// hdr1FileID is what the HDR1 label keeps of a FILEID: its rightmost 17
// characters.
func hdr1FileID(fileID string) string { return fileID[max(len(fileID)-17, 0):] }

// sameFiles compares tape files as HDR1 holds them: dates are days.
func sameFiles(a, b []volimage.TapeFile) bool {
	return slices.EqualFunc(a, b, func(x, y volimage.TapeFile) bool {
		return x.FileID == y.FileID && x.FileSetID == y.FileSetID && x.Section == y.Section && x.Sequence == y.Sequence &&
			x.Generation == y.Generation && x.Version == y.Version && x.Created.Truncate(day).Equal(y.Created.Truncate(day)) &&
			x.Expires.Truncate(day).Equal(y.Expires.Truncate(day)) && slices.Equal(x.Disk, y.Disk) && x.LBA == y.LBA
	})
}

func TestImagesOfEveryWrite(t *testing.T) {
	for _, n := range []int{1, 5} {
		t.Run(fmt.Sprintf("files-per-backup=%d", n), func(t *testing.T) {
			t.Parallel()
			testImages(t, n)
		})
	}
}

func testImages(t *testing.T, filesPerBackup int) {
	ctx := context.Background()
	s := newImaged(t, filesPerBackup)
	written := s.written(t)
	for _, id := range []string{"DS_PROD", "DS_TEST"} {
		want := 0
		for _, v := range written {
			if v.StoreID == id {
				want++
			}
		}
		got, err := filepath.Glob(filepath.Join(volimage.StoreDir(s.root, id), "LB*.IND"))
		must(t, err)
		if len(got) != want || want == 0 {
			t.Errorf("%s: %d index files for %d written volumes", id, len(got), want)
		}
	}
	// Every ASSIGNED volume's image holds what the catalog says it holds;
	// the others' tape files have left the catalog, not the tape.
	assigned := map[string]bool{}
	must(t, s.st.ScanTapeVolumes(ctx, store.Filter{Status: string(catalog.StatusAssigned)}, func(tv *catalog.TapeVolume) error {
		assigned[tv.Volser] = true
		return nil
	}))
	var checked, encrypted, shaped int
	for l, v := range written {
		if !assigned[l] {
			continue
		}
		h, got, err := files(volimage.StoreDir(s.root, v.StoreID), v, s.key(t, v))
		if err != nil {
			t.Errorf("volume %s: %v", l, err)
			continue
		}
		if h.Label != l || h.LabelType != catalog.Labeled || !h.Timestamp.Equal(v.Timestamp) || h.MediaKeyName != v.MediaKeyName {
			t.Errorf("volume %s: header %+v, BackPak entry timestamp %s key %q", l, h, v.Timestamp, v.MediaKeyName)
		}
		if want := cataloged(t, s.st, v); !sameFiles(got, want) {
			t.Errorf("volume %s holds\n%+v\nthe catalog says\n%+v", l, got, want)
		}
		checked++
		if v.MediaKeyName != "" {
			encrypted++
		}
		// A file continued from another volume, or several files on one.
		if len(got) > 0 && (got[0].Section > 1 || len(got) > 1) {
			shaped++
		}
	}
	if checked == 0 || encrypted == 0 || encrypted == checked || shaped == 0 {
		t.Errorf("%d images checked, %d encrypted, %d continuing a file or holding several: want some of each",
			checked, encrypted, shaped)
	}
	// Images change nothing in the catalog.
	plain := newPrimary(t, imagedParams(filesPerBackup))
	must(t, Advance(ctx, plain, 3, nil))
	if a, b := digestOf(t, plain), digestOf(t, s.st); a != b {
		t.Error("writing images changed the simulated catalog")
	}
}

// treeOf returns the contents of the files under root, by path.
func treeOf(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	must(t, filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		out[path] = string(b)
		return err
	}))
	return out
}

func digestOf(t *testing.T, st store.Reader) string {
	t.Helper()
	d, err := store.Digest(context.Background(), st)
	must(t, err)
	return d
}

func TestImagesNeedKeys(t *testing.T) {
	p := busyParams()
	p.DataRoot = t.TempDir()
	err := Init(context.Background(), openSite(t, "primary"), p, nil)
	if err == nil || !strings.Contains(err.Error(), "key manager") {
		t.Errorf("encrypted images without a key manager: %v", err)
	}
}

// pick returns n written volumes of the primary, encrypted or not, in
// label order.
func pick(written map[string]catalog.Volume, n int, encrypted bool) []string {
	var out []string
	for l, v := range written {
		if (v.MediaKeyName != "") == encrypted {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out[:n]
}

func TestReplicateDataFaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newImaged(t, 5)
	written := s.written(t)
	enc, clr := pick(written, 3, true), pick(written, 4, false)
	opts := DataReplication{Missing: []string{clr[0]}, Stale: []string{enc[0], clr[1]}, Corrupt: []string{enc[1]},
		Truncated: []string{clr[2]}, Misfiled: []LabelPair{{From: enc[2], To: clr[3]}}, Keys: s.km}
	to := filepath.Join(t.TempDir(), "secondary")

	// Unknown labels and double faults are refused before anything is copied.
	bad := opts
	bad.Corrupt = []string{"ZZ0001", enc[1]}
	bad.Misfiled = []LabelPair{{From: "ZZ0002", To: clr[3]}}
	if _, err := ReplicateData(ctx, s.st, s.root, to, bad); err == nil ||
		!strings.Contains(err.Error(), "ZZ0001, ZZ0002") {
		t.Errorf("unknown labels: %v", err)
	}
	bad = opts
	bad.Truncated = []string{clr[0]}
	if _, err := ReplicateData(ctx, s.st, s.root, to, bad); err == nil || !strings.Contains(err.Error(), clr[0]) {
		t.Errorf("a label with two faults: %v", err)
	}
	if _, err := ReplicateData(ctx, s.st, s.root, to, DataReplication{Store: "DS_NONE"}); err == nil ||
		!strings.Contains(err.Error(), "DS_NONE") {
		t.Errorf("unknown data store: %v", err)
	}
	if _, err := os.Stat(to); err == nil {
		t.Error("a refused replication wrote images")
	}

	res, err := ReplicateData(ctx, s.st, s.root, to, opts)
	must(t, err)
	t.Log(res)
	if res.Copied != len(written)-1 || res.Missing != 1 || res.Stale != 2 || res.Corrupt != 1 || res.Truncated != 1 ||
		res.Misfiled != 1 || len(res.MissingAtPrimary) != 0 {
		t.Errorf("replication: %s, of %d written volumes", res, len(written))
	}
	for l, v := range written {
		dir := volimage.StoreDir(to, v.StoreID)
		h, got, err := files(dir, v, s.key(t, v))
		switch {
		case l == opts.Missing[0]:
			if !isFault(err, volimage.Missing) {
				t.Errorf("missing %s: %v", l, err)
			}
		case slices.Contains(opts.Stale, l):
			if err != nil || !h.Timestamp.Equal(v.Timestamp.Add(-day)) {
				t.Errorf("stale %s: written %s, entry %s, %v", l, h.Timestamp, v.Timestamp, err)
			}
			_, want, _ := files(volimage.StoreDir(s.root, v.StoreID), v, s.key(t, v))
			if !sameFiles(got, want) {
				t.Errorf("stale %s holds other tape files", l)
			}
		case l == opts.Corrupt[0]:
			if !isFault(err, volimage.Corrupt) {
				t.Errorf("corrupt %s: %v", l, err)
			}
		case l == opts.Truncated[0]:
			if !isFault(err, volimage.Truncated) {
				t.Errorf("truncated %s: %v", l, err)
			}
		case l == opts.Misfiled[0].To:
			if !isFault(err, volimage.Mismatch) || !strings.Contains(err.Error(), opts.Misfiled[0].From) {
				t.Errorf("misfiled %s: %v", l, err)
			}
		default:
			if err != nil {
				t.Errorf("%s: %v", l, err)
			}
			for _, name := range []string{volimage.IndexName(l), volimage.DataName(l)} {
				a, _ := os.ReadFile(filepath.Join(volimage.StoreDir(s.root, v.StoreID), name))
				b, _ := os.ReadFile(filepath.Join(dir, name))
				if !bytes.Equal(a, b) {
					t.Errorf("%s: the copy of %s differs", l, name)
				}
			}
		}
	}
	// A clean replication of one store repairs its images, the missing one too.
	id := written[opts.Missing[0]].StoreID
	res, err = ReplicateData(ctx, s.st, s.root, to, DataReplication{Store: id})
	must(t, err)
	for l, v := range written {
		if v.StoreID != id {
			continue
		}
		res.Copied--
		if _, _, err := files(volimage.StoreDir(to, id), v, s.key(t, v)); err != nil {
			t.Errorf("%s after a clean replication: %v", l, err)
		}
	}
	if res.Copied != 0 {
		t.Errorf("clean replication of %s: %s", id, res)
	}
}

func isFault(err error, kind volimage.Kind) bool {
	var ie *volimage.Error
	return errors.As(err, &ie) && ie.Kind == kind
}

func TestParseLabelPairs(t *testing.T) {
	got, err := ParseLabelPairs("t00001=T00002, T00003=T00004")
	if err != nil || !slices.Equal(got, []LabelPair{{"T00001", "T00002"}, {"T00003", "T00004"}}) {
		t.Errorf("pairs: %v %v", got, err)
	}
	if _, err := ParseLabelPairs("T00001"); err == nil || !strings.Contains(err.Error(), "FROM=TO") {
		t.Errorf("a label without a pair: %v", err)
	}
}

func TestLoadForOutputRefusedOnSecondary(t *testing.T) {
	ctx := context.Background()
	p := busyParams()
	p.Days, p.DataRoot = 5, t.TempDir()
	km := openKeys(t)
	prim := openSite(t, "primary")
	must(t, Init(ctx, prim, p, km))
	sec := openSite(t, "secondary")
	must(t, InitSecondary(ctx, sec, prim, DefaultSecondaryParams(), nil))

	// A volume an import brought into the SECONDARY store: readable, never written.
	var label string
	must(t, prim.ScanVolumes(ctx, store.Filter{StoreID: "DS_PROD"}, func(v *catalog.Volume) error {
		if label == "" {
			label = v.Label
			v.Access = catalog.AccessSecondary
			return sec.Update(ctx, func(tx store.Tx) error { return tx.PutVolume(ctx, v) })
		}
		return nil
	}))
	err := LoadForOutput(ctx, sec, label)
	if err == nil || !strings.Contains(err.Error(), label) || !strings.Contains(err.Error(), "DS_PROD is SECONDARY") {
		t.Errorf("load for output on the secondary: %v", err)
	}
	must(t, LoadForInput(ctx, sec, label))
	must(t, LoadForOutput(ctx, prim, label))

	// Backups into a store that became SECONDARY fail the day, naming the
	// store and the volume, and change nothing, images included.
	ds, err := prim.DataStore(ctx, "DS_TEST")
	must(t, err)
	ds.Access = catalog.AccessSecondary
	must(t, prim.Update(ctx, func(tx store.Tx) error { return tx.PutDataStore(ctx, &ds) }))
	before, imagesBefore := digestOf(t, prim), treeOf(t, p.DataRoot)
	err = Advance(ctx, prim, 1, km)
	if err == nil || !strings.Contains(err.Error(), "DS_TEST is SECONDARY") || !strings.Contains(err.Error(), "load volume T") {
		t.Errorf("a backup into a SECONDARY store: %v", err)
	}
	if digestOf(t, prim) != before {
		t.Error("the refused day changed the catalog")
	}
	if !maps.Equal(treeOf(t, p.DataRoot), imagesBefore) {
		t.Error("the refused day changed images")
	}

	// Nor may a secondary's own backups take a replicated store's id.
	sp := DefaultSecondaryParams()
	sp.Local.Stores, sp.Local.Volumes, sp.Local.BackupsPerDay = []string{"DS_PROD"}, 4, 1
	err = InitSecondary(ctx, openSite(t, "again"), prim, sp, nil)
	if err == nil || !strings.Contains(err.Error(), "DS_PROD is SECONDARY") {
		t.Errorf("local backups in a replicated store: %v", err)
	}
}
