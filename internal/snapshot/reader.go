package snapshot

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/catsync/catsync/internal/catalog"
)

// VerifySegment checks that a segment file exists with its recorded size and
// SHA-256.
func VerifySegment(dir string, s Segment) error {
	f, err := openSegment(dir, s)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return &CorruptError{File: s.Name, Dir: dir, Reason: err.Error()}
	}
	return inDir(dir, s.check("", n, h))
}

// openSegment opens a segment file of dir. One that does not exist is
// missing, a *CorruptError; one that cannot be opened for another reason
// (its permissions, an I/O error) is an error a retry may overcome.
func openSegment(dir string, s Segment) (*os.File, error) {
	f, err := os.Open(filepath.Join(dir, s.Name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &CorruptError{File: s.Name, Dir: dir, Reason: "missing", Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("segment %s: %w", s.Name, err)
	}
	return f, nil
}

// check is nil when n bytes with SHA-256 h are the file s records, and
// otherwise a *CorruptError whose reason starts with prefix.
func (s Segment) check(prefix string, n int64, h hash.Hash) error {
	if got := hex.EncodeToString(h.Sum(nil)); n != s.Bytes || got != s.SHA256 {
		return &CorruptError{File: s.Name, Reason: fmt.Sprintf("%s%d bytes with SHA-256 %s, want %d bytes with %s",
			prefix, n, short(got), s.Bytes, short(s.SHA256))}
	}
	return nil
}

// Decode streams the volume sets of one segment, calling fn with each set
// and its index in the segment (from 0), starting at index from. It never
// panics on bad input: a malformed, truncated or oversized record is a
// *CorruptError naming the segment and the offset.
func Decode(r io.Reader, name string, from int, fn func(i int, s *VolumeSet) error) error {
	return decode(r, name, from, func(at SetAt, s *VolumeSet) error {
		if err := fn(at.Index, s); err != nil {
			return at.Err(s.ID, err)
		}
		return nil
	})
}

// SetAt is where a volume set is in its segment: its index and the offset
// of its line.
type SetAt struct {
	File   string
	Index  int
	Offset int64
}

// Err is err raised while handling set id, saying where the set is.
func (at SetAt) Err(id string, err error) error {
	return &SetError{File: at.File, Offset: at.Offset, Set: id, Err: err}
}

// decode is Decode giving each set's place; fn's errors are returned as
// they are.
func decode(r io.Reader, name string, from int, fn func(at SetAt, s *VolumeSet) error) error {
	recs, err := openRecords(bufio.NewReaderSize(r, 1<<16), name)
	if err != nil {
		return err
	}
	for i := 0; ; i++ {
		b, start, err := recs.next(i < from)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &CorruptError{File: name, Offset: start, Reason: err.Error()}
		}
		if i < from {
			continue
		}
		var s VolumeSet
		if err := recs.decode(b, &s); err != nil {
			return &CorruptError{File: name, Offset: start, Reason: "volume set: " + err.Error()}
		}
		if s.ID == "" {
			return &CorruptError{File: name, Offset: start, Reason: "volume set without id"}
		}
		if err := fn(SetAt{File: name, Index: i, Offset: start}, &s); err != nil {
			return err
		}
	}
}

// records reads the encoded sets of a segment, after its header, as the
// header's schema version frames and encodes them: version 1 a line of
// JSON each, version 2 its length (an unsigned varint) and its binary
// encoding.
type records struct {
	br      *bufio.Reader
	version int
	off     int64 // of the next record
	buf     bytes.Buffer
	bin     decoder
}

// openRecords reads a segment's header.
func openRecords(br *bufio.Reader, name string) (*records, error) {
	header, err := readLine(br, 64)
	v, ok := segmentVersion(header)
	if err != nil || !ok {
		return nil, &CorruptError{File: name, Reason: "not a segment of a schema version this catsync reads (" + readVersions() + ")"}
	}
	return &records{br: br, version: v, off: int64(len(header)) + 1}, nil
}

// segmentVersion is the schema version a segment header names, when this
// catsync reads it.
func segmentVersion(header []byte) (int, bool) {
	for v := MinSchemaVersion; v <= SchemaVersion; v++ {
		if string(header) == fmt.Sprintf("%s %d", segmentMagic, v) {
			return v, true
		}
	}
	return 0, false
}

// next returns the next encoded set and its offset, io.EOF after the last;
// another error is why the record at that offset cannot be read. A record
// to skip is read past without being kept, when its framing allows.
func (r *records) next(skip bool) ([]byte, int64, error) {
	start := r.off
	if r.version == 1 {
		line, err := readLine(r.br, MaxSetBytes)
		if err == nil {
			r.off += int64(len(line)) + 1
		}
		return line, start, err
	}
	n, err := binary.ReadUvarint(r.br)
	switch {
	case err == io.EOF:
		return nil, start, io.EOF
	case err == io.ErrUnexpectedEOF:
		return nil, start, errors.New("truncated record length")
	case err != nil:
		return nil, start, fmt.Errorf("record length: %w", err)
	case n > MaxSetBytes:
		return nil, start, fmt.Errorf("record of %d bytes, over the %d limit", n, MaxSetBytes)
	}
	r.off += int64(uvarintLen(n))
	if skip {
		d, err := r.br.Discard(int(n))
		r.off += int64(d)
		return nil, start, truncated(err, n, d)
	}
	// The buffer grows with what is read, not to the length claimed: a
	// hostile length costs no memory the file does not back.
	r.buf.Reset()
	d, err := io.CopyN(&r.buf, r.br, int64(n))
	r.off += d
	return r.buf.Bytes(), start, truncated(err, n, int(d))
}

// truncated is err, the error of reading a record of n bytes of which d
// were read, saying so when the segment ended first.
func truncated(err error, n uint64, d int) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("truncated record: %d of its %d bytes", d, n)
	}
	return err
}

func uvarintLen(n uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], n)
}

// decode decodes a whole set by the rules of the segment's version.
func (r *records) decode(b []byte, s *VolumeSet) error {
	if r.version == 1 {
		return decodeSet(b, s)
	}
	return r.bin.set(b, s, -1)
}

// setHead is what the readers that do not build whole sets take from one:
// its id, its key records and its volumes' keys.
type setHead struct {
	ID      string              `json:"id"`
	Keys    []Key               `json:"keys"`
	Volumes []catalog.VolumeKey `json:"volumes"`
}

// head decodes the first members of a set alone, by the rules of the
// segment's version: the rest of a version 1 line is skipped unread, the
// rest of a version 2 record after the volumes. The segment's digest,
// checked in the same pass, stands for the rest.
func (r *records) head(b []byte) (setHead, error) {
	var h setHead
	if r.version == 1 {
		err := jsonv2.Unmarshal(b, &h)
		return h, err
	}
	var s VolumeSet
	if err := r.bin.set(b, &s, headFields); err != nil {
		return h, err
	}
	h.ID, h.Keys = s.ID, s.Keys
	for _, v := range s.Volumes {
		h.Volumes = append(h.Volumes, v.Key())
	}
	return h, nil
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
// decoding little else of the sets: a FULL import needs them to find what
// the primary no longer has.
func ReadVolumeKeys(dir string, s Segment, fn func(catalog.VolumeKey)) error {
	return scanSets(dir, s, func(_ int64, h setHead) error {
		for _, k := range h.Volumes {
			fn(k)
		}
		return nil
	})
}

// scanSets calls fn with the head of each set of a segment and its offset.
// A set that does not decode, or an error from fn that is not already a
// snapshot error, is reported as corruption at that offset. When the
// segment's SHA-256 is known the file is checked against it in the same
// pass: a reader that only collects needs no separate verification read.
func scanSets(dir string, s Segment, fn func(off int64, h setHead) error) (err error) {
	defer func() { err = inDir(dir, err) }()
	f, err := openSegment(dir, s)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	recs, err := openRecords(bufio.NewReaderSize(io.TeeReader(f, h), 1<<16), s.Name)
	if err != nil {
		return err
	}
	for {
		b, off, err := recs.next(false)
		if err == io.EOF {
			break
		}
		if err == nil {
			var head setHead
			if head, err = recs.head(b); err != nil {
				err = errors.New("volume set: " + err.Error())
			} else {
				err = fn(off, head)
			}
		}
		var se *SetError
		if err != nil && !errors.As(err, &se) {
			return &CorruptError{File: s.Name, Offset: off, Reason: err.Error()}
		}
		if err != nil {
			return err
		}
	}
	if s.SHA256 == "" {
		return nil
	}
	return s.check("", recs.off, h)
}

// ReadSegment opens and decodes one segment of a snapshot directory.
func ReadSegment(dir string, s Segment, from int, fn func(i int, set *VolumeSet) error) error {
	f, err := openSegment(dir, s)
	if err != nil {
		return err
	}
	defer f.Close()
	return inDir(dir, Decode(f, s.Name, from, fn))
}

// ReadSets decodes one segment of a snapshot directory from its set from
// on, whole, each set with its place for the errors of what is done with
// it later.
func ReadSets(dir string, s Segment, from int) ([]SetAt, []*VolumeSet, error) {
	f, err := openSegment(dir, s)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var at []SetAt
	var sets []*VolumeSet
	err = decode(f, s.Name, from, func(a SetAt, set *VolumeSet) error {
		at, sets = append(at, a), append(sets, set)
		return nil
	})
	return at, sets, inDir(dir, err)
}

// decodeSet decodes one set of a version 1 segment, a line of JSON,
// refusing unknown members, duplicate names, invalid UTF-8 and anything
// after the record. It decodes with the JSON v2 implementation, which
// reads the format encoding/json writes in less than half its time.
func decodeSet(line []byte, s *VolumeSet) error {
	return jsonv2.Unmarshal(line, s, jsonv2.RejectUnknownMembers(true))
}
