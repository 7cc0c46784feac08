package activities

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// Transfer copies a snapshot from the primary's outbox into the secondary's
// staging area, verifying every segment at the destination; segments
// already staged intact are kept.
func (a *Activities) Transfer(ctx context.Context, ref snapshot.Ref) error {
	_, err := snapshot.Transfer(a.Site.Source, a.Site.Staging, ref)
	return classify(err)
}

// ImportInput names a staged snapshot and how to import it.
type ImportInput struct {
	Ref     snapshot.Ref     `json:"ref"`
	Options importer.Options `json:"options"`
	// Groups are the primary's volume groups of the store: the secondary
	// groups receiving them own their pools for the label checks.
	Groups []string `json:"groups"`
	// Strict stops the apply at the first conflict instead of skipping
	// the set.
	Strict bool `json:"strict,omitempty"`
}

// SetFailure is a volume set that could not be imported.
type SetFailure struct {
	Set   string `json:"set"`
	Error string `json:"error"`
}

// ImportResult counts what a plan would do or an apply did.
type ImportResult struct {
	Sets   int64           `json:"sets"`
	Counts importer.Counts `json:"counts"`
	Failed []SetFailure    `json:"failed,omitempty"`
	// Conflicts lists the sets left out because they break a safety rule.
	Conflicts safety.Report `json:"conflicts"`
}

// stagedManifest reads the manifest of a staged snapshot, checking its
// digest and data store.
func (a *Activities) stagedManifest(ref snapshot.Ref) (string, snapshot.Manifest, error) {
	dir := a.Site.Staging.Dir(ref.Store, ref.ID)
	m, _, err := snapshot.ReadManifest(dir, ref.Digest)
	if err == nil && m.Store != ref.Store {
		err = &snapshot.CorruptError{File: snapshot.ManifestFile, Reason: fmt.Sprintf("snapshot of data store %s, want %s", m.Store, ref.Store)}
	}
	return dir, m, err
}

// staged opens the staged snapshot, checking the manifest digest and every
// segment's SHA-256 before anything is read from it.
func (a *Activities) staged(ref snapshot.Ref) (string, snapshot.Manifest, error) {
	dir, m, err := a.stagedManifest(ref)
	if err != nil {
		return dir, m, err
	}
	for _, s := range m.Segments {
		if err := snapshot.VerifySegment(dir, s); err != nil {
			return dir, m, err
		}
	}
	return dir, m, nil
}

// transform checks a staged set's key records against its volumes, then
// rewrites it for the secondary.
func transform(t *importer.Target, set *snapshot.VolumeSet) (*snapshot.VolumeSet, error) {
	if err := set.CheckKeys(); err != nil {
		return nil, fmt.Errorf("volume set %s: %w", set.ID, err)
	}
	return t.Transform(set)
}

// Plan validates every record of a staged snapshot as the secondary would
// receive it and counts, per entity, what an import would create, update,
// delete or leave unchanged. It writes nothing.
func (a *Activities) Plan(ctx context.Context, in ImportInput) (ImportResult, error) {
	res, err := a.plan(ctx, in)
	return res, classify(err)
}

func (a *Activities) plan(ctx context.Context, in ImportInput) (ImportResult, error) {
	res := ImportResult{Counts: importer.Counts{}}
	dir, m, err := a.staged(in.Ref)
	if err != nil {
		return res, err
	}
	t, chk, err := a.target(ctx, in)
	if err != nil {
		return res, err
	}
	planned := importer.Generations{}
	for i, seg := range m.Segments {
		err := snapshot.ReadSegment(dir, seg, 0, func(_ int, set *snapshot.VolumeSet) error {
			want, err := transform(t, set)
			if err != nil {
				return err
			}
			res.Sets++
			conflicts, err := chk.Check(ctx, a.Site.Catalog, set, want)
			if err != nil || len(conflicts) > 0 {
				res.Conflicts.Add(conflicts)
				return err
			}
			_, c, err := importer.Diff(ctx, a.Site.Catalog, want, in.Options.CatalogFiles, planned)
			if err != nil {
				return err
			}
			res.Counts.Merge(c)
			return nil
		})
		if err != nil {
			return res, err
		}
		heartbeat(ctx, i)
	}
	if m.Type == snapshot.Full {
		c, err := a.missing(ctx, dir, m, false)
		if err != nil {
			return res, err
		}
		res.Counts.Merge(c)
	}
	return res, nil
}

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

// FinishInput closes an import.
type FinishInput struct {
	Ref    snapshot.Ref `json:"ref"`
	Failed bool         `json:"failed"` // some volume set failed
}

// Finish records the outcome on the secondary: after a clean import the
// watermark moves to the snapshot's sequence and the snapshot joins the
// staging chain; after a failure the next UPDATE must re-import everything.
func (a *Activities) Finish(ctx context.Context, in FinishInput) (Watermark, error) {
	st := a.Site.Catalog
	w, err := readWatermark(ctx, st, in.Ref.Store)
	if err != nil {
		return w, err
	}
	if in.Failed {
		w.Reimport = true
	} else {
		w = Watermark{Seq: in.Ref.ToSeq}
	}
	err = st.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutMeta(ctx, watermarkKey(in.Ref.Store), strconv.FormatInt(w.Seq, 10)); err != nil {
			return err
		}
		return tx.PutMeta(ctx, reimportKey(in.Ref.Store), strconv.FormatBool(w.Reimport))
	})
	if err != nil {
		return w, err
	}
	if !in.Failed {
		dir := a.Site.Staging.Dir(in.Ref.Store, in.Ref.ID)
		m, _, err := snapshot.ReadManifest(dir, in.Ref.Digest)
		if err != nil {
			return w, classify(err)
		}
		if err := a.Site.Staging.Record(in.Ref.Store, m); err != nil {
			return w, err
		}
	}
	return w, nil
}

// Record appends a run to the secondary's audit trail (once per run, even
// when retried).
func (a *Activities) Record(ctx context.Context, e audit.Entry) error {
	_, err := audit.Append(ctx, a.Site.Catalog, e)
	return err
}
