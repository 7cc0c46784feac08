package volimage

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/catsync/catsync/internal/catalog"
)

// Label records follow ANSI X3.27 / ECMA-13: 80 characters, positions
// counted from 1 in the comments below.
const (
	labelSize = 80
	// implementationID fills the implementation / system code fields (VOL1
	// 25-37, HDR1 61-73), which name the system that recorded the tape.
	implementationID = "CATSYNC"
	// TapeBlockLength is the largest data block of a tape file (HDR2 6-10).
	TapeBlockLength = 32768
	// maxTapeRecord bounds any record read back: HDR2 has five digits.
	maxTapeRecord = 99999
)

// field writes s left-justified into rec[from-1 : to], padded with spaces.
func field(rec []byte, from, to int, s string) {
	n := copy(rec[from-1:to], s)
	for i := from - 1 + n; i < to; i++ {
		rec[i] = ' '
	}
}

// number writes v right-justified with leading zeros into rec[from-1 : to].
func number(rec []byte, from, to, v int) {
	s := strconv.Itoa(v)
	field(rec, from, to, strings.Repeat("0", to-from+1-len(s))+s)
}

func blank() []byte { return []byte(strings.Repeat(" ", labelSize)) }

// vol1 builds the volume header: 1-4 "VOL1", 5-10 volume identifier,
// 11 accessibility, 12-24 reserved, 25-37 implementation identifier,
// 38-51 owner identifier, 52-79 reserved, 80 label standard version.
func vol1(label string) []byte {
	r := blank()
	field(r, 1, 4, "VOL1")
	field(r, 5, 10, label)
	field(r, 25, 37, implementationID)
	field(r, 80, 80, "3")
	return r
}

// fileLabel builds HDR1 or EOF1: 1-4 label identifier and number,
// 5-21 file identifier, 22-27 file set identifier, 28-31 file section
// number, 32-35 file sequence number, 36-39 generation number, 40-41
// generation version number, 42-47 creation date, 48-53 expiration date
// (cYYDDD), 54 accessibility, 55-60 block count (zeros in HDR1),
// 61-73 implementation identifier, 74-80 reserved.
func fileLabel(id string, f TapeFile, blocks int) ([]byte, error) {
	created, err := labelDate(f.Created)
	if err != nil {
		return nil, fmt.Errorf("creation date: %w", err)
	}
	expires, err := labelDate(f.Expires)
	if err != nil {
		return nil, fmt.Errorf("expiration date: %w", err)
	}
	r := blank()
	field(r, 1, 4, id)
	field(r, 5, 21, catalog.LabelFileID(f.FileID))
	field(r, 22, 27, f.FileSetID)
	number(r, 28, 31, f.Section)
	number(r, 32, 35, f.Sequence)
	number(r, 36, 39, f.Generation)
	number(r, 40, 41, f.Version)
	field(r, 42, 47, created)
	field(r, 48, 53, expires)
	number(r, 55, 60, blocks)
	field(r, 61, 73, implementationID)
	return r, nil
}

// fileLabel2 builds HDR2 or EOF2: 1-4 label identifier and number,
// 5 record format, 6-10 block length, 11-15 record length, 16-50 reserved
// for the system, 51-52 buffer offset length, 53-80 reserved. The format is
// U (undefined), as the catalog's RECORDFORMAT UN of BACKUP tapes: blocks
// of up to the block length, the last one shorter.
func fileLabel2(id string) []byte {
	r := blank()
	field(r, 1, 4, id)
	field(r, 5, 5, "U")
	number(r, 6, 10, TapeBlockLength)
	number(r, 11, 15, TapeBlockLength)
	number(r, 51, 52, 0)
	return r
}

// labelDate is the standard's cYYDDD date: c is a space for 19xx and a
// digit d for 20xx+100d, YY the year in the century, DDD the day of the
// year. The zero time, no date, is " 00000" (day 000 does not exist).
func labelDate(t time.Time) (string, error) {
	if t.IsZero() {
		return " 00000", nil
	}
	y := t.Year()
	if y < 1900 || y > 2999 {
		return "", fmt.Errorf("year %d cannot be written as cYYDDD", y)
	}
	c := " "
	if y >= 2000 {
		c = strconv.Itoa((y - 2000) / 100)
	}
	return fmt.Sprintf("%s%02d%03d", c, y%100, t.YearDay()), nil
}

func parseLabelDate(s string) (time.Time, error) {
	if s == " 00000" {
		return time.Time{}, nil
	}
	if len(s) != 6 || !digits(s[1:]) || (s[0] != ' ' && (s[0] < '0' || s[0] > '9')) {
		return time.Time{}, fmt.Errorf("date %q is not cYYDDD", s)
	}
	y := 1900
	if s[0] != ' ' {
		y = 2000 + 100*int(s[0]-'0')
	}
	y += atoi(s[1:3])
	d := atoi(s[3:6])
	days := 365
	if time.Date(y, 12, 31, 0, 0, 0, 0, time.UTC).YearDay() == 366 {
		days = 366
	}
	if d < 1 || d > days {
		return time.Time{}, fmt.Errorf("date %q: day %d is not in %d", s, d, y)
	}
	return time.Date(y, 1, d, 0, 0, 0, 0, time.UTC), nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// fileLabelFields is what HDR1 and EOF1 carry.
type fileLabelFields struct {
	TapeFile
	Blocks int
}

// parseFileLabel reads an HDR1 or EOF1 record whose identifier is id.
func parseFileLabel(id string, r []byte) (fileLabelFields, error) {
	var f fileLabelFields
	if len(r) != labelSize {
		return f, fmt.Errorf("%s record has %d bytes, not %d", id, len(r), labelSize)
	}
	s := string(r)
	if s[0:4] != id {
		return f, fmt.Errorf("expected %s, found %q", id, s[0:4])
	}
	var bad error
	num := func(from, to int, name string) int {
		v := s[from-1 : to]
		if !digits(v) && bad == nil {
			bad = fmt.Errorf("%s %s %q is not numeric", id, name, v)
		}
		return atoi(v)
	}
	f.Section = num(28, 31, "file section number")
	f.Sequence = num(32, 35, "file sequence number")
	f.Generation = num(36, 39, "generation number")
	f.Version = num(40, 41, "generation version number")
	f.Blocks = num(55, 60, "block count")
	if bad != nil {
		return f, bad
	}
	var err error
	if f.Created, err = parseLabelDate(s[41:47]); err != nil {
		return f, fmt.Errorf("%s creation %w", id, err)
	}
	if f.Expires, err = parseLabelDate(s[47:53]); err != nil {
		return f, fmt.Errorf("%s expiration %w", id, err)
	}
	f.FileID = strings.TrimRight(s[4:21], " ")
	f.FileSetID = strings.TrimRight(s[21:27], " ")
	if f.FileID == "" {
		return f, fmt.Errorf("%s has no file identifier", id)
	}
	return f, nil
}
