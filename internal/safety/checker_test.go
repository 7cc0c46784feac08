package safety_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
	"github.com/catsync/catsync/internal/store/storetest"
)

const (
	replVolcat, replFilecat = `\SECD.VCREPL`, `\SECD.FCREPL`
	locVolcat, locFilecat   = `\SECD.VCLOC`, `\SECD.FCLOC`
)

// secondary is a secondary site for the fixture's primary: DS_PROD
// replicated into VCREPL/FCREPL, a local store DS_LOCAL with its own
// catalogs and pools (one in the search space, one excluded), and another
// replicated store DS_OTHER.
func secondary(t *testing.T, newStore func(testing.TB) store.Store) store.Store {
	t.Helper()
	st := newStore(t)
	site := catalog.Site{Node: `\SECD`, DomainID: "BBOX", BackPakID: "BPSECD01",
		MediaDefs: catalog.MediaDefs{DefaultVolcat: `\SECD.VCDEF`, DefaultFilecat: `\SECD.FCDEF`, Retention: 30, AbendRetention: 1,
			SearchListSystem: `\SECD`},
		SearchList: []string{`\SECD.VCDEF`, `\SECD.FCDEF`, replVolcat, replFilecat, locVolcat, locFilecat}}
	pool := func(volcat, name, space string) catalog.Pool {
		return catalog.Pool{Volcat: volcat, Name: name, Label: "BACKUP", Density: "ANY", Type: "CART3480", AutoScratch: true, SearchSpace: space}
	}
	put(t, st, func(ctx context.Context, tx store.Tx) error {
		must := []error{tx.PutSite(ctx, &site)}
		for id, access := range map[string]catalog.DomainAccess{"DS_PROD": catalog.AccessSecondary, "DS_LOCAL": catalog.AccessPrimary,
			"DS_OTHER": catalog.AccessSecondary} {
			must = append(must, tx.PutDataStore(ctx, &catalog.DataStore{ID: id, Access: access, Status: catalog.StoreActive}))
		}
		for _, g := range []catalog.VolumeGroup{
			{Name: "VG_PROD", OriginalName: "VG_PROD", Volcat: replVolcat, Pool: "BBOX_BACKUP", Filecat: replFilecat},
			{Name: "VG_LOCAL", Volcat: locVolcat, Pool: "LOCAL_POOL", Filecat: locFilecat},
		} {
			must = append(must, tx.PutVolumeGroup(ctx, &g))
		}
		for _, p := range []catalog.Pool{pool(replVolcat, "BBOX_BACKUP", "IN"), pool(locVolcat, "LOCAL_POOL", "IN"), pool(locVolcat, "EX_POOL", "EX")} {
			must = append(must, tx.PutPool(ctx, &p))
		}
		return firstErr(must)
	})
	return st
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func put(t *testing.T, st store.Store, fn func(context.Context, store.Tx) error) {
	t.Helper()
	ctx := context.Background()
	if err := st.Update(ctx, func(tx store.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
}

func localVolume(label string, typ catalog.LabelType, storeID string) catalog.Volume {
	return catalog.Volume{Label: label, LabelType: typ, StoreID: storeID, Group: "VG_LOCAL", Access: catalog.AccessPrimary, Auth: "GGO",
		Compression: catalog.CompressNone}
}

func tapeVolume(volcat, pool, volser string) catalog.TapeVolume {
	return catalog.TapeVolume{Volcat: volcat, Volser: volser, Pool: pool, Label: "BACKUP", Type: "CART3480",
		Status: catalog.StatusScratch, EndOfDataLBA: -1}
}

// check runs the checker on the fixture's set as the secondary receives it.
func check(t *testing.T, st store.Store, edit func(*snapshot.VolumeSet)) ([]safety.Conflict, *snapshot.VolumeSet) {
	t.Helper()
	ctx := context.Background()
	im, err := importer.New(ctx, st, importer.Options{StoreID: "DS_PROD", CatalogFiles: true}, []string{"VG_PROD"})
	if err != nil {
		t.Fatal(err)
	}
	in := safety.FixtureSet()
	if edit != nil {
		edit(in)
	}
	p, err := im.Prepare(in)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := im.Check(ctx, st, p)
	if err != nil {
		t.Fatal(err)
	}
	want := p.Want
	return cs, want
}

func TestCheckerLabels(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, newStore func(testing.TB) store.Store) {
		for _, tc := range []struct {
			name  string
			plant func(context.Context, store.Tx) error
			want  []safety.Rule
			label string
			where safety.Where
		}{
			{"nothing there", nil, nil, "", safety.Where{}},
			{"a local volume", func(ctx context.Context, tx store.Tx) error {
				v := localVolume("T00002", catalog.Labeled, "DS_LOCAL")
				return tx.PutVolume(ctx, &v)
			}, []safety.Rule{safety.LabelLocal}, "T00002", safety.Where{Store: "DS_LOCAL"}},
			{"a volume of another replicated store", func(ctx context.Context, tx store.Tx) error {
				v := localVolume("T00001", catalog.Labeled, "DS_OTHER")
				v.Access = catalog.AccessSecondary
				return tx.PutVolume(ctx, &v)
			}, []safety.Rule{safety.LabelOtherStore}, "T00001", safety.Where{Store: "DS_OTHER"}},
			{"an unlabeled volume with the label", func(ctx context.Context, tx store.Tx) error {
				v := localVolume("T00001", catalog.Unlabeled, "DS_LOCAL")
				return tx.PutVolume(ctx, &v)
			}, nil, "", safety.Where{}},
			{"a DSM/TC volume in the import's pool", func(ctx context.Context, tx store.Tx) error {
				tv := tapeVolume(replVolcat, "BBOX_BACKUP", "T00002")
				return tx.PutTapeVolume(ctx, &tv)
			}, []safety.Rule{safety.LabelDSMOnly}, "T00002", safety.Where{Volcat: replVolcat, Pool: "BBOX_BACKUP"}},
			{"a tape volume of a local pool in the search space", func(ctx context.Context, tx store.Tx) error {
				tv := tapeVolume(locVolcat, "LOCAL_POOL", "T00001")
				return tx.PutTapeVolume(ctx, &tv)
			}, []safety.Rule{safety.LabelSearchSpace}, "T00001", safety.Where{Volcat: locVolcat, Pool: "LOCAL_POOL"}},
			{"a tape volume of an excluded pool", func(ctx context.Context, tx store.Tx) error {
				tv := tapeVolume(locVolcat, "EX_POOL", "T00001")
				return tx.PutTapeVolume(ctx, &tv)
			}, nil, "", safety.Where{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st := secondary(t, newStore)
				if tc.plant != nil {
					put(t, st, tc.plant)
				}
				cs, _ := check(t, st, nil)
				if !slices.Equal(safety.RulesOf(cs), tc.want) {
					t.Fatalf("rules %v, want %v: %v", safety.RulesOf(cs), tc.want, cs)
				}
				for _, c := range cs {
					if c.Label != tc.label || c.Set != "T00001" || c.Where.Store != tc.where.Store || c.Where.Volcat != tc.where.Volcat ||
						c.Where.Pool != tc.where.Pool || !strings.Contains(c.Where.Entry, tc.label) {
						t.Errorf("conflict %+v, want label %s at %+v", c, tc.label, tc.where)
					}
				}
			})
		}
	})
}

func TestCheckerFileIDs(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, newStore func(testing.TB) store.Store) {
		ctx := context.Background()
		st := secondary(t, newStore)
		local := storetest.NewFixture().TapeFile
		local.Filecat, local.Volcat, local.Pool, local.VolsetID = replFilecat, locVolcat, "LOCAL_POOL", "L00001"
		local.Version = 3
		put(t, st, func(ctx context.Context, tx store.Tx) error { return tx.PutTapeFile(ctx, &local) })
		cs, want := check(t, st, nil)
		if !slices.Equal(safety.RulesOf(cs), []safety.Rule{safety.FileIDCollision}) || cs[0].Where.Filecat != replFilecat || !strings.Contains(cs[0].Where.Entry, "L00001") {
			t.Fatalf("conflicts %v, want a FILEID collision with the local entry", cs)
		}

		// Entries of the store's own volume sets are not local: once the set
		// is imported (the local entry gone), checking it again finds nothing.
		put(t, st, func(ctx context.Context, tx store.Tx) error { return tx.DeleteTapeFile(ctx, local.Key()) })
		im, err := importer.New(ctx, st, importer.Options{StoreID: "DS_PROD", CatalogFiles: true}, []string{"VG_PROD"})
		if err != nil {
			t.Fatal(err)
		}
		if _, cs, err := im.ApplySet(ctx, st, &importer.Prepared{In: safety.FixtureSet(), Want: want}, nil, nil); err != nil || cs != nil {
			t.Fatal(cs, err)
		}
		// The same generation on another of the store's volume sets (a
		// rerun, as the primary wrote it) is not local either.
		put(t, st, func(ctx context.Context, tx store.Tx) error {
			rerun := want.TapeFiles[0]
			rerun.Version, rerun.Status, rerun.VolsetID = 1, catalog.FileInvalid, "T00003"
			v := localVolume("T00003", catalog.Labeled, "DS_PROD")
			v.Group, v.Access = "VG_PROD", catalog.AccessSecondary
			return firstErr([]error{tx.PutTapeFile(ctx, &rerun), tx.PutVolume(ctx, &v)})
		})
		if cs, _ := check(t, st, nil); cs != nil {
			t.Errorf("re-checking an imported set: %v", cs)
		}
	})
}

func TestCheckerResolvesOnTheSecondary(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, newStore func(testing.TB) store.Store) {
		st := secondary(t, newStore)
		drop := func(s *snapshot.VolumeSet) { s.TapeVolumes = s.TapeVolumes[:1] } // T00002 travels without its TAPEVOLUME
		if cs, _ := check(t, st, drop); !slices.Equal(safety.RulesOf(cs), []safety.Rule{safety.DanglingEntry}) || !strings.Contains(cs[0].Detail, "T00002") {
			t.Fatalf("conflicts %v, want the TFTOV on T00002 dangling", cs)
		}
		put(t, st, func(ctx context.Context, tx store.Tx) error {
			tv := tapeVolume(replVolcat, "BBOX_BACKUP", "T00002")
			v := localVolume("T00002", catalog.Labeled, "DS_PROD")
			v.Group, v.Access = "VG_PROD", catalog.AccessSecondary
			return firstErr([]error{tx.PutTapeVolume(ctx, &tv), tx.PutVolume(ctx, &v)})
		})
		if cs, _ := check(t, st, drop); cs != nil {
			t.Errorf("the volume is on the secondary: %v", cs)
		}
	})
}
