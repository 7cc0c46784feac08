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
	"maps"
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

// filesBatch is how many volume sets a walk reads the files of together,
// one query a table for them all, where a query a table for each set was a
// round trip each to a PostgreSQL catalog.
var filesBatch = 64

// Walk calls fn with the volume set of each item, once per set: a set is
// emitted at the smallest of its members that the items list, so a set whose
// volumes all changed is exported once. Items up to and including
// resumeAfter are skipped (a retried export resumes there); fn receives the
// item that emitted the set, to record as the cursor. The files of up to
// filesBatch sets are read together before fn sees the first of them; fn
// still sees every set in the items' order.
func (x *Reader) Walk(ctx context.Context, items []Item, resumeAfter *catalog.VolumeKey, fn func(Item, *snapshot.VolumeSet) error) error {
	listed := make(map[catalog.VolumeKey]bool, len(items))
	for _, it := range items {
		listed[it.Key] = true
	}
	var batch []pendingSet
	flush := func() error {
		if err := x.filesOf(ctx, batch); err != nil {
			return err
		}
		for _, p := range batch {
			if err := fn(p.item, p.set); err != nil {
				return err
			}
		}
		batch = batch[:0]
		return nil
	}
	for _, it := range items {
		if resumeAfter != nil && compareKeys(it.Key, *resumeAfter) <= 0 {
			continue
		}
		if it.Deleted {
			batch = append(batch, pendingSet{item: it, set: &snapshot.VolumeSet{ID: it.Key.Label, Deleted: []catalog.VolumeKey{it.Key}}})
		} else {
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
			batch = append(batch, pendingSet{item: it, set: set, volcat: volcat})
		}
		if len(batch) >= filesBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// pendingSet is a set a walk emits once its files are read: those under
// volcat ("" for none).
type pendingSet struct {
	item   Item
	set    *snapshot.VolumeSet
	volcat string
}

// Set reads the volume set of one BackPak volume and returns it with the
// keys of its members.
func (x *Reader) Set(ctx context.Context, key catalog.VolumeKey) (*snapshot.VolumeSet, []catalog.VolumeKey, error) {
	set, members, volcat, err := x.volumes(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	return set, members, x.filesOf(ctx, []pendingSet{{set: set, volcat: volcat}})
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

// filesOf adds to each set its file-catalog entries under its VOLCAT, the
// sets of one VOLCAT read together: each table in one query for all their
// VOLSETIDs, the rows dealt out by VOLSETID, each set's in the key order
// its own query would give.
func (x *Reader) filesOf(ctx context.Context, batch []pendingSet) error {
	var volcats []string
	byVolcat := map[string]map[string][]*snapshot.VolumeSet{}
	for _, p := range batch {
		if p.volcat == "" {
			continue
		}
		ids := byVolcat[p.volcat]
		if ids == nil {
			ids = map[string][]*snapshot.VolumeSet{}
			byVolcat[p.volcat] = ids
			volcats = append(volcats, p.volcat)
		}
		ids[p.set.ID] = append(ids[p.set.ID], p.set)
	}
	for _, vc := range volcats {
		if err := x.filesUnder(ctx, vc, byVolcat[vc]); err != nil {
			return err
		}
	}
	return nil
}

// filesUnder reads the files of the sets under volcat, by VOLSETID (a
// VOLSETID names one set of a VOLCAT; the list allows for more).
func (x *Reader) filesUnder(ctx context.Context, volcat string, byID map[string][]*snapshot.VolumeSet) error {
	ids := slices.Sorted(maps.Keys(byID))
	f := store.Filter{Volcat: volcat, VolsetIDs: ids}
	if err := x.R.ScanVolumeFilecats(ctx, f, dealTo(byID, func(s *snapshot.VolumeSet) *[]catalog.VolumeFilecat { return &s.VTOFC },
		func(r *catalog.VolumeFilecat) string { return r.VolsetID })); err != nil {
		return err
	}
	if err := x.R.ScanTapeFiles(ctx, f, dealTo(byID, func(s *snapshot.VolumeSet) *[]catalog.TapeFile { return &s.TapeFiles },
		func(r *catalog.TapeFile) string { return r.VolsetID })); err != nil {
		return err
	}
	if err := x.R.ScanTapeFileVolumes(ctx, f, dealTo(byID, func(s *snapshot.VolumeSet) *[]catalog.TapeFileVolume { return &s.TFTOV },
		func(r *catalog.TapeFileVolume) string { return r.VolsetID })); err != nil {
		return err
	}
	// Each set's generations, and all of them: a set's DISKFILEs are
	// those of its own generations, read for all the sets at once.
	gens := make(map[*snapshot.VolumeSet]*store.FileGens)
	var all store.FileGens
	for _, id := range ids {
		for _, set := range byID[id] {
			g := &store.FileGens{}
			for _, tf := range set.TapeFiles {
				g.Add(tf.Filecat, tf.FileID, tf.Generation)
				all.Add(tf.Filecat, tf.FileID, tf.Generation)
			}
			gens[set] = g
			if err := x.configsOf(ctx, set); err != nil {
				return err
			}
		}
	}
	if !x.CatalogFiles {
		return nil
	}
	if err := x.diskFiles(ctx, ids, byID, gens, &all); err != nil {
		return err
	}
	return x.R.ScanDiskFileVolumes(ctx, f, dealTo(byID, func(s *snapshot.VolumeSet) *[]catalog.DiskFileVolume { return &s.DFTOV },
		func(r *catalog.DiskFileVolume) string { return r.VolsetID }))
}

// configsOf adds the CONFIG rows of the FILEIDs of a set's TAPEFILEs,
// each FILEID once, in the order of its first TAPEFILE.
func (x *Reader) configsOf(ctx context.Context, set *snapshot.VolumeSet) error {
	var ids [][2]string
	for _, tf := range set.TapeFiles {
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
	return nil
}

// maxGensRead bounds the generations one DISKFILE read lists, within the
// engines' limits on a statement's parameters; sets with more between them
// are read one by one.
var maxGensRead = 2000

// diskFiles adds to each set the DISKFILEs of its generations: one read a
// FILECAT for all the sets, each row kept for the set of its VOLSETID if
// that set holds its generation; each set's FILECATs in the order of its
// own TAPEFILEs.
func (x *Reader) diskFiles(ctx context.Context, ids []string, byID map[string][]*snapshot.VolumeSet, gens map[*snapshot.VolumeSet]*store.FileGens, all *store.FileGens) error {
	total := 0
	for _, fc := range all.Filecats {
		total += len(all.Gens[fc])
	}
	if total > maxGensRead && len(ids) > 1 {
		for _, id := range ids {
			if err := x.diskFiles(ctx, []string{id}, byID, gens, gensOf(byID[id], gens)); err != nil {
				return err
			}
		}
		return nil
	}
	type at struct {
		set     *snapshot.VolumeSet
		filecat string
	}
	type genAt struct {
		at
		store.FileGen
	}
	holds := map[genAt]bool{}
	for _, id := range ids {
		for _, set := range byID[id] {
			for fc, fgs := range gens[set].Gens {
				for _, fg := range fgs {
					holds[genAt{at{set, fc}, fg}] = true
				}
			}
		}
	}
	read := map[at][]catalog.DiskFile{}
	for _, fc := range all.Filecats {
		err := x.R.ScanDiskFiles(ctx, store.Filter{Filecat: fc, Gens: all.Gens[fc], VolsetIDs: ids}, func(d *catalog.DiskFile) error {
			for _, set := range byID[d.VolsetID] {
				if k := (at{set, fc}); holds[genAt{k, store.FileGen{FileID: d.FileID, Generation: d.Generation}}] {
					read[k] = append(read[k], *d)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, id := range ids {
		for _, set := range byID[id] {
			for _, fc := range gens[set].Filecats {
				set.DiskFiles = append(set.DiskFiles, read[at{set, fc}]...)
			}
		}
	}
	return nil
}

// gensOf gathers the generations of sets.
func gensOf(sets []*snapshot.VolumeSet, gens map[*snapshot.VolumeSet]*store.FileGens) *store.FileGens {
	var all store.FileGens
	for _, set := range sets {
		g := gens[set]
		for _, fc := range g.Filecats {
			for _, fg := range g.Gens[fc] {
				all.Add(fc, fg.FileID, fg.Generation)
			}
		}
	}
	return &all
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

// dealTo appends each row read to the list field gives of the sets of its
// VOLSETID.
func dealTo[T any](byID map[string][]*snapshot.VolumeSet, field func(*snapshot.VolumeSet) *[]T, volsetID func(*T) string) func(*T) error {
	return func(r *T) error {
		for _, set := range byID[volsetID(r)] {
			l := field(set)
			*l = append(*l, *r)
		}
		return nil
	}
}
