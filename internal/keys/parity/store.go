package parity

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/store"
)

// Site is one side of a whole-store proof: a site's catalog and its key
// manager.
type Site struct {
	Catalog store.Reader
	Keys    keys.Manager // nil: the site has none
}

// ProveStore proves, at any time and not only for a snapshot, that the
// secondary can decrypt every encrypted volume of data store storeID on the
// primary: it reads both sites' records, fingerprints the volumes' keys in
// the primary's key manager, DefaultBatch at a time (Record, as a snapshot
// does), and checks them against the secondary's key manager (a Checker).
// The report lists every key not in parity, not only the first MaxListed.
// A primary without a key manager makes every key UNRECORDED; a secondary
// without one is ErrNoKeyManager once there is a key to check.
func ProveStore(ctx context.Context, primary, secondary Site, storeID string) (Report, error) {
	return proveStore(ctx, primary, secondary, storeID, DefaultBatch)
}

func proveStore(ctx context.Context, primary, secondary Site, storeID string, batch int) (Report, error) {
	psite, err := primary.Catalog.Site(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("primary: %w", err)
	}
	ssite, err := secondary.Catalog.Site(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("secondary: %w", err)
	}
	for _, side := range []struct {
		name string
		r    store.Reader
		node string
	}{{"primary", primary.Catalog, psite.Node}, {"secondary", secondary.Catalog, ssite.Node}} {
		if _, err := side.r.DataStore(ctx, storeID); errors.Is(err, store.ErrNotFound) {
			return Report{}, catalog.ConfigErrorf("data store %s is not defined on the %s %s", storeID, side.name, side.node)
		} else if err != nil {
			return Report{}, fmt.Errorf("%s: %w", side.name, err)
		}
	}
	// The scan must end before the key managers are asked: collect first.
	var vols []catalog.Volume
	if err := primary.Catalog.ScanVolumes(ctx, store.Filter{StoreID: storeID}, func(v *catalog.Volume) error {
		if v.MediaKeyName != "" {
			vols = append(vols, *v)
		}
		return nil
	}); err != nil {
		return Report{}, fmt.Errorf("primary: %w", err)
	}
	chk := New(secondary.Keys, ssite, psite.BackPakID, primary.Keys != nil, batch)
	chk.ListAll()
	for part := range slices.Chunk(vols, batch) {
		recorded, err := Record(ctx, primary.Keys, psite.BackPakID, Readable(psite), part)
		if err != nil {
			return Report{}, fmt.Errorf("primary key manager: %w", err)
		}
		for _, k := range recorded {
			if err := chk.Add(ctx, "", k); err != nil {
				return Report{}, fmt.Errorf("secondary key manager: %w", err)
			}
		}
	}
	r, err := chk.Report(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("secondary key manager: %w", err)
	}
	return r, nil
}
