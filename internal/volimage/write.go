package volimage

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/catsync/catsync/internal/catalog"
)

// Index layout (big-endian; see docs/volume-image.md).
const (
	indexMagic = "VOLIMG01"
	entrySize  = 8 + 4 + 4 + 1 + sha256.Size
	locSize    = 4 * 8
	nonceSize  = 12
	tagSize    = 16
	sealExtra  = nonceSize + tagSize

	codecStored  = 0
	codecDeflate = 1
)

// Stream framing, as SIMH tape images: a record is its length (32-bit
// little-endian), its bytes, a pad byte when the length is odd, and its
// length again; a tape mark is a zero length; the end of the recorded
// medium is 0xFFFFFFFF.
const (
	tapeMark    = 0
	endOfMedium = 0xFFFFFFFF
)

// Options tune Write.
type Options struct {
	// BlockSize is the number of plain bytes per block, MinBlockSize to
	// MaxBlockSize; 0 means DefaultBlockSize.
	BlockSize int
	// Content writes each disk file's Synthetic content after the
	// directory; every entry's Digest must then be that of its Synthetic
	// content (SyntheticEntry gives it).
	Content bool
}

// Write writes the image of one volume into dir (created if missing), both
// files atomically (temp file + rename, the index last). key is the 32-byte
// volume key when h.MediaKeyName != "", nil otherwise.
func Write(dir string, h Header, key []byte, files []TapeFile) error {
	return WriteWith(dir, h, key, files, Options{})
}

// WriteWith is Write with options.
func WriteWith(dir string, h Header, key []byte, files []TapeFile, o Options) error {
	if o.BlockSize == 0 {
		o.BlockSize = DefaultBlockSize
	}
	if err := checkWrite(h, key, files, o); err != nil {
		return fmt.Errorf("volume image %s: %w", h.Label, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	bw, err := newBlocker(h, key, o.BlockSize)
	if err != nil {
		return err
	}
	dat, err := writeTemp(dir, DataName(h.Label), func(w io.Writer) error {
		bw.out = w
		return writeTape(bw, h.Label, files, o.Content)
	})
	if err != nil {
		return err
	}
	ind, err := writeTemp(dir, IndexName(h.Label), func(w io.Writer) error {
		_, err := w.Write(bw.index())
		return err
	})
	if err != nil {
		os.Remove(dat)
		return err
	}
	if err := os.Rename(dat, filepath.Join(dir, DataName(h.Label))); err != nil {
		os.Remove(dat)
		os.Remove(ind)
		return err
	}
	if err := os.Rename(ind, filepath.Join(dir, IndexName(h.Label))); err != nil {
		os.Remove(ind)
		return err
	}
	// The renames are durable only once the directory is.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// writeTemp writes a temporary file beside name and returns its path.
func writeTemp(dir, name string, fill func(io.Writer) error) (string, error) {
	f, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return "", err
	}
	b := bufio.NewWriterSize(f, 256<<10)
	err = fill(b)
	if err == nil {
		err = b.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func checkWrite(h Header, key []byte, files []TapeFile, o Options) error {
	switch {
	case !catalog.ValidLabel(h.Label):
		return fmt.Errorf("label %q must be 1-6 upper-case letters or digits", h.Label)
	case h.LabelType != catalog.Labeled:
		return fmt.Errorf("label type %q: only LABELED volumes have the labels an image is read by", h.LabelType)
	case h.Compression != catalog.CompressNone && h.Compression != catalog.CompressZlib && h.Compression != catalog.CompressMiniLZO:
		return fmt.Errorf("compression %q must be NONE, ZLIB or MINILZO", h.Compression)
	case !validKeyName(h.MediaKeyName):
		return fmt.Errorf("media key name %q must be at most 64 letters, digits or underscores", h.MediaKeyName)
	case h.MediaKeyName != "" && len(key) != KeySize:
		return fmt.Errorf("encrypted volume (key %s) needs a %d-byte key, got %d bytes", h.MediaKeyName, KeySize, len(key))
	case h.MediaKeyName == "" && key != nil:
		return errors.New("a key was given for a volume without a media key name")
	case o.BlockSize < MinBlockSize || o.BlockSize > MaxBlockSize:
		return fmt.Errorf("block size %d must be %d-%d", o.BlockSize, MinBlockSize, MaxBlockSize)
	}
	for i, f := range files {
		if err := checkFile(f); err != nil {
			return fmt.Errorf("tape file %d (%s): %w", i+1, f.FileID, err)
		}
	}
	return nil
}

func checkFile(f TapeFile) error {
	switch {
	case !catalog.ValidFileID(f.FileID):
		return errors.New("FILEID must be 1-60 printable characters without spaces")
	case len(f.FileSetID) > 6 || !printableNoSpace(f.FileSetID):
		return fmt.Errorf("file set id %q must be at most 6 printable characters without spaces", f.FileSetID)
	case f.Section < 1 || f.Section > 9999:
		return fmt.Errorf("file section number %d must be 1-9999", f.Section)
	case f.Sequence < 1 || f.Sequence > 9999:
		return fmt.Errorf("file sequence number %d must be 1-9999", f.Sequence)
	case f.Generation < 1 || f.Generation > 9999:
		return fmt.Errorf("generation %d must be 1-9999, the four digits of HDR1", f.Generation)
	case f.Version < 0 || f.Version > 99:
		return fmt.Errorf("version %d must be 0-99, the two digits of HDR1", f.Version)
	}
	if _, err := fileLabel("HDR1", f, 0); err != nil {
		return err
	}
	for _, e := range f.Disk {
		if err := validEntry(e); err != nil {
			return err
		}
	}
	return nil
}

func printableNoSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func validKeyName(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// writeTape writes the tape: VOL1; per file HDR1 HDR2 * data * EOF1 EOF2 *
// (* a tape mark); one more tape mark ending the file set; end of medium.
func writeTape(w *blocker, label string, files []TapeFile, content bool) error {
	t := &tapeWriter{w: w}
	t.record(vol1(label))
	for _, f := range files {
		loc := locEntry{hdrLBA: t.lba, hdrOff: t.off}
		hdr1, _ := fileLabel("HDR1", f, 0)
		t.record(hdr1)
		t.record(fileLabel2("HDR2"))
		t.mark()
		d := &dataWriter{t: t, buf: make([]byte, 0, TapeBlockLength)}
		if err := writeData(d, f, content); err != nil {
			return err
		}
		d.flush()
		t.mark()
		loc.eofLBA, loc.eofOff = t.lba, t.off
		eof1, _ := fileLabel("EOF1", f, d.blocks)
		t.record(eof1)
		t.record(fileLabel2("EOF2"))
		t.mark()
		w.locs = append(w.locs, loc)
	}
	t.mark()
	t.word(endOfMedium)
	if t.err != nil {
		return t.err
	}
	return w.close()
}

func writeData(d *dataWriter, f TapeFile, content bool) error {
	if err := writeDirectory(d, f.Disk, content); err != nil {
		return err
	}
	if !content {
		return nil
	}
	for _, e := range f.Disk {
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(d, h), Synthetic(e.Name, e.Size)); err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != e.Digest {
			return fmt.Errorf("disk file %s: digest %s is not that of its synthetic content (%s)", e.Name, e.Digest, got)
		}
	}
	return nil
}

// tapeWriter frames records and tape marks, counting the logical block
// address (records and tape marks from VOL1 at 0) and the stream offset of
// the next item for the locate table.
type tapeWriter struct {
	w   io.Writer
	err error
	b   [4]byte
	lba uint64
	off uint64
}

func (t *tapeWriter) word(v uint32) {
	binary.LittleEndian.PutUint32(t.b[:], v)
	t.write(t.b[:])
}

func (t *tapeWriter) write(p []byte) {
	if t.err == nil {
		_, t.err = t.w.Write(p)
		t.off += uint64(len(p))
	}
}

func (t *tapeWriter) record(p []byte) {
	t.word(uint32(len(p)))
	t.write(p)
	if len(p)%2 == 1 {
		t.write([]byte{0})
	}
	t.word(uint32(len(p)))
	t.lba++
}

func (t *tapeWriter) mark() { t.word(tapeMark); t.lba++ }

// locEntry places one tape file on the tape, as a drive's locate needs it:
// the logical block address and stream offset of its HDR1 and of its EOF1.
type locEntry struct{ hdrLBA, hdrOff, eofLBA, eofOff uint64 }

// Fixed sizes of the framing around a tape file, for the locate table's
// checks and NextLabelLBA.
const (
	labelItem = 4 + labelSize + 4 // a label record, framed
	markItem  = 4
	// itemsPerFile are the LBAs of a tape file besides its data blocks:
	// HDR1 HDR2 * ... * EOF1 EOF2 *.
	itemsPerFile = 7
)

// NextLabelLBA is the logical block address at which the HDR1 of a tape
// file written after files would be: what DSM/TC records as the
// FILESEQLABELLBA of its TFTOV entry. VOL1 is at 0, the first HDR1 at 1;
// each tape file takes its labels, three tape marks and its data blocks.
// Digests are counted at their fixed length, so entries need not carry one.
func NextLabelLBA(files []TapeFile, content bool) int64 {
	lba := int64(1)
	for _, f := range files {
		n := dirSize(f.Disk)
		if content {
			for _, e := range f.Disk {
				n += e.Size
			}
		}
		lba += itemsPerFile + (n+TapeBlockLength-1)/TapeBlockLength
	}
	return lba
}

// dataWriter cuts a tape file's data into tape blocks.
type dataWriter struct {
	t      *tapeWriter
	buf    []byte
	blocks int
}

func (d *dataWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := copy(d.buf[len(d.buf):cap(d.buf)], p)
		d.buf = d.buf[:len(d.buf)+k]
		p = p[k:]
		if len(d.buf) == cap(d.buf) {
			d.flush()
		}
	}
	return n, d.t.err
}

func (d *dataWriter) flush() {
	if len(d.buf) > 0 {
		d.t.record(d.buf)
		d.blocks++
		d.buf = d.buf[:0]
	}
}

type entry struct {
	offset        uint64
	stored, plain uint32
	codec         byte
	sum           [sha256.Size]byte
}

// blocker cuts the stream into blocks and writes them sealed to out. A full
// block is held until more data comes, so the last block is known as such
// when it is sealed.
type blocker struct {
	h         Header
	out       io.Writer
	size      int
	buf       []byte
	compress  bool
	fw        *flate.Writer
	comp      bytes.Buffer
	sealed    []byte
	gcm       cipher.AEAD
	table     []entry
	locs      []locEntry
	offset    uint64
	streamLen uint64
}

func newBlocker(h Header, key []byte, size int) (*blocker, error) {
	b := &blocker{h: h, size: size, buf: make([]byte, 0, size), compress: h.Compression != catalog.CompressNone}
	if b.compress {
		// BestSpeed: images are written by every backup; restore reads
		// deflate at the same speed whatever the level.
		b.fw, _ = flate.NewWriter(nil, flate.BestSpeed)
	}
	if h.MediaKeyName != "" {
		c, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		if b.gcm, err = cipher.NewGCM(c); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (b *blocker) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(b.buf) == b.size {
			if err := b.seal(false); err != nil {
				return 0, err
			}
		}
		k := copy(b.buf[len(b.buf):b.size], p)
		b.buf = b.buf[:len(b.buf)+k]
		p = p[k:]
	}
	return n, nil
}

func (b *blocker) close() error {
	if len(b.buf) > 0 {
		return b.seal(true)
	}
	return nil
}

func (b *blocker) seal(final bool) error {
	data, codec := b.buf, byte(codecStored)
	if b.compress {
		b.comp.Reset()
		b.fw.Reset(&b.comp)
		b.fw.Write(b.buf)
		if err := b.fw.Close(); err != nil {
			return err
		}
		// Incompressible blocks are stored as they are: never larger.
		if b.comp.Len() < len(b.buf) {
			data, codec = b.comp.Bytes(), codecDeflate
		}
	}
	index := len(b.table)
	if b.gcm != nil {
		b.sealed = append(b.sealed[:0], make([]byte, nonceSize)...)
		if _, err := rand.Read(b.sealed); err != nil {
			return err
		}
		aad := blockAAD(b.h, index, final, codec, len(b.buf))
		b.sealed = b.gcm.Seal(b.sealed, b.sealed[:nonceSize], data, aad)
		data = b.sealed
	}
	if _, err := b.out.Write(data); err != nil {
		return err
	}
	e := entry{offset: b.offset, stored: uint32(len(data)), plain: uint32(len(b.buf)), codec: codec, sum: sha256.Sum256(data)}
	b.table = append(b.table, e)
	b.offset += uint64(len(data))
	b.streamLen += uint64(len(b.buf))
	b.buf = b.buf[:0]
	return nil
}

// blockAAD binds a sealed block to its volume write and its place: the
// label, key name and timestamp of the header, the block index, whether it
// is the last block, its codec and plain size.
func blockAAD(h Header, index int, final bool, codec byte, plain int) []byte {
	a := []byte(indexMagic)
	a = appendString(a, h.Label)
	a = appendString(a, h.MediaKeyName)
	a = appendString(a, h.Timestamp.Format(time.RFC3339Nano))
	a = binary.BigEndian.AppendUint32(a, uint32(index))
	f := byte(0)
	if final {
		f = 1
	}
	a = append(a, f, codec)
	return binary.BigEndian.AppendUint32(a, uint32(plain))
}

func appendString(b []byte, s string) []byte {
	return append(append(b, byte(len(s))), s...)
}

// index encodes the index once every block is written.
func (b *blocker) index() []byte {
	x := []byte(indexMagic)
	x = appendString(x, b.h.Label)
	x = appendString(x, string(b.h.LabelType))
	x = appendString(x, b.h.Timestamp.Format(time.RFC3339Nano))
	x = appendString(x, b.h.MediaKeyName)
	x = appendString(x, string(b.h.Compression))
	x = binary.BigEndian.AppendUint32(x, uint32(b.size))
	x = binary.BigEndian.AppendUint64(x, b.streamLen)
	x = binary.BigEndian.AppendUint32(x, uint32(len(b.table)))
	for _, e := range b.table {
		x = binary.BigEndian.AppendUint64(x, e.offset)
		x = binary.BigEndian.AppendUint32(x, e.stored)
		x = binary.BigEndian.AppendUint32(x, e.plain)
		x = append(x, e.codec)
		x = append(x, e.sum[:]...)
	}
	x = binary.BigEndian.AppendUint32(x, uint32(len(b.locs)))
	for _, l := range b.locs {
		x = binary.BigEndian.AppendUint64(x, l.hdrLBA)
		x = binary.BigEndian.AppendUint64(x, l.hdrOff)
		x = binary.BigEndian.AppendUint64(x, l.eofLBA)
		x = binary.BigEndian.AppendUint64(x, l.eofOff)
	}
	sum := sha256.Sum256(x)
	return append(x, sum[:]...)
}
