package activities

import (
	"context"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/snapshot"
)

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
	// Lease is the run's lease on the store: each set's write renews it,
	// and commits only while the run holds it (absent in runs from before
	// leases).
	Lease *LeaseInput `json:"lease,omitempty"`
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
	// RolledBack counts the writes a strict apply undid when a set could
	// not be applied: the secondary is as it was before the run.
	RolledBack int64 `json:"rolled_back,omitempty"`
}

// Plan validates every record of a staged snapshot as the secondary would
// receive it, runs the safety checks and counts, per entity, what an
// import would create, update, delete or leave unchanged. It imports
// nothing; it first completes the undo of a strict run that stopped half
// way, as the apply would before writing.
func (a *Activities) Plan(ctx context.Context, in ImportInput) (ImportResult, error) {
	res, err := a.plan(ctx, in)
	return res, classify(err)
}

func (a *Activities) plan(ctx context.Context, in ImportInput) (ImportResult, error) {
	res := ImportResult{Counts: importer.Counts{}}
	staged, err := a.Site.Staging.Open(in.Ref)
	if err != nil {
		return res, err
	}
	im, err := importer.New(ctx, a.Site.Catalog, in.Options, in.Groups)
	if err != nil {
		return res, err
	}
	if err := a.undoAbandoned(ctx, im, in.Ref, func() { heartbeat(ctx, -1) }); err != nil {
		return res, err
	}
	present := newPresentVolumes()
	for i := range staged.Manifest.Segments {
		if err := a.planSegment(ctx, im, staged, i, &res, present); err != nil {
			return res, err
		}
		heartbeat(ctx, i)
	}
	if staged.Manifest.Type == snapshot.Full {
		inSnapshot, err := present.of(staged)
		if err != nil {
			return res, err
		}
		c, err := im.Missing(ctx, a.Site.Catalog, inSnapshot, false, nil, nil)
		if err != nil {
			return res, err
		}
		res.Counts.Merge(c)
	}
	return res, nil
}

// planSegment plans segment seg into res, in the phases its span shows:
// read, transform, check (the safety checks and the counts, against the
// secondary as it is).
func (a *Activities) planSegment(ctx context.Context, im *importer.Import, staged *snapshot.Staged, seg int, res *ImportResult,
	present *presentVolumes) (err error) {
	ctx, span := phase(ctx, "plan segment", attrSegment.Int(seg))
	defer func() { endPhase(span, err) }()
	sets, err := readSegment(ctx, staged, seg, 0)
	if err != nil {
		return err
	}
	present.add(seg, sets.sets, true)
	prepared, err := transform(ctx, im, sets)
	if err != nil {
		return err
	}
	_, check := phase(ctx, "check", attrSets.Int(len(prepared)))
	counts, before := importer.Counts{}, res.Conflicts.Sets
	// The reads of records the secondary does not hold are answered
	// from one look-up of the segment's keys.
	ab, err := im.LookUp(ctx, a.Site.Catalog, prepared)
	if err != nil {
		endPhase(check, err)
		return err
	}
	r := ab.Reader(a.Site.Catalog)
	for k, p := range prepared {
		c, found, err := im.Plan(ctx, r, p)
		counts.Merge(c)
		res.Conflicts.Add(found)
		if err != nil {
			err = sets.at[k].Err(sets.sets[k].ID, err)
			endPhase(check, err)
			return err
		}
	}
	res.Sets += int64(len(prepared))
	res.Counts.Merge(counts)
	conflicts := res.Conflicts.Sets - before // sets in conflict, as the apply's spans count them
	check.SetAttributes(attrChanged.Int64(counts.Changed()), attrConflicts.Int(conflicts))
	endPhase(check, nil)
	span.SetAttributes(attrSets.Int(len(prepared)), attrChanged.Int64(counts.Changed()), attrConflicts.Int(conflicts))
	return nil
}

// presentVolumes gathers the BackPak volumes of a FULL snapshot as a step
// decodes its segments, so that what the FULL removes is known without a
// second pass over the whole snapshot; a segment the step did not decode
// whole (a resumed apply skips what it applied) is read for its keys alone.
type presentVolumes struct {
	keys  map[catalog.VolumeKey]bool
	whole map[int]bool // segments whose every set was added
}

func newPresentVolumes() *presentVolumes {
	return &presentVolumes{keys: map[catalog.VolumeKey]bool{}, whole: map[int]bool{}}
}

// add notes the volumes of sets read from segment seg, all of its sets
// when whole.
func (p *presentVolumes) add(seg int, sets []*snapshot.VolumeSet, whole bool) {
	for _, s := range sets {
		for _, v := range s.Volumes {
			p.keys[v.Key()] = true
		}
	}
	if whole {
		p.whole[seg] = true
	}
}

// of returns which volumes staged holds, reading the segments not added
// whole.
func (p *presentVolumes) of(staged *snapshot.Staged) (func(catalog.VolumeKey) bool, error) {
	for i := range staged.Manifest.Segments {
		if p.whole[i] {
			continue
		}
		if err := staged.SegmentVolumeKeys(i, func(k catalog.VolumeKey) { p.keys[k] = true }); err != nil {
			return nil, err
		}
	}
	return func(k catalog.VolumeKey) bool { return p.keys[k] }, nil
}
