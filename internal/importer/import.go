package importer

import (
	"context"
	"errors"
	"fmt"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// Import is the import of one data store into the secondary: its target
// set-up (volume groups, node pairs) and the safety checker of its volume
// sets. Plan, apply, `catsync check` and `catsync verify` all go through
// it, set by set: Prepare, then Check, Plan or ApplySet.
type Import struct {
	Opts    Options
	target  *Target
	checker *safety.Checker
	scope   scope
	planned Generations // CONFIG generations earlier sets of a plan write
	plan    *planView   // the secondary as earlier sets of a plan leave it
}

// New loads the secondary's set-up for importing opts.StoreID from r;
// primaryGroups are the primary's volume groups of the store, whose
// secondary groups own their pools for the label checks and hold the
// store's entries.
func New(ctx context.Context, r store.Reader, opts Options, primaryGroups []string) (*Import, error) {
	t, err := LoadTarget(ctx, r, opts)
	if err != nil {
		return nil, err
	}
	groups := t.Groups(primaryGroups)
	chk, err := safety.NewChecker(ctx, r, opts.StoreID, opts.CatalogFiles, groups)
	if err != nil {
		return nil, err
	}
	return &Import{Opts: opts, target: t, checker: chk, scope: newScope(groups), planned: Generations{}, plan: newPlanView()}, nil
}

// Prepared is a volume set as the primary exported it (In) and as the
// secondary receives it (Want).
type Prepared struct {
	In, Want *snapshot.VolumeSet
}

// PrepareStaged prepares a set read from a snapshot, whose key records
// must match its volumes' media key names first.
func (im *Import) PrepareStaged(set *snapshot.VolumeSet) (*Prepared, error) {
	if err := set.CheckKeys(); err != nil {
		return nil, fmt.Errorf("volume set %s: %w", set.ID, err)
	}
	return im.Prepare(set)
}

// Prepare rewrites a set for the secondary and validates every record. An
// error is invalid input: retrying cannot mend it.
func (im *Import) Prepare(set *snapshot.VolumeSet) (*Prepared, error) {
	want, err := im.target.Transform(set)
	if err != nil {
		return nil, err
	}
	return &Prepared{In: set, Want: want}, nil
}

// Check returns every safety rule the set breaks against the secondary as
// r shows it.
func (im *Import) Check(ctx context.Context, r store.Reader, p *Prepared) ([]safety.Conflict, error) {
	return im.checker.Check(ctx, r, p.In, p.Want)
}

// Plan checks a set and counts what importing it would change, writing
// nothing. Sets of one plan are counted as if each earlier one had been
// applied (a FILEID shared by sets is created once). A set in conflict
// counts nothing: the apply leaves it out.
func (im *Import) Plan(ctx context.Context, r store.Reader, p *Prepared) (Counts, []safety.Conflict, error) {
	conflicts, err := im.Check(ctx, r, p)
	if err != nil || len(conflicts) > 0 {
		return nil, conflicts, err
	}
	have, err := im.holding(ctx, r, p.Want, im.Opts.CatalogFiles, im.plan)
	if err != nil {
		return nil, nil, err
	}
	ch, c := diffSet(have, p.Want, im.Opts.CatalogFiles, im.planned)
	im.plan.note(have, ch)
	return c, nil, nil
}

// errSkipSet rolls back the transaction of a set in conflict.
var errSkipSet = errors.New("volume set in conflict")

// ApplySet checks the set again and writes it in a transaction of its
// own (ApplySetIn); with a checkpoint, the caller's progress commits with
// the write.
func (im *Import) ApplySet(ctx context.Context, st store.Store, p *Prepared, j *Journal, cp Checkpoint) (Counts, []safety.Conflict, error) {
	var c Counts
	var conflicts []safety.Conflict
	err := st.Update(ctx, func(tx store.Tx) error {
		var err error
		if c, conflicts, err = im.ApplySetIn(ctx, tx, p, j); err != nil {
			return err
		}
		if len(conflicts) > 0 {
			return errSkipSet
		}
		if cp != nil {
			return cp(ctx, tx, c)
		}
		return nil
	})
	if errors.Is(err, errSkipSet) {
		return nil, conflicts, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return c, nil, nil
}

// ApplySetIn checks the set again and writes it in tx, in a savepoint of
// it: a local backup may have taken a label since the plan, and the check
// sees it, and what earlier sets of tx wrote. A set in conflict writes
// nothing and returns its conflicts; a set that fails leaves tx as it was
// before the set, unless its error wraps store.ErrTxLost. With a journal,
// what the set overwrites is saved in tx, so that the run can be undone.
// Re-applying a set changes nothing.
func (im *Import) ApplySetIn(ctx context.Context, tx store.Tx, p *Prepared, j *Journal) (Counts, []safety.Conflict, error) {
	return im.applySetIn(ctx, tx, p, j, tx.Savepoint)
}

// WriteSetIn is ApplySetIn without a savepoint of its own, for a caller
// that writes many sets in one (a set's savepoint costs a round trip or
// two, and ends the puts held back): a set in conflict still writes
// nothing, but after an error the set may have written part of itself,
// and only rolling back the caller's savepoint leaves it out.
func (im *Import) WriteSetIn(ctx context.Context, tx store.Tx, p *Prepared, j *Journal) (Counts, []safety.Conflict, error) {
	return im.applySetIn(ctx, tx, p, j, func(_ context.Context, fn func() error) error { return fn() })
}

func (im *Import) applySetIn(ctx context.Context, tx store.Tx, p *Prepared, j *Journal, guard func(context.Context, func() error) error) (Counts, []safety.Conflict, error) {
	var c Counts
	var conflicts []safety.Conflict
	err := guard(ctx, func() error {
		var err error
		if conflicts, err = im.Check(ctx, tx, p); err != nil || len(conflicts) > 0 {
			return err
		}
		// A journal saves every DISKFILE whatever CATALOGFILES (a tape
		// file's deletion takes its DISKFILEs with it): read them once.
		have, err := im.holding(ctx, tx, p.Want, im.Opts.CatalogFiles || j != nil, nil)
		if err != nil {
			return err
		}
		var ch *changes
		ch, c = diffSet(have, p.Want, im.Opts.CatalogFiles, nil)
		if ch.empty() {
			return nil
		}
		if j != nil {
			if err := im.save(ctx, tx, j, p.Want, have); err != nil {
				return err
			}
		}
		return ch.write(ctx, tx)
	})
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("volume set %s: %w", p.In.ID, err)
	case len(conflicts) > 0:
		return nil, conflicts, nil
	}
	return c, nil, nil
}

// Missing is what a FULL import removes: every BackPak volume of the store
// that the secondary has and the snapshot does not (present tells), with
// its DSM/TC tape volumes in the store's pools and, when it heads a volume
// set, the set's file entries. DSM/TC volumes that BackPak does not know
// are never touched. The same enumeration counts (the plan) and, with
// remove, deletes (the apply), one volume a transaction, each with the
// checkpoint cp when there is one.
func (im *Import) Missing(ctx context.Context, st store.Store, present func(catalog.VolumeKey) bool, remove bool, j *Journal, cp Checkpoint) (Counts, error) {
	var gone []catalog.Volume // collected first: a scan's callback may not use the store
	if err := st.ScanVolumes(ctx, store.Filter{StoreID: im.Opts.StoreID}, func(v *catalog.Volume) error {
		if !present(v.Key()) {
			gone = append(gone, *v)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	c := Counts{}
	for _, v := range gone {
		if !remove {
			_, have, err := im.removal(ctx, st, v)
			if err != nil {
				return c, err
			}
			replaceAll(have, &snapshot.VolumeSet{ID: have.ID}, c)
			continue
		}
		var dc Counts
		err := st.Update(ctx, func(tx store.Tx) error {
			probe, have, err := im.removal(ctx, tx, v)
			if err != nil {
				return err
			}
			if j != nil {
				if err := im.save(ctx, tx, j, probe, have); err != nil {
					return err
				}
			}
			dc = Counts{}
			if err := replaceAll(have, &snapshot.VolumeSet{ID: have.ID}, dc).write(ctx, tx); err != nil {
				return err
			}
			if cp != nil {
				return cp(ctx, tx, dc)
			}
			return nil
		})
		if err != nil {
			return c, fmt.Errorf("delete volume %s: %w", v.Key(), err)
		}
		c.Merge(dc)
	}
	return c, nil
}

// removal reads what deleting one BackPak volume of the store removes:
// every record found where probe points.
func (im *Import) removal(ctx context.Context, r store.Reader, v catalog.Volume) (probe, have *snapshot.VolumeSet, err error) {
	g, err := r.VolumeGroup(ctx, v.Group)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, nil, err
	}
	probe = removalProbe(v, g, err == nil)
	have, err = current(ctx, r, im.scope, probe, true)
	return probe, have, err
}

// removalProbe names where a BackPak volume's entries are: its own record
// and, for a labeled volume of a group the secondary has, its DSM/TC
// volume in that group's pool and the store's, and the volume set it
// heads. Without its group no DSM/TC entry is known to be the store's:
// only the BackPak entry goes.
func removalProbe(v catalog.Volume, g catalog.VolumeGroup, known bool) *snapshot.VolumeSet {
	p := &snapshot.VolumeSet{ID: v.Label, Volumes: []catalog.Volume{v}}
	if known && v.LabelType == catalog.Labeled {
		p.TapeVolumes = []catalog.TapeVolume{{Volcat: g.Volcat, Pool: g.Pool, Volser: v.Label}}
	}
	return p
}
