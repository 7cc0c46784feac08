package workflows_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/workflows"
)

// Safety scenarios: a secondary with local volumes and backups, or a
// primary with a broken volume set, and a real sync through the dev server.

const replFilecat, localVolcat = `\SECD.FCREPL`, `\SECD.VCLOCAL`

// victim is the primary volume set a scenario makes collide: its first
// volume's BackPak entry, one of its VALID tape files, and the secondary
// pool that receives it.
type victim struct {
	set  string
	vol  catalog.Volume
	file catalog.TapeFile
	pool string // the secondary group's pool
}

func pickVictim(t *testing.T, w *world) victim {
	t.Helper()
	ctx := context.Background()
	var v victim
	err := w.prim.ScanTapeFiles(ctx, store.Filter{Status: catalog.FileValid}, func(tf *catalog.TapeFile) error {
		if v.set == "" && tf.Version < 50 {
			v.set, v.file = tf.VolsetID, *tf
		}
		return nil
	})
	if err != nil || v.set == "" {
		t.Fatalf("no volume set with tape files: %v", err)
	}
	if v.vol, err = w.prim.Volume(ctx, catalog.VolumeKey{Label: v.set, LabelType: catalog.Labeled}); err != nil {
		t.Fatal(err)
	}
	g, err := w.sec.VolumeGroup(ctx, v.vol.Group)
	if err != nil {
		t.Fatal(err)
	}
	v.pool = g.Pool
	return v
}

func plant(t *testing.T, st store.Store, fn func(context.Context, store.Tx) error) {
	t.Helper()
	ctx := context.Background()
	if err := st.Update(ctx, func(tx store.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
}

func localStore(ctx context.Context, tx store.Tx) error {
	return tx.PutDataStore(ctx, &catalog.DataStore{ID: "DS_LOCAL", Access: catalog.AccessPrimary, Status: catalog.StoreActive})
}

func volumeOf(label string, typ catalog.LabelType, storeID string, access catalog.DomainAccess) *catalog.Volume {
	return &catalog.Volume{Label: label, LabelType: typ, StoreID: storeID, Group: "VG_LOCAL", Access: access, Auth: "GGO",
		Compression: catalog.CompressNone}
}

func tapeVolumeOf(volcat, pool, volser string) *catalog.TapeVolume {
	return &catalog.TapeVolume{Volcat: volcat, Volser: volser, Pool: pool, Label: "BACKUP", Type: "CART3480",
		Status: catalog.StatusScratch, EndOfDataLBA: -1}
}

func localPool(name, space string) *catalog.Pool {
	return &catalog.Pool{Volcat: localVolcat, Name: name, Label: "BACKUP", Density: "ANY", Type: "CART3480", AutoScratch: true, SearchSpace: space}
}

// expectConflicts runs a FULL sync and checks that it ends with conflicts
// only for sets, each conflict under rule, that those sets are untouched
// on the secondary and that everything else was applied.
func expectConflicts(t *testing.T, w *world, in workflows.SyncInput, rule safety.Rule, sets ...string) *workflows.SyncResult {
	t.Helper()
	ctx := context.Background()
	res, err := w.sync(in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != workflows.OutcomeCompletedWithConflicts || !res.Watermark.Reimport {
		t.Fatalf("outcome %s (reimport %v), want %s: %s", res.Outcome, res.Watermark.Reimport, workflows.OutcomeCompletedWithConflicts, res.Summary())
	}
	var got []string
	for _, c := range res.Conflicts.Conflicts {
		if c.Rule != rule || c.Action != safety.Rules[rule].Action || c.Detail == "" {
			t.Errorf("conflict %s, want rule %s with its action", c, rule)
		}
		if !slices.Contains(got, c.Set) {
			got = append(got, c.Set)
		}
	}
	slices.Sort(got)
	slices.Sort(sets)
	if !slices.Equal(got, sets) || res.Conflicts.Sets != len(sets) {
		t.Fatalf("sets in conflict %v (%d), want %v", got, res.Conflicts.Sets, sets)
	}
	// The conflicting sets left no replicated entry behind...
	if err := w.sec.ScanTapeFiles(ctx, store.Filter{Filecat: replFilecat}, func(tf *catalog.TapeFile) error {
		if slices.Contains(sets, tf.VolsetID) {
			t.Errorf("tape file %s of a set in conflict was imported", tf.Key())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// ... and are the only difference left between the sites.
	for _, d := range w.drift(importer.Options{StoreID: "DS_PROD", CatalogFiles: in.CatalogFiles}) {
		if d.IsDrift() && !slices.Contains(sets, d.Set) {
			t.Fatalf("drift outside the sets in conflict: %s", d)
		}
	}
	return res
}

func TestConflictLabelLocal(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	v := pickVictim(t, w)
	plant(t, w.sec, func(ctx context.Context, tx store.Tx) error {
		if err := localStore(ctx, tx); err != nil {
			return err
		}
		return tx.PutVolume(ctx, volumeOf(v.set, catalog.Labeled, "DS_LOCAL", catalog.AccessPrimary))
	})
	res := expectConflicts(t, w, w.input(snapshot.Full, true), safety.LabelLocal, v.set)
	c := res.Conflicts.Conflicts[0]
	if c.Label != v.set || c.Where.Store != "DS_LOCAL" || !strings.Contains(c.Where.Entry, v.set+"/LABELED") {
		t.Errorf("report %+v", c)
	}
	// The local volume is as it was.
	if got, err := w.sec.Volume(ctx, catalog.VolumeKey{Label: v.set, LabelType: catalog.Labeled}); err != nil || got.StoreID != "DS_LOCAL" {
		t.Errorf("local volume now %+v, %v", got, err)
	}
	// The operator removes the stale local entry: the next UPDATE
	// re-imports everything and the sites agree.
	plant(t, w.sec, func(ctx context.Context, tx store.Tx) error {
		return tx.DeleteVolume(ctx, catalog.VolumeKey{Label: v.set, LabelType: catalog.Labeled})
	})
	w.mustSync(w.input(snapshot.Update, true))
	w.noDrift(importer.Options{StoreID: "DS_PROD", CatalogFiles: true})
}

func TestConflictLabelOtherStore(t *testing.T) {
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	v := pickVictim(t, w)
	plant(t, w.sec, func(ctx context.Context, tx store.Tx) error {
		if err := tx.PutDataStore(ctx, &catalog.DataStore{ID: "DS_OTHER", Access: catalog.AccessSecondary, Status: catalog.StoreActive}); err != nil {
			return err
		}
		return tx.PutVolume(ctx, volumeOf(v.set, catalog.Labeled, "DS_OTHER", catalog.AccessSecondary))
	})
	res := expectConflicts(t, w, w.input(snapshot.Full, true), safety.LabelOtherStore, v.set)
	if c := res.Conflicts.Conflicts[0]; c.Label != v.set || c.Where.Store != "DS_OTHER" {
		t.Errorf("report %+v", c)
	}
}

func TestConflictLabelDSMOnly(t *testing.T) {
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	v := pickVictim(t, w)
	plant(t, w.sec, func(ctx context.Context, tx store.Tx) error {
		return tx.PutTapeVolume(ctx, tapeVolumeOf(`\SECD.VCREPL`, v.pool, v.set))
	})
	res := expectConflicts(t, w, w.input(snapshot.Full, true), safety.LabelDSMOnly, v.set)
	if c := res.Conflicts.Conflicts[0]; c.Label != v.set || c.Where.Volcat != `\SECD.VCREPL` || c.Where.Pool != v.pool {
		t.Errorf("report %+v", c)
	}
}

func TestConflictLabelSearchSpace(t *testing.T) {
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	v := pickVictim(t, w)
	plant(t, w.sec, func(ctx context.Context, tx store.Tx) error {
		if err := tx.PutPool(ctx, localPool("LOCAL_POOL", "IN")); err != nil {
			return err
		}
		return tx.PutTapeVolume(ctx, tapeVolumeOf(localVolcat, "LOCAL_POOL", v.set))
	})
	res := expectConflicts(t, w, w.input(snapshot.Full, true), safety.LabelSearchSpace, v.set)
	if c := res.Conflicts.Conflicts[0]; c.Label != v.set || c.Where.Volcat != localVolcat || c.Where.Pool != "LOCAL_POOL" {
		t.Errorf("report %+v", c)
	}
}

// Excluded pools and unlabeled volumes are outside the rules: no conflict.
func TestNoConflictOutsideTheRules(t *testing.T) {
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	v := pickVictim(t, w)
	plant(t, w.sec, func(ctx context.Context, tx store.Tx) error {
		for _, err := range []error{
			localStore(ctx, tx),
			tx.PutPool(ctx, localPool("EX_POOL", "EX")),
			tx.PutTapeVolume(ctx, tapeVolumeOf(localVolcat, "EX_POOL", v.set)),
			tx.PutVolume(ctx, volumeOf(v.set, catalog.Unlabeled, "DS_LOCAL", catalog.AccessPrimary)),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	w.mustSync(w.input(snapshot.Full, true))
	w.noDrift(importer.Options{StoreID: "DS_PROD", CatalogFiles: true})
}

func TestConflictFileID(t *testing.T) {
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	v := pickVictim(t, w)
	// A local backup wrote the same FILEID and generation into the
	// replicated FILECAT, on a tape BackPak does not know.
	local := v.file
	local.Filecat, local.Volcat, local.Pool, local.VolsetID, local.Version = replFilecat, `\SECD.VCREPL`, v.pool, "LX0001", 0
	plant(t, w.sec, func(ctx context.Context, tx store.Tx) error { return tx.PutTapeFile(ctx, &local) })
	res := expectConflicts(t, w, w.input(snapshot.Full, true), safety.FileIDCollision, setsOf(t, w, v.file.FileID, v.file.Generation)...)
	for _, c := range res.Conflicts.Conflicts {
		if c.Where.Filecat != replFilecat || !strings.Contains(c.Where.Entry, "LX0001") || !strings.Contains(c.Detail, v.file.FileID) {
			t.Errorf("report %+v", c)
		}
	}
}

// setsOf lists the primary volume sets holding a generation of a FILEID
// (parallel copies put one generation on several sets).
func setsOf(t *testing.T, w *world, fileID string, gen int) []string {
	t.Helper()
	var sets []string
	if err := w.prim.ScanTapeFiles(context.Background(), store.Filter{FileID: fileID, Generation: gen}, func(tf *catalog.TapeFile) error {
		if !slices.Contains(sets, tf.VolsetID) {
			sets = append(sets, tf.VolsetID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return sets
}

// Broken volume sets on the primary: each is left out, the rest applied.
func TestConflictBrokenPrimarySets(t *testing.T) {
	for _, tc := range []struct {
		rule   safety.Rule
		break_ func(ctx context.Context, tx store.Tx, v victim) error
	}{
		{safety.OneValidVersion, func(ctx context.Context, tx store.Tx, v victim) error {
			rerun := v.file
			rerun.Version = 99
			return tx.PutTapeFile(ctx, &rerun)
		}},
		{safety.OneFilecat, func(ctx context.Context, tx store.Tx, v victim) error {
			moved := v.file
			moved.Filecat = `\PRIM.FCOTHER`
			if err := tx.PutFileConfig(ctx, &catalog.FileConfig{Filecat: moved.Filecat, FileID: moved.FileID, LastGeneration: moved.Generation}); err != nil {
				return err
			}
			return tx.PutTapeFile(ctx, &moved)
		}},
		{safety.DanglingEntry, func(ctx context.Context, tx store.Tx, v victim) error {
			var tftov catalog.TapeFileVolume
			if err := tx.ScanTapeFileVolumes(ctx, store.Filter{Filecat: v.file.Filecat, FileID: v.file.FileID, Generation: v.file.Generation},
				func(r *catalog.TapeFileVolume) error {
					if r.VolsetID == v.set {
						tftov = *r
					}
					return nil
				}); err != nil {
				return err
			}
			tftov.Version = 98 // a TFTOV of a version the catalog never had
			return tx.PutTapeFileVolume(ctx, &tftov)
		}},
	} {
		t.Run(string(tc.rule), func(t *testing.T) {
			w := newWorld(t, small(), sim.DefaultSecondaryParams())
			v := pickVictim(t, w)
			plant(t, w.prim, func(ctx context.Context, tx store.Tx) error { return tc.break_(ctx, tx, v) })
			res := expectConflicts(t, w, w.input(snapshot.Full, true), tc.rule, v.set)
			if c := res.Conflicts.Conflicts[0]; c.Label != v.set || c.Where.Entry == "" {
				t.Errorf("report %+v", c)
			}
		})
	}
}

func TestConflictGenerationRange(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	v := pickVictim(t, w)
	var cfg catalog.FileConfig
	if err := w.prim.ScanFileConfigs(ctx, store.Filter{Filecat: v.file.Filecat, FileID: v.file.FileID}, func(c *catalog.FileConfig) error {
		cfg = *c
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if cfg.LastGeneration < 2 {
		t.Skipf("FILEID %s has one generation", v.file.FileID)
	}
	// CONFIG now claims the newest generation was never assigned.
	cfg.LastGeneration--
	plant(t, w.prim, func(ctx context.Context, tx store.Tx) error { return tx.PutFileConfig(ctx, &cfg) })
	newest := setsOf(t, w, cfg.FileID, cfg.LastGeneration+1)
	res := expectConflicts(t, w, w.input(snapshot.Full, true), safety.GenerationRange, newest...)
	if c := res.Conflicts.Conflicts[0]; !strings.Contains(c.Detail, cfg.FileID) {
		t.Errorf("report %+v", c)
	}
}

func TestStrictAppliesNothing(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	v := pickVictim(t, w)
	plant(t, w.sec, func(ctx context.Context, tx store.Tx) error {
		if err := localStore(ctx, tx); err != nil {
			return err
		}
		return tx.PutVolume(ctx, volumeOf(v.set, catalog.Labeled, "DS_LOCAL", catalog.AccessPrimary))
	})
	before, err := store.Digest(ctx, w.sec)
	if err != nil {
		t.Fatal(err)
	}
	in := w.input(snapshot.Full, true)
	in.Strict = true
	res, err := w.sync(in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != workflows.OutcomeAbortedWithConflicts || res.Conflicts.Total != 1 || res.Conflicts.Conflicts[0].Set != v.set ||
		res.Conflicts.Conflicts[0].Rule != safety.LabelLocal || res.Applied.Sets != 0 {
		t.Fatalf("strict run: %s %+v", res.Outcome, res.Conflicts)
	}
	if after, _ := store.Digest(ctx, w.sec); after != before {
		t.Error("a strict run with conflicts changed the secondary")
	}
	// Nothing moved: the same changes are exported again next time.
	wm, err := w.sec.Meta(ctx, "sync.DS_PROD.watermark")
	if err == nil && wm != "0" {
		t.Errorf("watermark %s after a strict abort", wm)
	}
}

// Configuration rules stop the run before anything is read or written.
func TestUnsafeConfigurationRefused(t *testing.T) {
	for _, tc := range []struct {
		rule   safety.Rule
		break_ func(ctx context.Context, tx store.Tx) error
	}{
		{safety.ConfigSearchList, func(ctx context.Context, tx store.Tx) error {
			s, err := tx.Site(ctx)
			if err != nil {
				return err
			}
			s.SearchList = append(s.SearchList, `\PRIM.VCPROD`)
			return tx.PutSite(ctx, &s)
		}},
		{safety.ConfigGroupMapping, func(ctx context.Context, tx store.Tx) error {
			g, err := tx.VolumeGroup(ctx, "VG_PROD_2")
			if err != nil {
				return err
			}
			g.OriginalName = "VG_RETIRED"
			return tx.PutVolumeGroup(ctx, &g)
		}},
		{safety.ConfigStoreAccess, func(ctx context.Context, tx store.Tx) error {
			return tx.PutDataStore(ctx, &catalog.DataStore{ID: "DS_PROD", Access: catalog.AccessPrimary, Status: catalog.StoreActive})
		}},
		{safety.ConfigSharedCatalog, func(ctx context.Context, tx store.Tx) error {
			// A local backup's volume set files its tape files in the
			// replicated FILECAT.
			return tx.PutVolumeFilecat(ctx, &catalog.VolumeFilecat{Volcat: localVolcat, VolsetID: "LX0001", Pool: "LOCAL_POOL", Filecat: replFilecat})
		}},
	} {
		t.Run(string(tc.rule), func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, small(), sim.DefaultSecondaryParams())
			plant(t, w.sec, tc.break_)
			before, _ := store.Digest(ctx, w.sec)
			_, err := w.sync(w.input(snapshot.Full, true))
			if err == nil || !strings.Contains(err.Error(), string(tc.rule)) || !strings.Contains(err.Error(), "nothing imported") {
				t.Fatalf("sync: %v, want a refusal naming %s", err, tc.rule)
			}
			if after, _ := store.Digest(ctx, w.sec); after != before {
				t.Error("the refused sync changed the secondary")
			}
		})
	}
}
