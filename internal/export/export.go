// Package export reads a data store's catalogs as volume sets, the unit in
// which BackPak exports them: a BackPak volume with every volume of its
// DSM/TC volume set, their TAPEFILEs, TFTOV, optionally DISKFILE/DFTOV, the
// CONFIG rows of their FILEIDs and the VTOFC link.
package export

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// Item is one volume to export: a changed volume, or the tombstone of a
// deleted one.
type Item struct {
	Key     catalog.VolumeKey
	Deleted bool
}

// Plan lists, in label order, the volumes an export covers, and the
// sequence up to which it covers changes. FULL: every volume of the store;
// UPDATE: the volumes marked after the watermark `after`, up to `to` (0:
// the store's last sequence in r). Its size follows the number of volumes
// in scope, never the number of catalog rows. An export whose sets must
// match `to` exactly plans and walks in one view (store.Store.View).
func Plan(ctx context.Context, r store.Reader, storeID string, typ snapshot.Type, after, to int64) ([]Item, int64, error) {
	if to == 0 {
		var err error
		if to, err = r.LastSeq(ctx, storeID); err != nil {
			return nil, 0, err
		}
	}
	var items []Item
	var err error
	switch typ {
	case snapshot.Full:
		err = r.ScanVolumes(ctx, store.Filter{StoreID: storeID}, func(v *catalog.Volume) error {
			items = append(items, Item{Key: v.Key()})
			return nil
		})
	case snapshot.Update:
		err = r.Changes(ctx, storeID, after, func(c store.Change) error {
			if c.Seq <= to {
				items = append(items, Item{Key: c.Volume, Deleted: c.Deleted})
			}
			return nil
		})
	default:
		err = fmt.Errorf("export type %q: must be UPDATE or FULL", typ)
	}
	if err != nil {
		return nil, 0, err
	}
	slices.SortFunc(items, func(a, b Item) int { return compareKeys(a.Key, b.Key) })
	return items, to, nil
}

func compareKeys(a, b catalog.VolumeKey) int {
	return cmp.Or(cmp.Compare(a.Label, b.Label), cmp.Compare(a.LabelType, b.LabelType))
}

// Reader builds volume sets from one site's catalogs.
type Reader struct {
	R            store.Reader
	StoreID      string
	CatalogFiles bool // include DISKFILE and DFTOV
	// Consistent says R is a view of one moment (store.Store.View): what
	// is read once is read from memory after, such as the CONFIG rows of
	// a FILEID the sets before shared.
	Consistent bool

	groups  map[string]catalog.VolumeGroup
	configs map[[2]string][]catalog.FileConfig // by FILECAT and FILEID, when Consistent
}

func (x *Reader) group(ctx context.Context, name string) (catalog.VolumeGroup, error) {
	if x.groups == nil {
		x.groups = map[string]catalog.VolumeGroup{}
		if err := x.R.ScanVolumeGroups(ctx, func(g *catalog.VolumeGroup) error {
			x.groups[g.Name] = *g
			return nil
		}); err != nil {
			return catalog.VolumeGroup{}, err
		}
	}
	g, ok := x.groups[name]
	if !ok {
		return g, fmt.Errorf("volume group %s: %w", name, store.ErrNotFound)
	}
	return g, nil
}

// Walk calls fn with the volume set of each item, once per set: a set is
// emitted at the smallest of its members that the items list, so a set whose
// volumes all changed is exported once. Items up to and including
// resumeAfter are skipped (a retried export resumes there); fn receives the
// item that emitted the set, to record as the cursor.
func (x *Reader) Walk(ctx context.Context, items []Item, resumeAfter *catalog.VolumeKey, fn func(Item, *snapshot.VolumeSet) error) error {
	listed := make(map[catalog.VolumeKey]bool, len(items))
	for _, it := range items {
		listed[it.Key] = true
	}
	for _, it := range items {
		if resumeAfter != nil && compareKeys(it.Key, *resumeAfter) <= 0 {
			continue
		}
		if it.Deleted {
			if err := fn(it, &snapshot.VolumeSet{ID: it.Key.Label, Deleted: []catalog.VolumeKey{it.Key}}); err != nil {
				return err
			}
			continue
		}
		set, members, volcat, err := x.volumes(ctx, it.Key)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since it was listed: its tombstone comes next time
		}
		if err != nil {
			return err
		}
		first := it.Key
		for _, m := range members {
			if listed[m] && compareKeys(m, first) < 0 {
				first = m
			}
		}
		if first != it.Key {
			continue // emitted at its smaller member, which reads its files
		}
		if err := x.filesOf(ctx, volcat, set); err != nil {
			return err
		}
		if err := fn(it, set); err != nil {
			return err
		}
	}
	return nil
}

// Set reads the volume set of one BackPak volume and returns it with the
// keys of its members.
func (x *Reader) Set(ctx context.Context, key catalog.VolumeKey) (*snapshot.VolumeSet, []catalog.VolumeKey, error) {
	set, members, volcat, err := x.volumes(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	return set, members, x.filesOf(ctx, volcat, set)
}

// volumes reads the volume set of one BackPak volume without its files:
// the BackPak and TAPEVOLUME entries of its members, with their keys, and
// the VOLCAT its files are read from ("" when it has none: a volume in no
// DSM/TC volume set). A walk reads a set's files only at the member that
// emits it.
func (x *Reader) volumes(ctx context.Context, key catalog.VolumeKey) (set *snapshot.VolumeSet, members []catalog.VolumeKey, volcat string, err error) {
	v, err := x.R.Volume(ctx, key)
	if err != nil {
		return nil, nil, "", err
	}
	set = &snapshot.VolumeSet{ID: key.Label, Volumes: []catalog.Volume{v}}
	members = []catalog.VolumeKey{key}
	if key.LabelType != catalog.Labeled {
		return set, members, "", nil // unlabeled volumes are not cataloged in DSM/TC
	}
	g, err := x.group(ctx, v.Group)
	if err != nil {
		return nil, nil, "", fmt.Errorf("volume %s: %w", key, err)
	}
	var own *catalog.TapeVolume
	if err := x.R.ScanTapeVolumes(ctx, store.Filter{Volcat: g.Volcat, Pool: g.Pool, Volser: key.Label}, func(tv *catalog.TapeVolume) error {
		c := *tv
		own = &c
		return nil
	}); err != nil {
		return nil, nil, "", err
	}
	if own == nil {
		return set, members, "", nil // not cataloged in DSM/TC
	}
	if own.VolsetID == "" {
		set.TapeVolumes = []catalog.TapeVolume{*own}
		return set, members, "", nil
	}
	set.ID = own.VolsetID
	var tvs []catalog.TapeVolume
	if err := x.R.ScanTapeVolumes(ctx, store.Filter{Volcat: g.Volcat, VolsetID: own.VolsetID}, func(tv *catalog.TapeVolume) error {
		tvs = append(tvs, *tv)
		return nil
	}); err != nil {
		return nil, nil, "", err
	}
	set.TapeVolumes = tvs
	for _, tv := range tvs {
		if tv.Volser == key.Label {
			continue
		}
		mk := catalog.VolumeKey{Label: tv.Volser, LabelType: catalog.Labeled}
		mv, err := x.R.Volume(ctx, mk)
		if errors.Is(err, store.ErrNotFound) {
			continue // a member BackPak does not know travels as DSM/TC only
		}
		if err != nil {
			return nil, nil, "", err
		}
		if mv.StoreID == x.StoreID {
			set.Volumes = append(set.Volumes, mv)
			members = append(members, mk)
		}
	}
	slices.SortFunc(set.Volumes, func(a, b catalog.Volume) int { return compareKeys(a.Key(), b.Key()) })
	return set, members, g.Volcat, nil
}

// filesOf adds the file-catalog entries of a volume set under volcat
// (none when volcat is "").
func (x *Reader) filesOf(ctx context.Context, volcat string, set *snapshot.VolumeSet) error {
	if volcat == "" {
		return nil
	}
	f := store.Filter{Volcat: volcat, VolsetID: set.ID}
	if err := x.R.ScanVolumeFilecats(ctx, f, appendTo(&set.VTOFC)); err != nil {
		return err
	}
	if err := x.R.ScanTapeFiles(ctx, f, appendTo(&set.TapeFiles)); err != nil {
		return err
	}
	if err := x.R.ScanTapeFileVolumes(ctx, f, appendTo(&set.TFTOV)); err != nil {
		return err
	}
	var gens store.FileGens
	var ids [][2]string
	for _, tf := range set.TapeFiles {
		gens.Add(tf.Filecat, tf.FileID, tf.Generation)
		if id := [2]string{tf.Filecat, tf.FileID}; !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		cfgs, err := x.fileConfigs(ctx, id)
		if err != nil {
			return err
		}
		set.Configs = append(set.Configs, cfgs...)
	}
	if !x.CatalogFiles {
		return nil
	}
	// One read per FILECAT for all the set's generations.
	for _, fc := range gens.Filecats {
		if err := x.R.ScanDiskFiles(ctx, store.Filter{Filecat: fc, Gens: gens.Gens[fc], VolsetID: set.ID}, appendTo(&set.DiskFiles)); err != nil {
			return err
		}
	}
	return x.R.ScanDiskFileVolumes(ctx, f, appendTo(&set.DFTOV))
}

// fileConfigs reads the CONFIG rows of a FILECAT and FILEID: a FILEID's
// generations are spread over many sets.
func (x *Reader) fileConfigs(ctx context.Context, id [2]string) ([]catalog.FileConfig, error) {
	if cfgs, ok := x.configs[id]; ok {
		return cfgs, nil
	}
	var cfgs []catalog.FileConfig
	if err := x.R.ScanFileConfigs(ctx, store.Filter{Filecat: id[0], FileID: id[1]}, appendTo(&cfgs)); err != nil {
		return nil, err
	}
	if x.Consistent {
		if x.configs == nil {
			x.configs = map[[2]string][]catalog.FileConfig{}
		}
		x.configs[id] = cfgs
	}
	return cfgs, nil
}

func appendTo[T any](s *[]T) func(*T) error {
	return func(r *T) error { *s = append(*s, *r); return nil }
}
