package snapshot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// The binary encoding of a volume set (schema version 2). A set is its
// fields in the order VolumeSet declares them, and each record in a list
// is its fields in the order its Go type declares them, with no names and
// no separators: a string is its length as an unsigned varint and its
// UTF-8 bytes, an integer a signed (zig-zag) varint, a boolean one byte 0
// or 1, a time its Unix seconds (signed varint), nanoseconds (unsigned
// varint, below 10⁹) and UTC offset in seconds (signed varint), and a list
// its length (unsigned varint) and its records. Decoding JSON was most of
// what reading a segment cost, twice in an import (plan and apply); this
// reads the same sets several times faster.
//
// The layout is the Go types': adding, removing or reordering a field of
// a record changes the format, and TestBinaryLayout fails until the
// schema version and docs/snapshot-format.md say so.

// kind is how one field is encoded.
type kind uint8

const (
	kindString kind = iota
	kindInt
	kindBool
	kindTime
	kindList
)

var kindNames = [...]string{kindString: "string", kindInt: "int", kindBool: "bool", kindTime: "time", kindList: "list"}

// field is one encoded field of a record type.
type field struct {
	name  string
	index int
	kind  kind
	elem  *layout // the records of a list
}

// layout is the encoded form of a record type: its fields, in order.
type layout struct {
	name   string
	fields []field
	// min is the fewest bytes a record takes (one per field, three per
	// time), which bounds the length a list may claim in what is left of
	// its set.
	min int
}

var timeType = reflect.TypeFor[time.Time]()

// layoutOf builds the layout of struct type t; it panics on a field kind
// the encoding has no form for, which a test of the layout catches.
func layoutOf(t reflect.Type) *layout {
	l := &layout{name: t.Name()}
	for i := range t.NumField() {
		f := t.Field(i)
		fl := field{name: f.Name, index: i}
		switch {
		case f.Type == timeType:
			fl.kind = kindTime
			l.min += 2
		case f.Type.Kind() == reflect.String:
			fl.kind = kindString
		case f.Type.Kind() == reflect.Int || f.Type.Kind() == reflect.Int64:
			fl.kind = kindInt
		case f.Type.Kind() == reflect.Bool:
			fl.kind = kindBool
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			fl.kind, fl.elem = kindList, layoutOf(f.Type.Elem())
		default:
			panic(fmt.Sprintf("snapshot: no binary form for %s.%s (%s)", t.Name(), f.Name, f.Type))
		}
		l.fields = append(l.fields, fl)
	}
	l.min += len(l.fields)
	return l
}

var setLayout = sync.OnceValue(func() *layout { return layoutOf(reflect.TypeFor[VolumeSet]()) })

// describe writes the layout as the format document lists it: one line
// per record type, its fields in order with their kinds, then the record
// types its lists hold.
func (l *layout) describe(b *strings.Builder) {
	var lists []*layout
	fmt.Fprintf(b, "%s:", l.name)
	for i, f := range l.fields {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(b, " %s %s", f.name, kindNames[f.kind])
		if f.elem != nil {
			fmt.Fprintf(b, " of %s", f.elem.name)
			lists = append(lists, f.elem)
		}
	}
	b.WriteByte('\n')
	for _, e := range lists {
		e.describe(b)
	}
}

// appendSet appends the binary encoding of s to b. A time no set may hold
// (checkTime) is refused, naming its field, as the decoder would refuse it.
func appendSet(b []byte, s *VolumeSet) ([]byte, error) {
	return setLayout().append(b, reflect.ValueOf(s).Elem())
}

func (l *layout) append(b []byte, v reflect.Value) ([]byte, error) {
	for _, f := range l.fields {
		fv := v.Field(f.index)
		switch f.kind {
		case kindString:
			s := fv.String()
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		case kindInt:
			b = binary.AppendVarint(b, fv.Int())
		case kindBool:
			if fv.Bool() {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		case kindTime:
			t := fv.Addr().Interface().(*time.Time) // a pointer: no copy on the heap
			_, offset := t.Zone()
			if err := checkTime(t.Unix(), uint64(t.Nanosecond()), int64(offset)); err != nil {
				return nil, fmt.Errorf("%s %s: %w", f.name, t, err)
			}
			b = binary.AppendVarint(b, t.Unix())
			b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
			b = binary.AppendVarint(b, int64(offset))
		case kindList:
			n := fv.Len()
			b = binary.AppendUvarint(b, uint64(n))
			for i := range n {
				var err error
				if b, err = f.elem.append(b, fv.Index(i)); err != nil {
					return nil, fmt.Errorf("%s[%d].%w", f.name, i, err)
				}
			}
		}
	}
	return b, nil
}

// decoder reads one encoded set; its errors say which field, at which
// byte of the set, is wrong.
type decoder struct {
	b       []byte
	off     int
	strings stringCache
}

// stringCache hands out one string for each short value a set repeats
// (catalog and pool names, statuses, modes): a string per field was a
// third of the decoding time. It is a small table indexed by a hash of the
// bytes; a collision replaces the entry.
type stringCache [256]string

// maxCached bounds the strings the cache holds: longer values (file
// names, comments) seldom repeat.
const maxCached = 16

func (c *stringCache) get(b []byte) string {
	if len(b) == 0 || len(b) > maxCached {
		return string(b)
	}
	h := uint32(len(b))
	for _, x := range b {
		h = h*31 + uint32(x)
	}
	e := &c[h%uint32(len(c))]
	if *e != string(b) { // compares without allocating
		*e = string(b)
	}
	return *e
}

// fieldError is a field that does not decode: where it starts in its set,
// its path (TapeFiles[3].Created) and why. The path is gathered from the
// field out, so it is held last element first.
type fieldError struct {
	off    int
	path   []string
	reason string
}

func (e *fieldError) Error() string {
	var p strings.Builder
	for _, s := range slices.Backward(e.path) {
		p.WriteString(s)
	}
	where := strings.TrimPrefix(p.String(), ".")
	if where != "" {
		where += " at "
	}
	return fmt.Sprintf("%sbyte %d of the set: %s", where, e.off, e.reason)
}

var errTruncated = errors.New("truncated")

// set decodes the binary encoding of one set into s: its first n fields
// (all when n < 0; only then are bytes after the set refused), so that a
// reader needing the head of a set alone (headFields) stops there. It
// refuses a truncated set, invalid UTF-8, a boolean other than 0 or 1, a
// time out of range, and a list longer than what is left could hold. The
// decoder's string cache lasts from set to set.
func (d *decoder) set(b []byte, s *VolumeSet, n int) error {
	d.b, d.off = b, 0
	fields := setLayout().fields
	if n >= 0 {
		fields = fields[:n]
	}
	if err := d.record(fields, reflect.ValueOf(s).Elem()); err != nil {
		return err
	}
	if n < 0 && d.off != len(b) {
		return &fieldError{off: d.off, reason: fmt.Sprintf("%d bytes after the set", len(b)-d.off)}
	}
	return nil
}

// headFields are the fields of a set before the DSM/TC records: its id,
// its key records and its volumes, in the order TestBinaryLayout pins.
const headFields = 3

func (d *decoder) record(fields []field, v reflect.Value) error {
	for _, f := range fields {
		start := d.off
		if err := d.field(f, v.Field(f.index)); err != nil {
			fe, ok := err.(*fieldError)
			if !ok {
				fe = &fieldError{off: start, reason: err.Error()}
			}
			fe.path = append(fe.path, "."+f.name)
			return fe
		}
	}
	return nil
}

func (d *decoder) field(f field, v reflect.Value) error {
	switch f.kind {
	case kindString:
		s, err := d.string()
		if err != nil {
			return err
		}
		v.SetString(s)
	case kindInt:
		i, err := d.varint()
		if err != nil {
			return err
		}
		if v.OverflowInt(i) {
			return fmt.Errorf("%d out of range", i)
		}
		v.SetInt(i)
	case kindBool:
		if d.off >= len(d.b) {
			return errTruncated
		}
		switch d.b[d.off] {
		case 0, 1:
			v.SetBool(d.b[d.off] == 1)
		default:
			return fmt.Errorf("boolean %d, want 0 or 1", d.b[d.off])
		}
		d.off++
	case kindTime:
		t, err := d.time()
		if err != nil {
			return err
		}
		*v.Addr().Interface().(*time.Time) = t
	case kindList:
		return d.list(f.elem, v)
	}
	return nil
}

func (d *decoder) list(l *layout, v reflect.Value) error {
	n, err := d.uvarint()
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if left := uint64(len(d.b) - d.off); n > left/uint64(l.min) {
		return fmt.Errorf("list of %d records, more than the %d bytes left hold", n, left)
	}
	s := reflect.MakeSlice(v.Type(), int(n), int(n))
	for i := range int(n) {
		if err := d.record(l.fields, s.Index(i)); err != nil {
			fe := err.(*fieldError)
			fe.path = append(fe.path, fmt.Sprintf("[%d]", i))
			return fe
		}
	}
	v.Set(s)
	return nil
}

func (d *decoder) uvarint() (uint64, error) {
	u, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		return 0, badVarint(n)
	}
	d.off += n
	return u, nil
}

func (d *decoder) varint() (int64, error) {
	i, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		return 0, badVarint(n)
	}
	d.off += n
	return i, nil
}

func badVarint(n int) error {
	if n == 0 {
		return errTruncated
	}
	return errors.New("varint overflows 64 bits")
}

func (d *decoder) string() (string, error) {
	n, err := d.uvarint()
	if err != nil {
		return "", err
	}
	if n > uint64(len(d.b)-d.off) {
		return "", fmt.Errorf("string of %d bytes, more than the %d left", n, len(d.b)-d.off)
	}
	b := d.b[d.off : d.off+int(n)]
	if !utf8.Valid(b) {
		return "", errors.New("invalid UTF-8")
	}
	d.off += int(n)
	return d.strings.get(b), nil
}

// The times a set may hold are those the JSON of schema version 1 could
// carry, so that both versions decode to the same values: years 0 to 9999,
// UTC offsets in whole minutes of less than a day (RFC 3339).
var (
	minTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
)

const maxOffset = 24 * 60 * 60

func (d *decoder) time() (time.Time, error) {
	sec, err := d.varint()
	if err != nil {
		return time.Time{}, err
	}
	nsec, err := d.uvarint()
	if err != nil {
		return time.Time{}, err
	}
	offset, err := d.varint()
	if err != nil {
		return time.Time{}, err
	}
	if err := checkTime(sec, nsec, offset); err != nil {
		return time.Time{}, err
	}
	return zoned(time.Unix(sec, int64(nsec)), int(offset)), nil
}

// checkTime is nil for the encoding of a time a set may hold.
func checkTime(sec int64, nsec uint64, offset int64) error {
	switch {
	case nsec >= 1e9:
		return fmt.Errorf("%d nanoseconds, want fewer than 10⁹", nsec)
	case offset <= -maxOffset || offset >= maxOffset || offset%60 != 0:
		return fmt.Errorf("UTC offset of %d seconds, want whole minutes of less than a day", offset)
	case sec+offset < minTime || sec+offset >= maxTime:
		return fmt.Errorf("%d seconds after 1970 (UTC offset %d), want a year from 0 to 9999", sec, offset)
	}
	return nil
}

// zoned places t in the zone JSON decoding gives a time with this offset,
// so that both versions decode a set to the same values: UTC for 0, the
// local zone when it has that offset then, and otherwise an unnamed fixed
// zone.
func zoned(t time.Time, offset int) time.Time {
	if offset == 0 {
		return t.UTC()
	}
	if l := t.In(time.Local); zoneOffset(l) == offset {
		return l
	}
	return t.In(time.FixedZone("", offset))
}

func zoneOffset(t time.Time) int {
	_, off := t.Zone()
	return off
}
