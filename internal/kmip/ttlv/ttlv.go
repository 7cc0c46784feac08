// Package ttlv encodes and decodes KMIP's Tag-Type-Length-Value format
// (KMIP 1.x specification, section 9.1): a 3-byte tag, a 1-byte type, a
// 4-byte length and the value, padded with zeros to a multiple of 8 bytes.
// The decoder treats its input as hostile: every length is checked against
// what remains, padding must be zero, nesting is bounded, and an error
// says at which offset the input went wrong.
package ttlv

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
	"time"
)

// Tag names a field (KMIP tags are 0x42xxxx).
type Tag uint32

// Type is a TTLV item type.
type Type byte

// Item types.
const (
	Structure   Type = 0x01
	Integer     Type = 0x02
	LongInteger Type = 0x03
	BigInteger  Type = 0x04
	Enumeration Type = 0x05
	Boolean     Type = 0x06
	TextString  Type = 0x07
	ByteString  Type = 0x08
	DateTime    Type = 0x09
	Interval    Type = 0x0A
)

var typeNames = map[Type]string{Structure: "Structure", Integer: "Integer", LongInteger: "LongInteger", BigInteger: "BigInteger",
	Enumeration: "Enumeration", Boolean: "Boolean", TextString: "TextString", ByteString: "ByteString", DateTime: "DateTime",
	Interval: "Interval"}

func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("Type(0x%02x)", byte(t))
}

// Item is one TTLV item. Value holds, by type: []Item (Structure), int32
// (Integer), int64 (LongInteger), *big.Int (BigInteger), uint32
// (Enumeration, Interval), bool (Boolean), string (TextString), []byte
// (ByteString), time.Time (DateTime, whole seconds).
type Item struct {
	Tag   Tag
	Type  Type
	Value any
}

// Constructors.
func Struct(tag Tag, items ...Item) Item       { return Item{tag, Structure, items} }
func Int(tag Tag, v int32) Item                { return Item{tag, Integer, v} }
func Long(tag Tag, v int64) Item               { return Item{tag, LongInteger, v} }
func Big(tag Tag, v *big.Int) Item             { return Item{tag, BigInteger, v} }
func Enum(tag Tag, v uint32) Item              { return Item{tag, Enumeration, v} }
func Bool(tag Tag, v bool) Item                { return Item{tag, Boolean, v} }
func Text(tag Tag, v string) Item              { return Item{tag, TextString, v} }
func Bytes(tag Tag, v []byte) Item             { return Item{tag, ByteString, v} }
func Time(tag Tag, v time.Time) Item           { return Item{tag, DateTime, v} }
func IntervalOf(tag Tag, v time.Duration) Item { return Item{tag, Interval, uint32(v / time.Second)} }

// Items returns a structure's items (nil for any other type).
func (it Item) Items() []Item {
	items, _ := it.Value.([]Item)
	return items
}

// Find returns the first item of a structure with the tag.
func (it Item) Find(tag Tag) (Item, bool) {
	for _, c := range it.Items() {
		if c.Tag == tag {
			return c, true
		}
	}
	return Item{}, false
}

// All returns every item of a structure with the tag.
func (it Item) All(tag Tag) []Item {
	var out []Item
	for _, c := range it.Items() {
		if c.Tag == tag {
			out = append(out, c)
		}
	}
	return out
}

// Marshal encodes an item.
func Marshal(it Item) ([]byte, error) {
	return it.append(nil)
}

func pad(n int) int { return (8 - n%8) % 8 }

func (it Item) append(b []byte) ([]byte, error) {
	if it.Tag > 0xFFFFFF {
		return nil, fmt.Errorf("tag 0x%x does not fit in 3 bytes", uint32(it.Tag))
	}
	var v []byte
	switch x := it.Value.(type) {
	case []Item:
		for _, c := range x {
			var err error
			if v, err = c.append(v); err != nil {
				return nil, err
			}
		}
	case int32:
		v = binary.BigEndian.AppendUint32(nil, uint32(x))
	case int64:
		v = binary.BigEndian.AppendUint64(nil, uint64(x))
	case uint32:
		v = binary.BigEndian.AppendUint32(nil, x)
	case bool:
		var n uint64
		if x {
			n = 1
		}
		v = binary.BigEndian.AppendUint64(nil, n)
	case string:
		v = []byte(x)
	case []byte:
		v = x
	case time.Time:
		v = binary.BigEndian.AppendUint64(nil, uint64(x.Unix()))
	case *big.Int:
		v = bigBytes(x)
	default:
		return nil, fmt.Errorf("tag 0x%06x: no encoding for a %T as %s", uint32(it.Tag), it.Value, it.Type)
	}
	if want, ok := goTypes[it.Type]; !ok || want != fmt.Sprintf("%T", it.Value) {
		return nil, fmt.Errorf("tag 0x%06x: a %s cannot hold a %T", uint32(it.Tag), it.Type, it.Value)
	}
	b = append(b, byte(it.Tag>>16), byte(it.Tag>>8), byte(it.Tag), byte(it.Type))
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	b = append(b, v...)
	return append(b, make([]byte, pad(len(v)))...), nil
}

var goTypes = map[Type]string{Structure: "[]ttlv.Item", Integer: "int32", LongInteger: "int64", BigInteger: "*big.Int",
	Enumeration: "uint32", Boolean: "bool", TextString: "string", ByteString: "[]uint8", DateTime: "time.Time", Interval: "uint32"}

// bigBytes is the two's complement big-endian form of x, sign-extended to
// a multiple of 8 bytes.
func bigBytes(x *big.Int) []byte {
	n := (x.BitLen()/8 + 1 + 7) / 8 * 8 // room for the sign bit
	out := make([]byte, n)
	if x.Sign() >= 0 {
		x.FillBytes(out)
		return out
	}
	// Two's complement: 2^(8n) + x.
	m := new(big.Int).Lsh(big.NewInt(1), uint(8*n))
	m.Add(m, x)
	m.FillBytes(out)
	return out
}

// Limits of the decoder.
const (
	MaxDepth   = 16
	MaxMessage = 16 << 20
)

// Error is malformed TTLV input, at a byte offset.
type Error struct {
	Offset int
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("TTLV at offset %d: %s", e.Offset, e.Reason) }

// Unmarshal decodes one item that must fill b exactly.
func Unmarshal(b []byte) (Item, error) {
	it, n, err := decode(b, 0, 0)
	if err != nil {
		return Item{}, err
	}
	if n != len(b) {
		return Item{}, &Error{n, fmt.Sprintf("%d bytes after the item", len(b)-n)}
	}
	return it, nil
}

// decode reads the item at b[off:] and returns it with the offset after it.
func decode(b []byte, off, depth int) (Item, int, error) {
	fail := func(at int, format string, args ...any) (Item, int, error) {
		return Item{}, 0, &Error{at, fmt.Sprintf(format, args...)}
	}
	if len(b)-off < 8 {
		return fail(off, "truncated header (%d bytes left)", len(b)-off)
	}
	it := Item{Tag: Tag(b[off])<<16 | Tag(b[off+1])<<8 | Tag(b[off+2]), Type: Type(b[off+3])}
	n := int(binary.BigEndian.Uint32(b[off+4:]))
	start := off + 8
	if n > len(b)-start {
		return fail(off, "%s of %d bytes, only %d left", it.Type, n, len(b)-start)
	}
	end := start + n + pad(n)
	if it.Type != Structure && end > len(b) {
		return fail(start+n, "missing padding")
	}
	fixed := map[Type]int{Integer: 4, LongInteger: 8, Enumeration: 4, Boolean: 8, DateTime: 8, Interval: 4}
	if want, ok := fixed[it.Type]; ok && n != want {
		return fail(off, "%s of length %d, want %d", it.Type, n, want)
	}
	v := b[start : start+n]
	switch it.Type {
	case Structure:
		if depth >= MaxDepth {
			return fail(off, "structures nested deeper than %d", MaxDepth)
		}
		if n%8 != 0 {
			return fail(off, "structure length %d is not a multiple of 8", n)
		}
		items := []Item{}
		for at := start; at < start+n; {
			c, next, err := decode(b[:start+n], at, depth+1)
			if err != nil {
				return Item{}, 0, err
			}
			items = append(items, c)
			at = next
		}
		it.Value = items
		return it, start + n, nil
	case Integer:
		it.Value = int32(binary.BigEndian.Uint32(v))
	case LongInteger:
		it.Value = int64(binary.BigEndian.Uint64(v))
	case Enumeration, Interval:
		it.Value = binary.BigEndian.Uint32(v)
	case Boolean:
		x := binary.BigEndian.Uint64(v)
		if x > 1 {
			return fail(start, "boolean value %d, want 0 or 1", x)
		}
		it.Value = x == 1
	case TextString:
		it.Value = string(v)
	case ByteString:
		it.Value = append([]byte{}, v...)
	case DateTime:
		it.Value = time.Unix(int64(binary.BigEndian.Uint64(v)), 0).UTC()
	case BigInteger:
		if n%8 != 0 {
			return fail(off, "big integer of length %d, want a multiple of 8", n)
		}
		x := new(big.Int).SetBytes(v)
		if n > 0 && v[0]&0x80 != 0 {
			x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*n)))
		}
		it.Value = x
	default:
		return fail(off+3, "unknown type 0x%02x", byte(it.Type))
	}
	for i := start + n; i < end; i++ {
		if b[i] != 0 {
			return fail(i, "non-zero padding")
		}
	}
	return it, end, nil
}

// ReadMessage reads one whole TTLV message from r: its 8-byte header, then
// as many bytes as the header announces, at most MaxMessage.
func ReadMessage(r io.Reader) ([]byte, error) {
	head := make([]byte, 8)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(head[4:])
	if Type(head[3]) != Structure || n%8 != 0 || n > MaxMessage {
		return nil, &Error{0, fmt.Sprintf("message header: %s of %d bytes (want a structure, at most %d bytes)", Type(head[3]), n, MaxMessage)}
	}
	msg := make([]byte, 8+int(n))
	copy(msg, head)
	if _, err := io.ReadFull(r, msg[8:]); err != nil {
		return nil, fmt.Errorf("message body: %w", err)
	}
	return msg, nil
}
