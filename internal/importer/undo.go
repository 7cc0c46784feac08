package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// Journal is the undo journal of one strict run's import: before a volume
// set (or a FULL deletion) is written, what the secondary held where it
// goes is saved in the same transaction. If any set of the run cannot be
// applied, Rollback restores every saved state, newest first, so that the
// secondary's catalogs are as they were before the run: all or nothing,
// without one transaction growing with the catalog. The journal lives in
// the secondary's database beside the catalogs it protects, so a rollback
// that a crash interrupted resumes where it stopped.
type Journal struct {
	Store string
	Run   string // the snapshot being imported
}

// undoEntry is one journal record: the prior state and where to restore it.
type undoEntry struct {
	// Where is where the import wrote: the BackPak entries, tape volumes
	// and CONFIG rows by key and the volume set by id.
	Where *snapshot.VolumeSet `json:"where"`
	// Prior is every record that was there.
	Prior *snapshot.VolumeSet `json:"prior"`
}

// save records, in tx, what the secondary holds where a write goes; prior
// is that state when the caller already read it (with DISKFILEs), nil to
// read it here.
func (im *Import) save(ctx context.Context, tx store.Tx, j *Journal, where, prior *snapshot.VolumeSet) error {
	probe := &snapshot.VolumeSet{ID: where.ID, Volumes: where.Volumes, TapeVolumes: where.TapeVolumes, Configs: where.Configs}
	if prior == nil {
		var err error
		// Every DISKFILE too, whatever the run's CATALOGFILES: a tape
		// file's deletion takes its DISKFILEs with it.
		if prior, err = im.holding(ctx, tx, probe, true, nil); err != nil {
			return err
		}
	}
	b, err := json.Marshal(undoEntry{Where: probe, Prior: prior})
	if err != nil {
		return err
	}
	return tx.AppendUndo(ctx, &store.UndoRecord{StoreID: j.Store, RunID: j.Run, Entry: string(b)})
}

// Rollback undoes what the journal of storeID holds, newest entry first,
// each restored and removed in one transaction, and returns the number of
// entries undone. It undoes whichever run the journal is of: a strict run
// that stopped without finishing or rolling back leaves its journal for
// the next import of the store to undo.
func (im *Import) Rollback(ctx context.Context, st store.Store, storeID string, progress func(n int64)) (int64, error) {
	var n int64
	for {
		done := false
		err := st.Update(ctx, func(tx store.Tx) error {
			rec, err := tx.LastUndo(ctx, storeID)
			if errors.Is(err, store.ErrNotFound) {
				done = true
				return nil
			}
			if err != nil {
				return err
			}
			var e undoEntry
			if err := json.Unmarshal([]byte(rec.Entry), &e); err != nil || e.Where == nil || e.Prior == nil {
				return fmt.Errorf("undo journal of %s, entry %d: unreadable: %v", storeID, rec.Seq, err)
			}
			now, err := im.holding(ctx, tx, e.Where, true, nil)
			if err != nil {
				return err
			}
			if err := replaceAll(now, e.Prior, Counts{}).write(ctx, tx); err != nil {
				return fmt.Errorf("undo volume set %s: %w", e.Where.ID, err)
			}
			return tx.DeleteUndo(ctx, storeID, rec.Seq)
		})
		if err != nil || done {
			return n, err
		}
		n++
		if progress != nil {
			progress(n)
		}
	}
}

// PendingUndo tells which run left an undo journal for storeID, if any.
func PendingUndo(ctx context.Context, r store.Reader, storeID string) (string, bool, error) {
	rec, err := r.LastUndo(ctx, storeID)
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	return rec.RunID, err == nil, err
}

// Commit forgets the journal once every set of its run is applied.
func (j *Journal) Commit(ctx context.Context, st store.Store) error {
	return st.Update(ctx, func(tx store.Tx) error { return tx.ClearUndo(ctx, j.Store) })
}
