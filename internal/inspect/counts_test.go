package inspect

import (
	"context"
	"maps"
	"reflect"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// slowCounts counts a store the slow way: one lookup per volume.
func slowCounts(t *testing.T, r store.Reader, d catalog.DataStore) StoreCounts {
	t.Helper()
	ctx := context.Background()
	sc := StoreCounts{ID: d.ID, Access: d.Access, ByAccess: map[string]int64{}, ByStatus: map[string]int64{}}
	var vols []catalog.Volume
	if err := r.ScanVolumes(ctx, store.Filter{StoreID: d.ID}, collect(&vols)); err != nil {
		t.Fatal(err)
	}
	for _, v := range vols {
		sc.Volumes++
		sc.ByAccess[string(v.Access)]++
		status := NoTapeVolume
		if g, err := r.VolumeGroup(ctx, v.Group); err == nil {
			if err := r.ScanTapeVolumes(ctx, store.Filter{Volcat: g.Volcat, Pool: g.Pool, Volser: v.Label}, func(tv *catalog.TapeVolume) error {
				status = string(tv.Status)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		sc.ByStatus[status]++
	}
	var err error
	if sc.LastSeq, err = r.LastSeq(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestCountStores(t *testing.T) {
	sqltest.RunDSN(t, func(t *testing.T, dsn func(testing.TB) string) {
		ctx := context.Background()
		prim, sec := sites(t, dsn, true)
		// A volume whose group's pool has no TAPEVOLUME of its label.
		if err := sec.Update(ctx, func(tx store.Tx) error {
			return tx.PutVolume(ctx, &catalog.Volume{Label: "Z00001", LabelType: catalog.Labeled, StoreID: "DS_LOCAL", Group: "VG_LOCAL_1",
				Access: catalog.AccessPrimary, Auth: "GGO", Compression: catalog.CompressNone})
		}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			r    store.Reader
			ids  []string
		}{{"primary", prim, []string{"DS_PROD"}}, {"secondary", sec, []string{"DS_LOCAL", "DS_PROD"}}} {
			got, err := CountStores(ctx, c.r)
			if err != nil {
				t.Fatal(err)
			}
			stores, err := DataStores(ctx, c.r)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.ids) || len(stores) != len(c.ids) {
				t.Fatalf("%s: counts %+v, data stores %+v, want %v", c.name, got, stores, c.ids)
			}
			for i, d := range stores {
				if d.ID != c.ids[i] {
					t.Errorf("%s: data store %d is %s, want %s", c.name, i, d.ID, c.ids[i])
				}
				if want := slowCounts(t, c.r, d); !reflect.DeepEqual(got[i], want) {
					t.Errorf("%s %s: %+v, want %+v", c.name, d.ID, got[i], want)
				}
			}
		}
		local, _ := CountStores(ctx, sec)
		if local[0].ByStatus[NoTapeVolume] == 0 || local[0].Volumes < 11 {
			t.Errorf("DS_LOCAL: %+v, want Z00001 under %s", local[0], NoTapeVolume)
		}
		prod := local[1]
		if prod.Access != catalog.AccessSecondary || prod.Volumes != 0 || len(prod.ByStatus) != 0 {
			t.Errorf("the secondary's DS_PROD before any import: %+v", prod)
		}
		primCounts, _ := CountStores(ctx, prim)
		if n := sum(primCounts[0].ByStatus); n != primCounts[0].Volumes || primCounts[0].ByAccess["PRIMARY"] != n {
			t.Errorf("DS_PROD: %+v: every volume counted once by status and by access", primCounts[0])
		}
	})
}

func sum(m map[string]int64) int64 {
	var n int64
	for v := range maps.Values(m) {
		n += v
	}
	return n
}

func TestWritesEncrypted(t *testing.T) {
	sqltest.RunDSN(t, func(t *testing.T, dsn func(testing.TB) string) {
		ctx := context.Background()
		prim, sec := sites(t, dsn, true)
		_, bare := sites(t, dsn, false)
		// The secondaries' replicas of the primary's encrypted group are
		// never written; their local groups do not encrypt.
		for _, c := range []struct {
			name string
			r    store.Reader
			want bool
		}{{"primary", prim, true}, {"secondary with local backups", sec, false}, {"secondary without", bare, false}} {
			if got, err := WritesEncrypted(ctx, c.r); err != nil || got != c.want {
				t.Errorf("%s: %v, %v, want %v", c.name, got, err, c.want)
			}
		}
	})
}
