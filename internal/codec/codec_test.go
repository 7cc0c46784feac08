package codec

import (
	"bytes"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

func key(id string, b byte) Key { return Key{ID: id, Key: bytes.Repeat([]byte{b}, 32)} }

func mustNew(t *testing.T, keys ...Key) *Codec {
	t.Helper()
	c, err := New(keys)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func payload(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRoundTripHidesClearText(t *testing.T) {
	c := mustNew(t, key("k1", 1))
	in := payload(t, map[string]any{"volume": "VOLAB1", "store": 4711})
	enc, err := c.Encode([]*commonpb.Payload{in})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(enc[0].Data, []byte("VOLAB1")) || bytes.Contains(enc[0].Data, []byte("4711")) {
		t.Fatal("sealed payload holds the clear text")
	}
	if got := string(enc[0].Metadata[converter.MetadataEncoding]); got != Encoding {
		t.Fatalf("encoding %q, want %q", got, Encoding)
	}
	if got := string(enc[0].Metadata[KeyIDKey]); got != "k1" {
		t.Fatalf("key id %q, want k1", got)
	}
	again, _ := c.Encode([]*commonpb.Payload{in})
	if bytes.Equal(again[0].Data, enc[0].Data) {
		t.Fatal("two seals of one payload are equal: the nonce is not random")
	}
	dec, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dec[0].Data, in.Data) || string(dec[0].Metadata[converter.MetadataEncoding]) != string(in.Metadata[converter.MetadataEncoding]) {
		t.Fatalf("decoded %v, want %v", dec[0], in)
	}
}

func TestRotation(t *testing.T) {
	old := mustNew(t, key("old", 1))
	enc, _ := old.Encode([]*commonpb.Payload{payload(t, "SITE-A")})
	rotated := mustNew(t, key("new", 2), key("old", 1))
	dec, err := rotated.Decode(enc)
	if err != nil {
		t.Fatalf("the rotated codec does not open the old key's payload: %v", err)
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(dec[0], &s); err != nil || s != "SITE-A" {
		t.Fatalf("decoded %q, %v", s, err)
	}
	fresh, _ := rotated.Encode([]*commonpb.Payload{payload(t, "x")})
	if got := string(fresh[0].Metadata[KeyIDKey]); got != "new" {
		t.Fatalf("sealed with %q, want the first key new", got)
	}
}

func TestUnknownKeyID(t *testing.T) {
	enc, _ := mustNew(t, key("gone", 1)).Encode([]*commonpb.Payload{payload(t, "x")})
	_, err := mustNew(t, key("other", 2)).Decode(enc)
	if err == nil || !strings.Contains(err.Error(), `"gone"`) {
		t.Fatalf("error %v, want one naming key id gone", err)
	}
}

func TestTamperedRefused(t *testing.T) {
	c := mustNew(t, key("k1", 1), key("k2", 2))
	enc, _ := c.Encode([]*commonpb.Payload{payload(t, "x")})
	flipped := &commonpb.Payload{Metadata: enc[0].Metadata, Data: bytes.Clone(enc[0].Data)}
	flipped.Data[len(flipped.Data)-1] ^= 1
	if _, err := c.Decode([]*commonpb.Payload{flipped}); err == nil {
		t.Fatal("an altered ciphertext was opened")
	}
	// Relabelling with another configured id must not open either.
	relabelled := &commonpb.Payload{Metadata: map[string][]byte{
		converter.MetadataEncoding: []byte(Encoding), KeyIDKey: []byte("k2")}, Data: enc[0].Data}
	if _, err := c.Decode([]*commonpb.Payload{relabelled}); err == nil {
		t.Fatal("a payload relabelled with another key id was opened")
	}
	short := &commonpb.Payload{Metadata: enc[0].Metadata, Data: enc[0].Data[:5]}
	if _, err := c.Decode([]*commonpb.Payload{short}); err == nil {
		t.Fatal("a truncated ciphertext was opened")
	}
}

func TestPassThroughUnencrypted(t *testing.T) {
	in := payload(t, "clear")
	dec, err := mustNew(t, key("k1", 1)).Decode([]*commonpb.Payload{in})
	if err != nil || dec[0] != in {
		t.Fatalf("unencrypted payload not passed through: %v %v", dec, err)
	}
}

func TestNewRefusesBadKeys(t *testing.T) {
	for name, keys := range map[string][]Key{
		"none":      nil,
		"empty id":  {key("", 1)},
		"duplicate": {key("a", 1), key("a", 2)},
		"short":     {{ID: "a", Key: []byte("short")}},
	} {
		if _, err := New(keys); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
