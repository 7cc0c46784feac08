package volimage

import (
	"bufio"
	"bytes"
	"cmp"
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
	"slices"
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
	locs      []locEntry
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
	tableEnd := int64(c.p) + int64(n)*entrySize
	if need := tableEnd + 4 + sha256.Size; int64(len(raw)) < need {
		return bad(Truncated, -1, "index has %d bytes, its %d blocks need %d", len(raw), n, need)
	}
	m := binary.BigEndian.Uint32(raw[tableEnd:])
	need := tableEnd + 4 + int64(m)*locSize + sha256.Size
	if int64(len(raw)) < need {
		return bad(Truncated, -1, "index has %d bytes, its %d blocks and %d tape files need %d", len(raw), n, m, need)
	}
	if int64(len(raw)) > need {
		return bad(Corrupt, -1, "index has %d bytes beyond its %d blocks and %d tape files", int64(len(raw))-need, n, m)
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
	c.take(4)
	locs, ferr := parseLocs(label, c, int(m), streamLen)
	if ferr != nil {
		return nil, ferr
	}
	return &Image{Header: h, Blocks: len(table), blockSize: int(blockSize), streamLen: int64(streamLen), table: table, locs: locs}, nil
}

// parseLocs reads the locate table: tape files in tape order, each after
// the labels of the one before, all inside the stream. Whether labels are
// where it says is for the reader that goes there.
func parseLocs(label string, c *cursor, m int, streamLen uint64) ([]locEntry, *Error) {
	locs := make([]locEntry, m)
	lba, off := uint64(1), uint64(labelItem) // the first HDR1 follows VOL1
	for k := range locs {
		l := locEntry{hdrLBA: c.u64(), hdrOff: c.u64(), eofLBA: c.u64(), eofOff: c.u64()}
		switch {
		case l.hdrLBA < lba || l.hdrOff < off:
			return nil, fault(label, FileIndex, -1, Malformed, "locate table: tape file %d at LBA %d offset %d, inside the one before it", k+1, l.hdrLBA, l.hdrOff)
		case l.eofLBA < l.hdrLBA+4 || l.eofOff < l.hdrOff+2*labelItem+2*markItem:
			return nil, fault(label, FileIndex, -1, Malformed, "locate table: tape file %d has its EOF1 at LBA %d offset %d, inside its own header", k+1, l.eofLBA, l.eofOff)
		}
		locs[k] = l
		lba, off = l.eofLBA+3, l.eofOff+2*labelItem+markItem
		if off > streamLen {
			return nil, fault(label, FileIndex, -1, Malformed, "locate table: tape file %d ends at offset %d, beyond the %d bytes of the stream", k+1, off, streamLen)
		}
	}
	return locs, nil
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
	v, err := im.verifier(key)
	if err != nil {
		return err
	}
	f, err := im.openData()
	if err != nil {
		return err
	}
	defer f.Close()
	return im.tape(f, v, 0, 256<<10).parse(fn)
}

// FileAt reads the tape file whose HDR1 is at logical block address lba
// (the FILESEQLABELLBA of its TFTOV entry), as a restore positions a tape:
// the locate table gives the offsets of its HDR1 and EOF1, and only the
// blocks holding its labels and directory are read and checked. The
// directory's entries are returned; the content after them is not read
// (Files reads it). An address where the index places no tape file is a
// NotFound fault.
func (im *Image) FileAt(key []byte, lba int64) (TapeFile, error) {
	label := im.Header.Label
	k, ok := slices.BinarySearchFunc(im.locs, lba, func(l locEntry, lba int64) int { return cmp.Compare(int64(l.hdrLBA), lba) })
	if !ok {
		return TapeFile{}, fault(label, FileIndex, -1, NotFound, "no tape file's HDR1 is at LBA %d", lba)
	}
	l := im.locs[k]
	v, err := im.verifier(key)
	if err != nil {
		return TapeFile{}, err
	}
	f, err := im.openData()
	if err != nil {
		return TapeFile{}, err
	}
	defer f.Close()
	ra, ok := f.(io.ReaderAt)
	if !ok {
		return TapeFile{}, fault(label, FileData, -1, Missing, "data file cannot be read at an offset")
	}
	t, err := im.tapeAt(ra, v, l.hdrOff, l.hdrLBA)
	if err != nil {
		return TapeFile{}, err
	}
	rec, err := t.label("HDR1")
	if err != nil {
		return TapeFile{}, err
	}
	hdr1, hdr2, d, err := t.head(rec)
	if err != nil {
		return TapeFile{}, err
	}
	disk, content, err := readEntries(d)
	if err == nil && !content {
		err = endOfData(d)
	}
	if err != nil {
		return TapeFile{}, t.dirFault(d, hdr1.FileID, err)
	}
	if !content {
		// The data ends with the directory: the tape mark after it must be
		// where the locate table puts EOF1.
		if t.pos != int64(l.eofOff) || t.lba != l.eofLBA {
			return TapeFile{}, t.malformed("tape file %s: its data ends at LBA %d offset %d, the locate table puts EOF1 at LBA %d offset %d",
				hdr1.FileID, t.lba, t.pos, l.eofLBA, l.eofOff)
		}
	} else if t, err = im.tapeAt(ra, v, l.eofOff, l.eofLBA); err != nil {
		return TapeFile{}, err
	}
	if err := t.tail(hdr1, hdr2, int(l.eofLBA-l.hdrLBA-4)); err != nil {
		return TapeFile{}, err
	}
	tf := hdr1.TapeFile
	tf.Disk, tf.LBA = disk, int64(l.hdrLBA)
	return tf, nil
}

// LabelLBAs are the logical block addresses of the image's HDR1 labels,
// in tape order, as its locate table has them.
func (im *Image) LabelLBAs() []int64 {
	out := make([]int64, len(im.locs))
	for i, l := range im.locs {
		out[i] = int64(l.hdrLBA)
	}
	return out
}

// aead checks key against the volume and returns its cipher, nil for a
// volume that is not encrypted.
func (im *Image) aead(key []byte) (cipher.AEAD, error) {
	label := im.Header.Label
	if im.Header.MediaKeyName == "" {
		if key != nil {
			return nil, fault(label, FileData, -1, Mismatch, "a key was given but the volume is not encrypted")
		}
		return nil, nil
	}
	if key == nil {
		return nil, fault(label, FileData, -1, Decrypt, "volume is encrypted under key %s and no key was given", im.Header.MediaKeyName)
	}
	if len(key) != KeySize {
		return nil, fault(label, FileData, -1, Decrypt, "key has %d bytes, not %d", len(key), KeySize)
	}
	c, err := aes.NewCipher(key)
	if err != nil {
		return nil, fault(label, FileData, -1, Decrypt, "%v", err)
	}
	return cipher.NewGCM(c)
}

func (im *Image) openData() (fs.File, error) {
	f, err := im.fsys.Open(DataName(im.Header.Label))
	if err != nil {
		return nil, fault(im.Header.Label, FileData, -1, Missing, "%v", err)
	}
	return f, nil
}

// tape reads the plain stream from block first of src, which is positioned
// at that block's offset in the data file; readAhead sizes the reads of src.
func (im *Image) tape(src io.Reader, v *verifier, first int, readAhead int64) *tapeReader {
	// Buffers no larger than the image: restore tests open many small ones.
	bs := &blockStream{im: im, v: v, next: first, r: bufio.NewReaderSize(src, int(min(readAhead, max(im.datSize, 16))))}
	pos := int64(first) * int64(im.blockSize)
	return &tapeReader{im: im, r: bufio.NewReaderSize(bs, int(min(64<<10, max(im.streamLen, 16)))), pos: pos, start: pos}
}

// tapeAt reads the plain stream from stream offset off, the item at
// logical block address lba.
func (im *Image) tapeAt(ra io.ReaderAt, v *verifier, off, lba uint64) (*tapeReader, error) {
	first := int(off / uint64(im.blockSize))
	if first >= len(im.table) {
		return nil, fault(im.Header.Label, FileIndex, -1, Malformed, "offset %d is beyond the stream", off)
	}
	start := int64(im.table[first].offset)
	// A positioned read needs a few blocks, not the read-ahead of a whole
	// stream's.
	t := im.tape(io.NewSectionReader(ra, start, im.datSize-start), v, first, int64(im.blockSize+sealExtra))
	skip := int64(off) - t.pos
	if _, err := io.CopyN(io.Discard, t.r, skip); err != nil {
		t.start = t.pos
		if err == io.EOF {
			return nil, t.malformed("tape stream ends before offset %d", off)
		}
		return nil, err
	}
	t.pos, t.lba = int64(off), lba
	return t, nil
}

// blockStream is the plain tape stream, read and checked block by block.
type blockStream struct {
	im     *Image
	r      *bufio.Reader
	v      *verifier
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
	data, ferr := s.v.open(i, s.stored)
	if ferr != nil {
		return ferr
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
	pos   int64  // stream offset of the next byte
	start int64  // stream offset of the current item
	lba   uint64 // logical block address of the next item
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
		t.lba++
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
	t.lba++
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
		lba := t.lba
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
		f.LBA = int64(lba)
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

// file reads one tape file from its HDR1 on, content included.
func (t *tapeReader) file(rec []byte) (TapeFile, error) {
	hdr1, hdr2, d, err := t.head(rec)
	if err != nil {
		return TapeFile{}, err
	}
	disk, content, err := readEntries(d)
	if err == nil && content {
		err = checkContents(d, disk)
	}
	if err == nil {
		err = endOfData(d)
	}
	if err != nil {
		return TapeFile{}, t.dirFault(d, hdr1.FileID, err)
	}
	if err := t.tail(hdr1, hdr2, d.blocks); err != nil {
		return TapeFile{}, err
	}
	f := hdr1.TapeFile
	f.Disk = disk
	return f, nil
}

// head reads HDR1 (rec), HDR2 and the tape mark opening the data, and
// returns a reader of the data.
func (t *tapeReader) head(rec []byte) (fileLabelFields, string, *dataReader, error) {
	hdr1, err := parseFileLabel("HDR1", rec)
	if err != nil {
		return hdr1, "", nil, t.malformed("%v", err)
	}
	if rec, err = t.label("HDR2"); err != nil {
		return hdr1, "", nil, err
	}
	hdr2 := string(rec)
	limit, err := parseHDR2(hdr2)
	if err != nil {
		return hdr1, "", nil, t.malformed("%v", err)
	}
	if err := t.mark("HDR2"); err != nil {
		return hdr1, "", nil, err
	}
	return hdr1, hdr2, &dataReader{t: t, limit: limit}, nil
}

// tail reads EOF1, EOF2 and the tape mark closing the file: they repeat
// HDR1 and HDR2, and EOF1 counts the file's blocks.
func (t *tapeReader) tail(hdr1 fileLabelFields, hdr2 string, blocks int) error {
	rec, err := t.label("EOF1")
	if err != nil {
		return err
	}
	eof1, err := parseFileLabel("EOF1", rec)
	if err != nil {
		return t.malformed("%v", err)
	}
	if !sameLabel(eof1.TapeFile, hdr1.TapeFile) {
		return t.malformed("EOF1 of %s does not repeat its HDR1", hdr1.FileID)
	}
	if eof1.Blocks != blocks {
		return t.malformed("EOF1 of %s counts %d blocks, %d are on the tape", hdr1.FileID, eof1.Blocks, blocks)
	}
	if rec, err = t.label("EOF2"); err != nil {
		return err
	}
	if string(rec[4:]) != hdr2[4:] {
		return t.malformed("EOF2 of %s does not repeat its HDR2", hdr1.FileID)
	}
	return t.mark("EOF2")
}

// dirFault is the fault of a directory error at the block where d found it.
func (t *tapeReader) dirFault(d *dataReader, fileID string, err error) error {
	var ce *contentError
	switch {
	case errors.As(err, &ce):
		return fault(t.im.Header.Label, FileData, t.block(d.pos()), Mismatch, "%v", err)
	case errors.Is(err, errDirectory):
		return fault(t.im.Header.Label, FileData, t.block(d.pos()), Malformed, "tape file %s: %v", fileID, err)
	}
	return err
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
