package snapshot

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/catsync/catsync/internal/catalog"
)

// File names inside a snapshot directory.
const (
	ManifestFile = "manifest.json"
	segmentMagic = "CATSYNC-SEGMENT"
)

// MaxSetBytes bounds one encoded volume set; a longer line is refused as
// malformed rather than read into memory.
const MaxSetBytes = 64 << 20

// SegmentName is the file name of the n-th segment, from 1.
func SegmentName(n int) string { return fmt.Sprintf("seg-%06d.jsonl", n) }

// writeAtomic writes a file through a temporary name and a rename, so a
// reader never sees half of it.
func writeAtomic(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Writer writes a snapshot directory: segments of at most setsPerSegment
// volume sets, then the manifest. A writer can resume after a crash from
// the segments already complete (see Resume).
type Writer struct {
	dir            string
	m              Manifest
	setsPerSegment int
	pending        [][]byte // encoded sets of the segment being filled
	pendingCounts  Counts   // and what they hold, counted once written
}

// NewWriter starts a snapshot in dir (created if needed) for manifest m,
// whose Segments and Counts it fills.
func NewWriter(dir string, m Manifest, setsPerSegment int) *Writer {
	m.Schema = SchemaVersion
	counts := Counts{}
	for k, v := range m.Counts {
		counts[k] = v
	}
	m.Counts = counts
	return &Writer{dir: dir, m: m, setsPerSegment: max(setsPerSegment, 1), pendingCounts: Counts{}}
}

// Resume continues a snapshot after its first n segments were written: they
// are checked against their recorded digests and counts. It returns the
// writer state as it was after those segments.
func (w *Writer) Resume(done []Segment, counts Counts) error {
	for _, s := range done {
		if err := VerifySegment(w.dir, s); err != nil {
			return err
		}
	}
	w.m.Segments = slices.Clone(done)
	w.m.Counts = Counts{}
	for k, v := range counts {
		w.m.Counts[k] = v
	}
	return nil
}

// Add appends a volume set. It reports whether a segment was completed, so
// the caller can record a cursor.
func (w *Writer) Add(s *VolumeSet) (bool, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return false, err
	}
	if len(b) > MaxSetBytes {
		return false, fmt.Errorf("volume set %s encodes to %d bytes, over the %d limit", s.ID, len(b), MaxSetBytes)
	}
	w.pending = append(w.pending, b)
	w.pendingCounts.Add(s)
	if len(w.pending) < w.setsPerSegment {
		return false, nil
	}
	return true, w.flush()
}

// Done returns the segments complete so far and the counts they hold.
func (w *Writer) Done() ([]Segment, Counts) {
	c := Counts{}
	for k, v := range w.m.Counts {
		c[k] = v
	}
	return slices.Clone(w.m.Segments), c
}

func (w *Writer) flush() error {
	if len(w.pending) == 0 {
		return nil
	}
	seg := Segment{Name: SegmentName(len(w.m.Segments) + 1), Sets: len(w.pending)}
	h := sha256.New()
	err := writeAtomic(filepath.Join(w.dir, seg.Name), func(out io.Writer) error {
		cw := &countingWriter{w: io.MultiWriter(out, h)}
		fmt.Fprintf(cw, "%s %d\n", segmentMagic, SchemaVersion)
		for _, b := range w.pending {
			cw.Write(b)
			cw.Write([]byte{'\n'})
		}
		seg.Bytes = cw.n
		return cw.err
	})
	if err != nil {
		return fmt.Errorf("write segment %s: %w", seg.Name, err)
	}
	seg.SHA256 = hex.EncodeToString(h.Sum(nil))
	w.m.Segments = append(w.m.Segments, seg)
	w.pending = w.pending[:0]
	for k, v := range w.pendingCounts {
		w.m.Counts[k] += v
	}
	w.pendingCounts = Counts{}
	return nil
}

type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(b []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.err = err
	return n, err
}

// Close writes the last segment and the manifest, and returns the manifest
// and its digest.
func (w *Writer) Close() (Manifest, string, error) {
	if err := w.flush(); err != nil {
		return Manifest{}, "", err
	}
	b, err := json.MarshalIndent(w.m, "", "  ")
	if err != nil {
		return Manifest{}, "", err
	}
	b = append(b, '\n')
	if err := writeAtomic(filepath.Join(w.dir, ManifestFile), func(out io.Writer) error {
		_, err := out.Write(b)
		return err
	}); err != nil {
		return Manifest{}, "", fmt.Errorf("write manifest: %w", err)
	}
	return w.m, sum(b), nil
}

// ReadManifest reads dir's manifest and checks its digest (unless want is
// empty) and schema version.
func ReadManifest(dir, want string) (Manifest, string, error) {
	m, _, got, err := readManifest(dir, want)
	return m, got, err
}

// readManifest also returns the bytes it checked, so that a copy writes
// exactly those.
func readManifest(dir, want string) (Manifest, []byte, string, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return Manifest{}, nil, "", fmt.Errorf("read manifest: %w", err)
	}
	m, got, err := parseManifest(b, want)
	return m, b, got, err
}

func parseManifest(b []byte, want string) (Manifest, string, error) {
	var m Manifest
	got := sum(b)
	if want != "" && got != want {
		return m, got, &CorruptError{File: ManifestFile, Reason: fmt.Sprintf("digest %s, want %s", got[:12], short(want))}
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, got, &CorruptError{File: ManifestFile, Reason: err.Error()}
	}
	if m.Schema != SchemaVersion {
		return m, got, fmt.Errorf("snapshot %s has schema version %d; this catsync reads version %d", m.ID, m.Schema, SchemaVersion)
	}
	for _, s := range m.Segments {
		if s.Name != filepath.Base(s.Name) || !strings.HasPrefix(s.Name, "seg-") {
			return m, got, &CorruptError{File: ManifestFile, Reason: fmt.Sprintf("segment name %q", s.Name)}
		}
	}
	return m, got, nil
}

func short(s string) string { return s[:min(len(s), 12)] }

// CorruptError reports a snapshot file that is missing, damaged or
// malformed; Offset is the byte offset of the bad record, when known.
type CorruptError struct {
	File   string
	Offset int64
	Reason string
}

func (e *CorruptError) Error() string {
	if e.Offset > 0 {
		return fmt.Sprintf("snapshot file %s at offset %d: %s", e.File, e.Offset, e.Reason)
	}
	return fmt.Sprintf("snapshot file %s: %s", e.File, e.Reason)
}

// SetError is an error raised while handling one volume set of a segment
// (an invalid record, a failed write): it says where the set is.
type SetError struct {
	File   string
	Offset int64
	Set    string
	Err    error
}

func (e *SetError) Error() string {
	msg := e.Err.Error()
	if !strings.Contains(msg, "volume set "+e.Set) {
		msg = "volume set " + e.Set + ": " + msg
	}
	return fmt.Sprintf("snapshot file %s at offset %d: %s", e.File, e.Offset, msg)
}

func (e *SetError) Unwrap() error { return e.Err }

// VerifySegment checks that a segment file exists with its recorded size and
// SHA-256.
func VerifySegment(dir string, s Segment) error {
	f, err := os.Open(filepath.Join(dir, s.Name))
	if err != nil {
		return &CorruptError{File: s.Name, Reason: "missing: " + err.Error()}
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return &CorruptError{File: s.Name, Reason: err.Error()}
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != s.Bytes || got != s.SHA256 {
		return &CorruptError{File: s.Name, Reason: fmt.Sprintf("%d bytes with SHA-256 %s, want %d bytes with %s", n, short(got), s.Bytes, short(s.SHA256))}
	}
	return nil
}

// Decode streams the volume sets of one segment, calling fn with each set
// and its index in the segment (from 0), starting at index from. It never
// panics on bad input: a malformed, truncated or oversized record is a
// *CorruptError naming the segment and the offset.
func Decode(r io.Reader, name string, from int, fn func(i int, s *VolumeSet) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	var off int64
	header, err := readHeader(br, name)
	if err != nil {
		return err
	}
	off += int64(len(header)) + 1
	for i := 0; ; i++ {
		line, err := readLine(br, MaxSetBytes)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &CorruptError{File: name, Offset: off, Reason: err.Error()}
		}
		start := off
		off += int64(len(line)) + 1
		if i < from {
			continue
		}
		var s VolumeSet
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return &CorruptError{File: name, Offset: start, Reason: "volume set: " + err.Error()}
		}
		if _, err := dec.Token(); err != io.EOF {
			return &CorruptError{File: name, Offset: start, Reason: "volume set: data after the record"}
		}
		if s.ID == "" {
			return &CorruptError{File: name, Offset: start, Reason: "volume set without id"}
		}
		if err := fn(i, &s); err != nil {
			return &SetError{File: name, Offset: start, Set: s.ID, Err: err}
		}
	}
}

func readHeader(br *bufio.Reader, name string) ([]byte, error) {
	header, err := readLine(br, 64)
	if err != nil || string(header) != fmt.Sprintf("%s %d", segmentMagic, SchemaVersion) {
		return nil, &CorruptError{File: name, Reason: fmt.Sprintf("not a version %d segment", SchemaVersion)}
	}
	return header, nil
}

var errLineTooLong = errors.New("record longer than the limit")

// readLine reads one newline-terminated line of at most max bytes. A last
// line without its newline is reported as truncated.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > max+1 {
			return nil, errLineTooLong
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && len(line) == 0:
			return nil, io.EOF
		case err == io.EOF:
			return nil, errors.New("truncated record (no end of line)")
		default:
			return nil, err
		}
	}
}

// ReadVolumeKeys streams the keys of the BackPak volumes a segment holds,
// decoding nothing else of the sets: a FULL import needs them to find what
// the primary no longer has.
func ReadVolumeKeys(dir string, s Segment, fn func(catalog.VolumeKey)) error {
	return scanSets(dir, s, func(_ int64, line []byte) error {
		var keys struct {
			Volumes []catalog.VolumeKey `json:"volumes"`
		}
		if err := json.Unmarshal(line, &keys); err != nil {
			return errors.New("volume set: " + err.Error())
		}
		for _, k := range keys.Volumes {
			fn(k)
		}
		return nil
	})
}

// scanSets calls fn with each encoded set of a segment and its offset. An
// error from fn that is not already a snapshot error is reported as
// corruption at that offset. When the segment's SHA-256 is known the file
// is checked against it in the same pass: a reader that only collects
// needs no separate verification read.
func scanSets(dir string, s Segment, fn func(off int64, line []byte) error) error {
	f, err := os.Open(filepath.Join(dir, s.Name))
	if err != nil {
		return &CorruptError{File: s.Name, Reason: "missing: " + err.Error()}
	}
	defer f.Close()
	h := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(f, h), 1<<16)
	header, err := readHeader(br, s.Name)
	if err != nil {
		return err
	}
	off := int64(len(header)) + 1
	for {
		line, err := readLine(br, MaxSetBytes)
		if err == io.EOF {
			break
		}
		if err == nil {
			err = fn(off, line)
		}
		var se *SetError
		if err != nil && !errors.As(err, &se) {
			return &CorruptError{File: s.Name, Offset: off, Reason: err.Error()}
		}
		if err != nil {
			return err
		}
		off += int64(len(line)) + 1
	}
	if got := hex.EncodeToString(h.Sum(nil)); s.SHA256 != "" && (off != s.Bytes || got != s.SHA256) {
		return &CorruptError{File: s.Name, Reason: fmt.Sprintf("%d bytes with SHA-256 %s, want %d bytes with %s", off, short(got), s.Bytes, short(s.SHA256))}
	}
	return nil
}

// ReadSegment opens and decodes one segment of a snapshot directory.
func ReadSegment(dir string, s Segment, from int, fn func(i int, set *VolumeSet) error) error {
	f, err := os.Open(filepath.Join(dir, s.Name))
	if err != nil {
		return &CorruptError{File: s.Name, Reason: "missing: " + err.Error()}
	}
	defer f.Close()
	return Decode(f, s.Name, from, fn)
}
