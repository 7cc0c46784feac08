package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/snapshot"
)

// applyCursor is the heartbeat of an apply: the next set to apply, and
// what was applied before it.
type applyCursor struct {
	Segment int          `json:"segment"`
	Set     int          `json:"set"`
	Result  ImportResult `json:"result"`
	Deleted bool         `json:"deleted"`
}

// Apply imports a staged snapshot volume set by volume set, each checked
// again and written in its own transaction, then (FULL) deletes what the
// primary no longer has. A set in conflict is left out and a set that
// fails is recorded, and the others go on; a retry resumes at the set after
// the last one applied.
//
// Strict runs are all or nothing: every write is saved first in the
// secondary's undo journal, and a set in conflict or failing rolls the
// whole run back, leaving the secondary's catalogs as they were; the
// conflict error carries the run's ImportResult as its details.
func (a *Activities) Apply(ctx context.Context, in ImportInput) (ImportResult, error) {
	res, err := a.apply(ctx, in)
	var conflict *safety.ConflictError
	if errors.As(err, &conflict) {
		return res, temporal.NewNonRetryableApplicationError(err.Error(), TypeConflict, err, res)
	}
	return res, classify(err)
}

func (a *Activities) apply(ctx context.Context, in ImportInput) (ImportResult, error) {
	st := a.Site.Catalog
	var cur applyCursor
	if !resume(ctx, &cur) || cur.Result.Counts == nil {
		cur.Result.Counts = importer.Counts{}
	}
	staged, err := a.Site.Staging.Open(in.Ref)
	if err != nil {
		return cur.Result, err
	}
	im, err := importer.New(ctx, st, in.Options, in.Groups)
	if err != nil {
		return cur.Result, err
	}
	if err := a.undoAbandoned(ctx, im, in.Ref, func() { heartbeat(ctx, cur) }); err != nil {
		return cur.Result, err
	}
	var j *importer.Journal
	if in.Strict {
		j = &importer.Journal{Store: in.Ref.Store, Run: in.Ref.ID}
	}
	err = a.applySets(ctx, im, j, staged, &cur)
	if err == nil && staged.Manifest.Type == snapshot.Full && !cur.Deleted {
		var present func(catalog.VolumeKey) bool
		if present, err = volumeKeys(staged); err == nil {
			var c importer.Counts
			c, err = im.Missing(ctx, st, present, true, j)
			cur.Result.Counts.Merge(c)
		}
		if err == nil {
			cur.Deleted = true
			heartbeat(ctx, cur)
		}
	}
	if j == nil {
		return cur.Result, err
	}
	if err == nil {
		return cur.Result, j.Commit(ctx, st)
	}
	if ctx.Err() != nil {
		return cur.Result, err // the retry resumes; the journal waits for it
	}
	return a.rollback(ctx, im, in.Ref.Store, cur.Result, err)
}

// undoAbandoned rolls back the journal another run left: a strict run that
// neither finished nor rolled back (its workflow was terminated). Plan and
// apply both do it first, so that the plan counts against the secondary
// the apply will write to.
func (a *Activities) undoAbandoned(ctx context.Context, im *importer.Import, ref snapshot.Ref, progress func()) error {
	run, ok, err := importer.PendingUndo(ctx, a.Site.Catalog, ref.Store)
	if err != nil || !ok || run == ref.ID {
		return err
	}
	if _, err := im.Rollback(ctx, a.Site.Catalog, ref.Store, func(int64) { progress() }); err != nil {
		return fmt.Errorf("undo the unfinished strict import %s of %s: %w", run, ref.Store, err)
	}
	return nil
}

// applySets applies the sets from the cursor on, recording it after each.
func (a *Activities) applySets(ctx context.Context, im *importer.Import, j *importer.Journal, staged *snapshot.Staged, cur *applyCursor) error {
	for ; cur.Segment < len(staged.Manifest.Segments); cur.Segment, cur.Set = cur.Segment+1, 0 {
		err := staged.ReadSegment(cur.Segment, cur.Set, func(i int, set *snapshot.VolumeSet) error {
			p, err := im.PrepareStaged(set)
			if err != nil {
				return err // invalid input: nothing of the run should apply it
			}
			c, conflicts, err := im.ApplySet(ctx, a.Site.Catalog, p, j)
			switch {
			case len(conflicts) > 0:
				cur.Result.Conflicts.Add(conflicts)
				if j != nil {
					return &safety.ConflictError{Set: set.ID, Conflicts: conflicts}
				}
			case err != nil && ctx.Err() != nil:
				return ctx.Err()
			case err != nil:
				cur.Result.Failed = append(cur.Result.Failed, SetFailure{Set: set.ID, Error: err.Error()})
				if j != nil {
					return err
				}
			default:
				cur.Result.Counts.Merge(c)
			}
			cur.Result.Sets++
			cur.Set = i + 1
			heartbeat(ctx, *cur)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// rollback undoes a strict run after cause stopped it. The result keeps
// the conflicts and failures, and counts nothing as applied.
func (a *Activities) rollback(ctx context.Context, im *importer.Import, storeID string, res ImportResult, cause error) (ImportResult, error) {
	n, err := im.Rollback(ctx, a.Site.Catalog, storeID, func(int64) { heartbeat(ctx, applyCursor{}) })
	if err != nil {
		return res, fmt.Errorf("%w; undoing the run's %d sets already written failed: %v", cause, n, err)
	}
	res.Counts, res.RolledBack = importer.Counts{}, n
	// A retry must start from the first set again, not resume.
	heartbeat(ctx, applyCursor{})
	return res, cause
}
