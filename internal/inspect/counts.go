// Package inspect reads what a site's catalogs hold, for an operator: rows
// per data store by domain access and DSM/TC status, the data stores, and
// the entries MEDIACOM INFO shows of a tape volume, a tape file or a disk
// file, found along the site's catalog search order. It writes nothing and
// prints nothing: the CLI formats what it returns.
package inspect

import (
	"context"
	"maps"
	"slices"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
)

// NoTapeVolume is the status under which StoreCounts.ByStatus counts the
// BackPak volumes with no TAPEVOLUME in their group's VOLCAT and POOL.
const NoTapeVolume = "NONE"

// StoreCounts counts one data store's BackPak volumes (the `counts --json`
// form, docs/cli-json.md).
type StoreCounts struct {
	ID       string               `json:"id"`
	Access   catalog.DomainAccess `json:"access"`
	Volumes  int64                `json:"volumes"`
	ByAccess map[string]int64     `json:"by_access"` // per-volume domain access
	ByStatus map[string]int64     `json:"by_status"` // VOLUMESTATUS of the TAPEVOLUME, or NoTapeVolume
	LastSeq  int64                `json:"last_seq"`  // the store's last change sequence
}

// DataStores lists the site's BackPak data stores in id order.
func DataStores(ctx context.Context, r store.Reader) ([]catalog.DataStore, error) {
	var stores []catalog.DataStore
	err := r.ScanDataStores(ctx, collect(&stores))
	return stores, err
}

// CountStores counts every data store of the site, in id order.
func CountStores(ctx context.Context, r store.Reader) ([]StoreCounts, error) {
	groups := map[string]catalog.VolumeGroup{}
	if err := r.ScanVolumeGroups(ctx, func(g *catalog.VolumeGroup) error {
		groups[g.Name] = *g
		return nil
	}); err != nil {
		return nil, err
	}
	stores, err := DataStores(ctx, r)
	if err != nil {
		return nil, err
	}
	out := []StoreCounts{}
	for _, d := range stores {
		sc, err := countStore(ctx, r, d, groups)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

// countStore counts a data store's volumes by domain access, then by the
// status of their TAPEVOLUME. The join runs one group at a time: a
// label->status map of the group's pool, then a pass over the store's
// volumes, so memory stays at one pool's labels.
func countStore(ctx context.Context, r store.Reader, d catalog.DataStore, groups map[string]catalog.VolumeGroup) (StoreCounts, error) {
	sc := StoreCounts{ID: d.ID, Access: d.Access, ByAccess: map[string]int64{}, ByStatus: map[string]int64{}}
	inStore := store.Filter{StoreID: d.ID}
	used := map[string]bool{}
	if err := r.ScanVolumes(ctx, inStore, func(v *catalog.Volume) error {
		sc.Volumes++
		sc.ByAccess[string(v.Access)]++
		used[v.Group] = true
		return nil
	}); err != nil {
		return sc, err
	}
	for _, name := range slices.Sorted(maps.Keys(used)) {
		status := map[string]catalog.VolumeStatus{}
		if g, ok := groups[name]; ok {
			if err := r.ScanTapeVolumes(ctx, store.Filter{Volcat: g.Volcat, Pool: g.Pool}, func(tv *catalog.TapeVolume) error {
				status[tv.Volser] = tv.Status
				return nil
			}); err != nil {
				return sc, err
			}
		}
		if err := r.ScanVolumes(ctx, inStore, func(v *catalog.Volume) error {
			if v.Group != name {
				return nil
			}
			if s, ok := status[v.Label]; ok {
				sc.ByStatus[string(s)]++
			} else {
				sc.ByStatus[NoTapeVolume]++
			}
			return nil
		}); err != nil {
			return sc, err
		}
	}
	var err error
	sc.LastSeq, err = r.LastSeq(ctx, d.ID)
	return sc, err
}

// WritesEncrypted reports whether backups on the site write encrypted
// volumes: it owns a data store (PRIMARY access) and has an encrypting
// volume group of its own. A secondary's replicas of the primary's groups
// (those with an original name) receive entries but are never written.
func WritesEncrypted(ctx context.Context, r store.Reader) (bool, error) {
	stores, err := DataStores(ctx, r)
	if err != nil {
		return false, err
	}
	if !slices.ContainsFunc(stores, func(d catalog.DataStore) bool { return d.Access == catalog.AccessPrimary }) {
		return false, nil
	}
	encrypts := false
	err = r.ScanVolumeGroups(ctx, func(g *catalog.VolumeGroup) error {
		encrypts = encrypts || (g.Encrypted && g.OriginalName == "")
		return nil
	})
	return encrypts, err
}

// collect appends copies of scanned records: a scan reuses its record, and
// its callback must not query the store, so lookups wait for the scan's end.
func collect[T any](out *[]T) func(*T) error {
	return func(rec *T) error {
		*out = append(*out, *rec)
		return nil
	}
}
