package activities

import (
	"context"

	"github.com/catsync/catsync/internal/importer"
)

// ReadWatermark returns the secondary's watermark for a data store.
func (a *Activities) ReadWatermark(ctx context.Context, storeID string) (importer.Watermark, error) {
	return importer.ReadWatermark(ctx, a.Site.Catalog, storeID)
}
