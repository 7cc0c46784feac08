package volimage

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
)

// The directory opens a tape file's data, in ASCII lines ending in LF:
//
//	DIRECTORY <n> <C|N>
//	<size> <digest> <name>     (n lines, in tape order)
//
// C means each disk file's content follows the directory, in directory
// order, exactly <size> bytes each; N means the data ends with the
// directory. Sizes are decimal without leading zeros, digests 64 lower-case
// hex digits, names 1-255 characters from '!' to '~'.
const (
	maxNameLen = 255
	// maxDirLine bounds a directory line read back: size, digest, name.
	maxDirLine = 20 + 1 + 64 + 1 + maxNameLen + 1
)

func validEntry(e DiskEntry) error {
	if len(e.Name) < 1 || len(e.Name) > maxNameLen {
		return fmt.Errorf("disk file name %q must have 1-%d characters", e.Name, maxNameLen)
	}
	for i := 0; i < len(e.Name); i++ {
		if e.Name[i] <= ' ' || e.Name[i] > '~' {
			return fmt.Errorf("disk file name %q must be printable without spaces", e.Name)
		}
	}
	if e.Size < 0 {
		return fmt.Errorf("disk file %s: size %d is negative", e.Name, e.Size)
	}
	if !validDigest(e.Digest) {
		return fmt.Errorf("disk file %s: digest %q is not 64 lower-case hex digits", e.Name, e.Digest)
	}
	return nil
}

func validDigest(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// writeDirectory writes the directory of disk; entries are already valid.
func writeDirectory(w io.Writer, disk []DiskEntry, content bool) error {
	flag := "N"
	if content {
		flag = "C"
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "DIRECTORY %d %s\n", len(disk), flag)
	for _, e := range disk {
		fmt.Fprintf(bw, "%d %s %s\n", e.Size, e.Digest, e.Name)
	}
	return bw.Flush()
}

// dirSize is the length of the directory writeDirectory writes for disk.
func dirSize(disk []DiskEntry) int64 {
	n := int64(len("DIRECTORY  N\n") + len(strconv.Itoa(len(disk))))
	for _, e := range disk {
		n += int64(len(strconv.FormatInt(e.Size, 10)) + 1 + 2*sha256.Size + 1 + len(e.Name) + 1)
	}
	return n
}

var errDirectory = errors.New("directory")

type byteReader interface {
	io.Reader
	io.ByteReader
}

// readEntries parses a directory's header and entries from r, and says
// whether the disk files' content follows. Preallocation is capped: the
// count is the file's word, not a promise.
func readEntries(r byteReader) ([]DiskEntry, bool, error) {
	line, err := dirLine(r)
	if err != nil {
		return nil, false, err
	}
	f := strings.Split(line, " ")
	if len(f) != 3 || f[0] != "DIRECTORY" || !canonical(f[1]) || (f[2] != "C" && f[2] != "N") {
		return nil, false, fmt.Errorf("%w header %q is not DIRECTORY <n> <C|N>", errDirectory, line)
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return nil, false, fmt.Errorf("%w count %q: %v", errDirectory, f[1], err)
	}
	disk := make([]DiskEntry, 0, min(n, 1024))
	for i := int64(0); i < n; i++ {
		line, err := dirLine(r)
		if err != nil {
			return nil, false, err
		}
		size, digest, name, ok := cut3(line)
		if !ok || !canonical(size) {
			return nil, false, fmt.Errorf("%w entry %d %q is not <size> <digest> <name>", errDirectory, i+1, line)
		}
		sz, err := strconv.ParseInt(size, 10, 64)
		if err != nil {
			return nil, false, fmt.Errorf("%w entry %d size %q: %v", errDirectory, i+1, size, err)
		}
		e := DiskEntry{Name: name, Size: sz, Digest: digest}
		if err := validEntry(e); err != nil {
			return nil, false, fmt.Errorf("%w entry %d: %v", errDirectory, i+1, err)
		}
		disk = append(disk, e)
	}
	return disk, f[2] == "C", nil
}

// checkContents reads the content following a directory, disk file by disk
// file, against the directory's digests.
func checkContents(r io.Reader, disk []DiskEntry) error {
	for _, e := range disk {
		h := sha256.New()
		n, err := io.CopyN(h, r, e.Size)
		if err != nil {
			if err == io.EOF {
				return fmt.Errorf("%w: content of %s ends after %d of %d bytes", errDirectory, e.Name, n, e.Size)
			}
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != e.Digest {
			return &contentError{name: e.Name, got: got, want: e.Digest}
		}
	}
	return nil
}

// endOfData checks that the tape file's data ends here.
func endOfData(r io.ByteReader) error {
	if _, err := r.ReadByte(); err != io.EOF {
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: data continues after the directory", errDirectory)
	}
	return nil
}

// contentError is content that decodes well but is not what the directory
// says it is.
type contentError struct{ name, got, want string }

func (e *contentError) Error() string {
	return fmt.Sprintf("content of %s has digest %s, the directory says %s", e.name, e.got, e.want)
}

func dirLine(r byteReader) (string, error) {
	var b []byte
	for {
		c, err := r.ReadByte()
		if err == io.EOF {
			return "", fmt.Errorf("%w ends inside a line", errDirectory)
		}
		if err != nil {
			return "", err
		}
		if c == '\n' {
			return string(b), nil
		}
		if len(b) == maxDirLine {
			return "", fmt.Errorf("%w line longer than %d bytes", errDirectory, maxDirLine)
		}
		b = append(b, c)
	}
}

// canonical reports whether s is a decimal number without leading zeros.
func canonical(s string) bool { return digits(s) && (s == "0" || s[0] != '0') && len(s) <= 19 }

func cut3(s string) (a, b, c string, ok bool) {
	a, rest, ok1 := strings.Cut(s, " ")
	b, c, ok2 := strings.Cut(rest, " ")
	return a, b, c, ok1 && ok2
}

// Synthetic returns the synthetic content of a disk file: size bytes of
// lower-case hex text from a ChaCha8 stream seeded by
// SHA-256("volimage synthetic\x00" + name + "\x00" + decimal size). Hex text
// compresses about as well as typical backup data, and the same name and
// size always give the same bytes, so a reader can recompute it.
func Synthetic(name string, size int64) io.Reader {
	seed := sha256.Sum256([]byte("volimage synthetic\x00" + name + "\x00" + strconv.FormatInt(size, 10)))
	return io.LimitReader(&synthetic{rng: rand.NewChaCha8(seed)}, size)
}

// SyntheticEntry is the directory entry of a disk file whose content is
// Synthetic(name, size).
func SyntheticEntry(name string, size int64) DiskEntry {
	h := sha256.New()
	io.Copy(h, Synthetic(name, size))
	return DiskEntry{Name: name, Size: size, Digest: hex.EncodeToString(h.Sum(nil))}
}

type synthetic struct {
	rng  *rand.ChaCha8
	raw  [2048]byte
	text [4096]byte
	left []byte
}

func (s *synthetic) Read(p []byte) (int, error) {
	if len(s.left) == 0 {
		s.rng.Read(s.raw[:])
		hex.Encode(s.text[:], s.raw[:])
		s.left = s.text[:]
	}
	n := copy(p, s.left)
	s.left = s.left[n:]
	return n, nil
}
