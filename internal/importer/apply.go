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

// diff compares the records a set should have with those it has: it returns
// what to write, what to delete, and counts under entity.
func diff[T any, K comparable](entity string, have, want []T, key func(*T) K, c Counts) (puts, dels []T) {
	byKey := make(map[K]*T, len(have))
	for i := range have {
		byKey[key(&have[i])] = &have[i]
	}
	for i := range want {
		k := key(&want[i])
		old, ok := byKey[k]
		switch {
		case !ok:
			c[entity+".create"]++
			puts = append(puts, want[i])
		case !reflect.DeepEqual(*old, want[i]):
			c[entity+".update"]++
			puts = append(puts, want[i])
		default:
			c[entity+".unchanged"]++
		}
		delete(byKey, k)
	}
	for i := range have {
		if _, extra := byKey[key(&have[i])]; extra {
			c[entity+".delete"]++
			dels = append(dels, have[i])
		}
	}
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

// Apply imports one transformed volume set in one transaction and returns
// what it changed. Re-applying the same set changes nothing.
func Apply(ctx context.Context, st store.Store, want *snapshot.VolumeSet, catalogFiles bool) (Counts, error) {
	var counts Counts
	err := st.Update(ctx, func(tx store.Tx) error {
		ch, c, err := Diff(ctx, tx, want, catalogFiles, nil)
		if err != nil {
			return err
		}
		counts = c
		return ch.write(ctx, tx)
	})
	if err != nil {
		return nil, fmt.Errorf("volume set %s: %w", want.ID, err)
	}
	return counts, nil
}

func (ch *changes) write(ctx context.Context, tx store.Tx) error {
	var errs []error
	put := func(err error) { errs = append(errs, err) }
	for i := range ch.volumes {
		put(tx.PutVolume(ctx, &ch.volumes[i]))
	}
	for i := range ch.tapeVolumes {
		put(tx.PutTapeVolume(ctx, &ch.tapeVolumes[i]))
	}
	for i := range ch.vtofc {
		put(tx.PutVolumeFilecat(ctx, &ch.vtofc[i]))
	}
	for i := range ch.configs {
		put(tx.PutFileConfig(ctx, &ch.configs[i]))
	}
	for i := range ch.tapeFiles {
		put(tx.PutTapeFile(ctx, &ch.tapeFiles[i]))
	}
	for i := range ch.tftov {
		put(tx.PutTapeFileVolume(ctx, &ch.tftov[i]))
	}
	for i := range ch.diskFiles {
		put(tx.PutDiskFile(ctx, &ch.diskFiles[i]))
	}
	for i := range ch.dftov {
		put(tx.PutDiskFileVolume(ctx, &ch.dftov[i]))
	}
	// Deletions; a tape file's deletion cascades to its TFTOV, DISKFILE and
	// DFTOV, which may therefore be gone already.
	gone := func(err error) {
		if !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	for i := range ch.dftovDel {
		gone(tx.DeleteDiskFileVolume(ctx, &ch.dftovDel[i]))
	}
	for i := range ch.diskFileDel {
		gone(tx.DeleteDiskFile(ctx, &ch.diskFileDel[i]))
	}
	for i := range ch.tftovDel {
		gone(tx.DeleteTapeFileVolume(ctx, &ch.tftovDel[i]))
	}
	for i := range ch.tapeFileDel {
		gone(tx.DeleteTapeFile(ctx, ch.tapeFileDel[i].Key()))
	}
	for i := range ch.vtofcDel {
		gone(tx.DeleteVolumeFilecat(ctx, &ch.vtofcDel[i]))
	}
	return errors.Join(errs...)
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
