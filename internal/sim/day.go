package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
)

type volsetRef struct{ volcat, pool, id string }

// filecats returns the file catalogs of the site's own groups, sorted.
func (e *engine) filecats() []string {
	var fcs []string
	for _, g := range e.groups {
		if !slices.Contains(fcs, g.Filecat) {
			fcs = append(fcs, g.Filecat)
		}
	}
	slices.Sort(fcs)
	return fcs
}

// cleanup is the daily DSM/TC cleanup: tape files that expired (INVALID past
// their expiration date) are removed with their TFTOV and DISKFILE entries,
// and a volume set left without tape files becomes SCRATCH or RELEASED, as
// its pool's AUTOSCRATCH says.
func (e *engine) cleanup(ctx context.Context, tx store.Tx, date time.Time) error {
	for _, fc := range e.filecats() {
		var keys []catalog.TapeFileKey
		var sets []volsetRef
		err := tx.ScanTapeFiles(ctx, store.Filter{Filecat: fc, Status: catalog.FileInvalid, ExpiresBefore: date},
			func(tf *catalog.TapeFile) error {
				keys = append(keys, tf.Key())
				if r := (volsetRef{tf.Volcat, tf.Pool, tf.VolsetID}); !slices.Contains(sets, r) {
					sets = append(sets, r)
				}
				return nil
			})
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.DeleteTapeFile(ctx, k); err != nil {
				return err
			}
		}
		for _, s := range sets {
			if err := e.releaseIfEmpty(ctx, tx, s); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *engine) releaseIfEmpty(ctx context.Context, tx store.Tx, s volsetRef) error {
	errStop := fmt.Errorf("stop")
	err := tx.ScanTapeFiles(ctx, store.Filter{Volcat: s.volcat, VolsetID: s.id}, func(*catalog.TapeFile) error { return errStop })
	if err == errStop {
		return nil // still holds tape files
	}
	if err != nil {
		return err
	}
	var members []*vol
	err = tx.ScanTapeVolumes(ctx, store.Filter{Volcat: s.volcat, VolsetID: s.id}, func(tv *catalog.TapeVolume) error {
		if v := e.vols[tv.Volser]; v != nil {
			members = append(members, v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, v := range members {
		to := catalog.StatusReleased
		if v.group.pool.AutoScratch {
			to = catalog.StatusScratch
		}
		if v.status == catalog.StatusBad {
			to = catalog.StatusBad // BAD is never changed automatically
		}
		if err := e.setStatus(ctx, tx, v, to, "", 0); err != nil {
			return err
		}
	}
	err = tx.DeleteVolumeFilecat(ctx, &catalog.VolumeFilecat{Volcat: s.volcat, VolsetID: s.id, Pool: s.pool})
	if err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// setStatus moves a volume through a DSM/TC status change and writes it.
func (e *engine) setStatus(ctx context.Context, tx store.Tx, v *vol, to catalog.VolumeStatus, volset string, index int) error {
	if err := catalog.Transition(v.label, v.status, to); err != nil {
		return err
	}
	g := v.group
	if v.status == catalog.StatusScratch && to != catalog.StatusScratch {
		g.scratch = removeSorted(g.scratch, v.label)
	}
	if to == catalog.StatusScratch {
		g.scratch = insertSorted(g.scratch, v.label)
	}
	v.status, v.volset, v.index = to, volset, index
	return tx.PutTapeVolume(ctx, e.tapeVolume(v))
}

// expire is the daily DSM/TC expiration: VALID tape files past their
// expiration date become INVALID, and so do their disk files.
func (e *engine) expire(ctx context.Context, tx store.Tx, date time.Time) error {
	for _, fc := range e.filecats() {
		var due []catalog.TapeFile
		err := tx.ScanTapeFiles(ctx, store.Filter{Filecat: fc, Status: catalog.FileValid, ExpiresBefore: date},
			func(tf *catalog.TapeFile) error { due = append(due, *tf); return nil })
		if err != nil {
			return err
		}
		for i := range due {
			if err := e.invalidate(ctx, tx, &due[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// invalidate marks a tape file and its disk files INVALID.
func (e *engine) invalidate(ctx context.Context, tx store.Tx, tf *catalog.TapeFile) error {
	tf.Status = catalog.FileInvalid
	if err := tx.PutTapeFile(ctx, tf); err != nil {
		return err
	}
	var dfs []catalog.DiskFile
	err := tx.ScanDiskFiles(ctx, store.Filter{Filecat: tf.Filecat, FileID: tf.FileID, Generation: tf.Generation, VolsetID: tf.VolsetID},
		func(d *catalog.DiskFile) error {
			if d.Version == tf.Version && d.Status == catalog.DiskValid {
				dfs = append(dfs, *d)
			}
			return nil
		})
	if err != nil {
		return err
	}
	for i := range dfs {
		dfs[i].Status = catalog.DiskInvalid
		if err := tx.PutDiskFile(ctx, &dfs[i]); err != nil {
			return err
		}
	}
	return nil
}

// operator plays the tape operator's daily round: RELEASED volumes are
// checked and set back to SCRATCH, BAD ones are deleted and replaced.
func (e *engine) operator(ctx context.Context, tx store.Tx, rng *rand.Rand, date time.Time) error {
	labels := make([]string, 0, len(e.vols))
	for l, v := range e.vols {
		if v.status == catalog.StatusReleased || v.status == catalog.StatusBad {
			labels = append(labels, l)
		}
	}
	slices.Sort(labels)
	for _, l := range labels {
		v := e.vols[l]
		switch {
		case v.status == catalog.StatusReleased && rng.IntN(100) < 40:
			if err := e.setStatus(ctx, tx, v, catalog.StatusScratch, "", 0); err != nil {
				return err
			}
		case v.status == catalog.StatusBad && v.volset == "" && rng.IntN(100) < 25:
			if err := e.deleteVolume(ctx, tx, v); err != nil {
				return err
			}
			if _, err := e.createVolume(ctx, tx, v.group, date.Add(9*time.Hour)); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteVolume deletes a BAD, RELEASED or SCRATCH volume from DSM/TC and BackPak.
func (e *engine) deleteVolume(ctx context.Context, tx store.Tx, v *vol) error {
	if !slices.Contains([]catalog.VolumeStatus{catalog.StatusBad, catalog.StatusReleased, catalog.StatusScratch}, v.status) {
		return fmt.Errorf("DELETE TAPEVOLUME %s: a %s volume cannot be deleted", v.label, v.status)
	}
	if err := tx.DeleteTapeVolume(ctx, e.tapeVolume(v)); err != nil {
		return err
	}
	if err := tx.DeleteVolume(ctx, catalog.VolumeKey{Label: v.label, LabelType: catalog.Labeled}); err != nil {
		return err
	}
	v.group.scratch = removeSorted(v.group.scratch, v.label)
	delete(e.vols, v.label)
	// BackBox deletes the volume's image with it.
	e.queueImage(imageOp{v: catalog.Volume{Label: v.label, StoreID: v.group.store.ID}, remove: true})
	return nil
}
