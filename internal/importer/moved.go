package importer

import (
	"context"
	"fmt"
	"slices"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// A volume the primary released and wrote into a new volume set is still
// filed, on the secondary, under the set it was in before, until the new
// set is imported. DSM/TC keeps a set's TFTOV and DFTOV entries by volume
// and its TAPEFILE, VTOFC and DISKFILE entries by the set's id (the label
// of its first volume), and the new set's id is not the old one: reading
// what the secondary holds under the new id misses the old set's entries.
// Left there, they place on the volume files it no longer holds, and a
// restore positioned by them finds another file.

// holding is what the secondary holds where want goes: current, and the
// entries want's volumes leave behind (leftBehind). pl is the plan's view
// of the secondary; nil when the secondary is read as it is.
func (im *Import) holding(ctx context.Context, r store.Reader, want *snapshot.VolumeSet, diskFiles bool, pl *planView) (*snapshot.VolumeSet, error) {
	have, err := current(ctx, r, im.scope, want, diskFiles)
	if err != nil {
		return nil, err
	}
	if err := leftBehind(ctx, r, want, have, diskFiles, pl); err != nil {
		return nil, fmt.Errorf("volume set %s: the sets its volumes were in: %w", want.ID, err)
	}
	pl.forget(have)
	return have, nil
}

// leftBehind adds to have the entries of every old set a tape volume of
// want is still filed under: its TFTOV and DFTOV entries on want's
// volumes, which hold want's set alone now; and, once no tape volume
// outside want is filed under the old set, all of its entries. An old set
// whose other volumes are still its own keeps the rest until they move
// too, each in the import of its new set.
func leftBehind(ctx context.Context, r store.Reader, want, have *snapshot.VolumeSet, diskFiles bool, pl *planView) error {
	ours := map[string]bool{}
	for _, tv := range want.TapeVolumes {
		ours[tv.Volser] = true
	}
	type oldSet struct{ volcat, id string }
	var olds []oldSet
	for i := range have.TapeVolumes {
		tv := &have.TapeVolumes[i]
		id := pl.filedUnder(tv)
		if o := (oldSet{tv.Volcat, id}); id != "" && id != want.ID && !slices.Contains(olds, o) {
			olds = append(olds, o)
		}
	}
	for _, o := range olds {
		f := store.Filter{Volcat: o.volcat, VolsetID: o.id}
		emptied := true
		if err := r.ScanTapeVolumes(ctx, f, func(tv *catalog.TapeVolume) error {
			if !ours[tv.Volser] && pl.filedUnder(tv) == o.id {
				emptied = false
			}
			return nil
		}); err != nil {
			return err
		}
		stale := func(volser string) bool { return emptied || ours[volser] }
		if err := r.ScanTapeFileVolumes(ctx, f, func(e *catalog.TapeFileVolume) error {
			if stale(e.Volser) {
				have.TFTOV = append(have.TFTOV, *e)
			}
			return nil
		}); err != nil {
			return err
		}
		if diskFiles {
			if err := r.ScanDiskFileVolumes(ctx, f, func(e *catalog.DiskFileVolume) error {
				if stale(e.Volser) {
					have.DFTOV = append(have.DFTOV, *e)
				}
				return nil
			}); err != nil {
				return err
			}
		}
		if !emptied {
			continue
		}
		if err := r.ScanVolumeFilecats(ctx, f, appendTo(&have.VTOFC)); err != nil {
			return err
		}
		n := len(have.TapeFiles)
		if err := r.ScanTapeFiles(ctx, f, appendTo(&have.TapeFiles)); err != nil {
			return err
		}
		if diskFiles {
			if err := diskFilesOf(ctx, r, have.TapeFiles[n:], o.id, &have.DiskFiles); err != nil {
				return err
			}
		}
	}
	return nil
}

// diskFilesOf appends the DISKFILE entries of the tape files of volume set
// id: one read per FILECAT for all their generations.
func diskFilesOf(ctx context.Context, r store.Reader, files []catalog.TapeFile, id string, out *[]catalog.DiskFile) error {
	var gens store.FileGens
	for _, tf := range files {
		gens.Add(tf.Filecat, tf.FileID, tf.Generation)
	}
	for _, fc := range gens.Filecats {
		if err := r.ScanDiskFiles(ctx, store.Filter{Filecat: fc, Gens: gens.Gens[fc], VolsetID: id}, appendTo(out)); err != nil {
			return err
		}
	}
	return nil
}

// planView is the secondary as a plan's earlier sets would have left it,
// so that each set is counted as the apply will find it: the records they
// delete or rewrite (a later set does not find them where they were), and
// the set each tape volume they rewrite is filed under. Nil is the
// secondary as it is.
type planView struct {
	touched map[string]bool   // entity and key of each record deleted or rewritten
	filed   map[string]string // VOLCAT and VOLSER of each tape volume rewritten: its VOLSETID ("" deleted)
}

func newPlanView() *planView {
	return &planView{touched: map[string]bool{}, filed: map[string]string{}}
}

func (pl *planView) filedUnder(tv *catalog.TapeVolume) string {
	if pl != nil {
		if id, ok := pl.filed[tv.Volcat+" "+tv.Volser]; ok {
			return id
		}
	}
	return tv.VolsetID
}

// forget drops from have every record an earlier set of the plan deletes
// or rewrites.
func (pl *planView) forget(have *snapshot.VolumeSet) {
	if pl == nil || len(pl.touched) == 0 {
		return
	}
	have.VTOFC = untouched(pl, "vtofc", have.VTOFC, vtofcKey)
	have.TapeFiles = untouched(pl, "tapefile", have.TapeFiles, tapeFileKey)
	have.TFTOV = untouched(pl, "tftov", have.TFTOV, tftovKey)
	have.DiskFiles = untouched(pl, "diskfile", have.DiskFiles, diskFileKey)
	have.DFTOV = untouched(pl, "dftov", have.DFTOV, dftovKey)
}

// note records what one set's changes do to what the secondary held
// there (have): the records they delete or rewrite, and the set each tape
// volume they rewrite is filed under. What they create was nowhere
// before: no later set could have found it.
func (pl *planView) note(have *snapshot.VolumeSet, ch *changes) {
	if pl == nil {
		return
	}
	gone := map[tapeVolumeID]bool{}
	for _, tv := range ch.tapeVolumeDel {
		gone[tapeVolumeKey(&tv)] = true
	}
	filed := map[tapeVolumeID]string{}
	for _, tv := range ch.tapeVolumes {
		filed[tapeVolumeKey(&tv)] = tv.VolsetID
	}
	for _, tv := range have.TapeVolumes {
		k := tapeVolumeKey(&tv)
		if id, ok := filed[k]; ok || gone[k] {
			pl.filed[tv.Volcat+" "+tv.Volser] = id
		}
	}
	touch(pl, "vtofc", have.VTOFC, slices.Concat(ch.vtofc, ch.vtofcDel), vtofcKey)
	touch(pl, "tapefile", have.TapeFiles, slices.Concat(ch.tapeFiles, ch.tapeFileDel), tapeFileKey)
	touch(pl, "tftov", have.TFTOV, slices.Concat(ch.tftov, ch.tftovDel), tftovKey)
	touch(pl, "diskfile", have.DiskFiles, slices.Concat(ch.diskFiles, ch.diskFileDel), diskFileKey)
	touch(pl, "dftov", have.DFTOV, slices.Concat(ch.dftov, ch.dftovDel), dftovKey)
}

// touch records the records of have that changed names.
func touch[T any, K comparable](pl *planView, entity string, have, changed []T, key func(*T) K) {
	if len(have) == 0 || len(changed) == 0 {
		return
	}
	ks := make(map[K]bool, len(changed))
	for i := range changed {
		ks[key(&changed[i])] = true
	}
	for i := range have {
		if k := key(&have[i]); ks[k] {
			pl.touched[fmt.Sprint(entity, " ", k)] = true
		}
	}
}

func untouched[T any, K comparable](pl *planView, entity string, recs []T, key func(*T) K) []T {
	return slices.DeleteFunc(recs, func(r T) bool { return pl.touched[fmt.Sprint(entity, " ", key(&r))] })
}
