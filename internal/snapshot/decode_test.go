package snapshot_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
)

// TestDecodeReadsWhatTheWriterWrites: the segment decoder reads every set
// of a simulated site, as encoding/json writes it, into what encoding/json
// itself reads back: every record type and field, DISKFILEs included, key
// records and tombstones too.
func TestDecodeReadsWhatTheWriterWrites(t *testing.T) {
	p := simtest.New(t, simtest.Small(), simtest.Options{})
	sets, _ := simtest.ExportSets(t, p.Primary, snapshot.Full, 0, true)
	if len(sets) == 0 {
		t.Fatal("no set exported")
	}
	sets[0].Keys = []snapshot.Key{{Label: sets[0].Volumes[0].Label, LabelType: sets[0].Volumes[0].LabelType, Name: "KEY1", Fingerprint: "kcv:00"}}
	sets[1].Deleted = []catalog.VolumeKey{sets[1].Volumes[0].Key()}
	for i := range sets {
		line, err := json.Marshal(&sets[i])
		if err != nil {
			t.Fatal(err)
		}
		var want, got snapshot.VolumeSet
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatal(err)
		}
		if err := snapshot.DecodeSet(line, &got); err != nil {
			t.Fatalf("set %s: %v", sets[i].ID, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("set %s decodes as\n%+v\nwant\n%+v", sets[i].ID, got, want)
		}
	}
}
