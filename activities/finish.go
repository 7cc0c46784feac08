package activities

import (
	"context"

	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/snapshot"
)

// FinishInput closes an import.
type FinishInput struct {
	Ref    snapshot.Ref `json:"ref"`
	Failed bool         `json:"failed"` // some volume set failed
}

// Finish records the outcome on the secondary: after a clean import the
// snapshot joins the staging chain, then the watermark moves to the
// snapshot's sequence; after a failure the watermark stays and the next
// UPDATE must re-import everything. The watermark is written last, so it
// never says more than what is applied and staged.
func (a *Activities) Finish(ctx context.Context, in FinishInput) (importer.Watermark, error) {
	if !in.Failed {
		staged, err := a.Site.Staging.OpenManifest(in.Ref)
		if err != nil {
			return importer.Watermark{}, classify(err)
		}
		if err := a.Site.Staging.Record(in.Ref.Store, staged.Manifest); err != nil {
			return importer.Watermark{}, err
		}
	}
	return importer.AdvanceWatermark(ctx, a.Site.Catalog, in.Ref.Store, in.Ref.ToSeq, !in.Failed)
}
