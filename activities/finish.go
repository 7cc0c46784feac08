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
// watermark moves to the snapshot's sequence and the snapshot joins the
// staging chain; after a failure the next UPDATE must re-import everything.
func (a *Activities) Finish(ctx context.Context, in FinishInput) (importer.Watermark, error) {
	w, err := importer.AdvanceWatermark(ctx, a.Site.Catalog, in.Ref.Store, in.Ref.ToSeq, !in.Failed)
	if err != nil {
		return w, err
	}
	if !in.Failed {
		staged, err := a.Site.Staging.OpenManifest(in.Ref)
		if err != nil {
			return w, classify(err)
		}
		if err := a.Site.Staging.Record(in.Ref.Store, staged.Manifest); err != nil {
			return w, err
		}
	}
	return w, nil
}
