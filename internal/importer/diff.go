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

// Canonical sorts every list of a set by key, so that two sets with the same
// records compare equal.
func Canonical(s *snapshot.VolumeSet) {
	slices.SortFunc(s.Volumes, func(a, b catalog.Volume) int {
		return cmp.Or(cmp.Compare(a.Label, b.Label), cmp.Compare(a.LabelType, b.LabelType))
	})
	// Field by field, in the order of the keys below: formatting keys in
	// the comparator would cost more than the rest of a plan.
	slices.SortFunc(s.TapeVolumes, func(a, b catalog.TapeVolume) int {
		return cmp.Or(cmp.Compare(a.Volser, b.Volser), cmp.Compare(a.Volcat, b.Volcat), cmp.Compare(a.Pool, b.Pool))
	})
	slices.SortFunc(s.VTOFC, func(a, b catalog.VolumeFilecat) int {
		return cmp.Or(cmp.Compare(a.VolsetID, b.VolsetID), cmp.Compare(a.Pool, b.Pool), cmp.Compare(a.Volcat, b.Volcat))
	})
	slices.SortFunc(s.Configs, func(a, b catalog.FileConfig) int {
		return cmp.Or(cmp.Compare(a.FileID, b.FileID), cmp.Compare(a.Filecat, b.Filecat))
	})
	slices.SortFunc(s.TapeFiles, func(a, b catalog.TapeFile) int { return cmpTapeFile(a.Key(), b.Key()) })
	slices.SortFunc(s.TFTOV, func(a, b catalog.TapeFileVolume) int {
		return cmp.Or(cmp.Compare(a.Volser, b.Volser), cmp.Compare(a.FileID, b.FileID), cmp.Compare(a.Generation, b.Generation),
			cmp.Compare(a.Version, b.Version), cmp.Compare(a.Filecat, b.Filecat), cmp.Compare(a.Volcat, b.Volcat), cmp.Compare(a.Pool, b.Pool))
	})
	slices.SortFunc(s.DiskFiles, func(a, b catalog.DiskFile) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.FileID, b.FileID), cmp.Compare(a.Generation, b.Generation),
			cmp.Compare(a.VolsetID, b.VolsetID), cmp.Compare(a.Filecat, b.Filecat))
	})
	slices.SortFunc(s.DFTOV, func(a, b catalog.DiskFileVolume) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), a.TimeDumped.Compare(b.TimeDumped), cmp.Compare(a.Volser, b.Volser),
			cmp.Compare(a.Filecat, b.Filecat), cmp.Compare(a.Volcat, b.Volcat), cmp.Compare(a.Pool, b.Pool))
	})
}

func cmpTapeFile(a, b catalog.TapeFileKey) int {
	return cmp.Or(cmp.Compare(a.FileID, b.FileID), cmp.Compare(a.Generation, b.Generation), cmp.Compare(a.Version, b.Version),
		cmp.Compare(a.PhysicalCopy, b.PhysicalCopy), cmp.Compare(a.LogicalCopy, b.LogicalCopy), cmp.Compare(a.Filecat, b.Filecat))
}

// Record keys of what a volume set's import reads: its own entries and
// those of the sets its volumes leave (leftBehind). Each is the record's
// whole primary key, its location (VOLCAT, pool, FILECAT) last: a record
// that moved to another volume group is a delete where it was and a create
// where it is, never an update that would leave the old row behind.
func volumeKey(v *catalog.Volume) catalog.VolumeKey { return v.Key() }

// The keys are structs, not formatted strings: a FULL keys every record
// it diffs, and formatting them was a tenth of its Go time. Their String
// is how reports and the plan's notes name them.
func tapeVolumeKey(v *catalog.TapeVolume) tapeVolumeID {
	return tapeVolumeID{v.Volser, v.Volcat, v.Pool}
}
func vtofcKey(v *catalog.VolumeFilecat) vtofcID { return vtofcID{v.VolsetID, v.Pool, v.Volcat} }
func configKey(c *catalog.FileConfig) configID  { return configID{c.FileID, c.Filecat} }
func tapeFileKey(f *catalog.TapeFile) catalog.TapeFileKey {
	return f.Key()
}
func tftovKey(v *catalog.TapeFileVolume) tftovID {
	return tftovID{v.Volser, v.FileID, v.Generation, v.Version, v.Filecat, v.Volcat, v.Pool}
}
func diskFileKey(d *catalog.DiskFile) diskFileID {
	return diskFileID{d.Name, d.FileID, d.Generation, d.VolsetID, d.Filecat}
}
func dftovKey(d *catalog.DiskFileVolume) dftovID {
	return dftovID{d.Name, d.TimeDumped.UnixMicro(), d.Volser, d.Filecat, d.Volcat, d.Pool}
}

type (
	tapeVolumeID struct{ volser, volcat, pool string }
	vtofcID      struct{ volsetID, pool, volcat string }
	configID     struct{ fileID, filecat string }
	tftovID      struct {
		volser, fileID        string
		gen, version          int
		filecat, volcat, pool string
	}
	diskFileID struct {
		name, fileID      string
		gen               int
		volsetID, filecat string
	}
	dftovID struct {
		name                          string
		dumped                        int64 // TIMEDUMPED, microseconds
		volser, filecat, volcat, pool string
	}
)

func (k tapeVolumeID) String() string { return k.volser + " in " + k.volcat + " " + k.pool }
func (k vtofcID) String() string      { return k.volsetID + " " + k.pool + " in " + k.volcat }
func (k configID) String() string     { return k.fileID + " in " + k.filecat }
func (k tftovID) String() string {
	return fmt.Sprintf("%s %s %d %d in %s %s %s", k.volser, k.fileID, k.gen, k.version, k.filecat, k.volcat, k.pool)
}
func (k diskFileID) String() string {
	return fmt.Sprintf("%s %s %d %s in %s", k.name, k.fileID, k.gen, k.volsetID, k.filecat)
}
func (k dftovID) String() string {
	return fmt.Sprintf("%s %d %s in %s %s %s", k.name, k.dumped, k.volser, k.filecat, k.volcat, k.pool)
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
			delete(byKey, k) // once, even if have repeats a record
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

// scope is where the import keeps a data store's entries on the secondary:
// the VOLCATs and pools of the volume groups receiving the store. A volume
// set's entries are looked for in all of them, so that a volume that moved
// to another volume group of the store on the primary leaves nothing behind
// in its old pool: a label must never be in two pools of the import.
type scope struct {
	pools   map[[2]string]bool
	volcats []string
}

func newScope(groups []catalog.VolumeGroup) scope {
	s := scope{pools: map[[2]string]bool{}}
	for _, g := range groups {
		s.pools[[2]string{g.Volcat, g.Pool}] = true
		if !slices.Contains(s.volcats, g.Volcat) {
			s.volcats = append(s.volcats, g.Volcat)
		}
	}
	slices.Sort(s.volcats)
	return s
}

// current reads what the secondary holds now where the records of probe
// would go: its BackPak entries and CONFIG rows by key, its tape volumes'
// labels in every pool of the scope (and probe's own), and every entry of
// the volume set probe.ID in every VOLCAT of the scope. DISKFILE and DFTOV
// rows are read only with diskFiles.
func current(ctx context.Context, r store.Reader, sc scope, probe *snapshot.VolumeSet, diskFiles bool) (*snapshot.VolumeSet, error) {
	have := &snapshot.VolumeSet{ID: probe.ID}
	for _, v := range probe.Volumes {
		old, err := r.Volume(ctx, v.Key())
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		have.Volumes = append(have.Volumes, old)
	}
	// One read per FILECAT for the set's FILEIDs.
	byFilecat := map[string][]string{}
	var filecats []string
	for _, c := range probe.Configs {
		if _, ok := byFilecat[c.Filecat]; !ok {
			filecats = append(filecats, c.Filecat)
		}
		byFilecat[c.Filecat] = append(byFilecat[c.Filecat], c.FileID)
	}
	for _, fc := range filecats {
		if err := r.ScanFileConfigs(ctx, store.Filter{Filecat: fc, FileIDs: byFilecat[fc]}, appendTo(&have.Configs)); err != nil {
			return nil, err
		}
	}
	if len(probe.TapeVolumes) == 0 {
		return have, nil
	}
	volcats := slices.Clone(sc.volcats)
	var volsers []string
	for _, tv := range probe.TapeVolumes {
		if !slices.Contains(volcats, tv.Volcat) {
			volcats = append(volcats, tv.Volcat)
		}
		if !slices.Contains(volsers, tv.Volser) {
			volsers = append(volsers, tv.Volser)
		}
	}
	inScope := func(e *catalog.TapeVolume) bool {
		if sc.pools[[2]string{e.Volcat, e.Pool}] {
			return true
		}
		return slices.ContainsFunc(probe.TapeVolumes, func(tv catalog.TapeVolume) bool { return tv.Volcat == e.Volcat && tv.Pool == e.Pool })
	}
	for _, volser := range volsers {
		if err := r.ScanTapeVolumes(ctx, store.Filter{Volser: volser}, func(e *catalog.TapeVolume) error {
			if inScope(e) {
				have.TapeVolumes = append(have.TapeVolumes, *e)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	for _, volcat := range volcats {
		f := store.Filter{Volcat: volcat, VolsetID: probe.ID}
		for _, scan := range []func() error{
			func() error { return r.ScanVolumeFilecats(ctx, f, appendTo(&have.VTOFC)) },
			func() error { return r.ScanTapeFiles(ctx, f, appendTo(&have.TapeFiles)) },
			func() error { return r.ScanTapeFileVolumes(ctx, f, appendTo(&have.TFTOV)) },
		} {
			if err := scan(); err != nil {
				return nil, err
			}
		}
		if diskFiles {
			if err := r.ScanDiskFileVolumes(ctx, f, appendTo(&have.DFTOV)); err != nil {
				return nil, err
			}
		}
	}
	if !diskFiles {
		return have, nil
	}
	if err := diskFilesOf(ctx, r, have.TapeFiles, probe.ID, &have.DiskFiles); err != nil {
		return nil, err
	}
	return have, nil
}

func appendTo[T any](s *[]T) func(*T) error {
	return func(r *T) error { *s = append(*s, *r); return nil }
}

// changes is what applying one set (or rolling it back) writes and deletes.
type changes struct {
	volumes, volumeDel         []catalog.Volume
	tapeVolumes, tapeVolumeDel []catalog.TapeVolume
	vtofc, vtofcDel            []catalog.VolumeFilecat
	configs, configDel         []catalog.FileConfig
	tapeFiles, tapeFileDel     []catalog.TapeFile
	tftov, tftovDel            []catalog.TapeFileVolume
	diskFiles, diskFileDel     []catalog.DiskFile
	dftov, dftovDel            []catalog.DiskFileVolume
}

func (ch *changes) empty() bool {
	return len(ch.volumes)+len(ch.volumeDel)+len(ch.tapeVolumes)+len(ch.tapeVolumeDel)+len(ch.vtofc)+len(ch.vtofcDel)+
		len(ch.configs)+len(ch.configDel)+len(ch.tapeFiles)+len(ch.tapeFileDel)+len(ch.tftov)+len(ch.tftovDel)+
		len(ch.diskFiles)+len(ch.diskFileDel)+len(ch.dftov)+len(ch.dftovDel) == 0
}

// Generations carries, across the sets of one plan, the CONFIG generations
// earlier sets would have written, so that a FILEID shared by many sets is
// counted once; nil when each set is applied for real.
type Generations map[configID]int

// diffSet computes, against have (what the secondary holds where want
// goes), what importing the transformed set want changes, and counts it.
// BackPak entries are never deleted by a set (tombstones are deferred to
// the next FULL import) and CONFIG generations only move up.
func diffSet(have, want *snapshot.VolumeSet, catalogFiles bool, planned Generations) (*changes, Counts) {
	Canonical(have)
	c := Counts{}
	ch := &changes{}
	if n := len(want.Deleted); n > 0 {
		c["volume.deferred"] += int64(n) // removed by the next FULL import
	}
	ch.volumes, _ = diff("volume", have.Volumes, want.Volumes, volumeKey, c)
	ch.tapeVolumes, ch.tapeVolumeDel = diff("tapevolume", have.TapeVolumes, want.TapeVolumes, tapeVolumeKey, c)
	ch.vtofc, ch.vtofcDel = diff("vtofc", have.VTOFC, want.VTOFC, vtofcKey, c)
	cfgHave := map[configID]int{}
	for _, h := range have.Configs {
		cfgHave[configKey(&h)] = h.LastGeneration
	}
	for _, w := range want.Configs {
		k := configKey(&w)
		old, ok := cfgHave[k]
		if planned != nil {
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
	ch.tapeFiles, ch.tapeFileDel = diff("tapefile", have.TapeFiles, want.TapeFiles, tapeFileKey, c)
	ch.tftov, ch.tftovDel = diff("tftov", have.TFTOV, want.TFTOV, tftovKey, c)
	if catalogFiles {
		ch.diskFiles, ch.diskFileDel = diff("diskfile", have.DiskFiles, want.DiskFiles, diskFileKey, c)
		ch.dftov, ch.dftovDel = diff("dftov", have.DFTOV, want.DFTOV, dftovKey, c)
	}
	return ch, c
}

// replaceAll returns the changes that make every record of have, and only
// those of want, exist: used to remove a volume set (want empty) and to
// restore one from the undo journal. Unlike an import it deletes BackPak
// entries and CONFIG rows and lowers CONFIG generations.
func replaceAll(have, want *snapshot.VolumeSet, c Counts) *changes {
	Canonical(have)
	Canonical(want)
	ch := &changes{}
	ch.volumes, ch.volumeDel = diff("volume", have.Volumes, want.Volumes, volumeKey, c)
	ch.tapeVolumes, ch.tapeVolumeDel = diff("tapevolume", have.TapeVolumes, want.TapeVolumes, tapeVolumeKey, c)
	ch.vtofc, ch.vtofcDel = diff("vtofc", have.VTOFC, want.VTOFC, vtofcKey, c)
	ch.configs, ch.configDel = diff("config", have.Configs, want.Configs, configKey, c)
	ch.tapeFiles, ch.tapeFileDel = diff("tapefile", have.TapeFiles, want.TapeFiles, tapeFileKey, c)
	ch.tftov, ch.tftovDel = diff("tftov", have.TFTOV, want.TFTOV, tftovKey, c)
	ch.diskFiles, ch.diskFileDel = diff("diskfile", have.DiskFiles, want.DiskFiles, diskFileKey, c)
	ch.dftov, ch.dftovDel = diff("dftov", have.DFTOV, want.DFTOV, dftovKey, c)
	return ch
}

// write applies the changes in tx: deletions first (a tape file's deletion
// cascades to its TFTOV, DISKFILE and DFTOV, which may therefore be gone
// already), then the records to create or replace.
func (ch *changes) write(ctx context.Context, tx store.Tx) error {
	errs := []error{
		each(ctx, ch.dftovDel, tx.DeleteDiskFileVolume, true),
		each(ctx, ch.diskFileDel, tx.DeleteDiskFile, true),
		each(ctx, ch.tftovDel, tx.DeleteTapeFileVolume, true),
		each(ctx, ch.tapeFileDel, func(ctx context.Context, tf *catalog.TapeFile) error { return tx.DeleteTapeFile(ctx, tf.Key()) }, true),
		each(ctx, ch.vtofcDel, tx.DeleteVolumeFilecat, true),
		each(ctx, ch.tapeVolumeDel, tx.DeleteTapeVolume, true),
		each(ctx, ch.volumeDel, func(ctx context.Context, v *catalog.Volume) error { return tx.DeleteVolume(ctx, v.Key()) }, true),
		each(ctx, ch.configDel, tx.DeleteFileConfig, true),
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return errors.Join(
		each(ctx, ch.volumes, tx.PutVolume, false),
		each(ctx, ch.tapeVolumes, tx.PutTapeVolume, false),
		each(ctx, ch.vtofc, tx.PutVolumeFilecat, false),
		each(ctx, ch.configs, tx.PutFileConfig, false),
		each(ctx, ch.tapeFiles, tx.PutTapeFile, false),
		each(ctx, ch.tftov, tx.PutTapeFileVolume, false),
		each(ctx, ch.diskFiles, tx.PutDiskFile, false),
		each(ctx, ch.dftov, tx.PutDiskFileVolume, false),
	)
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
