package snapshot

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

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
	keys           *Keyring // signs the manifest, when set (SignWith)
}

// SignWith makes Close sign the manifest with the keyring's signing key,
// and fail without one.
func (w *Writer) SignWith(k *Keyring) { w.keys = k }

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
	b, err := appendSet(nil, s)
	if err != nil {
		return false, fmt.Errorf("volume set %s: %w", s.ID, err)
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
		var n [binary.MaxVarintLen64]byte
		for _, b := range w.pending {
			cw.Write(n[:binary.PutUvarint(n[:], uint64(len(b)))])
			cw.Write(b)
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

// Close writes the last segment, the manifest's signature (SignWith) and
// the manifest, last, and returns the manifest and its digest.
func (w *Writer) Close() (Manifest, string, error) {
	if err := w.flush(); err != nil {
		return Manifest{}, "", err
	}
	b, err := json.MarshalIndent(w.m, "", "  ")
	if err != nil {
		return Manifest{}, "", err
	}
	b = append(b, '\n')
	if w.keys != nil {
		sig, err := w.keys.sign(b)
		if err != nil {
			return Manifest{}, "", err
		}
		if err := writeAtomic(filepath.Join(w.dir, SignatureFile), func(out io.Writer) error {
			_, err := out.Write(sig)
			return err
		}); err != nil {
			return Manifest{}, "", fmt.Errorf("write manifest signature: %w", err)
		}
	}
	if err := writeAtomic(filepath.Join(w.dir, ManifestFile), func(out io.Writer) error {
		_, err := out.Write(b)
		return err
	}); err != nil {
		return Manifest{}, "", fmt.Errorf("write manifest: %w", err)
	}
	return w.m, sum(b), nil
}

// countingWriter counts what it writes and keeps the first error, so a
// segment is written without checking each write.
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
