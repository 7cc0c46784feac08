package activities

import (
	"context"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/export"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// TestPlanCountsWhatApplyDoes runs FULL and UPDATE syncs, with deletions
// of whole volume sets, CATALOGFILES NO and node pairs, and checks (in
// syncOnce) that every plan counted exactly what its apply then did.
func TestPlanCountsWhatApplyDoes(t *testing.T) {
	sqltest.RunDSN(t, func(t *testing.T, dsn func(testing.TB) string) {
		for _, tc := range []struct {
			name string
			opts importer.Options
		}{
			{"catalogfiles", importer.Options{StoreID: "DS_PROD", CatalogFiles: true}},
			{"catalogfiles no", importer.Options{StoreID: "DS_PROD"}},
			{"node pairs", importer.Options{StoreID: "DS_PROD", CatalogFiles: true, NodePairs: []importer.NodePair{{From: `\PRIM`, To: `\SECD`}}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ctx := context.Background()
				p := newPairOn(t, dsn, smallSite())
				p.syncOnce(t, "full1", snapshot.Full, tc.opts)
				if err := sim.Advance(ctx, p.prim.Site.Catalog, 2, nil); err != nil {
					t.Fatal(err)
				}
				p.syncOnce(t, "upd1", snapshot.Update, tc.opts)
				gone := dropSetWithFiles(t, p.prim.Site.Catalog)
				if upd := p.syncOnce(t, "upd2", snapshot.Update, tc.opts); upd.Counts["volume.deferred"] == 0 {
					t.Errorf("UPDATE after deleting volume set %s: %v, want its deletion deferred", gone, upd.Counts)
				}
				full := p.syncOnce(t, "full2", snapshot.Full, tc.opts)
				for _, k := range []string{"volume.delete", "tapevolume.delete", "tapefile.delete", "tftov.delete", "vtofc.delete"} {
					if full.Counts[k] == 0 {
						t.Errorf("FULL after deleting volume set %s counted no %s: %v", gone, k, full.Counts)
					}
				}
				if tc.opts.CatalogFiles && full.Counts["diskfile.delete"] == 0 {
					t.Errorf("FULL after deleting volume set %s counted no diskfile.delete: %v", gone, full.Counts)
				}
				noDrift(t, p, tc.opts)
			})
		}
	})
}

// dropSetWithFiles deletes, on the primary, a whole volume set holding
// tape files and DISKFILEs, as an operator's clean-up would, and returns
// its id.
func dropSetWithFiles(t *testing.T, st store.Store) string {
	t.Helper()
	ctx := context.Background()
	set := findSet(t, st, func(s *snapshot.VolumeSet) bool { return len(s.TapeFiles) > 0 && len(s.DiskFiles) > 0 })
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

// findSet returns the first volume set of DS_PROD on st that ok accepts.
func findSet(t *testing.T, st store.Reader, ok func(*snapshot.VolumeSet) bool) *snapshot.VolumeSet {
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
