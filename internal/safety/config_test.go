package safety_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
	"github.com/catsync/catsync/internal/store/storetest"
)

func primaryStore(t *testing.T, newStore func(testing.TB) store.Store) store.Store {
	t.Helper()
	st := newStore(t)
	f := storetest.NewFixture()
	put(t, st, func(ctx context.Context, tx store.Tx) error {
		errs := []error{tx.PutSite(ctx, &f.Site), tx.PutDataStore(ctx, &f.Store), tx.PutVolumeGroup(ctx, &f.Group)}
		for i := range f.Volumes {
			errs = append(errs, tx.PutVolume(ctx, &f.Volumes[i]))
		}
		return firstErr(errs)
	})
	return st
}

func TestDescribePrimary(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, newStore func(testing.TB) store.Store) {
		p, err := safety.DescribePrimary(context.Background(), primaryStore(t, newStore), "DS_PROD")
		if err != nil {
			t.Fatal(err)
		}
		if p.Node != `\PRIM` || p.StoreAccess != catalog.AccessPrimary || !slices.Equal(p.Groups, []string{"VG_PROD"}) ||
			p.SearchListSystem != `\PRIM` || len(p.SearchList) != 2 {
			t.Errorf("primary %+v", p)
		}
		if p, err := safety.DescribePrimary(context.Background(), primaryStore(t, newStore), "DS_NONE"); err != nil || p.StoreAccess != "" {
			t.Errorf("undefined store: %+v, %v", p, err)
		}
	})
}

func TestCheckConfig(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, newStore func(testing.TB) store.Store) {
		ctx := context.Background()
		prim := func() safety.Primary {
			p, err := safety.DescribePrimary(ctx, primaryStore(t, newStore), "DS_PROD")
			if err != nil {
				t.Fatal(err)
			}
			return p
		}()
		site := func(ctx context.Context, tx store.Tx, edit func(*catalog.Site)) error {
			s, err := tx.Site(ctx)
			if err != nil {
				return err
			}
			edit(&s)
			return tx.PutSite(ctx, &s)
		}
		group := func(ctx context.Context, tx store.Tx, edit func(*catalog.VolumeGroup)) error {
			g, err := tx.VolumeGroup(ctx, "VG_PROD")
			if err != nil {
				return err
			}
			edit(&g)
			return tx.PutVolumeGroup(ctx, &g)
		}
		for _, tc := range []struct {
			name    string
			primary func(*safety.Primary)
			plant   func(context.Context, store.Tx) error
			setup   safety.Setup
			want    []safety.Rule
			detail  string // in the first problem
		}{
			{name: "sound"},
			{name: "store not PRIMARY on the primary", primary: func(p *safety.Primary) { p.StoreAccess = catalog.AccessRestricted },
				want: []safety.Rule{safety.ConfigStoreAccess}, detail: `"RESTRICTED"`},
			{name: "store not defined on the primary", primary: func(p *safety.Primary) { p.StoreAccess = "" },
				want: []safety.Rule{safety.ConfigStoreAccess}, detail: `data store DS_PROD is not defined on the primary \PRIM`},
			{name: "store not SECONDARY on the secondary", plant: func(ctx context.Context, tx store.Tx) error {
				return tx.PutDataStore(ctx, &catalog.DataStore{ID: "DS_PROD", Access: catalog.AccessPrimary, Status: catalog.StoreActive})
			}, want: []safety.Rule{safety.ConfigStoreAccess}, detail: "imports need SECONDARY"},
			// A store failed over here is PRIMARY by design: one problem
			// that says so, whatever else its promotion makes look wrong.
			{name: "store failed over to the secondary", plant: func(ctx context.Context, tx store.Tx) error {
				b, _ := json.Marshal(safety.FailedOver{Store: "DS_PROD", WorkflowID: "catsync-failover-DS_PROD", Operator: "jdoe",
					At: time.Date(2026, 12, 2, 3, 4, 5, 0, time.UTC)})
				return firstErr([]error{tx.PutDataStore(ctx, &catalog.DataStore{ID: "DS_PROD", Access: catalog.AccessPrimary, Status: catalog.StoreActive}),
					tx.PutMeta(ctx, safety.FailedOverKey("DS_PROD"), string(b)),
					group(ctx, tx, func(g *catalog.VolumeGroup) { g.Filecat = `\SECD.FCDEF` })})
			}, want: []safety.Rule{safety.ConfigFailedOver},
				detail: `data store DS_PROD was failed over to \SECD at 2026-12-02T03:04:05Z (catsync-failover-DS_PROD, approved by jdoe): it is PRIMARY here and takes no import`},
			{name: "secondary's search list has the primary's catalogs", plant: func(ctx context.Context, tx store.Tx) error {
				return site(ctx, tx, func(s *catalog.Site) { s.SearchList = append(s.SearchList, `\PRIM.VCPROD`) })
			}, want: []safety.Rule{safety.ConfigSearchList}, detail: `includes catalogs of the primary \PRIM`},
			{name: "primary's search list has the secondary's catalogs", primary: func(p *safety.Primary) {
				p.SearchList = append(p.SearchList, `\SECD.VCREPL`)
			}, want: []safety.Rule{safety.ConfigSearchList}, detail: `of the primary \PRIM includes catalogs of the secondary \SECD`},
			{name: "one search list system", primary: func(p *safety.Primary) { p.SearchListSystem = `\SECD` },
				want: []safety.Rule{safety.ConfigSearchList}, detail: `defined on \SECD`},
			{name: "unmapped group", primary: func(p *safety.Primary) { p.Groups = append(p.Groups, "VG_NEW") },
				want: []safety.Rule{safety.ConfigGroupMapping}, detail: "VG_NEW"},
			{name: "MEDIADEFS default FILECAT", plant: func(ctx context.Context, tx store.Tx) error {
				return group(ctx, tx, func(g *catalog.VolumeGroup) { g.Filecat = `\SECD.FCDEF` })
			}, want: []safety.Rule{safety.ConfigSharedCatalog}, detail: "MEDIADEFS default FILECAT"},
			{name: "MEDIADEFS default FILECAT with renamed DISKFILEs", setup: safety.Setup{CatalogFiles: true, NodePairs: true},
				plant: func(ctx context.Context, tx store.Tx) error {
					return group(ctx, tx, func(g *catalog.VolumeGroup) { g.Filecat = `\SECD.FCDEF` })
				}, want: []safety.Rule{safety.ConfigSharedCatalog, safety.ConfigSharedCatalog}, detail: "MEDIADEFS default FILECAT"},
			{name: "a local store's group shares the FILECAT", plant: func(ctx context.Context, tx store.Tx) error {
				v := localVolume("L00001", catalog.Labeled, "DS_LOCAL")
				return firstErr([]error{tx.PutVolume(ctx, &v), group(ctx, tx, func(g *catalog.VolumeGroup) { g.Filecat = locFilecat })})
			}, want: []safety.Rule{safety.ConfigSharedCatalog}, detail: "VG_LOCAL of the local data store DS_LOCAL"},
			{name: "the FILECAT holds local tape files", plant: func(ctx context.Context, tx store.Tx) error {
				return tx.PutVolumeFilecat(ctx, &catalog.VolumeFilecat{Volcat: `\SECD.VCDEF`, VolsetID: "ML0001", Pool: "MEDIA_POOL", Filecat: replFilecat})
			}, want: []safety.Rule{safety.ConfigSharedCatalog}, detail: `volume set ML0001 in \SECD.VCDEF pool MEDIA_POOL`},
			{name: "tape files of another replicated store in the FILECAT", plant: func(ctx context.Context, tx store.Tx) error {
				v := localVolume("R00001", catalog.Labeled, "DS_OTHER")
				v.Access = catalog.AccessSecondary
				return firstErr([]error{tx.PutVolume(ctx, &v),
					tx.PutVolumeFilecat(ctx, &catalog.VolumeFilecat{Volcat: `\SECD.VCOTH`, VolsetID: "R00001", Pool: "OTHER_POOL", Filecat: replFilecat})})
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st := secondary(t, newStore)
				if tc.plant != nil {
					put(t, st, tc.plant)
				}
				p := prim
				p.Groups = slices.Clone(prim.Groups)
				p.SearchList = slices.Clone(prim.SearchList)
				if tc.primary != nil {
					tc.primary(&p)
				}
				s := tc.setup
				s.StoreID = "DS_PROD"
				problems, err := safety.CheckConfig(ctx, st, p, s)
				if err != nil {
					t.Fatal(err)
				}
				var got []safety.Rule
				for _, pr := range problems {
					got = append(got, pr.Rule)
				}
				if !slices.Equal(got, tc.want) {
					t.Fatalf("rules %v, want %v: %v", got, tc.want, problems)
				}
				if len(problems) > 0 && !strings.Contains(problems[0].Detail, tc.detail) {
					t.Errorf("problem %q, want it to say %q", problems[0].Detail, tc.detail)
				}
				for _, pr := range problems {
					if !strings.Contains(pr.String(), safety.Rules[pr.Rule].Action) {
						t.Errorf("problem %q does not say what to do", pr)
					}
				}
			})
		}
	})
}
