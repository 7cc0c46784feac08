package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/catalog"
)

// Fixtures: volume sets as a BackPak/DSM/TC primary exports them. Every
// record passes its catalog validation (checked by checkFixture), so the
// round trip is exercised with realistic values: node-qualified catalogs,
// image paths with backslashes, nanosecond timestamps, 64-bit EOFs.

const (
	fxVolcat  = `\PRIM.VCPROD`
	fxFilecat = `\PRIM.FCPROD`
	fxPool    = "PROD_POOL1"
	fxStore   = "DS_PROD"
)

// fxSet returns the i-th volume set of the fixture: two volumes of one set,
// their DSM/TC entries, one tape file spanning both, and a disk file it
// holds. Every third set also carries a tombstone, and every fifth is a lone
// unlabeled volume in no set (only BackPak entries).
func fxSet(i int) *VolumeSet {
	at := time.Date(2026, 3, 2, 21, 15, i%60, 123456789+i, time.UTC)
	if i%5 == 4 {
		label := fmt.Sprintf("U%05d", i)
		return &VolumeSet{ID: label, Volumes: []catalog.Volume{{
			Label: label, LabelType: catalog.Unlabeled, StoreID: fxStore, Group: "VG_SCRATCH",
			Access: catalog.AccessPrimary, Timestamp: at, Auth: "NNN", Compression: catalog.CompressNone,
		}}}
	}
	first, second := fmt.Sprintf("P%05d", 100+2*i), fmt.Sprintf("P%05d", 101+2*i)
	vol := func(label string) catalog.Volume {
		return catalog.Volume{
			Label: label, LabelType: catalog.Labeled, StoreID: fxStore, Group: "VG_PROD_1",
			Access: catalog.AccessPrimary, Timestamp: at, PrevUnload: at.Add(-24 * time.Hour), LastUpdate: at.Add(time.Minute),
			CheckTimestamp: true, Locked: i%2 == 0, OwnerNode: `\PRIM`, OwnerUser: "SUPER.OPER", Auth: "GGO",
			Comment: `payroll <Q1> & "weekly" \ backup`, MaxSize: 200 << 30,
			IndexPath: `\\NAS1\VTC\DS_PROD\LB` + label + ".IND", DataPath: `\\NAS1\VTC\DS_PROD\LB` + label + ".DAT",
			DataSize: 3<<30 + int64(i), StorageSize: 1<<30 + int64(i), Compression: catalog.CompressZlib,
			MediaKeyName: "KEY_2026_Q1",
		}
	}
	tv := func(label string, idx int, status catalog.VolumeStatus, eod int64) catalog.TapeVolume {
		return catalog.TapeVolume{Volcat: fxVolcat, Volser: label, Pool: fxPool, Label: "BACKUP", Type: "LTO5",
			Status: status, VolsetID: first, VolIndex: idx, EndOfDataLBA: eod}
	}
	tftov := func(label string, idx int, lba int64) catalog.TapeFileVolume {
		return catalog.TapeFileVolume{Filecat: fxFilecat, Volcat: fxVolcat, Volser: label, Pool: fxPool,
			FileID: "PAYROLL-DAILY", Generation: i + 1, PhysicalCopy: 1, LogicalCopy: 1, VolsetID: first,
			VolIndex: idx, FileSection: idx, FileSequence: 1, LabelLBA: lba}
	}
	disk := fmt.Sprintf(`\PRIM.$DATA01.PAYROLL.EMPF%04d`, i)
	s := &VolumeSet{
		ID:          first,
		Volumes:     []catalog.Volume{vol(first), vol(second)},
		TapeVolumes: []catalog.TapeVolume{tv(first, 1, catalog.StatusFull, catalog.MaxEndOfDataLBA), tv(second, 2, catalog.StatusAssigned, 1234567)},
		VTOFC:       []catalog.VolumeFilecat{{Volcat: fxVolcat, VolsetID: first, Pool: fxPool, Filecat: fxFilecat, TapeFormat: catalog.FormatLongName}},
		Configs:     []catalog.FileConfig{{Filecat: fxFilecat, FileID: "PAYROLL-DAILY", LastGeneration: i + 1}},
		TapeFiles: []catalog.TapeFile{{
			Filecat: fxFilecat, FileID: "PAYROLL-DAILY", Generation: i + 1, PhysicalCopy: 1, LogicalCopy: 1,
			Created: at, Expiration: at.AddDate(0, 0, 35).Truncate(24 * time.Hour), RecordFormat: "FI",
			RecordLength: 4096, BlockLength: 28, Mode: "BKVO", CatalogFiles: true, Status: catalog.FileValid,
			Volcat: fxVolcat, Pool: fxPool, VolsetID: first, Comment: "DS_PROD nightly",
		}},
		TFTOV: []catalog.TapeFileVolume{tftov(first, 1, 0), tftov(second, 2, -1)},
		DiskFiles: []catalog.DiskFile{{
			Filecat: fxFilecat, Name: disk, TimeDumped: at, PhysicalCopy: 1, LogicalCopy: 1, FileID: "PAYROLL-DAILY",
			Generation: i + 1, Status: catalog.DiskValid, Audited: true, FileCode: 100, FileType: "EN",
			EOF: 5<<32 + int64(i), LastModified: at.Add(-2 * time.Hour), VolsetID: first, Pool: fxPool, Volcat: fxVolcat,
		}},
		DFTOV: []catalog.DiskFileVolume{{Filecat: fxFilecat, Name: disk, TimeDumped: at, Volser: first,
			Volcat: fxVolcat, Pool: fxPool, VolsetID: first, VolIndex: 1, PositionLBA: -1}},
	}
	if i%3 == 0 {
		s.Deleted = []catalog.VolumeKey{{Label: fmt.Sprintf("X%05d", i), LabelType: catalog.Labeled}}
	}
	return s
}

func fxSets(from, n int) []*VolumeSet {
	var sets []*VolumeSet
	for i := from; i < from+n; i++ {
		sets = append(sets, fxSet(i))
	}
	return sets
}

// checkFixture makes sure the fixture is what a real catalog holds.
func checkFixture(t *testing.T, s *VolumeSet) {
	t.Helper()
	var errs []error
	for i := range s.Volumes {
		errs = append(errs, s.Volumes[i].Validate())
	}
	for i := range s.TapeVolumes {
		errs = append(errs, s.TapeVolumes[i].Validate())
	}
	for i := range s.VTOFC {
		errs = append(errs, s.VTOFC[i].Validate())
	}
	for i := range s.Configs {
		errs = append(errs, s.Configs[i].Validate())
	}
	for i := range s.TapeFiles {
		errs = append(errs, s.TapeFiles[i].Validate())
	}
	for i := range s.TFTOV {
		errs = append(errs, s.TFTOV[i].Validate())
	}
	for i := range s.DiskFiles {
		errs = append(errs, s.DiskFiles[i].Validate())
	}
	for i := range s.DFTOV {
		errs = append(errs, s.DFTOV[i].Validate())
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("fixture set %s is not valid: %v", s.ID, err)
	}
}

// countSets counts records independently of Counts.Add.
func countSets(sets []*VolumeSet) Counts {
	c := Counts{}
	for _, s := range sets {
		c["sets"]++
		c["volumes"] += int64(len(s.Volumes))
		c["tombstones"] += int64(len(s.Deleted))
		c["tapevolumes"] += int64(len(s.TapeVolumes))
		c["vtofc"] += int64(len(s.VTOFC))
		c["configs"] += int64(len(s.Configs))
		c["tapefiles"] += int64(len(s.TapeFiles))
		c["tftov"] += int64(len(s.TFTOV))
		c["diskfiles"] += int64(len(s.DiskFiles))
		c["dftov"] += int64(len(s.DFTOV))
	}
	return c
}

func fxManifest() Manifest {
	return Manifest{ID: "0b1c2d3e-run", Store: fxStore, Type: Full, CatalogFiles: true,
		Producer: Producer{Node: `\PRIM`, DomainID: "DOM1", BackPakID: "BP01"},
		FromSeq:  0, ToSeq: 4711, Created: time.Date(2026, 3, 2, 22, 0, 0, 5, time.UTC)}
}

// writeSets writes sets as a snapshot in dir and checks what Add reports.
func writeSets(t *testing.T, dir string, sets []*VolumeSet, perSegment int) (Manifest, string) {
	t.Helper()
	w := NewWriter(dir, fxManifest(), perSegment)
	for i, s := range sets {
		done, err := w.Add(s)
		if err != nil {
			t.Fatalf("add set %d: %v", i, err)
		}
		if want := (i+1)%perSegment == 0; done != want {
			t.Fatalf("add set %d reported a completed segment %v, want %v", i, done, want)
		}
	}
	m, digest, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return m, digest
}

// readAll reads every set of every segment of a snapshot, checking the
// indices passed to the callback.
func readAll(t *testing.T, dir string, m Manifest) []*VolumeSet {
	t.Helper()
	var sets []*VolumeSet
	for _, s := range m.Segments {
		next := 0
		err := ReadSegment(dir, s, 0, func(i int, v *VolumeSet) error {
			if i != next {
				t.Errorf("%s: index %d, want %d", s.Name, i, next)
			}
			next++
			sets = append(sets, v)
			return nil
		})
		if err != nil {
			t.Fatalf("read %s: %v", s.Name, err)
		}
		if next != s.Sets {
			t.Errorf("%s: %d sets read, manifest says %d", s.Name, next, s.Sets)
		}
	}
	return sets
}

// noTempFiles fails if a temporary file is left anywhere under dir.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir && (strings.HasPrefix(d.Name(), ".") || strings.Contains(d.Name(), ".tmp")) {
			t.Errorf("temporary file left behind: %s", path)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
}

func fileSHA(t *testing.T, path string) (string, int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), int64(len(b))
}

// asCorrupt asserts err is (or wraps) a *CorruptError about file.
func asCorrupt(t *testing.T, what string, err error, file string) *CorruptError {
	t.Helper()
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("%s: got %v (%T), want a *CorruptError", what, err, err)
	}
	if ce.File != file {
		t.Errorf("%s: CorruptError names %q, want %q (%v)", what, ce.File, file, err)
	}
	return ce
}

func TestFixtureIsValid(t *testing.T) {
	for _, s := range fxSets(0, 12) {
		checkFixture(t, s)
	}
}

func TestWriterRoundTripRealisticSets(t *testing.T) {
	dir := t.TempDir()
	sets := fxSets(0, 11)
	m, digest := writeSets(t, dir, sets, 3)

	// The manifest: what NewWriter was given plus schema, segments, counts.
	want := fxManifest()
	want.Schema = SchemaVersion
	want.Counts = countSets(sets)
	if len(m.Segments) != 4 {
		t.Fatalf("%d segments, want 4 (3+3+3+2 sets): %+v", len(m.Segments), m.Segments)
	}
	for n, s := range m.Segments {
		if s.Name != SegmentName(n+1) {
			t.Errorf("segment %d named %q, want %q", n, s.Name, SegmentName(n+1))
		}
		if wantSets := []int{3, 3, 3, 2}[n]; s.Sets != wantSets {
			t.Errorf("%s holds %d sets, want %d", s.Name, s.Sets, wantSets)
		}
		sha, size := fileSHA(t, filepath.Join(dir, s.Name))
		if s.SHA256 != sha || s.Bytes != size {
			t.Errorf("%s recorded as %d bytes %s, file is %d bytes %s", s.Name, s.Bytes, s.SHA256, size, sha)
		}
		if err := VerifySegment(dir, s); err != nil {
			t.Errorf("verify %s: %v", s.Name, err)
		}
	}
	want.Segments = m.Segments
	if !reflect.DeepEqual(m, want) {
		t.Errorf("manifest\n got %+v\nwant %+v", m, want)
	}
	if SegmentName(1) != "seg-000001.jsonl" || SegmentName(123456) != "seg-123456.jsonl" {
		t.Errorf("segment names %s, %s", SegmentName(1), SegmentName(123456))
	}

	// The digest is the SHA-256 of manifest.json as written.
	if sha, _ := fileSHA(t, filepath.Join(dir, ManifestFile)); sha != digest {
		t.Errorf("digest %s, manifest.json has SHA-256 %s", digest, sha)
	}
	got, d2, err := ReadManifest(dir, digest)
	if err != nil {
		t.Fatal(err)
	}
	if d2 != digest || !reflect.DeepEqual(got, m) {
		t.Errorf("read manifest (digest %s)\n got %+v\nwant %+v", d2, got, m)
	}
	if _, d3, err := ReadManifest(dir, ""); err != nil || d3 != digest {
		t.Errorf("read manifest without a digest: %s, %v", d3, err)
	}

	// Every set comes back equal, in order, times in UTC.
	read := readAll(t, dir, m)
	if len(read) != len(sets) {
		t.Fatalf("%d sets read, %d written", len(read), len(sets))
	}
	for i := range sets {
		if !reflect.DeepEqual(read[i], sets[i]) {
			t.Errorf("set %d:\n got %+v\nwant %+v", i, read[i], sets[i])
		}
		if loc := read[i].TapeFiles; len(loc) > 0 && loc[0].Created.Location() != time.UTC {
			t.Errorf("set %d: time in %v, want UTC", i, loc[0].Created.Location())
		}
	}

	// from > 0 skips the first sets of a segment; indices stay absolute.
	for _, from := range []int{1, 2, 3, 7} {
		var idx []int
		var ids []string
		err := ReadSegment(dir, m.Segments[1], from, func(i int, v *VolumeSet) error {
			idx = append(idx, i)
			ids = append(ids, v.ID)
			return nil
		})
		if err != nil {
			t.Fatalf("from %d: %v", from, err)
		}
		var wantIdx []int
		var wantIDs []string
		for i := from; i < 3; i++ {
			wantIdx = append(wantIdx, i)
			wantIDs = append(wantIDs, sets[3+i].ID)
		}
		if !reflect.DeepEqual(idx, wantIdx) || !reflect.DeepEqual(ids, wantIDs) {
			t.Errorf("from %d: indices %v ids %v, want %v %v", from, idx, ids, wantIdx, wantIDs)
		}
	}

	// ReadVolumeKeys: the BackPak volume keys, in order, nothing else.
	for n, s := range m.Segments {
		var keys, wantKeys []catalog.VolumeKey
		for _, set := range sets[3*n : min(3*n+3, len(sets))] {
			for i := range set.Volumes {
				wantKeys = append(wantKeys, set.Volumes[i].Key())
			}
		}
		if err := ReadVolumeKeys(dir, s, func(k catalog.VolumeKey) { keys = append(keys, k) }); err != nil {
			t.Fatalf("volume keys of %s: %v", s.Name, err)
		}
		if !reflect.DeepEqual(keys, wantKeys) {
			t.Errorf("volume keys of %s:\n got %v\nwant %v", s.Name, keys, wantKeys)
		}
	}
}

func TestSegmentFileLayout(t *testing.T) {
	dir := t.TempDir()
	sets := fxSets(0, 3)
	m, _ := writeSets(t, dir, sets, 5)
	b, err := os.ReadFile(filepath.Join(dir, m.Segments[0].Name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(b, []byte("\n")) {
		t.Error("segment does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 1+len(sets) || lines[0] != fmt.Sprintf("CATSYNC-SEGMENT %d", SchemaVersion) {
		t.Fatalf("segment of %d lines, header %q", len(lines), lines[0])
	}
	for i, line := range lines[1:] {
		var v VolumeSet
		if err := json.Unmarshal([]byte(line), &v); err != nil || v.ID != sets[i].ID {
			t.Errorf("line %d: %v %q", i+2, err, v.ID)
		}
	}
}

func TestWriterEmptySnapshot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not", "yet", "there")
	m, digest, err := NewWriter(dir, fxManifest(), 0).Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Segments) != 0 || m.Counts["sets"] != 0 || m.Schema != SchemaVersion {
		t.Errorf("empty snapshot manifest %+v", m)
	}
	got, _, err := ReadManifest(dir, digest)
	if err != nil || len(got.Segments) != 0 || got.ID != m.ID {
		t.Errorf("read empty manifest: %+v, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != ManifestFile {
		t.Errorf("directory of an empty snapshot holds %v", entries)
	}
}

func TestWriterSetsPerSegmentBelowOne(t *testing.T) {
	dir := t.TempDir()
	w := NewWriter(dir, fxManifest(), 0)
	for i, s := range fxSets(0, 2) {
		if done, err := w.Add(s); err != nil || !done {
			t.Fatalf("add %d with setsPerSegment 0: %v, %v (want a segment per set)", i, done, err)
		}
	}
	m, _, err := w.Close()
	if err != nil || len(m.Segments) != 2 {
		t.Errorf("%+v, %v", m.Segments, err)
	}
}

func TestWriterLeavesNoTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	m, _ := writeSets(t, dir, fxSets(0, 7), 2)
	noTempFiles(t, dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{ManifestFile}
	for _, s := range m.Segments {
		want = append(want, s.Name)
	}
	if !reflect.DeepEqual(names, want) { // ReadDir sorts; "m" < "s"
		t.Errorf("directory holds %v, want %v", names, want)
	}

	// Rewriting the same snapshot (a re-export) replaces files in place.
	m2, d2 := writeSets(t, dir, fxSets(0, 7), 2)
	noTempFiles(t, dir)
	if _, _, err := ReadManifest(dir, d2); err != nil || !reflect.DeepEqual(m2.Segments, m.Segments) {
		t.Errorf("rewritten snapshot: %v", err)
	}
}

func TestWriterUnwritableDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := NewWriter(filepath.Join(file, "snap"), fxManifest(), 1)
	if _, err := w.Add(fxSet(0)); err == nil || !strings.Contains(err.Error(), SegmentName(1)) {
		t.Errorf("add into a directory under a file: %v", err)
	}
	if _, _, err := w.Close(); err == nil {
		t.Error("close into a directory under a file succeeded")
	}
}

func TestDoneAndResumeCopyState(t *testing.T) {
	dir := t.TempDir()
	w := NewWriter(dir, fxManifest(), 1)
	w.Add(fxSet(0))
	done, counts := w.Done()
	done[0].Name = "changed"
	counts["sets"] = 99
	if d, c := w.Done(); d[0].Name != SegmentName(1) || c["sets"] != 1 {
		t.Errorf("Done shares its result with the writer: %v %v", d, c)
	}
	done, counts = w.Done()
	w2 := NewWriter(dir, fxManifest(), 1)
	if err := w2.Resume(done, counts); err != nil {
		t.Fatal(err)
	}
	done[0].Name = "changed"
	counts["sets"] = 99
	m, _, err := w2.Close()
	if err != nil || m.Segments[0].Name != SegmentName(1) || m.Counts["sets"] != 1 {
		t.Errorf("Resume shares its arguments with the writer: %+v, %v", m, err)
	}
}

func TestResumeAfterThreeSegments(t *testing.T) {
	dir := t.TempDir()
	sets := fxSets(0, 11)
	w := NewWriter(dir, fxManifest(), 2)
	for i, s := range sets[:6] {
		if done, err := w.Add(s); err != nil || done != (i%2 == 1) {
			t.Fatalf("add %d: %v, %v", i, done, err)
		}
	}
	done, counts := w.Done()
	if len(done) != 3 || !reflect.DeepEqual(counts, countSets(sets[:6])) {
		t.Fatalf("done %+v counts %v", done, counts)
	}
	// The first writer crashes here; a new one resumes.
	w2 := NewWriter(dir, fxManifest(), 2)
	if err := w2.Resume(done, counts); err != nil {
		t.Fatal(err)
	}
	for _, s := range sets[6:] {
		if _, err := w2.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	m, digest, err := w2.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Segments) != 6 {
		t.Fatalf("%d segments, want 6: %+v", len(m.Segments), m.Segments)
	}
	if !reflect.DeepEqual(m.Segments[:3], done) {
		t.Errorf("resumed segments changed:\n got %+v\nwant %+v", m.Segments[:3], done)
	}
	for n, s := range m.Segments {
		if s.Name != SegmentName(n+1) {
			t.Errorf("segment %d named %s", n, s.Name)
		}
	}
	if !reflect.DeepEqual(m.Counts, countSets(sets)) {
		t.Errorf("counts %v, want %v", m.Counts, countSets(sets))
	}
	got, _, err := ReadManifest(dir, digest)
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("read manifest: %v", err)
	}
	read := readAll(t, dir, got)
	if !reflect.DeepEqual(read, sets) {
		t.Errorf("sets after a resume differ from those written")
	}
	noTempFiles(t, dir)
}

func TestResumeRefusesDamagedSegments(t *testing.T) {
	for name, damage := range map[string]func(path string) error{
		"missing":   os.Remove,
		"truncated": func(p string) error { return truncateBy(p, 1) },
		"flipped": func(p string) error {
			return flipByte(p, 40)
		},
		"appended": func(p string) error {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteString("{\"id\":\"EXTRA\"}\n")
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			w := NewWriter(dir, fxManifest(), 2)
			for _, s := range fxSets(0, 6) {
				w.Add(s)
			}
			done, counts := w.Done()
			if err := damage(filepath.Join(dir, done[1].Name)); err != nil {
				t.Fatal(err)
			}
			err := NewWriter(dir, fxManifest(), 2).Resume(done, counts)
			asCorrupt(t, name, err, done[1].Name)
		})
	}
}

// Done's counts must be those of the complete segments it returns: a
// cursor recorded from it is resumed with exactly those counts.
func TestDoneCountsOnlyCompleteSegments(t *testing.T) {
	dir := t.TempDir()
	sets := fxSets(0, 3)
	w := NewWriter(dir, fxManifest(), 2)
	for _, s := range sets {
		if _, err := w.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	done, counts := w.Done()
	if len(done) != 1 || done[0].Sets != 2 {
		t.Fatalf("done %+v", done)
	}
	if want := countSets(sets[:2]); !reflect.DeepEqual(counts, want) {
		t.Errorf("Done with a pending set: counts %v, want those of the complete segment %v", counts, want)
	}
	w2 := NewWriter(dir, fxManifest(), 2)
	if err := w2.Resume(done, counts); err != nil {
		t.Fatal(err)
	}
	w2.Add(sets[2])
	m, _, err := w2.Close()
	if err != nil {
		t.Fatal(err)
	}
	if m.Counts["sets"] != 3 {
		t.Errorf("resumed snapshot of 3 sets counts %d", m.Counts["sets"])
	}
}

func TestAddRefusesOversizedSet(t *testing.T) {
	dir := t.TempDir()
	w := NewWriter(dir, fxManifest(), 2)
	if _, err := w.Add(fxSet(0)); err != nil {
		t.Fatal(err)
	}
	// A set whose encoding is one byte over the limit.
	big := &VolumeSet{ID: "P00102", TapeFiles: []catalog.TapeFile{{}}}
	base, _ := json.Marshal(big)
	pad := strings.Repeat("x", MaxSetBytes-len(base)+1)
	big.TapeFiles[0].Comment = pad
	if _, err := w.Add(big); err == nil || !strings.Contains(err.Error(), big.ID) {
		t.Fatalf("set of MaxSetBytes+1 accepted or not named: %v", err)
	}
	// The refused set left no trace (Done counts complete segments only).
	done, counts := w.Done()
	if len(done) != 0 || len(counts) != 0 {
		t.Errorf("after a refused set: %v %v", done, counts)
	}
	if _, err := w.Add(fxSet(2)); err != nil {
		t.Fatal(err)
	}
	m, _, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	read := readAll(t, dir, m)
	if len(read) != 2 || read[0].ID != fxSet(0).ID || read[1].ID != fxSet(2).ID || m.Counts["sets"] != 2 {
		t.Errorf("sets %d, counts %v", len(read), m.Counts)
	}

	// Exactly MaxSetBytes is accepted (the segment is never flushed: the
	// reader's side of the boundary is TestDecodeMaxSetBytesBoundary).
	big.TapeFiles[0].Comment = pad[:len(pad)-1]
	if _, err := NewWriter(t.TempDir(), fxManifest(), 1000).Add(big); err != nil {
		t.Errorf("set of exactly MaxSetBytes refused: %v", err)
	}
}

// Decode accepts a record of exactly MaxSetBytes, as Add does, and refuses
// one byte more. from=1 skips decoding the big record's JSON, which keeps
// the test fast; the line length is checked all the same.
func TestDecodeMaxSetBytesBoundary(t *testing.T) {
	record := func(size int) io.Reader {
		// {"id":"xxx…"} is 9 bytes plus the x's.
		return io.MultiReader(strings.NewReader(hdr+`{"id":"`),
			io.LimitReader(&endless{fill: 'x', cap: MaxSetBytes}, int64(size-9)),
			strings.NewReader(`"}`+"\n"+`{"id":"B"}`+"\n"))
	}
	ids, err := decodeSafely(t, record(MaxSetBytes), "seg-000001.jsonl", 1)
	if err != nil || !reflect.DeepEqual(ids, []string{"B"}) {
		t.Errorf("record of exactly MaxSetBytes: %v, %v", ids, err)
	}
	_, err = decodeSafely(t, record(MaxSetBytes+1), "seg-000001.jsonl", 1)
	if ce := asCorrupt(t, "MaxSetBytes+1", err, "seg-000001.jsonl"); ce.Offset != int64(len(hdr)) {
		t.Errorf("offset %d, want %d", ce.Offset, len(hdr))
	}
}

func TestReadManifestWrongDigest(t *testing.T) {
	dir := t.TempDir()
	_, digest := writeSets(t, dir, fxSets(0, 2), 2)
	for _, want := range []string{strings.Repeat("0", 64), digest[:63] + "x", "short", strings.ToUpper(digest) + "0"} {
		_, got, err := ReadManifest(dir, want)
		asCorrupt(t, "digest "+want, err, ManifestFile)
		if got != digest {
			t.Errorf("digest returned with the error %s, want the actual %s", got, digest)
		}
	}
	// A manifest changed by one byte no longer matches its digest.
	path := filepath.Join(dir, ManifestFile)
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(b, []byte(`"to_seq": 4711`), []byte(`"to_seq": 4712`), 1), 0o644)
	_, _, err := ReadManifest(dir, digest)
	asCorrupt(t, "edited manifest", err, ManifestFile)
}

// writeManifest writes m as dir's manifest.json and returns its digest.
func writeManifest(t *testing.T, dir string, m any) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return sum(b)
}

func TestReadManifestSchemaVersion(t *testing.T) {
	for _, v := range []int{0, 2, 17, -1} {
		dir := t.TempDir()
		m := fxManifest()
		m.Schema = v
		digest := writeManifest(t, dir, m)
		for _, want := range []string{digest, ""} {
			_, _, err := ReadManifest(dir, want)
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("version %d", v)) {
				t.Errorf("schema %d: %v", v, err)
			}
		}
	}
}

func TestReadManifestRefusesBadSegmentNames(t *testing.T) {
	for _, name := range []string{"../x", "../seg-000001.jsonl", "seg-1/../../x", "sub/seg-000001.jsonl",
		"/etc/seg-000001.jsonl", "..", "", "x.jsonl", "manifest.json", "./seg-000001.jsonl"} {
		dir := t.TempDir()
		m := fxManifest()
		m.Schema = SchemaVersion
		m.Segments = []Segment{{Name: SegmentName(1), SHA256: strings.Repeat("a", 64), Bytes: 1, Sets: 1}, {Name: name, Sets: 1}}
		digest := writeManifest(t, dir, m)
		_, _, err := ReadManifest(dir, digest)
		asCorrupt(t, fmt.Sprintf("segment name %q", name), err, ManifestFile)
	}
}

func TestReadManifestMissingOrMalformed(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := ReadManifest(dir, ""); err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing manifest: %v", err)
	}
	for _, content := range []string{"", "{", "[]", `{"schema":"1"}`, "\x00\xff"} {
		os.WriteFile(filepath.Join(dir, ManifestFile), []byte(content), 0o644)
		_, _, err := ReadManifest(dir, sum([]byte(content)))
		asCorrupt(t, fmt.Sprintf("manifest %q", content), err, ManifestFile)
	}
}

func flipByte(path string, at int) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	b[min(at, len(b)-1)] ^= 0x01
	return os.WriteFile(path, b, 0o644)
}

func truncateBy(path string, n int64) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.Truncate(path, fi.Size()-n)
}

func TestVerifySegmentDetectsDamage(t *testing.T) {
	dir := t.TempDir()
	m, _ := writeSets(t, dir, fxSets(0, 4), 2)
	seg := m.Segments[1]
	path := filepath.Join(dir, seg.Name)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	restore := func() {
		if err := os.WriteFile(path, orig, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cases := map[string]func() error{
		"missing":         func() error { return os.Remove(path) },
		"flipped first":   func() error { return flipByte(path, 0) },
		"flipped middle":  func() error { return flipByte(path, len(orig)/2) },
		"flipped last":    func() error { return flipByte(path, len(orig)-1) },
		"truncated":       func() error { return truncateBy(path, 1) },
		"truncated half":  func() error { return truncateBy(path, int64(len(orig)/2)) },
		"emptied":         func() error { return os.WriteFile(path, nil, 0o644) },
		"extended":        func() error { return os.WriteFile(path, append(slicesClone(orig), '\n'), 0o644) },
		"replaced by dir": func() error { os.Remove(path); return os.Mkdir(path, 0o755) },
	}
	for name, damage := range cases {
		if err := damage(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		err := VerifySegment(dir, seg)
		asCorrupt(t, name, err, seg.Name)
		if name == "missing" && !strings.Contains(err.Error(), "missing") {
			t.Errorf("missing: %v", err)
		}
		os.RemoveAll(path)
		restore()
		if err := VerifySegment(dir, seg); err != nil {
			t.Fatalf("after restoring from %s: %v", name, err)
		}
	}
	// Same content, wrong record: size or digest alone differ.
	bad := seg
	bad.Bytes++
	asCorrupt(t, "wrong size", VerifySegment(dir, bad), seg.Name)
	bad = seg
	bad.SHA256 = m.Segments[0].SHA256
	asCorrupt(t, "wrong digest", VerifySegment(dir, bad), seg.Name)
}

func slicesClone(b []byte) []byte { return append([]byte(nil), b...) }

const hdr = "CATSYNC-SEGMENT 1\n"

// decodeSafely runs Decode, turning a panic into a test failure.
func decodeSafely(t *testing.T, r io.Reader, name string, from int) (ids []string, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("Decode panicked: %v", p)
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	err = Decode(r, name, from, func(_ int, s *VolumeSet) error {
		ids = append(ids, s.ID)
		return nil
	})
	return ids, err
}

func TestDecodeHostileInputOffsets(t *testing.T) {
	good := `{"id":"P00100","volumes":[{"Label":"P00100","LabelType":"LABELED"}]}` + "\n"
	good2 := `{"id":"P00102"}` + "\n"
	after1 := int64(len(hdr + good))
	after2 := int64(len(hdr + good + good2))
	cases := []struct {
		name   string
		in     string
		offset int64    // of the bad record
		ids    []string // delivered before the error
	}{
		{"empty", "", 0, nil},
		{"only newline", "\n", 0, nil},
		{"wrong magic", "CATSYNC-SNAPSHOT 1\n" + good, 0, nil},
		{"other schema version", "CATSYNC-SEGMENT 2\n" + good, 0, nil},
		{"schema version 10", "CATSYNC-SEGMENT 10\n" + good, 0, nil},
		{"header with CRLF", "CATSYNC-SEGMENT 1\r\n" + good, 0, nil},
		{"header with trailing space", "CATSYNC-SEGMENT 1 \n" + good, 0, nil},
		{"header without newline", "CATSYNC-SEGMENT 1", 0, nil},
		{"long header line", strings.Repeat("CATSYNC-SEGMENT 1", 1000) + "\n", 0, nil},
		{"binary", "\x00\x01\x02\xff\xfe", 0, nil},
		{"json first", good + good2, 0, nil},
		{"truncated first record", hdr + `{"id":"P00`, int64(len(hdr)), nil},
		{"truncated last record", hdr + good + `{"id":"P00102"}`, after1, []string{"P00100"}},
		{"truncated third record", hdr + good + good2 + `{"id"`, after2, []string{"P00100", "P00102"}},
		{"invalid json", hdr + good + "{not json\n", after1, []string{"P00100"}},
		{"invalid json third", hdr + good + good2 + "}{\n" + good, after2, []string{"P00100", "P00102"}},
		{"unknown field", hdr + good + `{"id":"P00102","surprise":1}` + "\n", after1, []string{"P00100"}},
		{"unknown nested field", hdr + good + `{"id":"P00102","volumes":[{"Label":"A","Colour":"red"}]}` + "\n", after1, []string{"P00100"}},
		{"no id", hdr + good + `{"volumes":[]}` + "\n", after1, []string{"P00100"}},
		{"empty id", hdr + good + `{"id":""}` + "\n", after1, []string{"P00100"}},
		{"null", hdr + good + "null\n", after1, []string{"P00100"}},
		{"array", hdr + good + "[1,2]\n", after1, []string{"P00100"}},
		{"string", hdr + good + `"P00102"` + "\n", after1, []string{"P00100"}},
		{"id of wrong type", hdr + good + `{"id":102}` + "\n", after1, []string{"P00100"}},
		{"bad time", hdr + good + `{"id":"A","tapefiles":[{"Created":"yesterday"}]}` + "\n", after1, []string{"P00100"}},
		{"huge number", hdr + good + `{"id":"A","tapevolumes":[{"VolIndex":1e400}]}` + "\n", after1, []string{"P00100"}},
		{"blank line", hdr + good + "\n" + good2, after1, []string{"P00100"}},
		{"nul bytes", hdr + good + "\x00\x00\x00\n", after1, []string{"P00100"}},
		{"invalid utf-8 outside strings", hdr + good + "\xff{\"id\":\"A\"}\n", after1, []string{"P00100"}},
		{"deep nesting", hdr + good + `{"id":"A","volumes":` + strings.Repeat("[", 100000) + "\n", after1, []string{"P00100"}},
		{"second header", hdr + good + hdr, after1, []string{"P00100"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ids, err := decodeSafely(t, strings.NewReader(c.in), "seg-000042.jsonl", 0)
			ce := asCorrupt(t, c.name, err, "seg-000042.jsonl")
			if ce.Offset != c.offset {
				t.Errorf("offset %d, want %d (%v)", ce.Offset, c.offset, err)
			}
			if ce.Reason == "" || !strings.Contains(err.Error(), "seg-000042.jsonl") {
				t.Errorf("error %q", err)
			}
			if !reflect.DeepEqual(ids, c.ids) {
				t.Errorf("delivered %v before the error, want %v", ids, c.ids)
			}
		})
	}
}

// A record with valid JSON followed by more text on its line is malformed:
// the line is not one volume set.
func TestDecodeRefusesTrailingDataOnALine(t *testing.T) {
	for _, line := range []string{`{"id":"A"}{"id":"B"}`, `{"id":"A"} garbage`, `{"id":"A"}]`} {
		_, err := decodeSafely(t, strings.NewReader(hdr+line+"\n"), "seg-000001.jsonl", 0)
		var ce *CorruptError
		if !errors.As(err, &ce) || ce.Offset != int64(len(hdr)) {
			t.Errorf("line %q: %v", line, err)
		}
	}
}

func TestDecodeOffsetInAWrittenSegment(t *testing.T) {
	dir := t.TempDir()
	m, _ := writeSets(t, dir, fxSets(0, 5), 5)
	seg := m.Segments[0]
	b, err := os.ReadFile(filepath.Join(dir, seg.Name))
	if err != nil {
		t.Fatal(err)
	}
	// The start of each line; damage the k-th record (k from 0).
	var starts []int
	for i := range b {
		if i == 0 || b[i-1] == '\n' {
			starts = append(starts, i)
		}
	}
	for k := 0; k < 5; k++ {
		bad := slicesClone(b)
		bad[starts[1+k]] = 'X' // '{' becomes 'X'
		ids, err := decodeSafely(t, bytes.NewReader(bad), seg.Name, 0)
		ce := asCorrupt(t, fmt.Sprintf("record %d", k), err, seg.Name)
		if ce.Offset != int64(starts[1+k]) {
			t.Errorf("record %d: offset %d, want %d", k, ce.Offset, starts[1+k])
		}
		if len(ids) != k {
			t.Errorf("record %d: %d sets delivered before the error", k, len(ids))
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("offset %d", starts[1+k])) {
			t.Errorf("message %q does not give the offset", err)
		}
		// ReadVolumeKeys reports the same offset.
		os.WriteFile(filepath.Join(dir, "seg-bad.jsonl"), bad, 0o644)
		err = ReadVolumeKeys(dir, Segment{Name: "seg-bad.jsonl"}, func(catalog.VolumeKey) {})
		if ce := asCorrupt(t, fmt.Sprintf("volume keys, record %d", k), err, "seg-bad.jsonl"); ce.Offset != int64(starts[1+k]) {
			t.Errorf("volume keys, record %d: offset %d, want %d", k, ce.Offset, starts[1+k])
		}
	}
	// Truncating the file in the middle of the last record.
	cut := b[:len(b)-5]
	_, err = decodeSafely(t, bytes.NewReader(cut), seg.Name, 0)
	if ce := asCorrupt(t, "truncated", err, seg.Name); ce.Offset != int64(starts[5]) {
		t.Errorf("truncated: offset %d, want %d", ce.Offset, starts[5])
	}
	// Skipped records are still checked for truncation.
	_, err = decodeSafely(t, bytes.NewReader(cut), seg.Name, 3)
	asCorrupt(t, "truncated, from 3", err, seg.Name)
}

func TestDecodeFromAndCallbackErrors(t *testing.T) {
	in := hdr + `{"id":"A"}` + "\n" + `{"id":"B"}` + "\n" + `{"id":"C"}` + "\n"
	for from, want := range map[int][]string{-1: {"A", "B", "C"}, 0: {"A", "B", "C"}, 1: {"B", "C"}, 2: {"C"}, 3: nil, 100: nil} {
		ids, err := decodeSafely(t, strings.NewReader(in), "s", from)
		if err != nil || !reflect.DeepEqual(ids, want) {
			t.Errorf("from %d: %v %v, want %v", from, ids, err, want)
		}
	}
	stop := errors.New("stop")
	var seen []int
	err := Decode(strings.NewReader(in), "s", 0, func(i int, s *VolumeSet) error {
		seen = append(seen, i)
		if s.ID == "B" {
			return stop
		}
		return nil
	})
	// The callback's error comes back saying where the set is.
	var se *SetError
	if !errors.Is(err, stop) || !errors.As(err, &se) || se.File != "s" || se.Set != "B" || se.Offset != int64(len(hdr)+len(`{"id":"A"}`)+1) ||
		!reflect.DeepEqual(seen, []int{0, 1}) {
		t.Errorf("callback error: %v after %v", err, seen)
	}
	// A header alone is an empty segment.
	if ids, err := decodeSafely(t, strings.NewReader(hdr), "s", 0); err != nil || ids != nil {
		t.Errorf("header only: %v %v", ids, err)
	}
}

// failingReader fails after delivering its data.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestDecodeReadError(t *testing.T) {
	boom := errors.New("i/o error on the staging disk")
	_, err := decodeSafely(t, &failingReader{strings.NewReader(hdr + `{"id":"A"}` + "\n" + `{"id"`), boom}, "s", 0)
	if err == nil || !strings.Contains(err.Error(), boom.Error()) {
		t.Errorf("read error lost: %v", err)
	}
}

// endless produces a prefix then the same byte forever, counting what it
// delivers; it fails past a hard cap so a bug cannot hang the test.
type endless struct {
	prefix []byte
	fill   byte
	n, cap int64
}

func (e *endless) Read(p []byte) (int, error) {
	if e.n >= e.cap {
		return 0, errors.New("read past the cap: the record is being read whole")
	}
	p = p[:min(int64(len(p)), e.cap-e.n)]
	k := 0
	for ; k < len(p) && e.n+int64(k) < int64(len(e.prefix)); k++ {
		p[k] = e.prefix[e.n+int64(k)]
	}
	for i := k; i < len(p); i++ {
		p[i] = e.fill
	}
	e.n += int64(len(p))
	return len(p), nil
}

func TestDecodeOversizedRecordIsNotReadWhole(t *testing.T) {
	prefix := hdr + `{"id":"A"}` + "\n" + `{"id":"`
	r := &endless{prefix: []byte(prefix), fill: 'x', cap: 4 * MaxSetBytes}
	ids, err := decodeSafely(t, r, "seg-000009.jsonl", 0)
	ce := asCorrupt(t, "endless record", err, "seg-000009.jsonl")
	if want := int64(len(hdr + `{"id":"A"}` + "\n")); ce.Offset != want {
		t.Errorf("offset %d, want %d", ce.Offset, want)
	}
	if !reflect.DeepEqual(ids, []string{"A"}) {
		t.Errorf("delivered %v", ids)
	}
	if strings.Contains(err.Error(), "cap") {
		t.Errorf("read until the cap: %v", err)
	}
	// Read at most the limit plus what one buffer fill brings.
	if limit := int64(len(prefix)) + MaxSetBytes + 2<<16; r.n > limit {
		t.Errorf("read %d bytes of an oversized record, want at most %d", r.n, limit)
	}

	// An endless header line is refused after its first buffer.
	r = &endless{fill: 'C', cap: 4 * MaxSetBytes}
	_, err = decodeSafely(t, r, "seg-000010.jsonl", 0)
	asCorrupt(t, "endless header", err, "seg-000010.jsonl")
	if r.n > 2<<16 {
		t.Errorf("read %d bytes of an endless header", r.n)
	}
}

func TestReadVolumeKeysAndReadSegmentErrors(t *testing.T) {
	dir := t.TempDir()
	missing := Segment{Name: SegmentName(7)}
	err := ReadVolumeKeys(dir, missing, func(catalog.VolumeKey) {})
	asCorrupt(t, "volume keys of a missing segment", err, missing.Name)
	err = ReadSegment(dir, missing, 0, func(int, *VolumeSet) error { return nil })
	asCorrupt(t, "a missing segment", err, missing.Name)

	for name, content := range map[string]string{
		"empty":     "",
		"truncated": hdr + `{"id":"A","volumes":[{"Label":"A"}]}` + "\n" + `{"id":"B","volumes":[{"Label":"B"`,
		"bad json":  hdr + `{"id":"A"}` + "\n" + "{oops\n",
		"bad type":  hdr + `{"id":"A","volumes":{"Label":"B"}}` + "\n",
		"long head": strings.Repeat("H", 100) + "\n",
	} {
		seg := Segment{Name: SegmentName(8)}
		os.WriteFile(filepath.Join(dir, seg.Name), []byte(content), 0o644)
		var keys []catalog.VolumeKey
		err := ReadVolumeKeys(dir, seg, func(k catalog.VolumeKey) { keys = append(keys, k) })
		asCorrupt(t, "volume keys, "+name, err, seg.Name)
	}
}

// ReadVolumeKeys reads segments Decode refuses: it checks only that there is
// a first line, not that it is a segment header of this schema version.
func TestReadVolumeKeysChecksHeader(t *testing.T) {
	dir := t.TempDir()
	for _, header := range []string{"CATSYNC-SEGMENT 2", "garbage", `{"id":"A","volumes":[{"Label":"A"}]}`} {
		seg := Segment{Name: SegmentName(1)}
		os.WriteFile(filepath.Join(dir, seg.Name), []byte(header+"\n"+`{"id":"B","volumes":[{"Label":"B"}]}`+"\n"), 0o644)
		err := ReadVolumeKeys(dir, seg, func(catalog.VolumeKey) {})
		var ce *CorruptError
		if !errors.As(err, &ce) {
			t.Errorf("header %q: %v", header, err)
		}
	}
}

func TestCorruptErrorMessage(t *testing.T) {
	if got := (&CorruptError{File: "seg-000001.jsonl", Offset: 18, Reason: "volume set without id"}).Error(); got != "snapshot file seg-000001.jsonl at offset 18: volume set without id" {
		t.Errorf("%q", got)
	}
	if got := (&CorruptError{File: ManifestFile, Reason: "bad"}).Error(); got != "snapshot file manifest.json: bad" {
		t.Errorf("%q", got)
	}
}

// A staged segment edited after it was written is refused by the key
// readers once read, even when every line still decodes.
func TestKeyReadersCheckTheDigest(t *testing.T) {
	sets := fxSets(0, 4)
	sets[0].Keys = []Key{{Label: sets[0].Volumes[0].Label, LabelType: catalog.Labeled, Name: "KEYAAAA", Fingerprint: "kcv:00"}}
	dir, seg := stageSegment(t, sets)
	if err := ReadKeys(dir, seg, func(string, *Key) error { return nil }); err != nil {
		t.Fatalf("intact segment: %v", err)
	}
	path := filepath.Join(dir, seg.Name)
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(b, []byte("KEYAAAA"), []byte("KEYBBBB"), 1), 0o644)
	var ce *CorruptError
	err := ReadKeys(dir, seg, func(string, *Key) error { return nil })
	if !errors.As(err, &ce) || ce.File != seg.Name || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("ReadKeys of an edited segment: %v", err)
	}
	err = ReadVolumeKeys(dir, seg, func(catalog.VolumeKey) {})
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("ReadVolumeKeys of an edited segment: %v", err)
	}
}
