package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/catalog"
)

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
	if SegmentName(1) != "seg-000001.bin" || SegmentName(123456) != "seg-123456.bin" {
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
	// The header line, then each set: its length and its encoding.
	header := fmt.Sprintf("CATSYNC-SEGMENT %d\n", SchemaVersion)
	if !bytes.HasPrefix(b, []byte(header)) {
		t.Fatalf("segment starts %q, want %q", b[:min(len(b), 20)], header)
	}
	rest := b[len(header):]
	for i, set := range sets {
		n, k := binary.Uvarint(rest)
		if k <= 0 || uint64(len(rest)-k) < n {
			t.Fatalf("set %d: length %d (%d bytes) with %d bytes left", i, n, k, len(rest))
		}
		want, err := appendSet(nil, set)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rest[k:k+int(n)], want) {
			t.Errorf("set %d is not its encoding", i)
		}
		rest = rest[k+int(n):]
	}
	if len(rest) != 0 {
		t.Errorf("%d bytes after the last set", len(rest))
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
	base, _ := appendSet(nil, big)
	// The comment's length grows from one byte to four as a varint.
	pad := strings.Repeat("x", MaxSetBytes-len(base)+1-3)
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
