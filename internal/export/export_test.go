package export_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/export"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// fileReads counts the reads of each volume set's TAPEFILEs.
type fileReads struct {
	store.Reader
	sets map[string]int
}

func (r *fileReads) ScanTapeFiles(ctx context.Context, f store.Filter, fn func(*catalog.TapeFile) error) error {
	r.sets[f.VolsetID]++
	return r.Reader.ScanTapeFiles(ctx, f, fn)
}

// TestWalkReadsEachSetsFilesOnce: a FULL lists every volume of a
// multi-volume set, and the walk emits the set once, at its smallest
// member; its files are read there alone, not again at each other member,
// and each set is what Set reads for that member.
func TestWalkReadsEachSetsFilesOnce(t *testing.T) {
	ctx := context.Background()
	p := simtest.New(t, simtest.Small(), simtest.Options{})
	err := p.Primary.View(ctx, func(r store.Reader) error {
		items, _, err := export.Plan(ctx, r, "DS_PROD", snapshot.Full, 0, 0)
		if err != nil {
			return err
		}
		counted := &fileReads{Reader: r, sets: map[string]int{}}
		x := &export.Reader{R: counted, StoreID: "DS_PROD", CatalogFiles: true}
		var emitted []*snapshot.VolumeSet
		var at []catalog.VolumeKey
		if err := x.Walk(ctx, items, nil, func(it export.Item, s *snapshot.VolumeSet) error {
			emitted, at = append(emitted, s), append(at, it.Key)
			return nil
		}); err != nil {
			return err
		}
		multi := 0
		for _, s := range emitted {
			if len(s.Volumes) > 1 {
				multi++
			}
			inSet := len(s.TapeVolumes) > 0 && s.TapeVolumes[0].VolsetID != "" // else it has no files
			if n := counted.sets[s.ID]; inSet && n != 1 {
				t.Errorf("set %s (%d volumes): its TAPEFILEs read %d times", s.ID, len(s.Volumes), n)
			}
		}
		if multi == 0 {
			t.Fatal("the simulated site has no multi-volume set")
		}
		if len(counted.sets) > len(emitted) {
			t.Errorf("TAPEFILEs read for %d sets, %d emitted", len(counted.sets), len(emitted))
		}
		plain := &export.Reader{R: r, StoreID: "DS_PROD", CatalogFiles: true}
		for i, s := range emitted {
			want, _, err := plain.Set(ctx, at[i])
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(s, want) {
				t.Errorf("set %s walked as\n%+v\nwant\n%+v", s.ID, s, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
