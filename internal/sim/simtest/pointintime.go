package simtest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/export"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// BusyKeys is a primary's key manager whose first lookup first runs
// during: a snapshot records keys segment by segment, so during runs with
// the export midway, and can move the primary on under it.
type BusyKeys struct {
	keys.Manager // answers the lookups; nil: no key is found

	during func(context.Context) error
	once   sync.Once
	ran    chan struct{} // closed once during returned
	err    error
	after  atomic.Int64 // lookups answered after during
}

// NewBusyKeys returns m (nil: none) with during run at the first lookup.
func NewBusyKeys(m keys.Manager, during func(context.Context) error) *BusyKeys {
	return &BusyKeys{Manager: m, during: during, ran: make(chan struct{})}
}

// Lookup runs during at the first call, then answers from the manager.
func (b *BusyKeys) Lookup(ctx context.Context, group string, names []string) (map[string]keys.Info, error) {
	first := false
	b.once.Do(func() {
		first = true
		b.err = b.during(ctx)
		close(b.ran)
	})
	if b.err != nil {
		return nil, b.err
	}
	if !first {
		b.after.Add(1)
	}
	if b.Manager == nil {
		return nil, nil
	}
	return b.Manager.Lookup(ctx, group, names)
}

// LookupsAfter fails the test unless during ran, without error, and returns
// how many lookups came after it: each one recorded the keys of sets read
// after during.
func (b *BusyKeys) LookupsAfter(t testing.TB) int64 {
	t.Helper()
	select {
	case <-b.ran:
	default:
		t.Fatal("the key manager was never asked for a key")
	}
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.after.Load()
}

// ExportSets reads, in one view of st, the volume sets of DS_PROD that an
// export of typ after the sequence after holds, in export order and
// without key records, and the sequence the view is at.
func ExportSets(t testing.TB, st store.Store, typ snapshot.Type, after int64, catalogFiles bool) ([]snapshot.VolumeSet, int64) {
	t.Helper()
	ctx := context.Background()
	var sets []snapshot.VolumeSet
	var to int64
	err := st.View(ctx, func(r store.Reader) error {
		items, seq, err := export.Plan(ctx, r, "DS_PROD", typ, after, 0)
		if err != nil {
			return err
		}
		to = seq
		x := &export.Reader{R: r, StoreID: "DS_PROD", CatalogFiles: catalogFiles}
		return x.Walk(ctx, items, nil, func(_ export.Item, s *snapshot.VolumeSet) error {
			sets = append(sets, *s)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return sets, to
}

// Copy returns a new SQLite catalog holding every catalog record of st as
// of one view of it: the site, BackPak and DSM/TC tables. Change marks
// start afresh, one per volume; metadata is left out.
func Copy(t testing.TB, st store.Store) store.Store {
	t.Helper()
	ctx := context.Background()
	dst := sqltest.Open(t, sqltest.SQLiteDSN(t))
	err := st.View(ctx, func(r store.Reader) error {
		site, err := r.Site(ctx)
		if err != nil {
			return err
		}
		return dst.Update(ctx, func(tx store.Tx) error {
			// The copies run in argument order; Join reports those that failed.
			return errors.Join(tx.PutSite(ctx, &site),
				r.ScanDataStores(ctx, func(d *catalog.DataStore) error { return tx.PutDataStore(ctx, d) }),
				r.ScanVolumeGroups(ctx, func(g *catalog.VolumeGroup) error { return tx.PutVolumeGroup(ctx, g) }),
				copyRows(ctx, r.ScanVolumes, tx.PutVolume),
				copyRows(ctx, r.ScanPools, tx.PutPool),
				copyRows(ctx, r.ScanTapeVolumes, tx.PutTapeVolume),
				copyRows(ctx, r.ScanVolumeFilecats, tx.PutVolumeFilecat),
				copyRows(ctx, r.ScanFileConfigs, tx.PutFileConfig),
				copyRows(ctx, r.ScanTapeFiles, tx.PutTapeFile),
				copyRows(ctx, r.ScanTapeFileVolumes, tx.PutTapeFileVolume),
				copyRows(ctx, r.ScanDiskFiles, tx.PutDiskFile),
				copyRows(ctx, r.ScanDiskFileVolumes, tx.PutDiskFileVolume))
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func copyRows[T any](ctx context.Context, scan func(context.Context, store.Filter, func(*T) error) error, put func(context.Context, *T) error) error {
	return scan(ctx, store.Filter{}, func(r *T) error { return put(ctx, r) })
}
