package activities

import (
	"context"

	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// FinishInput closes an import.
type FinishInput struct {
	Ref    snapshot.Ref `json:"ref"`
	Failed bool         `json:"failed"` // some volume set failed
	// Lease is the run's lease: a run that lost it neither moves the
	// watermark nor prunes the staged snapshots another run may be using.
	Lease *LeaseInput `json:"lease,omitempty"`
}

// Finish records the outcome on the secondary: after a clean import the
// snapshot joins the staging chain, then the watermark moves to the
// snapshot's sequence; after a failure the watermark stays and the next
// UPDATE must re-import everything. The watermark is written last, so it
// never says more than what is applied and staged. A damaged chain file
// is rebuilt, or refused naming it (snapshot.Area.Record): the refusal
// is not retried, and the run's failure makes the next UPDATE re-import.
func (a *Activities) Finish(ctx context.Context, in FinishInput) (importer.Watermark, error) {
	if in.Lease != nil {
		if err := a.Site.Catalog.Update(ctx, func(tx store.Tx) error { return in.Lease.renewIn(ctx, tx) }); err != nil {
			return importer.Watermark{}, leaseError(err)
		}
	}
	if !in.Failed {
		staged, err := a.Site.Staging.OpenManifest(in.Ref)
		if err != nil {
			return importer.Watermark{}, classify(err)
		}
		if err := a.staging().Record(in.Ref.Store, staged.Manifest); err != nil {
			return importer.Watermark{}, classify(err)
		}
		if err := a.Site.Catalog.Update(ctx, func(tx store.Tx) error { return recordApplied(ctx, tx, staged.Manifest) }); err != nil {
			return importer.Watermark{}, err
		}
	}
	return importer.AdvanceWatermark(ctx, a.Site.Catalog, in.Ref.Store, in.Ref.ToSeq, !in.Failed)
}
