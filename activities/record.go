package activities

import (
	"context"

	"github.com/catsync/catsync/internal/audit"
)

// Record appends a run to the secondary's audit trail (once per run, even
// when retried).
func (a *Activities) Record(ctx context.Context, e audit.Entry) error {
	_, err := audit.Append(ctx, a.Site.Catalog, e)
	return err
}
