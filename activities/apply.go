package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// applyCursor is the progress of an apply: the next set to apply, and what
// was applied before it. It is committed in the transaction of each batch
// of sets (and of each FULL deletion), not taken from the heartbeat: a
// heartbeat can lag the sets already written, and a resume from it would
// count them again as unchanged.
type applyCursor struct {
	Segment int          `json:"segment"`
	Set     int          `json:"set"`
	Result  ImportResult `json:"result"`
	Deleted bool         `json:"deleted"`
}

// Apply imports a staged snapshot volume set by volume set, each checked
// again and written in a savepoint of a transaction that writes a batch of
// them, then (FULL) deletes what the primary no longer has. A set in
// conflict is left out and a set that fails is recorded, and the others go
// on; a retry resumes at the first set of the batch after the last one
// committed.
//
// Strict runs are all or nothing: every write is saved first in the
// secondary's undo journal, and a set in conflict or failing rolls the
// whole run back, leaving the secondary's catalogs as they were; the
// conflict error carries the run's ImportResult as its details.
//
// A cancel of the run stops the apply at the next set, with the batches
// before committed (a strict run rolls back first); the workflow reads it
// with Unfinished. A run that lost its lease stops the same way.
func (a *Activities) Apply(ctx context.Context, in ImportInput) (ImportResult, error) {
	res, err := a.apply(ctx, in)
	var conflict *safety.ConflictError
	var lost *importer.LeaseLostError
	switch {
	case errors.As(err, &conflict):
		return res, temporal.NewNonRetryableApplicationError(err.Error(), TypeConflict, nil, res)
	case errors.As(err, &lost):
		return res, leaseError(err)
	case err != nil && cancelled(ctx):
		return res, temporal.NewCanceledError(res)
	}
	return res, classify(err)
}

// cancelled tells a cancel of the run from the worker stopping: both end
// the activity's context, but only a stopping worker's step is retried.
func cancelled(ctx context.Context) bool {
	if ctx.Err() == nil || !activity.IsActivity(ctx) {
		return false
	}
	select {
	case <-activity.GetWorkerStopChannel(ctx):
		return false
	default:
		return true
	}
}

// Unfinished is what a run whose import did not finish left on the
// secondary: what its apply committed, and the watermark, whose re-import
// flag it sets so that the next UPDATE re-imports every volume.
type Unfinished struct {
	Applied   ImportResult       `json:"applied"`
	Watermark importer.Watermark `json:"watermark"`
}

// Unfinished closes an import that stopped after its apply began (failed,
// cancelled, or lost its lease): the re-import flag is set, and the result
// is what the apply committed, for the run's record.
func (a *Activities) Unfinished(ctx context.Context, ref snapshot.Ref) (Unfinished, error) {
	var u Unfinished
	var err error
	cur, err := loadCursor(ctx, a.Site.Catalog, ref.Store, ref.ID)
	if err != nil {
		return u, err
	}
	u.Applied = cur.Result
	u.Watermark, err = importer.AdvanceWatermark(ctx, a.Site.Catalog, ref.Store, ref.ToSeq, false)
	return u, err
}

// loadCursor is how far run's apply of storeID went, from the cursor it
// commits with each write: where to resume, and what it committed; the
// start, when it committed nothing.
func loadCursor(ctx context.Context, r store.Reader, storeID, run string) (applyCursor, error) {
	var cur applyCursor
	ok, err := importer.LoadCursor(ctx, r, storeID, run, &cur)
	if err != nil || !ok || cur.Result.Counts == nil {
		return applyCursor{Result: ImportResult{Counts: importer.Counts{}}}, err
	}
	return cur, nil
}

func (a *Activities) apply(ctx context.Context, in ImportInput) (ImportResult, error) {
	st := a.Site.Catalog
	cur, err := loadCursor(ctx, st, in.Ref.Store, in.Ref.ID)
	if err != nil {
		return cur.Result, err
	}
	// The cursor a write commits renews the run's lease in the same
	// transaction: nothing commits once another run holds it.
	save := cursorSaver(func(ctx context.Context, tx store.Tx, c applyCursor) error {
		if err := in.Lease.renewIn(ctx, tx); err != nil {
			return err
		}
		return importer.SaveCursor(ctx, tx, in.Ref.Store, in.Ref.ID, c)
	})
	staged, err := a.Site.Staging.Open(in.Ref)
	if err != nil {
		return cur.Result, err
	}
	im, err := importer.New(ctx, st, in.Options, in.Groups)
	if err != nil {
		return cur.Result, err
	}
	if err := a.undoAbandoned(ctx, im, in.Ref, func() { heartbeat(ctx, cur.position()) }); err != nil {
		return cur.Result, err
	}
	// The options written with are recorded before the first write: what
	// verifies the store later transforms it the same way. So is the
	// snapshot: from now on an older one is a replay.
	if err := st.Update(ctx, func(tx store.Tx) error {
		if err := recordApplied(ctx, tx, staged.Manifest); err != nil {
			return err
		}
		return importer.RecordOptions(ctx, tx, in.Options)
	}); err != nil {
		return cur.Result, err
	}
	var j *importer.Journal
	if in.Strict {
		j = &importer.Journal{Store: in.Ref.Store, Run: in.Ref.ID}
	}
	volumes := newPresentVolumes()
	err = a.applySets(ctx, im, j, save, staged, &cur, volumes)
	if err == nil && staged.Manifest.Type == snapshot.Full && !cur.Deleted {
		var present func(catalog.VolumeKey) bool
		if present, err = volumes.of(staged); err == nil {
			// Each removal commits the cursor with it; a retry removes
			// only what is left, and counts what it removes.
			_, err = im.Missing(ctx, st, present, true, j, func(ctx context.Context, tx store.Tx, c importer.Counts) error {
				cur.Result.Counts.Merge(c)
				heartbeat(ctx, cur.position())
				return save(ctx, tx, cur)
			})
		}
		if err == nil {
			cur.Deleted = true
			err = save.alone(ctx, st, cur)
		}
	}
	if j == nil {
		return cur.Result, err
	}
	if err == nil {
		return cur.Result, j.Commit(ctx, st)
	}
	var lost *importer.LeaseLostError
	switch {
	case errors.As(err, &lost):
		return cur.Result, err // the journal is for the lease's holder to undo
	case cancelled(ctx):
		// Cancelled: nothing will retry, so the run is undone now, on a
		// context the cancel does not end.
		return a.rollback(context.WithoutCancel(ctx), im, in.Ref, cur.Result, err)
	case ctx.Err() != nil:
		return cur.Result, err // the retry resumes; the journal waits for it
	}
	return a.rollback(ctx, im, in.Ref, cur.Result, err)
}

// position is what the heartbeat carries: where the apply is.
func (cur applyCursor) position() [2]int { return [2]int{cur.Segment, cur.Set} }

// after is the cursor once set i of the current segment is handled, the
// receiver left as it was.
func (cur applyCursor) after(i int, c importer.Counts, failure *SetFailure, conflicts []safety.Conflict) applyCursor {
	n := cur
	n.Result.Counts = maps.Clone(cur.Result.Counts)
	n.Result.Counts.Merge(c)
	if failure != nil {
		n.Result.Failed = append(slices.Clone(cur.Result.Failed), *failure)
	}
	if len(conflicts) > 0 {
		n.Result.Conflicts = cur.Result.Conflicts.Clone()
		n.Result.Conflicts.Add(conflicts)
	}
	n.Result.Sets++
	n.Set = i + 1
	return n
}

// saveCursor commits the cursor on its own: after a rollback, with no
// lease to renew.
func (a *Activities) saveCursor(ctx context.Context, ref snapshot.Ref, cur applyCursor) error {
	return a.Site.Catalog.Update(ctx, func(tx store.Tx) error { return importer.SaveCursor(ctx, tx, ref.Store, ref.ID, cur) })
}

// cursorSaver commits a cursor in a write's transaction.
type cursorSaver func(ctx context.Context, tx store.Tx, cur applyCursor) error

// alone commits the cursor in a transaction of its own, after a set that
// wrote nothing.
func (save cursorSaver) alone(ctx context.Context, st store.Store, cur applyCursor) error {
	return st.Update(ctx, func(tx store.Tx) error { return save(ctx, tx, cur) })
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

// applySets applies the sets from the cursor on, committing the cursor
// with each batch of them. A cancel, or a lease lost, stops it: what the
// open batch wrote is not committed.
func (a *Activities) applySets(ctx context.Context, im *importer.Import, j *importer.Journal, save cursorSaver, staged *snapshot.Staged,
	cur *applyCursor, present *presentVolumes) error {
	for ; cur.Segment < len(staged.Manifest.Segments); cur.Segment, cur.Set = cur.Segment+1, 0 {
		if err := a.applySegment(ctx, im, j, save, staged, cur, present); err != nil {
			return err
		}
	}
	return nil
}

// applySegment applies the current segment from the cursor's set on, in
// the phases its span shows: read, transform, then check and write, in
// batches of sets (applyBatch). Check and write share a phase: a set is
// checked again in the transaction that writes it, against what the sets
// before it wrote.
func (a *Activities) applySegment(ctx context.Context, im *importer.Import, j *importer.Journal, save cursorSaver, staged *snapshot.Staged,
	cur *applyCursor, present *presentVolumes) (err error) {
	ctx, span := phase(ctx, "apply segment", attrSegment.Int(cur.Segment))
	defer func() { endPhase(span, err) }()
	sets, err := readSegment(ctx, staged, cur.Segment, cur.Set)
	if err != nil {
		return err
	}
	present.add(cur.Segment, sets.sets, cur.Set == 0)
	prepared, err := transform(ctx, im, sets)
	if err != nil {
		return err // invalid input: nothing of the run should apply it
	}
	_, write := phase(ctx, "check and write", attrSets.Int(len(prepared)))
	before := cur.Result
	defer func() {
		changed := cur.Result.Counts.Changed() - before.Counts.Changed()
		attrs := []attribute.KeyValue{attrSets.Int64(cur.Result.Sets - before.Sets), attrChanged.Int64(changed),
			attrConflicts.Int(cur.Result.Conflicts.Sets - before.Conflicts.Sets), attrFailed.Int(len(cur.Result.Failed) - len(before.Failed))}
		write.SetAttributes(attrs...)
		span.SetAttributes(attrs...)
		endPhase(write, err)
	}()
	for k := 0; k < len(prepared); {
		n, err := a.applyBatch(ctx, im, j, save, sets, prepared, k, cur)
		if err != nil {
			return err
		}
		k += n
	}
	return nil
}

// batchRecords is how many records one transaction of the apply writes,
// about: a commit per set rewrote the pages each set dirtied and cost a
// third of a FULL; a commit per batch keeps a crash's loss and the write
// lock's hold short.
const batchRecords = 50_000

// applyBatch checks and writes the sets of the segment from set from on in
// one transaction, until about batchRecords records, and commits the
// cursor past them with it: a set in conflict is left out and one that
// fails is recorded, the others go on, unless the run is strict. It
// returns how many sets it handled. Nothing of a batch commits unless all
// of it does: a retry or a resume starts again at its first set.
//
// The batch is first written whole in one savepoint (writeSets, fast),
// reading through a look-up of its keys (importer.Absent), other writers
// held off the catalog: each set is still checked before it writes, and
// one in conflict writes nothing. If a set fails there, the savepoint is
// rolled back and the batch written again set by set, each in a savepoint
// of its own and reading the store itself, so that the set that fails is
// left out alone.
func (a *Activities) applyBatch(ctx context.Context, im *importer.Import, j *importer.Journal, save cursorSaver, s segment,
	prepared []*importer.Prepared, from int, cur *applyCursor) (int, error) {
	end, records, budget := from, 0, cmp.Or(a.ApplyBatch, batchRecords)
	for end < len(prepared) && records < budget {
		records += s.sets[end].Records()
		end++
	}
	b := batch{im: im, j: j, s: s, prepared: prepared, from: from, end: end}
	var next applyCursor
	var n int
	var stop error // what ends a strict run, after the batch rolled back
	err := a.Site.Catalog.Update(ctx, func(tx store.Tx) error {
		var err error
		next, n, stop, err = b.fast(ctx, tx, *cur)
		if stop == nil && err != nil && !errors.Is(err, store.ErrTxLost) && ctx.Err() == nil {
			next, n, stop, err = b.writeSets(ctx, *cur, false, func(p *importer.Prepared) (importer.Counts, []safety.Conflict, error) {
				return im.ApplySetIn(ctx, tx, p, j)
			})
		}
		if err != nil {
			return err
		}
		return save(ctx, tx, next)
	})
	if stop != nil {
		*cur = next
		return n, stop
	}
	if err != nil {
		return n, err
	}
	*cur = next
	heartbeat(ctx, cur.position())
	return n, nil
}

// batch is the sets from to end of a segment, written in one transaction.
type batch struct {
	im        *importer.Import
	j         *importer.Journal
	s         segment
	prepared  []*importer.Prepared
	from, end int
}

// fast writes the batch in one savepoint of tx, through a look-up of its
// keys; any error but a strict run's stop rolls the savepoint back.
func (b batch) fast(ctx context.Context, tx store.Tx, cur applyCursor) (next applyCursor, n int, stop, err error) {
	err = tx.Savepoint(ctx, func() error {
		// What the look-up finds absent must stay so until the sets that
		// rely on it are written: another writer's label, written in
		// between, would be overwritten unseen.
		if err := tx.HoldCatalog(ctx); err != nil {
			return err
		}
		ab, err := b.im.LookUp(ctx, tx, b.prepared[b.from:b.end])
		if err != nil {
			return err
		}
		through := ab.Tx(tx)
		next, n, stop, err = b.writeSets(ctx, cur, true, func(p *importer.Prepared) (importer.Counts, []safety.Conflict, error) {
			return b.im.WriteSetIn(ctx, through, p, b.j)
		})
		return err // the savepoint's end sends the puts held back: their failure is its error
	})
	return next, n, stop, err
}

// writeSets writes the batch's sets one by one with write, from the cursor
// cur: the cursor after them, how many were handled, and what stops a
// strict run. With failFast a set that fails ends the batch with its error;
// otherwise it is recorded and the others go on.
func (b batch) writeSets(ctx context.Context, cur applyCursor, failFast bool,
	write func(*importer.Prepared) (importer.Counts, []safety.Conflict, error)) (next applyCursor, n int, stop, err error) {
	next, written := cur, int64(0)
	for k := b.from; k < b.end; k++ {
		if err := ctx.Err(); err != nil {
			return next, n, nil, err
		}
		set, at := b.s.sets[k], b.s.at[k]
		c, conflicts, err := write(b.prepared[k])
		switch {
		case err != nil && (failFast || errors.Is(err, store.ErrTxLost) || ctx.Err() != nil):
			return next, n, nil, at.Err(set.ID, err)
		case len(conflicts) > 0:
			next = next.after(at.Index, nil, nil, conflicts)
			if b.j != nil {
				stop = &safety.ConflictError{Set: set.ID, Conflicts: conflicts}
			}
		case err != nil:
			next = next.after(at.Index, nil, &SetFailure{Set: set.ID, Error: err.Error()}, nil)
			if b.j != nil {
				stop = at.Err(set.ID, err)
			}
		default:
			next = next.after(at.Index, c, nil, nil)
			if c.Changed() > 0 {
				written++
			}
		}
		if stop != nil {
			// Strict: what this batch wrote is undone with it, and
			// counted among what the run undoes.
			next.Result.RolledBack = written
			return next, n, stop, stop
		}
		n++
		heartbeat(ctx, cur.position())
	}
	return next, n, nil, nil
}

// rollback undoes a strict run after cause stopped it. The result keeps
// the conflicts and failures, and counts nothing as applied.
func (a *Activities) rollback(ctx context.Context, im *importer.Import, ref snapshot.Ref, res ImportResult, cause error) (ImportResult, error) {
	n, err := im.Rollback(ctx, a.Site.Catalog, ref.Store, func(n int64) { heartbeat(ctx, n) })
	if err != nil {
		return res, fmt.Errorf("%w; undoing the run's %d sets already written failed: %v", cause, n, err)
	}
	res.Counts, res.RolledBack = importer.Counts{}, res.RolledBack+n
	// A retry must start from the first set again, not resume.
	if err := a.saveCursor(ctx, ref, applyCursor{Result: ImportResult{Counts: importer.Counts{}}}); err != nil {
		return res, fmt.Errorf("%w; forgetting the progress of the rolled-back run failed: %v", cause, err)
	}
	return res, cause
}
