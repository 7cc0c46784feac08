package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
)

// encodeSegment is a segment holding sets, as the Writer writes it.
func encodeSegment(t testing.TB, sets []*VolumeSet) []byte {
	dir := t.TempDir()
	w := NewWriter(dir, fxManifest(), len(sets)+1)
	for _, s := range sets {
		if _, err := w.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	m, _, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Segments) == 0 {
		return fmt.Appendf(nil, "%s %d\n", segmentMagic, SchemaVersion)
	}
	b, err := os.ReadFile(filepath.Join(dir, m.Segments[0].Name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stageSegment writes sets as the only segment of a new directory and
// returns the directory and the segment, with its size and SHA-256.
func stageSegment(t testing.TB, sets []*VolumeSet) (string, Segment) {
	data := encodeSegment(t, sets)
	dir := t.TempDir()
	seg := Segment{Name: SegmentName(1), Bytes: int64(len(data)), SHA256: sum(data)}
	if err := os.WriteFile(filepath.Join(dir, seg.Name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, seg
}

// encodeSegmentV1 is a segment of schema version 1 holding sets, as the
// writer of that version wrote it: a line of JSON each.
func encodeSegmentV1(t testing.TB, sets []*VolumeSet) []byte {
	b := []byte(segmentMagic + " 1\n")
	for _, s := range sets {
		line, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		b = append(append(b, line...), '\n')
	}
	return b
}

// FuzzSegment feeds arbitrary bytes to the segment decoders, under the
// headers of both schema versions: they must never panic or hang, and
// every error must be a *CorruptError naming the segment and an offset
// inside it. What decodes must re-encode to a segment that decodes to the
// same sets.
func FuzzSegment(f *testing.F) {
	good := encodeSegment(f, fxSets(0, 3))
	goodV1 := encodeSegmentV1(f, fxSets(0, 3))
	header := segmentMagic + " 1\n"
	header2 := fmt.Sprintf("%s %d\n", segmentMagic, SchemaVersion)
	for _, seed := range [][]byte{
		good,
		good[:len(good)/2],       // truncated inside a record
		good[:len(good)-1],       // last record a byte short
		[]byte(header2),          // empty segment
		[]byte(header2 + "\x00"), // a set of nothing
		[]byte(header2 + "\x0b\x01A\x00\x00\x00\x00\x00\x00\x00\x00\x00"),     // a set of its id alone
		[]byte(header2 + "\x0b\x01A\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00"), // one volume, cut short
		[]byte(header2 + "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),      // a length past 64 bits
		[]byte(header2 + "\x05\x03\xff\xfe\xfd\x00"),                          // an id that is not UTF-8
		goodV1,
		goodV1[:len(goodV1)/2],
		goodV1[:len(goodV1)-1], // last record without its newline
		[]byte(header),         // empty segment
		[]byte("CATSYNC-SEGMENT 3\n{\"id\":\"A\"}\n"),
		[]byte(header + `{"id":"A","volumes":[{"label":7}]}` + "\n"),
		[]byte(header + `{"id":"A","unknown":1}` + "\n"),
		[]byte(header + `{"id":""}` + "\n"),
		[]byte(header + `{"id":"A"} {"id":"B"}` + "\n"),
		[]byte(header + `{"id":"A","tapefiles":[{"Created":"not a time"}]}` + "\n"),
		[]byte(header + strings.Repeat("[", 10000) + "\n"),
		[]byte(header + "\x00\xff\xfe\n"),
		[]byte(header + `{"id":"A","deleted":[{"Label":"T00001","LabelType":"LABELED"}]}` + "\n"),
		[]byte(header + `{"id":"A","keys":[{"label":"T00001","label_type":"LABELED","name":"K1","fingerprint":"kcv:00"}]}` + "\n"),
		[]byte(header + `{"id":"A","volumes":[],"KEYS":[{"label":"T1","name":"K"}],"\u006beys":[{"name":"K2"}]}` + "\n"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "seg-000001.jsonl"
		var sets []*VolumeSet
		err := Decode(bytes.NewReader(data), name, 0, func(_ int, s *VolumeSet) error {
			if s.ID == "" {
				t.Fatal("a set without id reached the caller")
			}
			sets = append(sets, s)
			return nil
		})
		checkCorrupt(t, err, name, len(data))

		// The key-only reader used by FULL imports agrees on what is bad.
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		kerr := ReadVolumeKeys(dir, Segment{Name: name}, func(catalog.VolumeKey) {})
		checkCorrupt(t, kerr, name, len(data))
		if err == nil && kerr != nil {
			t.Fatalf("the set decoder accepts what the key reader refuses: %v", kerr)
		}
		// So does the key-record reader of the parity step, and it sees
		// exactly the key records the set decoder does.
		var records []Key
		rerr := ReadKeys(dir, Segment{Name: name}, func(_ string, k *Key) error {
			records = append(records, *k)
			return nil
		})
		checkCorrupt(t, rerr, name, len(data))
		if err == nil {
			if rerr != nil {
				t.Fatalf("the set decoder accepts what the key-record reader refuses: %v", rerr)
			}
			var want []Key
			for _, s := range sets {
				want = append(want, s.Keys...)
			}
			if !reflect.DeepEqual(records, want) {
				t.Fatalf("key-record reader saw %v, the set decoder %v", records, want)
			}
		}
		if err != nil {
			return
		}
		// Round trip: what decoded encodes and decodes to the same JSON.
		again := encodeSegment(t, sets)
		var back []*VolumeSet
		if err := Decode(bytes.NewReader(again), name, 0, func(_ int, s *VolumeSet) error {
			back = append(back, s)
			return nil
		}); err != nil {
			t.Fatalf("re-encoded segment does not decode: %v", err)
		}
		a, _ := json.Marshal(sets)
		b, _ := json.Marshal(back)
		if !bytes.Equal(a, b) {
			t.Fatalf("round trip changed the sets:\n%s\n%s", a, b)
		}
	})
}

func checkCorrupt(t *testing.T, err error, name string, size int) {
	t.Helper()
	if err == nil {
		return
	}
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *CorruptError", err, err)
	}
	if ce.File != name || ce.Offset < 0 || ce.Offset > int64(size) || ce.Error() == "" {
		t.Fatalf("corrupt error %+v for %d bytes of %s", ce, size, name)
	}
}
