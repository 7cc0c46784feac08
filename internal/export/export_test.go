package export_test

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/export"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// fileReads counts the reads of TAPEFILEs, and how many of them list each
// volume set.
type fileReads struct {
	store.Reader
	reads int
	sets  map[string]int
}

func (r *fileReads) ScanTapeFiles(ctx context.Context, f store.Filter, fn func(*catalog.TapeFile) error) error {
	r.reads++
	for _, id := range append([]string{f.VolsetID}, f.VolsetIDs...) {
		if id != "" {
			r.sets[id]++
		}
	}
	return r.Reader.ScanTapeFiles(ctx, f, fn)
}

// walkAll walks a FULL of the primary through r, and returns the sets
// with the key of the member that emitted each.
func walkAll(t *testing.T, ctx context.Context, r store.Reader, x *export.Reader) ([]*snapshot.VolumeSet, []catalog.VolumeKey) {
	t.Helper()
	items, _, err := export.Plan(ctx, r, "DS_PROD", snapshot.Full, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var emitted []*snapshot.VolumeSet
	var at []catalog.VolumeKey
	if err := x.Walk(ctx, items, nil, func(it export.Item, s *snapshot.VolumeSet) error {
		emitted, at = append(emitted, s), append(at, it.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return emitted, at
}

// sameAsSet fails unless each walked set is what Set reads, alone, for
// the member that emitted it.
func sameAsSet(t *testing.T, ctx context.Context, r store.Reader, emitted []*snapshot.VolumeSet, at []catalog.VolumeKey) {
	t.Helper()
	plain := &export.Reader{R: r, StoreID: "DS_PROD", CatalogFiles: true}
	for i, s := range emitted {
		want, _, err := plain.Set(ctx, at[i])
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(s, want) {
			t.Errorf("set %s walked as\n%+v\nwant\n%+v", s.ID, s, want)
		}
	}
}

// TestWalkReadsEachSetsFilesOnce: a FULL lists every volume of a
// multi-volume set, and the walk emits the set once, at its smallest
// member; its files are read there alone, not again at each other member,
// in reads shared with the sets around it, and each set is what Set reads
// for that member alone.
func TestWalkReadsEachSetsFilesOnce(t *testing.T) {
	ctx := context.Background()
	p := simtest.New(t, simtest.Small(), simtest.Options{})
	err := p.Primary.View(ctx, func(r store.Reader) error {
		counted := &fileReads{Reader: r, sets: map[string]int{}}
		emitted, at := walkAll(t, ctx, r, &export.Reader{R: counted, StoreID: "DS_PROD", CatalogFiles: true})
		multi, withFiles := 0, 0
		for _, s := range emitted {
			if len(s.Volumes) > 1 {
				multi++
			}
			inSet := len(s.TapeVolumes) > 0 && s.TapeVolumes[0].VolsetID != "" // else it has no files
			if inSet {
				withFiles++
			}
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
		if counted.reads*4 > withFiles {
			t.Errorf("%d reads of TAPEFILEs for %d sets with files: not read together", counted.reads, withFiles)
		}
		sameAsSet(t, ctx, r, emitted, at)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWalkKeepsEachSetsOwnDiskFiles: sets read together are read with all
// their generations, and a DISKFILE of one set's generation that names
// another set (a catalog out of step) is not that other set's, as it is
// not when the other set is read alone.
func TestWalkKeepsEachSetsOwnDiskFiles(t *testing.T) {
	ctx := context.Background()
	p := simtest.New(t, simtest.Small(), simtest.Options{})
	x := &export.Reader{R: nil, StoreID: "DS_PROD", CatalogFiles: true}
	var a, b *snapshot.VolumeSet
	if err := p.Primary.View(ctx, func(r store.Reader) error {
		x.R = r
		emitted, _ := walkAll(t, ctx, r, x)
		for _, s := range emitted {
			switch {
			case len(s.DiskFiles) == 0:
			case a == nil:
				a = s
			case s.TapeFiles[0].Volcat == a.TapeFiles[0].Volcat:
				b = s
			}
			if b != nil {
				break
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if b == nil {
		t.Fatal("the simulated site has no two sets with DISKFILEs under one VOLCAT")
	}
	stray := a.DiskFiles[0]
	stray.VolsetID = b.ID
	if err := p.Primary.Update(ctx, func(tx store.Tx) error { return tx.PutDiskFile(ctx, &stray) }); err != nil {
		t.Fatal(err)
	}
	if err := p.Primary.View(ctx, func(r store.Reader) error {
		emitted, at := walkAll(t, ctx, r, &export.Reader{R: r, StoreID: "DS_PROD", CatalogFiles: true})
		for _, s := range emitted {
			if s.ID == b.ID && slices.Contains(s.DiskFiles, stray) {
				t.Errorf("set %s holds the DISKFILE %s of set %s's generation %s %d", b.ID, stray.Name, a.ID, stray.FileID, stray.Generation)
			}
		}
		sameAsSet(t, ctx, r, emitted, at)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestWalkReadsManyGenerationsSetBySet: sets whose generations are more
// than one DISKFILE read lists are read one by one, and walked as read
// alone.
func TestWalkReadsManyGenerationsSetBySet(t *testing.T) {
	ctx := context.Background()
	p := simtest.New(t, simtest.Small(), simtest.Options{})
	defer func(n int) { *export.MaxGensRead = n }(*export.MaxGensRead)
	*export.MaxGensRead = 1
	err := p.Primary.View(ctx, func(r store.Reader) error {
		emitted, at := walkAll(t, ctx, r, &export.Reader{R: r, StoreID: "DS_PROD", CatalogFiles: true})
		withDiskFiles := 0
		for _, s := range emitted {
			if len(s.DiskFiles) > 0 {
				withDiskFiles++
			}
		}
		if withDiskFiles < 2 {
			t.Fatalf("%d sets with DISKFILEs", withDiskFiles)
		}
		sameAsSet(t, ctx, r, emitted, at)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
