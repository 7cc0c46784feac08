package snapshot

import (
	"bufio"
	"crypto/sha256"
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
		if err := decodeSet(line, &s); err != nil {
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
		if err := jsonv2.Unmarshal(line, &keys); err != nil {
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
func scanSets(dir string, s Segment, fn func(off int64, line []byte) error) (err error) {
	defer func() { err = inDir(dir, err) }()
	f, err := openSegment(dir, s)
	if err != nil {
		return err
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
	if s.SHA256 == "" {
		return nil
	}
	return s.check("", off, h)
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

// decodeSet decodes one encoded set, refusing unknown members, duplicate
// names, invalid UTF-8 and anything after the record. It decodes with the
// JSON v2 implementation, which reads the format encoding/json writes in
// less than half its time: decoding was a fifth of a FULL.
func decodeSet(line []byte, s *VolumeSet) error {
	return jsonv2.Unmarshal(line, s, jsonv2.RejectUnknownMembers(true))
}
