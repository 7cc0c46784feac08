package snapshot_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
)

// simulatedSets are the sets of a FULL of a simulated site: every record
// type and field, DISKFILEs included, with key records and tombstones, and
// times in three zones.
func simulatedSets(t testing.TB) []snapshot.VolumeSet {
	p := simtest.New(t, simtest.Small(), simtest.Options{})
	sets, _ := simtest.ExportSets(t, p.Primary, snapshot.Full, 0, true)
	if len(sets) < 3 || len(sets[2].TapeFiles) == 0 {
		t.Fatal("the simulated site exported too little")
	}
	sets[0].Keys = []snapshot.Key{{Label: sets[0].Volumes[0].Label, LabelType: sets[0].Volumes[0].LabelType, Name: "KEY1", Fingerprint: "kcv:00"}}
	sets[1].Deleted = []catalog.VolumeKey{sets[1].Volumes[0].Key()}
	tf := &sets[2].TapeFiles[0]
	tf.Created = tf.Created.In(time.FixedZone("EST", -5*3600))
	tf.Expiration = tf.Expiration.In(time.Local)
	return sets
}

// TestDecodeReadsWhatTheWriterWrites: both encodings of a set decode to
// what encoding/json reads back from the JSON of version 1: the same
// records, fields and times (their instants and zones).
func TestDecodeReadsWhatTheWriterWrites(t *testing.T) {
	sets := simulatedSets(t)
	for i := range sets {
		line, err := json.Marshal(&sets[i])
		if err != nil {
			t.Fatal(err)
		}
		var want, fromJSON, fromBinary snapshot.VolumeSet
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatal(err)
		}
		if err := snapshot.DecodeSet(line, &fromJSON); err != nil {
			t.Fatalf("set %s: %v", sets[i].ID, err)
		}
		if !reflect.DeepEqual(fromJSON, want) {
			t.Fatalf("set %s decodes from JSON as\n%+v\nwant\n%+v", sets[i].ID, fromJSON, want)
		}
		b, err := snapshot.AppendSet(nil, &sets[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := snapshot.DecodeBinarySet(b, &fromBinary); err != nil {
			t.Fatalf("set %s: %v", sets[i].ID, err)
		}
		if !reflect.DeepEqual(fromBinary, want) {
			t.Fatalf("set %s decodes from its binary encoding as\n%+v\nwant\n%+v", sets[i].ID, fromBinary, want)
		}
	}
}

// BenchmarkDecodeSets decodes the sets of a simulated site in the binary
// encoding beside the JSON of version 1 (the decoder the plan and the
// apply used before), and encodes them both ways; MB/s are of the JSON.
func BenchmarkDecodeSets(b *testing.B) {
	sets := simulatedSets(b)
	var lines, records [][]byte
	var jsonBytes, binaryBytes int64
	for i := range sets {
		j, err := json.Marshal(&sets[i])
		if err != nil {
			b.Fatal(err)
		}
		r, err := snapshot.AppendSet(nil, &sets[i])
		if err != nil {
			b.Fatal(err)
		}
		lines, records = append(lines, j), append(records, r)
		jsonBytes, binaryBytes = jsonBytes+int64(len(j)), binaryBytes+int64(len(r))
	}
	b.Logf("%d sets: %d bytes of JSON, %d in the binary encoding", len(sets), jsonBytes, binaryBytes)
	b.Run("decode/json", func(b *testing.B) {
		b.SetBytes(jsonBytes)
		for range b.N {
			for _, l := range lines {
				var s snapshot.VolumeSet
				if err := snapshot.DecodeSet(l, &s); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("decode/binary", func(b *testing.B) {
		b.SetBytes(jsonBytes)
		for range b.N {
			for _, r := range records {
				var s snapshot.VolumeSet
				if err := snapshot.DecodeBinarySet(r, &s); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("encode/json", func(b *testing.B) {
		b.SetBytes(jsonBytes)
		for range b.N {
			for i := range sets {
				if _, err := json.Marshal(&sets[i]); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("encode/binary", func(b *testing.B) {
		b.SetBytes(jsonBytes)
		var buf []byte
		for range b.N {
			for i := range sets {
				var err error
				if buf, err = snapshot.AppendSet(buf[:0], &sets[i]); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
