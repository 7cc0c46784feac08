package volimage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/catalog"
)

func testKey(seed byte) []byte {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = seed + byte(i)
	}
	return k
}

func header(label, keyName string, c catalog.Compression) Header {
	return Header{Label: label, LabelType: catalog.Labeled, MediaKeyName: keyName, Compression: c,
		Timestamp: time.Date(2025, 11, 12, 14, 31, 35, 123456789, time.FixedZone("", -5*3600))}
}

// sampleFiles builds n tape files of a BACKUP volume set, each with a few
// disk files of the given size.
func sampleFiles(n int, size int64) []TapeFile {
	var files []TapeFile
	for i := range n {
		f := TapeFile{
			FileID: "\\PRIM.BACKUP.PROD.DAILY.SET" + string(rune('A'+i)), FileSetID: "A00001",
			Section: 1, Sequence: i + 1, Generation: 40 + i, Version: i % 2,
			Created: time.Date(2025, 11, 12, 23, 59, 0, 0, time.FixedZone("", -5*3600)),
			Expires: time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC),
		}
		for j := range 3 {
			f.Disk = append(f.Disk, SyntheticEntry("\\PRIM.$DATA"+string(rune('0'+i))+".OPER.RECDS"+string(rune('0'+j)), size+int64(j)))
		}
		files = append(files, f)
	}
	return files
}

// asRead is what Files reports for f: the label's FileID and dates.
func asRead(f TapeFile) TapeFile {
	day := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	f.FileID = catalog.LabelFileID(f.FileID)
	f.Created, f.Expires = day(f.Created), day(f.Expires)
	return f
}

func readFiles(t *testing.T, dir, label string, key []byte) (*Image, []TapeFile, error) {
	t.Helper()
	im, err := Open(dir, label)
	if err != nil {
		return nil, nil, err
	}
	var got []TapeFile
	err = im.Files(key, func(f TapeFile) error { got = append(got, f); return nil })
	return im, got, err
}

func sameFiles(t *testing.T, got, want []TapeFile) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read %d tape files, wrote %d", len(got), len(want))
	}
	for i := range want {
		w := asRead(want[i])
		g := got[i]
		if !sameLabel(g, w) || len(g.Disk) != len(w.Disk) {
			t.Fatalf("tape file %d: read %+v, want %+v", i, g, w)
		}
		for j := range w.Disk {
			if g.Disk[j] != w.Disk[j] {
				t.Fatalf("tape file %d disk %d: read %+v, want %+v", i, j, g.Disk[j], w.Disk[j])
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	cases := []struct {
		name    string
		keyName string
		comp    catalog.Compression
		content bool
	}{
		{"plain zlib", "", catalog.CompressZlib, false},
		{"plain zlib content", "", catalog.CompressZlib, true},
		{"encrypted zlib content", "K_A00001_0001", catalog.CompressZlib, true},
		{"uncompressed", "", catalog.CompressNone, true},
		{"encrypted uncompressed", "K_A00001_0001", catalog.CompressNone, true},
		{"minilzo", "", catalog.CompressMiniLZO, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "DS_PROD")
			h := header("A00001", c.keyName, c.comp)
			var key []byte
			if c.keyName != "" {
				key = testKey(7)
			}
			files := sampleFiles(3, 5000)
			if err := WriteWith(dir, h, key, files, Options{BlockSize: 4096, Content: c.content}); err != nil {
				t.Fatal(err)
			}
			im, got, err := readFiles(t, dir, "A00001", key)
			if err != nil {
				t.Fatal(err)
			}
			if im.Header.Label != h.Label || im.Header.LabelType != h.LabelType || !im.Header.Timestamp.Equal(h.Timestamp) ||
				im.Header.MediaKeyName != h.MediaKeyName || im.Header.Compression != h.Compression {
				t.Fatalf("header %+v, want %+v", im.Header, h)
			}
			if _, off := im.Header.Timestamp.Zone(); off != -5*3600 {
				t.Fatalf("timestamp lost its offset: %v", im.Header.Timestamp)
			}
			sameFiles(t, got, files)
			if c.comp == catalog.CompressNone && im.StorageSize() < im.DataSize() {
				t.Fatalf("uncompressed image stores %d bytes of %d", im.StorageSize(), im.DataSize())
			}
			if c.content && c.comp == catalog.CompressZlib && im.StorageSize() >= im.DataSize() {
				t.Fatalf("compressed image stores %d bytes of %d", im.StorageSize(), im.DataSize())
			}
		})
	}
}

func TestEmptyVolume(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, header("A00002", "", catalog.CompressZlib), nil, nil); err != nil {
		t.Fatal(err)
	}
	im, got, err := readFiles(t, dir, "A00002", nil)
	if err != nil || len(got) != 0 || im.Blocks != 1 {
		t.Fatalf("empty volume: %v, %d files, %d blocks", err, len(got), im.Blocks)
	}
}

func TestLargeVolume(t *testing.T) {
	dir := t.TempDir()
	key := testKey(1)
	files := sampleFiles(2, 300_000) // about 1.8 MB of content
	if err := WriteWith(dir, header("B00001", "K1", catalog.CompressZlib), key, files, Options{BlockSize: MinBlockSize * 2, Content: true}); err != nil {
		t.Fatal(err)
	}
	im, got, err := readFiles(t, dir, "B00001", key)
	if err != nil {
		t.Fatal(err)
	}
	if im.Blocks < 1000 {
		t.Fatalf("%d blocks, want many", im.Blocks)
	}
	sameFiles(t, got, files)
}

func TestWriteRefuses(t *testing.T) {
	dir := t.TempDir()
	good := sampleFiles(1, 10)
	bad := func(mod func(*TapeFile)) []TapeFile {
		f := sampleFiles(1, 10)
		mod(&f[0])
		return f
	}
	cases := []struct {
		name  string
		h     Header
		key   []byte
		files []TapeFile
		o     Options
	}{
		{"bad label", header("a1", "", catalog.CompressNone), nil, good, Options{}},
		{"unlabeled", Header{Label: "A1", LabelType: catalog.Unlabeled, Compression: catalog.CompressNone}, nil, good, Options{}},
		{"no compression value", header("A1", "", ""), nil, good, Options{}},
		{"key without key name", header("A1", "", catalog.CompressNone), testKey(1), good, Options{}},
		{"key name without key", header("A1", "K", catalog.CompressNone), nil, good, Options{}},
		{"short key", header("A1", "K", catalog.CompressNone), testKey(1)[:16], good, Options{}},
		{"block size", header("A1", "", catalog.CompressNone), nil, good, Options{BlockSize: 100}},
		{"generation", header("A1", "", catalog.CompressNone), nil, bad(func(f *TapeFile) { f.Generation = 10000 }), Options{}},
		{"version", header("A1", "", catalog.CompressNone), nil, bad(func(f *TapeFile) { f.Version = 100 }), Options{}},
		{"year", header("A1", "", catalog.CompressNone), nil, bad(func(f *TapeFile) { f.Created = time.Date(1899, 1, 1, 0, 0, 0, 0, time.UTC) }), Options{}},
		{"digest", header("A1", "", catalog.CompressNone), nil, bad(func(f *TapeFile) { f.Disk[0].Digest = "ABC" }), Options{}},
		{"content digest", header("A1", "", catalog.CompressNone), nil, bad(func(f *TapeFile) { f.Disk[0].Digest = strings.Repeat("0", 64) }), Options{Content: true}},
	}
	for _, c := range cases {
		if err := WriteWith(dir, c.h, c.key, c.files, c.o); err == nil {
			t.Errorf("%s: written", c.name)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("refused writes left %d files", len(left))
	}
}

// wantFault checks err is an *Error with the given kind, file and block.
func wantFault(t *testing.T, err error, label, file string, block int, kind Kind) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *Error", err)
	}
	if e.Label != label || e.File != file || e.Block != block || e.Kind != kind {
		t.Fatalf("fault %+v, want label %s file %s block %d kind %s", *e, label, file, block, kind)
	}
	if !strings.Contains(e.Error(), string(kind)) || e.Reason == "" {
		t.Fatalf("message %q", e.Error())
	}
}

// fixture writes an image of label with small blocks and returns its dir.
func fixture(t *testing.T, label, keyName string, c catalog.Compression) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	var key []byte
	if keyName != "" {
		key = testKey(3)
	}
	if err := WriteWith(dir, header(label, keyName, c), key, sampleFiles(2, 3000), Options{BlockSize: 1024, Content: true}); err != nil {
		t.Fatal(err)
	}
	return dir, key
}

func table(t *testing.T, dir, label string) []entry {
	t.Helper()
	im, err := Open(dir, label)
	if err != nil {
		t.Fatal(err)
	}
	return im.table
}

func edit(t *testing.T, path string, fn func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fn(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

// reindex rewrites label's index with its table edited and a fresh checksum:
// a forger's work, which only the GCM tags can catch.
func reindex(t *testing.T, dir, label, newLabel string, fn func([]entry) []entry) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, IndexName(label)))
	if err != nil {
		t.Fatal(err)
	}
	im, ferr := parseIndex(label, raw)
	if ferr != nil {
		t.Fatal(ferr)
	}
	h := im.Header
	h.Label = newLabel
	b := &blocker{h: h, size: im.blockSize, table: fn(im.table), locs: im.locs}
	for _, e := range b.table {
		b.streamLen += uint64(e.plain)
	}
	// Tape files beyond a shortened stream go too: the index stays
	// consistent, as a forger would keep it.
	for len(b.locs) > 0 && b.locs[len(b.locs)-1].eofOff+2*labelItem+markItem > b.streamLen {
		b.locs = b.locs[:len(b.locs)-1]
	}
	if err := os.WriteFile(filepath.Join(dir, IndexName(newLabel)), b.index(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func files(t *testing.T, dir, label string, key []byte) error {
	t.Helper()
	_, _, err := readFiles(t, dir, label, key)
	return err
}

func TestFaults(t *testing.T) {
	const L = "C00001"
	ind := func(dir string) string { return filepath.Join(dir, IndexName(L)) }
	dat := func(dir string) string { return filepath.Join(dir, DataName(L)) }

	t.Run("missing index", func(t *testing.T) {
		_, err := Open(t.TempDir(), L)
		wantFault(t, err, L, FileIndex, -1, Missing)
	})
	t.Run("missing data", func(t *testing.T) {
		dir, _ := fixture(t, L, "", catalog.CompressZlib)
		os.Remove(dat(dir))
		_, err := Open(dir, L)
		wantFault(t, err, L, FileData, -1, Missing)
	})
	t.Run("flipped byte in a block", func(t *testing.T) {
		dir, key := fixture(t, L, "K", catalog.CompressZlib)
		tb := table(t, dir, L)
		edit(t, dat(dir), func(b []byte) []byte { b[tb[5].offset+20] ^= 1; return b })
		wantFault(t, files(t, dir, L, key), L, FileData, 5, Corrupt)
	})
	t.Run("truncated data", func(t *testing.T) {
		dir, _ := fixture(t, L, "", catalog.CompressZlib)
		tb := table(t, dir, L)
		edit(t, dat(dir), func(b []byte) []byte { return b[:tb[4].offset+3] })
		_, err := Open(dir, L)
		wantFault(t, err, L, FileData, 4, Truncated)
	})
	t.Run("truncated index", func(t *testing.T) {
		dir, _ := fixture(t, L, "", catalog.CompressZlib)
		edit(t, ind(dir), func(b []byte) []byte { return b[:len(b)-100] })
		_, err := Open(dir, L)
		wantFault(t, err, L, FileIndex, -1, Truncated)
	})
	t.Run("damaged index", func(t *testing.T) {
		dir, _ := fixture(t, L, "", catalog.CompressZlib)
		edit(t, ind(dir), func(b []byte) []byte { b[len(indexMagic)+3] ^= 0x20; return b })
		_, err := Open(dir, L)
		wantFault(t, err, L, FileIndex, -1, Corrupt)
	})
	t.Run("wrong key", func(t *testing.T) {
		dir, _ := fixture(t, L, "K", catalog.CompressZlib)
		wantFault(t, files(t, dir, L, testKey(99)), L, FileData, 0, Decrypt)
	})
	t.Run("missing key", func(t *testing.T) {
		dir, _ := fixture(t, L, "K", catalog.CompressZlib)
		wantFault(t, files(t, dir, L, nil), L, FileData, -1, Decrypt)
	})
	t.Run("key for a plain volume", func(t *testing.T) {
		dir, _ := fixture(t, L, "", catalog.CompressZlib)
		wantFault(t, files(t, dir, L, testKey(3)), L, FileData, -1, Mismatch)
	})
	swap := func(b []byte, tb []entry, i, j int) []byte {
		a := append([]byte(nil), b[tb[i].offset:tb[i].offset+uint64(tb[i].stored)]...)
		copy(b[tb[i].offset:], b[tb[j].offset:tb[j].offset+uint64(tb[j].stored)])
		copy(b[tb[j].offset:], a)
		return b
	}
	t.Run("two blocks swapped", func(t *testing.T) {
		dir, key := fixture(t, L, "K", catalog.CompressNone) // equal sizes
		tb := table(t, dir, L)
		edit(t, dat(dir), func(b []byte) []byte { return swap(b, tb, 2, 6) })
		wantFault(t, files(t, dir, L, key), L, FileData, 2, Corrupt)
	})
	t.Run("two blocks swapped with their index entries", func(t *testing.T) {
		dir, key := fixture(t, L, "K", catalog.CompressNone)
		tb := table(t, dir, L)
		edit(t, dat(dir), func(b []byte) []byte { return swap(b, tb, 2, 6) })
		reindex(t, dir, L, L, func(tb []entry) []entry {
			tb[2].sum, tb[6].sum = tb[6].sum, tb[2].sum
			return tb
		})
		wantFault(t, files(t, dir, L, key), L, FileData, 2, Decrypt)
	})
	t.Run("last blocks dropped", func(t *testing.T) {
		dir, key := fixture(t, L, "K", catalog.CompressNone)
		tb := table(t, dir, L)
		n := len(tb) - 2
		edit(t, dat(dir), func(b []byte) []byte { return b[:tb[n].offset] })
		reindex(t, dir, L, L, func(tb []entry) []entry { return tb[:n] })
		wantFault(t, files(t, dir, L, key), L, FileData, n-1, Decrypt)
	})
	t.Run("copied under another label", func(t *testing.T) {
		dir, _ := fixture(t, L, "K", catalog.CompressZlib)
		os.Rename(ind(dir), filepath.Join(dir, IndexName("C00002")))
		os.Rename(dat(dir), filepath.Join(dir, DataName("C00002")))
		_, err := Open(dir, "C00002")
		wantFault(t, err, "C00002", FileIndex, -1, Mismatch)
	})
	t.Run("copied under another label with a forged index", func(t *testing.T) {
		dir, key := fixture(t, L, "K", catalog.CompressZlib)
		reindex(t, dir, L, "C00002", func(tb []entry) []entry { return tb })
		os.Rename(dat(dir), filepath.Join(dir, DataName("C00002")))
		wantFault(t, files(t, dir, "C00002", key), "C00002", FileData, 0, Decrypt)
	})
	t.Run("data beyond the table", func(t *testing.T) {
		dir, _ := fixture(t, L, "", catalog.CompressZlib)
		edit(t, dat(dir), func(b []byte) []byte { return append(b, 0) })
		_, err := Open(dir, L)
		wantFault(t, err, L, FileData, -1, Corrupt)
	})
}

// plainStream returns the tape stream of a fresh uncompressed plain image.
func plainStream(t *testing.T, label string, files []TapeFile, content bool) []byte {
	t.Helper()
	dir := t.TempDir()
	if err := WriteWith(dir, header(label, "", catalog.CompressNone), nil, files, Options{Content: content}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, DataName(label)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeStream writes stream as a sound image of label: what a writer with
// a bug in its labels would leave.
func writeStream(t *testing.T, label string, stream []byte) string {
	t.Helper()
	dir := t.TempDir()
	h := header(label, "", catalog.CompressNone)
	var out bytes.Buffer
	b, _ := newBlocker(h, nil, 1024)
	b.out = &out
	b.Write(stream)
	b.close()
	os.WriteFile(filepath.Join(dir, DataName(label)), out.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, IndexName(label)), b.index(), 0o644)
	return dir
}

func TestMalformedStreams(t *testing.T) {
	const L = "D00001"
	files := sampleFiles(2, 700)
	// Each edit returns the stream and the offset at which the reader must
	// find the fault; the fault's block is the one holding that offset.
	at := func(s []byte, marker string) int {
		i := bytes.Index(s, []byte(marker))
		if i < 0 {
			panic(marker + " not in stream")
		}
		return i
	}
	cases := []struct {
		name string
		edit func([]byte) ([]byte, int)
		kind Kind
	}{
		{"EOF1 block count", func(s []byte) ([]byte, int) {
			i := at(s, "EOF1")
			copy(s[i+54:], "000002") // positions 55-60
			return s, i - 4
		}, Malformed},
		{"EOF1 differs from HDR1", func(s []byte) ([]byte, int) {
			i := at(s, "EOF1")
			s[i+35] = '9' // generation number, position 36
			return s, i - 4
		}, Malformed},
		{"VOL1 names another volume", func(s []byte) ([]byte, int) {
			i := at(s, "VOL1D00001")
			s[i+9] = '9'
			return s, i
		}, Mismatch},
		{"directory header", func(s []byte) ([]byte, int) {
			i := at(s, "DIRECTORY 3 C")
			s[i+12] = 'X'
			return s, i + 13
		}, Malformed},
		{"content differs from its digest", func(s []byte) ([]byte, int) {
			i := at(s, " C\n") + 3
			i += at(s[i:], "RECDS2\n") + 7 // the directory's end: content follows
			s[i+10] ^= 1
			return s, i + 700 // the end of the first content, 700 bytes
		}, Mismatch},
		{"missing end of medium", func(s []byte) ([]byte, int) { return s[:len(s)-4], len(s) - 5 }, Malformed},
		{"no tape mark after HDR2", func(s []byte) ([]byte, int) {
			i := at(s, "HDR2") + labelSize + 4
			return append(s[:i:i], s[i+4:]...), i
		}, Malformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, off := c.edit(plainStream(t, L, files, true))
			dir := writeStream(t, L, s)
			_, _, err := readFiles(t, dir, L, nil)
			wantFault(t, err, L, FileData, off/1024, c.kind)
		})
	}
}

// The label records below are written out by hand from the positions of
// ANSI X3.27 / ECMA-13.
func TestLabelLayout(t *testing.T) {
	f := TapeFile{
		FileID:    "ABCDEFGHIJKLMNOPQRSTUVWXYZ", // rightmost 17: JKLMNOPQRSTUVWXYZ
		FileSetID: "T00045", Section: 1, Sequence: 3, Generation: 12, Version: 0,
		Created: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC),  // day 061 of a leap year
		Expires: time.Date(2031, 12, 31, 0, 0, 0, 0, time.UTC), // day 365
	}
	hdr1 := "HDR1" + // 1-4 label identifier and number
		"JKLMNOPQRSTUVWXYZ" + // 5-21 file identifier
		"T00045" + // 22-27 file set identifier
		"0001" + // 28-31 file section number
		"0003" + // 32-35 file sequence number
		"0012" + // 36-39 generation number
		"00" + // 40-41 generation version number
		"024061" + // 42-47 creation date cYYDDD, c=0 for 20xx
		"031365" + // 48-53 expiration date
		" " + // 54 accessibility
		"000000" + // 55-60 block count, zeros in HDR1
		"CATSYNC      " + // 61-73 implementation identifier
		"       " // 74-80 reserved
	eof1 := "EOF1" + hdr1[4:54] + "000042" + hdr1[60:]
	vol1 := "VOL1" + // 1-4
		"A00001" + // 5-10 volume identifier
		" " + // 11 accessibility
		strings.Repeat(" ", 13) + // 12-24 reserved
		"CATSYNC      " + // 25-37 implementation identifier
		strings.Repeat(" ", 14) + // 38-51 owner identifier
		strings.Repeat(" ", 28) + // 52-79 reserved
		"3" // 80 label standard version
	hdr2 := "HDR2" + // 1-4
		"U" + // 5 record format
		"32768" + // 6-10 block length
		"32768" + // 11-15 record length
		strings.Repeat(" ", 35) + // 16-50 reserved for the system
		"00" + // 51-52 buffer offset length
		strings.Repeat(" ", 28) // 53-80 reserved
	for _, s := range []string{hdr1, eof1, vol1, hdr2} {
		if len(s) != labelSize {
			t.Fatalf("literal of %d characters: %q", len(s), s)
		}
	}
	got, err := fileLabel("HDR1", f, 0)
	if err != nil || string(got) != hdr1 {
		t.Fatalf("HDR1\n got %q\nwant %q (%v)", got, hdr1, err)
	}
	if got, _ := fileLabel("EOF1", f, 42); string(got) != eof1 {
		t.Fatalf("EOF1\n got %q\nwant %q", got, eof1)
	}
	if got := vol1Record(t, "A00001"); got != vol1 {
		t.Fatalf("VOL1\n got %q\nwant %q", got, vol1)
	}
	if got := string(fileLabel2("HDR2")); got != hdr2 {
		t.Fatalf("HDR2\n got %q\nwant %q", got, hdr2)
	}

	back, err := parseFileLabel("EOF1", []byte(eof1))
	if err != nil {
		t.Fatal(err)
	}
	want := asRead(f)
	if !sameLabel(back.TapeFile, want) || back.Blocks != 42 {
		t.Fatalf("parsed %+v, want %+v and 42 blocks", back, want)
	}
	if n, err := parseHDR2(hdr2); err != nil || n != 32768 {
		t.Fatalf("HDR2 block length %d, %v", n, err)
	}
	if _, err := parseFileLabel("HDR1", []byte(hdr1[:41]+"0A4061"+hdr1[47:])); err == nil {
		t.Fatal("non-numeric date parsed")
	}
	if _, err := parseFileLabel("HDR1", []byte(hdr1[:30]+"X"+hdr1[31:])); err == nil {
		t.Fatal("non-numeric section parsed")
	}
}

func vol1Record(t *testing.T, label string) string { t.Helper(); return string(vol1(label)) }

func TestLabelDates(t *testing.T) {
	cases := []struct {
		t time.Time
		s string
	}{
		{time.Time{}, " 00000"},
		{time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC), " 99365"},
		{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), "000001"},
		{time.Date(2000, 12, 31, 0, 0, 0, 0, time.UTC), "000366"},
		{time.Date(2100, 2, 28, 0, 0, 0, 0, time.UTC), "100059"},
	}
	for _, c := range cases {
		s, err := labelDate(c.t)
		if err != nil || s != c.s {
			t.Errorf("%v: %q %v, want %q", c.t, s, err, c.s)
		}
		back, err := parseLabelDate(c.s)
		if err != nil || !back.Equal(c.t) {
			t.Errorf("%q: %v %v, want %v", c.s, back, err, c.t)
		}
	}
	for _, bad := range []string{"025366", "025000", "A25001", " 2500X", "00001"} {
		if _, err := parseLabelDate(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestSynthetic(t *testing.T) {
	e := SyntheticEntry("\\PRIM.$DATA.OPER.RECDS", 10000)
	if e.Size != 10000 || !validDigest(e.Digest) {
		t.Fatalf("%+v", e)
	}
	if e != SyntheticEntry("\\PRIM.$DATA.OPER.RECDS", 10000) || e.Digest == SyntheticEntry("\\PRIM.$DATA.OPER.RECDS", 10001).Digest {
		t.Fatal("synthetic content is not a function of name and size")
	}
}

// fixIndex recomputes the checksums of a hostile index so the fuzzer
// reaches the block and label parsers.
func fixIndex(ind, dat []byte) []byte {
	if len(ind) < sha256.Size {
		return ind
	}
	c := &cursor{b: ind}
	c.take(len(indexMagic))
	for range 5 {
		c.str()
	}
	c.take(4 + 8)
	n := c.u32()
	tableEnd := int64(c.p) + int64(n)*entrySize
	if !c.short && int64(len(ind)) >= tableEnd+4+sha256.Size &&
		int64(len(ind)) == tableEnd+4+int64(binary.BigEndian.Uint32(ind[tableEnd:]))*locSize+sha256.Size {
		for i := range int(n) {
			e := ind[c.p+i*entrySize:]
			off, size := binary.BigEndian.Uint64(e), binary.BigEndian.Uint32(e[8:])
			if off <= uint64(len(dat)) && uint64(size) <= uint64(len(dat))-off {
				sum := sha256.Sum256(dat[off : off+uint64(size)])
				copy(e[17:], sum[:])
			}
		}
	}
	sum := sha256.Sum256(ind[:len(ind)-sha256.Size])
	copy(ind[len(ind)-sha256.Size:], sum[:])
	return ind
}
