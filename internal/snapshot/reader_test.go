package snapshot

import (
	"bytes"
	"encoding/binary"
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

// hdr opens a segment of schema version 1, whose sets are lines of JSON:
// what a secondary staged before version 2 is still read.
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
		{"later schema version", fmt.Sprintf("CATSYNC-SEGMENT %d\n", SchemaVersion+1) + good, 0, nil},
		{"schema version 0", "CATSYNC-SEGMENT 0\n" + good, 0, nil},
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

// records2 is where each record of a version 2 segment starts, and where
// its encoding starts after its length.
func records2(t *testing.T, b []byte) (starts, bodies []int) {
	t.Helper()
	off := bytes.IndexByte(b, '\n') + 1
	for off < len(b) {
		n, k := binary.Uvarint(b[off:])
		if k <= 0 {
			t.Fatalf("no record length at %d", off)
		}
		starts, bodies = append(starts, off), append(bodies, off+k)
		off += k + int(n)
	}
	return starts, bodies
}

func TestDecodeOffsetInAWrittenSegment(t *testing.T) {
	dir := t.TempDir()
	m, _ := writeSets(t, dir, fxSets(0, 5), 5)
	seg := m.Segments[0]
	b, err := os.ReadFile(filepath.Join(dir, seg.Name))
	if err != nil {
		t.Fatal(err)
	}
	starts, bodies := records2(t, b)
	if len(starts) != 5 {
		t.Fatalf("%d records", len(starts))
	}
	// Damage the k-th record (k from 0): its id's length no longer ends.
	for k := 0; k < 5; k++ {
		bad := slices.Clone(b)
		copy(bad[bodies[k]:], bytes.Repeat([]byte{0xff}, 10))
		ids, err := decodeSafely(t, bytes.NewReader(bad), seg.Name, 0)
		ce := asCorrupt(t, fmt.Sprintf("record %d", k), err, seg.Name)
		if ce.Offset != int64(starts[k]) {
			t.Errorf("record %d: offset %d, want %d", k, ce.Offset, starts[k])
		}
		if len(ids) != k {
			t.Errorf("record %d: %d sets delivered before the error", k, len(ids))
		}
		for _, want := range []string{fmt.Sprintf("offset %d", starts[k]), "ID at byte 0 of the set"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message %q does not say %q", err, want)
			}
		}
		// ReadVolumeKeys reports the same offset.
		os.WriteFile(filepath.Join(dir, "seg-bad.bin"), bad, 0o644)
		err = ReadVolumeKeys(dir, Segment{Name: "seg-bad.bin"}, func(catalog.VolumeKey) {})
		if ce := asCorrupt(t, fmt.Sprintf("volume keys, record %d", k), err, "seg-bad.bin"); ce.Offset != int64(starts[k]) {
			t.Errorf("volume keys, record %d: offset %d, want %d", k, ce.Offset, starts[k])
		}
	}
	// Truncating the file in the middle of the last record.
	cut := b[:len(b)-5]
	_, err = decodeSafely(t, bytes.NewReader(cut), seg.Name, 0)
	if ce := asCorrupt(t, "truncated", err, seg.Name); ce.Offset != int64(starts[4]) || !strings.Contains(ce.Reason, "truncated record") {
		t.Errorf("truncated: offset %d, want %d (%v)", ce.Offset, starts[4], err)
	}
	// Skipped records are still checked for truncation.
	_, err = decodeSafely(t, bytes.NewReader(cut), seg.Name, 5)
	asCorrupt(t, "truncated, from 5", err, seg.Name)
}

// hdr2 opens a segment of schema version 2.
var hdr2 = fmt.Sprintf("CATSYNC-SEGMENT %d\n", SchemaVersion)

// frame is a version 2 record: the length of body, then body.
func frame(body ...[]byte) string {
	b := bytes.Join(body, nil)
	return string(binary.AppendUvarint(nil, uint64(len(b)))) + string(b)
}

// Pieces of hand-made binary sets, in the layout TestBinaryLayout pins.
func str(s string) []byte { return append(binary.AppendUvarint(nil, uint64(len(s))), s...) }
func uv(n uint64) []byte  { return binary.AppendUvarint(nil, n) }
func tm(sec int64, nsec uint64, offset int64) []byte {
	return binary.AppendVarint(binary.AppendUvarint(binary.AppendVarint(nil, sec), nsec), offset)
}

// volume is a Volume's encoding up to its first boolean: five empty
// strings and three times as given.
func volume(times ...[]byte) []byte {
	return slices.Concat(make([]byte, 5), times[0], times[1], times[2])
}

// TestDecodeBinaryHostileInput: every malformed version 2 record is a
// *CorruptError naming the segment and the offset of the record, whose
// reason names the field and where in the set it is; nothing panics, and
// the sets before it are delivered.
func TestDecodeBinaryHostileInput(t *testing.T) {
	good, err := appendSet(nil, &VolumeSet{ID: "P00100", Volumes: []catalog.Volume{{Label: "P00100", LabelType: catalog.Labeled}}})
	if err != nil {
		t.Fatal(err)
	}
	after1 := int64(len(hdr2 + frame(good)))
	epoch := tm(0, 0, 0)
	// A set with one volume whose first boolean (CheckTimestamp) is b, or
	// whose second time (PrevUnload) is x; the zeros after it make the
	// set long enough for one volume.
	pad := make([]byte, 64)
	withBool := func(b byte) []byte {
		return slices.Concat(str("A"), uv(0), uv(1), volume(epoch, epoch, epoch), []byte{b}, pad)
	}
	withTime := func(x []byte) []byte { return slices.Concat(str("A"), uv(0), uv(1), volume(epoch, x, epoch), pad) }
	for _, c := range []struct {
		name, in string
		offset   int64
		reason   string
	}{
		{"length past the end", hdr2 + frame(good) + string(uv(100)) + "abc", after1, "truncated record: 3 of its 100 bytes"},
		{"truncated length", hdr2 + frame(good) + "\x80", after1, "truncated record length"},
		{"length over the limit", hdr2 + frame(good) + string(uv(MaxSetBytes+1)), after1, "over the 67108864 limit"},
		{"length overflows", hdr2 + frame(good) + strings.Repeat("\xff", 11), after1, "record length"},
		{"empty record", hdr2 + frame(good) + frame(), after1, "ID at byte 0 of the set: truncated"},
		{"bytes after the set", hdr2 + frame(good) + frame(good, []byte{0}), after1, fmt.Sprintf("byte %d of the set: 1 bytes after the set", len(good))},
		{"string past the end", hdr2 + frame(good) + frame(uv(50), []byte("P001")), after1, "ID at byte 0 of the set: string of 50 bytes, more than the 4 left"},
		{"invalid UTF-8", hdr2 + frame(good) + frame(str("\xff\xfe")), after1, "ID at byte 0 of the set: invalid UTF-8"},
		{"no id", hdr2 + frame(good) + frame(make([]byte, 11)), after1, "volume set without id"},
		{"list longer than the set", hdr2 + frame(good) + frame(str("A"), uv(0), uv(1<<40)), after1, "Volumes at byte 3 of the set: list of 1099511627776 records"},
		{"boolean 2", hdr2 + frame(good) + frame(withBool(2)), after1, "Volumes[0].CheckTimestamp at byte 18 of the set: boolean 2, want 0 or 1"},
		{"nanoseconds", hdr2 + frame(good) + frame(withTime(tm(0, 1e9, 0))), after1, "Volumes[0].PrevUnload at byte 12 of the set: 1000000000 nanoseconds"},
		{"offset in seconds", hdr2 + frame(good) + frame(withTime(tm(0, 0, 37))), after1, "Volumes[0].PrevUnload at byte 12 of the set: UTC offset of 37 seconds"},
		{"offset of a day", hdr2 + frame(good) + frame(withTime(tm(0, 0, 86400))), after1, "UTC offset of 86400 seconds"},
		{"year 10000", hdr2 + frame(good) + frame(withTime(tm(253402300800, 0, 0))), after1, "want a year from 0 to 9999"},
		{"JSON under a version 2 header", hdr2 + `{"id":"A"}` + "\n", int64(len(hdr2)), "truncated record"},
		{"version 2 records under a version 1 header", hdr + frame(good), int64(len(hdr)), "truncated record"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ids, err := decodeSafely(t, strings.NewReader(c.in), "seg-000042.bin", 0)
			ce := asCorrupt(t, c.name, err, "seg-000042.bin")
			if ce.Offset != c.offset || !strings.Contains(ce.Reason, c.reason) {
				t.Errorf("offset %d, reason %q; want %d, %q", ce.Offset, ce.Reason, c.offset, c.reason)
			}
			if c.offset == after1 && !reflect.DeepEqual(ids, []string{"P00100"}) {
				t.Errorf("delivered %v before the error", ids)
			}
		})
	}
	// A record of exactly MaxSetBytes is framed right; skipped (from 1),
	// it is not read into memory.
	big := io.MultiReader(strings.NewReader(hdr2+string(uv(MaxSetBytes))), io.LimitReader(&endless{fill: 'x', cap: MaxSetBytes + 1}, MaxSetBytes),
		strings.NewReader(frame(good)))
	if ids, err := decodeSafely(t, big, "seg-000001.bin", 1); err != nil || !reflect.DeepEqual(ids, []string{"P00100"}) {
		t.Errorf("record of exactly MaxSetBytes: %v, %v", ids, err)
	}
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
			io.LimitReader(io.LimitReader(&endless{fill: 'x', cap: MaxSetBytes + 1}, MaxSetBytes), int64(size-9)),
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
	for _, header := range []string{fmt.Sprintf("CATSYNC-SEGMENT %d", SchemaVersion+1), "garbage", `{"id":"A","volumes":[{"Label":"A"}]}`} {
		seg := Segment{Name: SegmentName(1)}
		os.WriteFile(filepath.Join(dir, seg.Name), []byte(header+"\n"+`{"id":"B","volumes":[{"Label":"B"}]}`+"\n"), 0o644)
		err := ReadVolumeKeys(dir, seg, func(catalog.VolumeKey) {})
		var ce *CorruptError
		if !errors.As(err, &ce) {
			t.Errorf("header %q: %v", header, err)
		}
	}
}
