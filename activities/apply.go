package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// applyCursor is the heartbeat of an apply: the next set to apply, and
// what was applied before it.
type applyCursor struct {
	Segment int          `json:"segment"`
	Set     int          `json:"set"`
	Result  ImportResult `json:"result"`
	Deleted bool         `json:"deleted"`
}

// Apply imports a staged snapshot volume set by volume set, each in its own
// transaction, then (FULL) deletes what the primary no longer has. A set
// that fails is recorded and the others go on; a retry resumes at the set
// after the last one applied.
func (a *Activities) Apply(ctx context.Context, in ImportInput) (ImportResult, error) {
	res, err := a.apply(ctx, in)
	return res, classify(err)
}

func (a *Activities) apply(ctx context.Context, in ImportInput) (ImportResult, error) {
	var cur applyCursor
	if !resume(ctx, &cur) {
		cur.Result.Counts = importer.Counts{}
	}
	dir, m, err := a.staged(in.Ref)
	if err != nil {
		return cur.Result, err
	}
	t, chk, err := a.target(ctx, in)
	if err != nil {
		return cur.Result, err
	}
	for ; cur.Segment < len(m.Segments); cur.Segment, cur.Set = cur.Segment+1, 0 {
		err := snapshot.ReadSegment(dir, m.Segments[cur.Segment], cur.Set, func(i int, set *snapshot.VolumeSet) error {
			want, err := transform(t, set)
			if err != nil {
				return err // invalid input: nothing of the run should apply it
			}
			// The set is checked again in the transaction that writes it:
			// a local backup may have taken a label since the plan.
			var conflicts []safety.Conflict
			var c importer.Counts
			err = a.Site.Catalog.Update(ctx, func(tx store.Tx) error {
				var err error
				if conflicts, err = chk.Check(ctx, tx, set, want); err != nil {
					return err
				}
				if len(conflicts) > 0 {
					return errSkipSet
				}
				c, err = importer.Apply(ctx, tx, want, in.Options.CatalogFiles)
				return err
			})
			switch {
			case errors.Is(err, errSkipSet) && in.Strict:
				cur.Result.Conflicts.Add(conflicts)
				return &safety.ConflictError{Set: set.ID, Conflicts: conflicts}
			case errors.Is(err, errSkipSet):
				cur.Result.Conflicts.Add(conflicts)
			case err != nil:
				if ctx.Err() != nil {
					return ctx.Err()
				}
				cur.Result.Failed = append(cur.Result.Failed, SetFailure{Set: set.ID, Error: fmt.Sprintf("volume set %s: %v", set.ID, err)})
			default:
				cur.Result.Counts.Merge(c)
			}
			cur.Result.Sets++
			cur.Set = i + 1
			heartbeat(ctx, cur)
			return nil
		})
		if err != nil {
			return cur.Result, err
		}
	}
	if m.Type == snapshot.Full && !cur.Deleted {
		c, err := a.missing(ctx, dir, m, true)
		if err != nil {
			return cur.Result, err
		}
		cur.Result.Counts.Merge(c)
		cur.Deleted = true
		heartbeat(ctx, cur)
	}
	return cur.Result, nil
}

// errSkipSet rolls back the transaction of a set in conflict.
var errSkipSet = errors.New("volume set in conflict")

// target loads the secondary's set-up of an import and its safety checker.
func (a *Activities) target(ctx context.Context, in ImportInput) (*importer.Target, *safety.Checker, error) {
	t, err := importer.LoadTarget(ctx, a.Site.Catalog, in.Options)
	if err != nil {
		return nil, nil, err
	}
	chk, err := safety.NewChecker(ctx, a.Site.Catalog, in.Options.StoreID, in.Options.CatalogFiles, t.Groups(in.Groups))
	return t, chk, err
}

// missing finds (and with remove, deletes) the secondary's BackPak volumes
// of the store that a FULL snapshot no longer holds.
func (a *Activities) missing(ctx context.Context, dir string, m snapshot.Manifest, remove bool) (importer.Counts, error) {
	present := map[catalog.VolumeKey]bool{}
	for _, seg := range m.Segments {
		if err := snapshot.ReadVolumeKeys(dir, seg, func(k catalog.VolumeKey) { present[k] = true }); err != nil {
			return nil, err
		}
	}
	if remove {
		return importer.DeleteMissing(ctx, a.Site.Catalog, m.Store, func(k catalog.VolumeKey) bool { return present[k] })
	}
	c := importer.Counts{}
	err := a.Site.Catalog.ScanVolumes(ctx, store.Filter{StoreID: m.Store}, func(v *catalog.Volume) error {
		if !present[v.Key()] {
			c["volume.delete"]++
		}
		return nil
	})
	return c, err
}
