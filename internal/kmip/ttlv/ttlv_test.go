package ttlv

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "|", "").Replace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bigOf(s string) *big.Int {
	x, _ := new(big.Int).SetString(s, 10)
	return x
}

// The examples of the KMIP specification (v1.0 to v1.4, section 9.1.2),
// byte for byte; they encode a protocol object of tag 420020.
var specExamples = []struct {
	name string
	item Item
	hex  string
}{
	{"an Integer containing the decimal value 8", Int(0x420020, 8),
		"42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00"},
	{"a Long Integer containing the decimal value 123456789000000000", Long(0x420020, 123456789000000000),
		"42 00 20 | 03 | 00 00 00 08 | 01 B6 9B 4B A5 74 92 00"},
	{"a Big Integer containing the decimal value 1234567890000000000000000000", Big(0x420020, bigOf("1234567890000000000000000000")),
		"42 00 20 | 04 | 00 00 00 10 | 00 00 00 00 03 FD 35 EB 6B C2 DF 46 18 08 00 00"},
	{"an Enumeration with value 255", Enum(0x420020, 255),
		"42 00 20 | 05 | 00 00 00 04 | 00 00 00 FF 00 00 00 00"},
	{"a Boolean with the value True", Bool(0x420020, true),
		"42 00 20 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 01"},
	{"a Text String with the value \"Hello World\"", Text(0x420020, "Hello World"),
		"42 00 20 | 07 | 00 00 00 0B | 48 65 6C 6C 6F 20 57 6F 72 6C 64 00 00 00 00 00"},
	{"a Byte String with the value { 0x01, 0x02, 0x03 }", Bytes(0x420020, []byte{1, 2, 3}),
		"42 00 20 | 08 | 00 00 00 03 | 01 02 03 00 00 00 00 00"},
	{"a Date-Time, containing the value for Friday, March 14, 2008, 11:56:40 GMT", Time(0x420020, time.Date(2008, 3, 14, 11, 56, 40, 0, time.UTC)),
		"42 00 20 | 09 | 00 00 00 08 | 00 00 00 00 47 DA 67 F8"},
	{"an Interval, containing the value for 10 days", IntervalOf(0x420020, 10*24*time.Hour),
		"42 00 20 | 0A | 00 00 00 04 | 00 0D 2F 00 00 00 00 00"},
	{"a Structure containing an Enumeration, value 254, followed by an Integer, value 255, having tags 420004 and 420005",
		Struct(0x420020, Enum(0x420004, 254), Int(0x420005, 255)),
		"42 00 20 | 01 | 00 00 00 20 | 42 00 04 | 05 | 00 00 00 04 | 00 00 00 FE 00 00 00 00 | 42 00 05 | 02 | 00 00 00 04 | 00 00 00 FF 00 00 00 00"},
}

func TestSpecificationExamples(t *testing.T) {
	for _, ex := range specExamples {
		want := unhex(t, ex.hex)
		got, err := Marshal(ex.item)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: encoded % X (%v), want % X", ex.name, got, err, want)
		}
		back, err := Unmarshal(want)
		if err != nil {
			t.Errorf("%s: %v", ex.name, err)
			continue
		}
		if b, ok := back.Value.(*big.Int); ok {
			if b.Cmp(ex.item.Value.(*big.Int)) != 0 {
				t.Errorf("%s: decoded %v", ex.name, b)
			}
			continue
		}
		if !reflect.DeepEqual(back, ex.item) {
			t.Errorf("%s: decoded %#v, want %#v", ex.name, back, ex.item)
		}
	}
}

func TestBigIntegerSign(t *testing.T) {
	for _, s := range []string{"0", "1", "-1", "127", "128", "-128", "-129", "18446744073709551616", "-1234567890000000000000000000"} {
		b, err := Marshal(Big(0x420020, bigOf(s)))
		if err != nil {
			t.Fatal(err)
		}
		back, err := Unmarshal(b)
		if err != nil || back.Value.(*big.Int).Cmp(bigOf(s)) != 0 {
			t.Errorf("%s: back %v, %v (% X)", s, back.Value, err, b)
		}
	}
}

func TestFindAndAll(t *testing.T) {
	s := Struct(0x420078, Int(0x42000D, 2), Struct(0x42000F, Enum(0x42005C, 8)), Struct(0x42000F, Enum(0x42005C, 10)))
	if c, ok := s.Find(0x42000D); !ok || c.Value != int32(2) {
		t.Errorf("find batch count: %v %v", c, ok)
	}
	if items := s.All(0x42000F); len(items) != 2 {
		t.Errorf("all batch items: %d", len(items))
	}
	if _, ok := s.Find(0x420001); ok {
		t.Error("found an absent tag")
	}
}

func TestMalformedInput(t *testing.T) {
	deep := []byte{}
	for i := 0; i <= MaxDepth; i++ {
		deep = append([]byte{0x42, 0x00, 0x20, 0x01, 0, 0, 0, byte(len(deep))}, deep...)
	}
	for _, tc := range []struct {
		name, hex string
		raw       []byte
		at        int
		reason    string
	}{
		{name: "empty", hex: "", reason: "truncated header"},
		{name: "short header", hex: "42 00 20 02 00 00", reason: "truncated header"},
		{name: "length past the end", hex: "42 00 20 | 07 | 00 00 00 10 | 48 65", reason: "only 2 left"},
		{name: "missing padding", hex: "42 00 20 | 07 | 00 00 00 02 | 48 65", at: 10, reason: "missing padding"},
		{name: "non-zero padding", hex: "42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 01 00", at: 14, reason: "non-zero padding"},
		{name: "integer of the wrong length", hex: "42 00 20 | 02 | 00 00 00 08 | 00 00 00 00 00 00 00 08", reason: "want 4"},
		{name: "boolean 2", hex: "42 00 20 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 02", at: 8, reason: "want 0 or 1"},
		{name: "unknown type", hex: "42 00 20 | 0F | 00 00 00 00", at: 3, reason: "unknown type"},
		{name: "child past its structure", hex: "42 00 20 | 01 | 00 00 00 08 | 42 00 04 | 02 | 00 00 00 04 | 00 00 00 FE 00 00 00 00", at: 8, reason: "only 0 left"},
		{name: "structure not a multiple of 8", hex: "42 00 20 | 01 | 00 00 00 04 | 00 00 00 00", reason: "multiple of 8"},
		{name: "bytes after the item", hex: "42 00 20 | 05 | 00 00 00 04 | 00 00 00 FF 00 00 00 00 | 00", at: 16, reason: "after the item"},
		{name: "nested too deep", raw: deep, at: 8 * MaxDepth, reason: "deeper than"},
	} {
		b := tc.raw
		if b == nil {
			b = unhex(t, tc.hex)
		}
		_, err := Unmarshal(b)
		var te *Error
		if !errors.As(err, &te) || te.Offset != tc.at || !strings.Contains(te.Reason, tc.reason) {
			t.Errorf("%s: %v, want %q at offset %d", tc.name, err, tc.reason, tc.at)
		}
	}
}

func TestMarshalRefusesMismatchedValues(t *testing.T) {
	for _, it := range []Item{{0x420020, Integer, "8"}, {0x420020, Structure, []byte{1}}, {0x1000000, Integer, int32(1)}, {0x420020, Boolean, 1}} {
		if _, err := Marshal(it); err == nil {
			t.Errorf("%#v encoded", it)
		}
	}
}

func TestReadMessage(t *testing.T) {
	msg, _ := Marshal(Struct(0x420078, Struct(0x420077, Int(0x42000D, 1))))
	got, err := ReadMessage(bytes.NewReader(append(msg, 0xEE)))
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("read % X, %v", got, err)
	}
	if _, err := ReadMessage(bytes.NewReader(msg[:len(msg)-1])); err == nil {
		t.Error("a truncated message was read")
	}
	huge := []byte{0x42, 0x00, 0x7B, 0x01, 0x7F, 0xFF, 0xFF, 0xF8}
	if _, err := ReadMessage(bytes.NewReader(huge)); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("a 2 GiB message header: %v", err)
	}
}

// FuzzUnmarshal decodes arbitrary bytes: never a panic, errors carry an
// offset inside the input, and what decodes encodes back to the same bytes
// (big integers aside, which may carry extra sign extension).
func FuzzUnmarshal(f *testing.F) {
	for _, ex := range specExamples {
		f.Add(unhex(f, ex.hex))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := Unmarshal(b)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) || te.Offset < 0 || te.Offset > len(b) {
				t.Fatalf("error %v for %d bytes", err, len(b))
			}
			return
		}
		// Big integers may arrive with more sign extension than needed,
		// so the bytes are compared after one round trip.
		again, err := Marshal(it)
		if err != nil {
			t.Fatalf("decoded item does not encode: %v", err)
		}
		back, err := Unmarshal(again)
		if err != nil {
			t.Fatalf("re-encoded item does not decode: %v", err)
		}
		if twice, err := Marshal(back); err != nil || !bytes.Equal(twice, again) {
			t.Fatalf("encoding is not stable: % X then % X (%v)", again, twice, err)
		}
		if !hasBig(it) && !bytes.Equal(again, b) {
			t.Fatalf("re-encoded % X, want % X", again, b)
		}
	})
}

func hasBig(it Item) bool {
	for _, c := range it.Items() {
		if hasBig(c) {
			return true
		}
	}
	return it.Type == BigInteger
}
