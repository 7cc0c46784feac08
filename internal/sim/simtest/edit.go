package simtest

import (
	"context"
	"errors"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/export"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// DropSetWithFiles deletes, on the primary, a whole volume set holding
// tape files and DISKFILEs, as an operator's clean-up would, and returns
// its id.
func DropSetWithFiles(t testing.TB, st store.Store) string {
	t.Helper()
	ctx := context.Background()
	set := FindSet(t, st, func(s *snapshot.VolumeSet) bool { return len(s.TapeFiles) > 0 && len(s.DiskFiles) > 0 })
	err := st.Update(ctx, func(tx store.Tx) error {
		for _, tf := range set.TapeFiles {
			if err := tx.DeleteTapeFile(ctx, tf.Key()); err != nil {
				return err
			}
		}
		for _, v := range set.VTOFC {
			if err := tx.DeleteVolumeFilecat(ctx, &v); err != nil {
				return err
			}
		}
		for _, tv := range set.TapeVolumes {
			if err := tx.DeleteTapeVolume(ctx, &tv); err != nil {
				return err
			}
		}
		for _, v := range set.Volumes {
			if err := tx.DeleteVolume(ctx, v.Key()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return set.ID
}

// FindSet returns the first volume set of DS_PROD on st that ok accepts.
func FindSet(t testing.TB, st store.Reader, ok func(*snapshot.VolumeSet) bool) *snapshot.VolumeSet {
	t.Helper()
	ctx := context.Background()
	items, _, err := export.Plan(ctx, st, "DS_PROD", snapshot.Full, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	x := &export.Reader{R: st, StoreID: "DS_PROD", CatalogFiles: true}
	for _, it := range items {
		set, _, err := x.Set(ctx, it.Key)
		if err != nil {
			t.Fatal(err)
		}
		if set.ID == it.Key.Label && it.Key.LabelType == catalog.Labeled && ok(set) {
			return set
		}
	}
	t.Fatal("no volume set fits")
	return nil
}

// MoveSet moves a volume set of the primary to another volume group of its
// data store, as BackPak and DSM/TC do: its BackPak entries change group
// and every DSM/TC entry of the set moves to the other group's pool.
func MoveSet(t testing.TB, st store.Store, set *snapshot.VolumeSet, to catalog.VolumeGroup) {
	t.Helper()
	ctx := context.Background()
	err := st.Update(ctx, func(tx store.Tx) error {
		var errs []error
		for _, v := range set.Volumes {
			v.Group = to.Name
			errs = append(errs, tx.PutVolume(ctx, &v))
		}
		for _, r := range set.TapeVolumes {
			errs = append(errs, tx.DeleteTapeVolume(ctx, &r))
			r.Volcat, r.Pool = to.Volcat, to.Pool
			errs = append(errs, tx.PutTapeVolume(ctx, &r))
		}
		for _, r := range set.VTOFC {
			errs = append(errs, tx.DeleteVolumeFilecat(ctx, &r))
			r.Volcat, r.Pool, r.Filecat = to.Volcat, to.Pool, to.Filecat
			errs = append(errs, tx.PutVolumeFilecat(ctx, &r))
		}
		for _, r := range set.TFTOV {
			errs = append(errs, tx.DeleteTapeFileVolume(ctx, &r))
		}
		for _, r := range set.DFTOV {
			errs = append(errs, tx.DeleteDiskFileVolume(ctx, &r))
		}
		for _, r := range set.TapeFiles {
			r.Volcat, r.Pool = to.Volcat, to.Pool
			errs = append(errs, tx.PutTapeFile(ctx, &r))
		}
		for _, r := range set.TFTOV {
			r.Volcat, r.Pool = to.Volcat, to.Pool
			errs = append(errs, tx.PutTapeFileVolume(ctx, &r))
		}
		for _, r := range set.DiskFiles {
			r.Volcat, r.Pool = to.Volcat, to.Pool
			errs = append(errs, tx.PutDiskFile(ctx, &r))
		}
		for _, r := range set.DFTOV {
			r.Volcat, r.Pool = to.Volcat, to.Pool
			errs = append(errs, tx.PutDiskFileVolume(ctx, &r))
		}
		return errors.Join(errs...)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Pools lists the pools holding a label on a site, as "VOLCAT POOL".
func Pools(t testing.TB, st store.Reader, label string) []string {
	t.Helper()
	var out []string
	if err := st.ScanTapeVolumes(context.Background(), store.Filter{Volser: label}, func(tv *catalog.TapeVolume) error {
		out = append(out, tv.Volcat+" "+tv.Pool)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// Verify compares the store on both sites as `catsync verify` does and
// returns every difference; it fails when no volume set was compared.
func (p *Pair) Verify(t testing.TB, opts importer.Options) []importer.Drift {
	t.Helper()
	var drifts []importer.Drift
	n, err := importer.Verify(context.Background(), p.Primary, p.Secondary, opts, func(d importer.Drift) error {
		drifts = append(drifts, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("verify checked no volume set")
	}
	return drifts
}

// NoDrift fails on any difference but deletions pending the next FULL.
func (p *Pair) NoDrift(t testing.TB, opts importer.Options) {
	t.Helper()
	var d []importer.Drift
	for _, x := range p.Verify(t, opts) {
		if x.IsDrift() {
			d = append(d, x)
		}
	}
	if len(d) > 0 {
		t.Fatalf("%d differences between primary and secondary, first: %v", len(d), d[:min(len(d), 5)])
	}
}
