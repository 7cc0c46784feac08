package activities

import (
	"context"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/snapshot"
)

// Transfer copies a snapshot from the primary's outbox into the secondary's
// staging area, verifying every segment at the destination; segments
// already staged intact are kept. A source or staging folder that cannot
// serve is a configuration error naming its variable. Before anything is
// copied the manifest's signature is checked against the keys this site
// trusts, and a snapshot of another store, or older than the one this
// site applied last (a replay), is refused.
func (a *Activities) Transfer(ctx context.Context, ref snapshot.Ref) error {
	last, err := a.lastApplied(ctx, ref.Store)
	if err != nil {
		return err
	}
	// Segments already staged intact are kept: a retry copies the rest
	// (KeepAlive heartbeats meanwhile).
	_, err = snapshot.Transfer(a.source(), a.staging(), ref, last)
	return classify(err)
}

// source and staging are the secondary's folders as its steps use them:
// a site built without the variable of a folder (Area.Env) gets the
// secondary's, so that an error about the folder names what to change.
func (a *Activities) source() snapshot.Area {
	return named(a.Site.Source, config.Prefix(config.RoleSecondary)+"_SOURCE")
}

func (a *Activities) staging() snapshot.Area {
	return named(a.Site.Staging, config.Prefix(config.RoleSecondary)+"_STAGING")
}

func named(area snapshot.Area, env string) snapshot.Area {
	if area.Env == "" {
		area.Env = env
	}
	return area
}
