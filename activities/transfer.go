package activities

import (
	"context"

	"github.com/catsync/catsync/internal/snapshot"
)

// Transfer copies a snapshot from the primary's outbox into the secondary's
// staging area, verifying every segment at the destination; segments
// already staged intact are kept.
func (a *Activities) Transfer(ctx context.Context, ref snapshot.Ref) error {
	_, err := snapshot.Transfer(a.Site.Source, a.Site.Staging, ref)
	return classify(err)
}
