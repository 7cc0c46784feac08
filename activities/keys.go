package activities

import (
	"context"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/snapshot"
)

// KeyParity proves that the secondary can decrypt the encrypted volumes of
// a staged snapshot: for each, its key manager holds the key the primary
// recorded, under the primary's BackPak id, active, with the same
// fingerprint; and the secondary domain has a key-manager entry with that
// BackPak id. It reads only the key records of the snapshot, checking each
// segment's SHA-256 in the same pass, and writes nothing.
func (a *Activities) KeyParity(ctx context.Context, ref snapshot.Ref) (parity.Report, error) {
	r, err := a.keyParity(ctx, ref)
	return r, classify(err)
}

func (a *Activities) keyParity(ctx context.Context, ref snapshot.Ref) (parity.Report, error) {
	staged, err := a.Site.Staging.OpenManifest(ref)
	if err != nil {
		return parity.Report{}, err
	}
	m := staged.Manifest
	if a.Site.Keys == nil && m.Counts["keys"] > 0 {
		return parity.Report{}, catalog.ConfigErrorf("site %s: %d encrypted volumes to check: %v", a.Site.Name, m.Counts["keys"], parity.ErrNoKeyManager)
	}
	site, err := a.Site.Catalog.Site(ctx)
	if err != nil {
		return parity.Report{}, err
	}
	c := parity.New(a.Site.Keys, site, m.Producer.BackPakID, m.KeysRecorded, parity.DefaultBatch)
	for i := range m.Segments {
		if err := staged.ReadKeys(i, func(set string, k *snapshot.Key) error {
			return c.Add(ctx, set, *k)
		}); err != nil {
			return parity.Report{}, err
		}
		heartbeat(ctx, i)
	}
	return c.Report(ctx)
}
