package importer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// Counts are numbers of records by "entity.action" (tapefile.create,
// volume.update, diskfile.delete, volume.unchanged, ...).
type Counts map[string]int64

// Merge adds other into c.
func (c Counts) Merge(other Counts) {
	for k, v := range other {
		c[k] += v
	}
}

// Changed is the number of records created, updated or deleted.
func (c Counts) Changed() int64 {
	var n int64
	for k, v := range c {
		if !endsWith(k, ".unchanged") && !endsWith(k, ".deferred") {
			n += v
		}
	}
	return n
}

func endsWith(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}

// Canonical sorts every list of a set by key, so that two sets with the same
// records compare equal.
func Canonical(s *snapshot.VolumeSet) {
	slices.SortFunc(s.Volumes, func(a, b catalog.Volume) int {
		return cmp.Or(cmp.Compare(a.Label, b.Label), cmp.Compare(a.LabelType, b.LabelType))
	})
	slices.SortFunc(s.TapeVolumes, func(a, b catalog.TapeVolume) int { return cmp.Compare(a.Volser, b.Volser) })
	slices.SortFunc(s.VTOFC, func(a, b catalog.VolumeFilecat) int { return cmp.Compare(a.Filecat, b.Filecat) })
	slices.SortFunc(s.Configs, func(a, b catalog.FileConfig) int { return cmp.Compare(a.FileID, b.FileID) })
	slices.SortFunc(s.TapeFiles, func(a, b catalog.TapeFile) int { return cmpTapeFile(a.Key(), b.Key()) })
	slices.SortFunc(s.TFTOV, func(a, b catalog.TapeFileVolume) int { return cmp.Compare(tftovKey(&a), tftovKey(&b)) })
	slices.SortFunc(s.DiskFiles, func(a, b catalog.DiskFile) int { return cmp.Compare(diskFileKey(&a), diskFileKey(&b)) })
	slices.SortFunc(s.DFTOV, func(a, b catalog.DiskFileVolume) int { return cmp.Compare(dftovKey(&a), dftovKey(&b)) })
}

func cmpTapeFile(a, b catalog.TapeFileKey) int {
	return cmp.Or(cmp.Compare(a.FileID, b.FileID), cmp.Compare(a.Generation, b.Generation), cmp.Compare(a.Version, b.Version),
		cmp.Compare(a.PhysicalCopy, b.PhysicalCopy), cmp.Compare(a.LogicalCopy, b.LogicalCopy))
}

// Keys of the set-level records, within one volume set.
func tftovKey(v *catalog.TapeFileVolume) string {
	return fmt.Sprintf("%s %s %d %d", v.Volser, v.FileID, v.Generation, v.Version)
}
func diskFileKey(d *catalog.DiskFile) string {
	return fmt.Sprintf("%s %s %d", d.Name, d.FileID, d.Generation)
}
func dftovKey(d *catalog.DiskFileVolume) string {
	return fmt.Sprintf("%s %d %s", d.Name, d.TimeDumped.UnixMicro(), d.Volser)
}

// Outcomes of comparing one record.
const (
	kindCreate    = "create"    // wanted, missing
	kindUpdate    = "update"    // wanted, different
	kindUnchanged = "unchanged" // wanted, equal
	kindDelete    = "delete"    // present, not wanted
)

// compare matches the records a set has with those it should have, by key,
// and calls fn once per record with what importing it means.
func compare[T any, K comparable](have, want []T, key func(*T) K, fn func(kind string, k K, rec *T) error) error {
	byKey := make(map[K]*T, len(have))
	for i := range have {
		byKey[key(&have[i])] = &have[i]
	}
	for i := range want {
		k := key(&want[i])
		old, ok := byKey[k]
		delete(byKey, k)
		kind := kindUnchanged
		switch {
		case !ok:
			kind = kindCreate
		case !reflect.DeepEqual(*old, want[i]):
			kind = kindUpdate
		}
		if err := fn(kind, k, &want[i]); err != nil {
			return err
		}
	}
	for i := range have {
		if k := key(&have[i]); byKey[k] != nil {
			if err := fn(kindDelete, k, &have[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// diff returns what to write and what to delete so that a set has the
// records it should, counting them under entity.
func diff[T any, K comparable](entity string, have, want []T, key func(*T) K, c Counts) (puts, dels []T) {
	_ = compare(have, want, key, func(kind string, _ K, rec *T) error {
		c[entity+"."+kind]++
		switch kind {
		case kindCreate, kindUpdate:
			puts = append(puts, *rec)
		case kindDelete:
			dels = append(dels, *rec)
		}
		return nil
	})
	return puts, dels
}

// current reads what the secondary holds now for the records of want.
func current(ctx context.Context, r store.Reader, want *snapshot.VolumeSet, catalogFiles bool) (*snapshot.VolumeSet, error) {
	have := &snapshot.VolumeSet{ID: want.ID}
	for _, v := range want.Volumes {
		old, err := r.Volume(ctx, v.Key())
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		have.Volumes = append(have.Volumes, old)
	}
	for _, tv := range want.TapeVolumes {
		if err := r.ScanTapeVolumes(ctx, store.Filter{Volcat: tv.Volcat, Pool: tv.Pool, Volser: tv.Volser}, appendTo(&have.TapeVolumes)); err != nil {
			return nil, err
		}
	}
	for _, c := range want.Configs {
		if err := r.ScanFileConfigs(ctx, store.Filter{Filecat: c.Filecat, FileID: c.FileID}, appendTo(&have.Configs)); err != nil {
			return nil, err
		}
	}
	if len(want.TapeVolumes) == 0 {
		return have, nil
	}
	f := store.Filter{Volcat: want.TapeVolumes[0].Volcat, VolsetID: want.ID}
	for _, scan := range []func() error{
		func() error { return r.ScanVolumeFilecats(ctx, f, appendTo(&have.VTOFC)) },
		func() error { return r.ScanTapeFiles(ctx, f, appendTo(&have.TapeFiles)) },
		func() error { return r.ScanTapeFileVolumes(ctx, f, appendTo(&have.TFTOV)) },
	} {
		if err := scan(); err != nil {
			return nil, err
		}
	}
	if !catalogFiles {
		return have, nil
	}
	seen := map[[2]any]bool{}
	for _, tf := range have.TapeFiles {
		if k := [2]any{tf.FileID, tf.Generation}; !seen[k] {
			seen[k] = true
			if err := r.ScanDiskFiles(ctx, store.Filter{Filecat: tf.Filecat, FileID: tf.FileID, Generation: tf.Generation, VolsetID: want.ID},
				appendTo(&have.DiskFiles)); err != nil {
				return nil, err
			}
		}
	}
	if err := r.ScanDiskFileVolumes(ctx, f, appendTo(&have.DFTOV)); err != nil {
		return nil, err
	}
	return have, nil
}

func appendTo[T any](s *[]T) func(*T) error {
	return func(r *T) error { *s = append(*s, *r); return nil }
}

// changes is what applying one set writes and deletes.
type changes struct {
	volumes     []catalog.Volume
	tapeVolumes []catalog.TapeVolume
	vtofc       []catalog.VolumeFilecat
	vtofcDel    []catalog.VolumeFilecat
	configs     []catalog.FileConfig
	tapeFiles   []catalog.TapeFile
	tapeFileDel []catalog.TapeFile
	tftov       []catalog.TapeFileVolume
	tftovDel    []catalog.TapeFileVolume
	diskFiles   []catalog.DiskFile
	diskFileDel []catalog.DiskFile
	dftov       []catalog.DiskFileVolume
	dftovDel    []catalog.DiskFileVolume
}

// Generations carries, across the sets of one plan, the CONFIG generations
// earlier sets would have written, so that a FILEID shared by many sets is
// counted once; nil when each set is applied for real.
type Generations map[string]int

// Diff computes, against the secondary as r shows it, what importing the
// transformed set want changes, and counts it. Tombstones are deferred: an
// UPDATE import never deletes.
func Diff(ctx context.Context, r store.Reader, want *snapshot.VolumeSet, catalogFiles bool, planned Generations) (*changes, Counts, error) {
	have, err := current(ctx, r, want, catalogFiles)
	if err != nil {
		return nil, nil, err
	}
	Canonical(have)
	c := Counts{}
	ch := &changes{}
	if n := len(want.Deleted); n > 0 {
		c["volume.deferred"] += int64(n) // removed by the next FULL import
	}
	ch.volumes, _ = diff("volume", have.Volumes, want.Volumes, func(v *catalog.Volume) catalog.VolumeKey { return v.Key() }, c)
	ch.tapeVolumes, _ = diff("tapevolume", have.TapeVolumes, want.TapeVolumes, func(v *catalog.TapeVolume) string { return v.Volser }, c)
	ch.vtofc, ch.vtofcDel = diff("vtofc", have.VTOFC, want.VTOFC, func(v *catalog.VolumeFilecat) string { return v.Pool }, c)
	// CONFIG only moves up: generations never decrease.
	cfgHave := map[string]int{}
	for _, h := range have.Configs {
		cfgHave[h.FileID] = h.LastGeneration
	}
	for _, w := range want.Configs {
		old, ok := cfgHave[w.FileID]
		if planned != nil {
			k := w.Filecat + " " + w.FileID
			if g, seen := planned[k]; seen {
				old, ok = max(old, g), true
			}
			planned[k] = max(planned[k], w.LastGeneration, old)
		}
		switch {
		case !ok:
			c["config.create"]++
			ch.configs = append(ch.configs, w)
		case w.LastGeneration > old:
			c["config.update"]++
			ch.configs = append(ch.configs, w)
		default:
			c["config.unchanged"]++
		}
	}
	ch.tapeFiles, ch.tapeFileDel = diff("tapefile", have.TapeFiles, want.TapeFiles, func(v *catalog.TapeFile) catalog.TapeFileKey { return v.Key() }, c)
	ch.tftov, ch.tftovDel = diff("tftov", have.TFTOV, want.TFTOV, tftovKey, c)
	if catalogFiles {
		ch.diskFiles, ch.diskFileDel = diff("diskfile", have.DiskFiles, want.DiskFiles, diskFileKey, c)
		ch.dftov, ch.dftovDel = diff("dftov", have.DFTOV, want.DFTOV, dftovKey, c)
	}
	return ch, c, nil
}

// Apply imports one transformed volume set within tx, so that a caller can
// check the set in the same transaction first, and returns what it changed.
// Re-applying the same set changes nothing.
func Apply(ctx context.Context, tx store.Tx, want *snapshot.VolumeSet, catalogFiles bool) (Counts, error) {
	ch, c, err := Diff(ctx, tx, want, catalogFiles, nil)
	if err != nil {
		return nil, err
	}
	return c, ch.write(ctx, tx)
}

func (ch *changes) write(ctx context.Context, tx store.Tx) error {
	errs := []error{
		each(ctx, ch.volumes, tx.PutVolume, false),
		each(ctx, ch.tapeVolumes, tx.PutTapeVolume, false),
		each(ctx, ch.vtofc, tx.PutVolumeFilecat, false),
		each(ctx, ch.configs, tx.PutFileConfig, false),
		each(ctx, ch.tapeFiles, tx.PutTapeFile, false),
		each(ctx, ch.tftov, tx.PutTapeFileVolume, false),
		each(ctx, ch.diskFiles, tx.PutDiskFile, false),
		each(ctx, ch.dftov, tx.PutDiskFileVolume, false),
		// Deletions; a tape file's deletion cascades to its TFTOV, DISKFILE
		// and DFTOV, which may therefore be gone already.
		each(ctx, ch.dftovDel, tx.DeleteDiskFileVolume, true),
		each(ctx, ch.diskFileDel, tx.DeleteDiskFile, true),
		each(ctx, ch.tftovDel, tx.DeleteTapeFileVolume, true),
		each(ctx, ch.tapeFileDel, func(ctx context.Context, tf *catalog.TapeFile) error { return tx.DeleteTapeFile(ctx, tf.Key()) }, true),
		each(ctx, ch.vtofcDel, tx.DeleteVolumeFilecat, true),
	}
	return errors.Join(errs...)
}

// each applies fn to every record; with goneOK a record already deleted is
// not an error.
func each[T any](ctx context.Context, recs []T, fn func(context.Context, *T) error, goneOK bool) error {
	for i := range recs {
		if err := fn(ctx, &recs[i]); err != nil && !(goneOK && errors.Is(err, store.ErrNotFound)) {
			return err
		}
	}
	return nil
}

// DeleteMissing is the deletion step of a FULL import: every BackPak
// volume of the store that the secondary has and the snapshot does not is
// deleted, with its DSM/TC volume and, if it heads a volume set, the set's
// file entries. DSM/TC volumes BackPak does not know are never touched.
func DeleteMissing(ctx context.Context, st store.Store, storeID string, present func(catalog.VolumeKey) bool) (Counts, error) {
	var gone []catalog.Volume
	if err := st.ScanVolumes(ctx, store.Filter{StoreID: storeID}, func(v *catalog.Volume) error {
		if !present(v.Key()) {
			gone = append(gone, *v)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	c := Counts{}
	for _, v := range gone {
		err := st.Update(ctx, func(tx store.Tx) error {
			if err := tx.DeleteVolume(ctx, v.Key()); err != nil {
				return err
			}
			c["volume.delete"]++
			if v.LabelType != catalog.Labeled {
				return nil
			}
			g, err := tx.VolumeGroup(ctx, v.Group)
			if err != nil {
				return nil // no group, no DSM/TC entry of ours
			}
			var tvs []catalog.TapeVolume
			if err := tx.ScanTapeVolumes(ctx, store.Filter{Volcat: g.Volcat, Pool: g.Pool, Volser: v.Label}, appendTo(&tvs)); err != nil {
				return err
			}
			for _, tv := range tvs {
				if tv.VolsetID == tv.Volser {
					set := &snapshot.VolumeSet{ID: tv.VolsetID, TapeVolumes: []catalog.TapeVolume{tv}}
					ch, dc, err := Diff(ctx, tx, set, true, nil)
					if err != nil {
						return err
					}
					c.Merge(Counts{"tapefile.delete": dc["tapefile.delete"], "tftov.delete": dc["tftov.delete"],
						"diskfile.delete": dc["diskfile.delete"], "dftov.delete": dc["dftov.delete"], "vtofc.delete": dc["vtofc.delete"]})
					if err := ch.write(ctx, tx); err != nil {
						return err
					}
				}
				if err := tx.DeleteTapeVolume(ctx, &tv); err != nil {
					return err
				}
				c["tapevolume.delete"]++
			}
			return nil
		})
		if err != nil {
			return c, fmt.Errorf("delete volume %s: %w", v.Key(), err)
		}
	}
	return c, nil
}
