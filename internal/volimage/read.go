package volimage

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/catsync/catsync/internal/catalog"
)

// maxIndexSize refuses absurd index files before reading them whole: it is
// the table of a volume of about 10 TiB in default blocks.
const maxIndexSize = 1 << 30

// Image is an opened volume image whose index has been checked.
type Image struct {
	Header Header
	Blocks int // number of blocks

	fsys      fs.FS
	blockSize int
	streamLen int64
	datSize   int64
	table     []entry
}

// DataSize is the number of bytes of the tape stream (before blocking).
func (im *Image) DataSize() int64 { return im.streamLen }

// StorageSize is the size of the data file: the blocks as stored.
func (im *Image) StorageSize() int64 { return im.datSize }

// Open reads and checks the index of label's image in dir: its checksum,
// its block table against the data file's size, and its label against the
// file name's.
func Open(dir, label string) (*Image, error) { return open(os.DirFS(dir), label) }

func open(fsys fs.FS, label string) (*Image, error) {
	indErr := func(kind Kind, block int, format string, args ...any) *Error {
		return fault(label, FileIndex, block, kind, format, args...)
	}
	if !catalog.ValidLabel(label) {
		return nil, indErr(Malformed, -1, "%q is not a volume label", label)
	}
	f, err := fsys.Open(IndexName(label))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, indErr(Missing, -1, "no index file")
		}
		return nil, indErr(Missing, -1, "%v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, indErr(Missing, -1, "%v", err)
	}
	if st.Size() > maxIndexSize {
		return nil, indErr(Malformed, -1, "index has %d bytes, more than any volume needs", st.Size())
	}
	raw, err := io.ReadAll(io.LimitReader(f, maxIndexSize+1))
	if err != nil {
		return nil, indErr(Truncated, -1, "%v", err)
	}
	im, ferr := parseIndex(label, raw)
	if ferr != nil {
		return nil, ferr
	}
	im.fsys = fsys
	dst, err := fs.Stat(fsys, DataName(label))
	if err != nil {
		return nil, fault(label, FileData, -1, Missing, "no data file: %v", err)
	}
	im.datSize = dst.Size()
	var want int64
	if n := len(im.table); n > 0 {
		want = int64(im.table[n-1].offset) + int64(im.table[n-1].stored)
	}
	if im.datSize < want {
		first := 0
		for first < len(im.table) && int64(im.table[first].offset)+int64(im.table[first].stored) <= im.datSize {
			first++
		}
		return nil, fault(label, FileData, first, Truncated, "data file has %d bytes, the block table needs %d", im.datSize, want)
	}
	if im.datSize > want {
		return nil, fault(label, FileData, -1, Corrupt, "data file has %d bytes beyond the block table's %d", im.datSize-want, want)
	}
	return im, nil
}

// cursor reads the index; running out of bytes means a truncated index.
type cursor struct {
	b     []byte
	p     int
	short bool
}

func (c *cursor) take(n int) []byte {
	if c.short || len(c.b)-c.p < n {
		c.short = true
		return nil
	}
	v := c.b[c.p : c.p+n]
	c.p += n
	return v
}

func (c *cursor) str() string {
	n := c.take(1)
	if n == nil {
		return ""
	}
	return string(c.take(int(n[0])))
}

func (c *cursor) u32() uint32 {
	if v := c.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (c *cursor) u64() uint64 {
	if v := c.take(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func parseIndex(label string, raw []byte) (*Image, *Error) {
	bad := func(kind Kind, block int, format string, args ...any) (*Image, *Error) {
		return nil, fault(label, FileIndex, block, kind, format, args...)
	}
	c := &cursor{b: raw}
	magic := c.take(len(indexMagic))
	if c.short {
		return bad(Truncated, -1, "index has %d bytes, too few for a header", len(raw))
	}
	if string(magic) != indexMagic {
		return bad(Malformed, -1, "not a volume image index (magic %q)", magic)
	}
	var h Header
	h.Label = c.str()
	h.LabelType = catalog.LabelType(c.str())
	ts := c.str()
	h.MediaKeyName = c.str()
	h.Compression = catalog.Compression(c.str())
	blockSize := c.u32()
	streamLen := c.u64()
	n := c.u32()
	if c.short {
		return bad(Truncated, -1, "index ends inside its header")
	}
	need := int64(c.p) + int64(n)*entrySize + sha256.Size
	if int64(len(raw)) < need {
		return bad(Truncated, -1, "index has %d bytes, its %d blocks need %d", len(raw), n, need)
	}
	if int64(len(raw)) > need {
		return bad(Corrupt, -1, "index has %d bytes beyond its %d blocks", int64(len(raw))-need, n)
	}
	if sum := sha256.Sum256(raw[:len(raw)-sha256.Size]); !bytes.Equal(sum[:], raw[len(raw)-sha256.Size:]) {
		return bad(Corrupt, -1, "index checksum does not match its contents")
	}
	var err error
	if h.Timestamp, err = time.Parse(time.RFC3339Nano, ts); err != nil {
		return bad(Malformed, -1, "volume timestamp %q: %v", ts, err)
	}
	switch {
	case h.Label != label:
		return bad(Mismatch, -1, "index is of volume %q, not %q", h.Label, label)
	case h.LabelType != catalog.Labeled:
		return bad(Malformed, -1, "label type %q is not LABELED", h.LabelType)
	case h.Compression != catalog.CompressNone && h.Compression != catalog.CompressZlib && h.Compression != catalog.CompressMiniLZO:
		return bad(Malformed, -1, "compression %q is not NONE, ZLIB or MINILZO", h.Compression)
	case !validKeyName(h.MediaKeyName):
		return bad(Malformed, -1, "media key name %q is not a key name", h.MediaKeyName)
	case blockSize < MinBlockSize || blockSize > MaxBlockSize:
		return bad(Malformed, -1, "block size %d is not %d-%d", blockSize, MinBlockSize, MaxBlockSize)
	}
	extra := uint32(0)
	if h.MediaKeyName != "" {
		extra = sealExtra
	}
	// Every size is capped here, so reading allocates at most a block.
	table := make([]entry, n)
	var offset, total uint64
	for i := range table {
		e := &table[i]
		e.offset = c.u64()
		e.stored = c.u32()
		e.plain = c.u32()
		e.codec = c.take(1)[0]
		copy(e.sum[:], c.take(sha256.Size))
		last := i == len(table)-1
		switch {
		case e.offset != offset:
			return bad(Malformed, i, "block starts at %d, the previous one ends at %d", e.offset, offset)
		case e.plain == 0 || e.plain > blockSize || (!last && e.plain != blockSize):
			return bad(Malformed, i, "plain size %d with block size %d", e.plain, blockSize)
		case e.codec != codecStored && e.codec != codecDeflate:
			return bad(Malformed, i, "unknown codec %d", e.codec)
		case e.codec == codecDeflate && h.Compression == catalog.CompressNone:
			return bad(Malformed, i, "block is compressed in a volume without compression")
		case e.codec == codecStored && e.stored != e.plain+extra:
			return bad(Malformed, i, "stored size %d of a stored block of %d bytes", e.stored, e.plain)
		case e.codec == codecDeflate && (e.stored < extra || e.stored >= e.plain+extra):
			return bad(Malformed, i, "stored size %d of a compressed block of %d bytes", e.stored, e.plain)
		}
		offset += uint64(e.stored)
		total += uint64(e.plain)
	}
	if total != streamLen {
		return bad(Malformed, -1, "blocks hold %d bytes, the header says %d", total, streamLen)
	}
	return &Image{Header: h, Blocks: len(table), blockSize: int(blockSize), streamLen: int64(streamLen), table: table}, nil
}

// RawRead reads both files of label's image sequentially without checking
// anything and returns the number of bytes read: the baseline of restore
// reads.
func RawRead(dir, label string) (int64, error) {
	buf := make([]byte, 256<<10)
	var total int64
	for _, name := range []string{IndexName(label), DataName(label)} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return total, err
		}
		n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf)
		f.Close()
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Files streams the image block by block, checks every block (checksum,
// GCM tag under key, decompression), parses the labels and directories, and
// calls fn for each tape file in tape order. FileID is the 17 rightmost
// characters HDR1 carries; dates are days in UTC. The first fault is
// returned as *Error; an error of fn is returned as it is.
func (im *Image) Files(key []byte, fn func(TapeFile) error) error {
	label := im.Header.Label
	bs := &blockStream{im: im}
	if im.Header.MediaKeyName != "" {
		if key == nil {
			return fault(label, FileData, -1, Decrypt, "volume is encrypted under key %s and no key was given", im.Header.MediaKeyName)
		}
		if len(key) != KeySize {
			return fault(label, FileData, -1, Decrypt, "key has %d bytes, not %d", len(key), KeySize)
		}
		c, err := aes.NewCipher(key)
		if err != nil {
			return fault(label, FileData, -1, Decrypt, "%v", err)
		}
		bs.gcm, _ = cipher.NewGCM(c)
	} else if key != nil {
		return fault(label, FileData, -1, Mismatch, "a key was given but the volume is not encrypted")
	}
	f, err := im.fsys.Open(DataName(label))
	if err != nil {
		return fault(label, FileData, -1, Missing, "%v", err)
	}
	defer f.Close()
	// Buffers no larger than the image: restore tests open many small ones.
	bs.r = bufio.NewReaderSize(f, int(min(256<<10, max(im.datSize, 16))))
	t := &tapeReader{im: im, r: bufio.NewReaderSize(bs, int(min(64<<10, max(im.streamLen, 16))))}
	return t.parse(fn)
}

// blockStream is the plain tape stream, read and checked block by block.
type blockStream struct {
	im     *Image
	r      *bufio.Reader
	gcm    cipher.AEAD
	next   int
	cur    []byte
	stored []byte
	plain  []byte
	fr     io.ReadCloser
	br     bytes.Reader
}

func (s *blockStream) Read(p []byte) (int, error) {
	for len(s.cur) == 0 {
		if s.next == len(s.im.table) {
			return 0, io.EOF
		}
		if err := s.load(s.next); err != nil {
			return 0, err
		}
		s.next++
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

func (s *blockStream) load(i int) error {
	e := s.im.table[i]
	bad := func(kind Kind, format string, args ...any) error {
		return fault(s.im.Header.Label, FileData, i, kind, format, args...)
	}
	s.stored = grow(s.stored, int(e.stored))
	if _, err := io.ReadFull(s.r, s.stored); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return bad(Truncated, "data file ends inside the block")
		}
		return bad(Corrupt, "read: %v", err)
	}
	if sum := sha256.Sum256(s.stored); sum != e.sum {
		return bad(Corrupt, "checksum of the stored block does not match the index")
	}
	data := s.stored
	if s.gcm != nil {
		aad := blockAAD(s.im.Header, i, i == len(s.im.table)-1, e.codec, int(e.plain))
		// Decrypt in place: the stored bytes are not needed once opened.
		out, err := s.gcm.Open(data[nonceSize:nonceSize], data[:nonceSize], data[nonceSize:], aad)
		if err != nil {
			return bad(Decrypt, "GCM tag does not verify under key %s: wrong key, or a block moved", s.im.Header.MediaKeyName)
		}
		data = out
	}
	if e.codec == codecDeflate {
		s.plain = grow(s.plain, int(e.plain))
		s.br.Reset(data)
		if s.fr == nil {
			s.fr = flate.NewReader(&s.br)
		} else {
			s.fr.(flate.Resetter).Reset(&s.br, nil)
		}
		if _, err := io.ReadFull(s.fr, s.plain); err != nil {
			return bad(Corrupt, "block does not decompress to %d bytes: %v", e.plain, err)
		}
		var one [1]byte
		if n, _ := s.fr.Read(one[:]); n != 0 {
			return bad(Corrupt, "block decompresses to more than %d bytes", e.plain)
		}
		data = s.plain
	}
	if len(data) != int(e.plain) {
		return bad(Corrupt, "block holds %d bytes, the index says %d", len(data), e.plain)
	}
	s.cur = data
	return nil
}

// tapeReader reads the SIMH-framed tape stream and parses its labels.
type tapeReader struct {
	im    *Image
	r     *bufio.Reader
	pos   int64 // stream offset of the next byte
	start int64 // stream offset of the current item
	rec   []byte
	b     [4]byte
}

type item int

const (
	itemRecord item = iota
	itemMark
	itemEnd
)

// malformed reports a fault at the block holding the current item.
func (t *tapeReader) malformed(format string, args ...any) error {
	return fault(t.im.Header.Label, FileData, t.block(t.start), Malformed, format, args...)
}

func (t *tapeReader) block(pos int64) int {
	b := int(pos / int64(t.im.blockSize))
	return min(b, max(len(t.im.table)-1, 0))
}

func (t *tapeReader) read(p []byte) error {
	n, err := io.ReadFull(t.r, p)
	t.pos += int64(n)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return t.malformed("tape stream ends inside a record or before the end of medium")
	}
	return err
}

func (t *tapeReader) word() (uint32, error) {
	if err := t.read(t.b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(t.b[:]), nil
}

// next reads one item; limit bounds a record's length.
func (t *tapeReader) next(limit int) (item, []byte, error) {
	t.start = t.pos
	n, err := t.word()
	if err != nil {
		return 0, nil, err
	}
	switch {
	case n == tapeMark:
		return itemMark, nil, nil
	case n == endOfMedium:
		return itemEnd, nil, nil
	case n > uint32(limit):
		return 0, nil, t.malformed("record of %d bytes, more than %d", n, limit)
	}
	t.rec = grow(t.rec, int(n)+int(n%2))
	if err := t.read(t.rec); err != nil {
		return 0, nil, err
	}
	rec := t.rec[:n]
	if n%2 == 1 && t.rec[n] != 0 {
		return 0, nil, t.malformed("pad byte of an odd record is not zero")
	}
	m, err := t.word()
	if err != nil {
		return 0, nil, err
	}
	if m != n {
		return 0, nil, t.malformed("record length %d is closed by length %d", n, m)
	}
	return itemRecord, rec, nil
}

// label reads a label record whose identifier is id.
func (t *tapeReader) label(id string) ([]byte, error) {
	it, rec, err := t.next(labelSize)
	if err != nil {
		return nil, err
	}
	if it != itemRecord || len(rec) != labelSize || string(rec[:4]) != id {
		return nil, t.malformed("expected %s, found %s", id, describe(it, rec))
	}
	return rec, nil
}

func (t *tapeReader) mark(after string) error {
	it, rec, err := t.next(maxTapeRecord)
	if err != nil {
		return err
	}
	if it != itemMark {
		return t.malformed("expected a tape mark after %s, found %s", after, describe(it, rec))
	}
	return nil
}

func describe(it item, rec []byte) string {
	switch {
	case it == itemMark:
		return "a tape mark"
	case it == itemEnd:
		return "the end of medium"
	case len(rec) == labelSize:
		return fmt.Sprintf("a label record %q", rec[:4])
	}
	return fmt.Sprintf("a record of %d bytes", len(rec))
}

func (t *tapeReader) parse(fn func(TapeFile) error) error {
	rec, err := t.label("VOL1")
	if err != nil {
		return err
	}
	if vol := string(bytes.TrimRight(rec[4:10], " ")); vol != t.im.Header.Label {
		return fault(t.im.Header.Label, FileData, t.block(t.start), Mismatch, "VOL1 names volume %q", vol)
	}
	for seq := 1; ; seq++ {
		it, rec, err := t.next(labelSize)
		if err != nil {
			return err
		}
		if it == itemMark {
			return t.end()
		}
		if it != itemRecord || len(rec) != labelSize || string(rec[:4]) != "HDR1" {
			return t.malformed("expected HDR1 of tape file %d or the tape mark ending the set, found %s", seq, describe(it, rec))
		}
		f, err := t.file(rec)
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			return err
		}
	}
}

// end checks what follows the tape mark closing the file set.
func (t *tapeReader) end() error {
	it, rec, err := t.next(maxTapeRecord)
	if err != nil {
		return err
	}
	if it != itemEnd {
		return t.malformed("expected the end of medium after the file set, found %s", describe(it, rec))
	}
	t.start = t.pos
	if _, err := t.r.ReadByte(); err != io.EOF {
		if err != nil {
			return err
		}
		return t.malformed("data after the end of medium")
	}
	return nil
}

// file reads one tape file from its HDR1 on.
func (t *tapeReader) file(rec []byte) (TapeFile, error) {
	hdr1, err := parseFileLabel("HDR1", rec)
	if err != nil {
		return TapeFile{}, t.malformed("%v", err)
	}
	if rec, err = t.label("HDR2"); err != nil {
		return TapeFile{}, err
	}
	hdr2 := string(rec)
	limit, err := parseHDR2(hdr2)
	if err != nil {
		return TapeFile{}, t.malformed("%v", err)
	}
	if err := t.mark("HDR2"); err != nil {
		return TapeFile{}, err
	}
	d := &dataReader{t: t, limit: limit}
	disk, err := readDirectory(d)
	if err != nil {
		var ce *contentError
		switch {
		case errors.As(err, &ce):
			return TapeFile{}, fault(t.im.Header.Label, FileData, t.block(d.pos()), Mismatch, "%v", err)
		case errors.Is(err, errDirectory):
			return TapeFile{}, fault(t.im.Header.Label, FileData, t.block(d.pos()), Malformed, "tape file %s: %v", hdr1.FileID, err)
		}
		return TapeFile{}, err
	}
	if rec, err = t.label("EOF1"); err != nil {
		return TapeFile{}, err
	}
	eof1, err := parseFileLabel("EOF1", rec)
	if err != nil {
		return TapeFile{}, t.malformed("%v", err)
	}
	if !sameLabel(eof1.TapeFile, hdr1.TapeFile) {
		return TapeFile{}, t.malformed("EOF1 of %s does not repeat its HDR1", hdr1.FileID)
	}
	if eof1.Blocks != d.blocks {
		return TapeFile{}, t.malformed("EOF1 of %s counts %d blocks, %d were read", hdr1.FileID, eof1.Blocks, d.blocks)
	}
	if rec, err = t.label("EOF2"); err != nil {
		return TapeFile{}, err
	}
	if string(rec[4:]) != hdr2[4:] {
		return TapeFile{}, t.malformed("EOF2 of %s does not repeat its HDR2", hdr1.FileID)
	}
	if err := t.mark("EOF2"); err != nil {
		return TapeFile{}, err
	}
	f := hdr1.TapeFile
	f.Disk = disk
	return f, nil
}

// parseHDR2 checks HDR2 and returns its block length, the bound of the
// file's data blocks.
func parseHDR2(s string) (int, error) {
	if s[4] != 'U' && s[4] != 'F' {
		return 0, fmt.Errorf("HDR2 record format %q is not U or F", s[4:5])
	}
	if !digits(s[5:10]) || atoi(s[5:10]) == 0 {
		return 0, fmt.Errorf("HDR2 block length %q is not a number of bytes", s[5:10])
	}
	return atoi(s[5:10]), nil
}

// dataReader reads a tape file's data blocks up to the tape mark ending
// them, counting them for EOF1. It reads no further than asked, so a fault
// in the directory is reported at its own block.
type dataReader struct {
	t      *tapeReader
	limit  int
	rec    []byte
	cur    []byte
	at     int64 // stream offset of rec
	blocks int
	done   bool
}

func (d *dataReader) fill() error {
	for len(d.cur) == 0 {
		if d.done {
			return io.EOF
		}
		it, rec, err := d.t.next(d.limit)
		if err != nil {
			return err
		}
		switch it {
		case itemMark:
			d.done = true
		case itemEnd:
			return d.t.malformed("end of medium inside a tape file's data")
		default:
			d.blocks++
			d.rec, d.cur, d.at = rec, rec, d.t.start+4
		}
	}
	return nil
}

// pos is the stream offset of the next data byte.
func (d *dataReader) pos() int64 { return d.at + int64(len(d.rec)-len(d.cur)) }

func (d *dataReader) Read(p []byte) (int, error) {
	if err := d.fill(); err != nil {
		return 0, err
	}
	n := copy(p, d.cur)
	d.cur = d.cur[n:]
	return n, nil
}

func (d *dataReader) ReadByte() (byte, error) {
	if err := d.fill(); err != nil {
		return 0, err
	}
	c := d.cur[0]
	d.cur = d.cur[1:]
	return c, nil
}

func sameLabel(a, b TapeFile) bool {
	return a.FileID == b.FileID && a.FileSetID == b.FileSetID && a.Section == b.Section &&
		a.Sequence == b.Sequence && a.Generation == b.Generation && a.Version == b.Version &&
		a.Created.Equal(b.Created) && a.Expires.Equal(b.Expires)
}
