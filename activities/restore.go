package activities

import (
	"context"
	"time"

	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/restore"
	"github.com/catsync/catsync/internal/snapshot"
)

// RestoreInput asks for the restore test of a snapshot's data store.
type RestoreInput struct {
	Ref     snapshot.Ref    `json:"ref"`
	Options restore.Options `json:"options"`
}

// RestoreTest proves on the secondary that a sample of the store's volumes
// can be restored from (restore.Run), after their catalogs and keys are in
// place: their keys are those the snapshot's producer filed, under its
// BackPak id. Key material stays in this process's memory.
func (a *Activities) RestoreTest(ctx context.Context, in RestoreInput) (restore.Report, error) {
	staged, err := a.Site.Staging.OpenManifest(in.Ref)
	if err != nil {
		return restore.Report{}, classify(err)
	}
	in.Options.Store = in.Ref.Store
	own, err := a.Site.Catalog.Site(ctx)
	if err != nil {
		return restore.Report{}, err
	}
	site := restore.Site{Catalog: a.Site.Catalog, Keys: a.Site.Keys, Data: a.Site.Data, Group: staged.Manifest.Producer.BackPakID,
		Readable: append([]string{own.BackPakID}, parity.Readable(own)...)}
	rep, err := restore.Run(ctx, site, in.Options, time.Now().UTC(), func(done int) { heartbeat(ctx, done) })
	return rep, classify(err)
}
