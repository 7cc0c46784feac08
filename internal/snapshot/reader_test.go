package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
)

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
		"extended":        func() error { return os.WriteFile(path, append(slices.Clone(orig), '\n'), 0o644) },
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
		bad := slices.Clone(b)
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

// ReadVolumeKeys refuses the segments Decode refuses for their header: the
// first line must be the segment header of this schema version.
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
