package sim

import (
	"context"
	"fmt"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
)

// LoadForOutput checks, as the VTC does when a backup mounts a volume, that
// the labeled volume label may be written: only a PRIMARY volume of an
// ACTIVE PRIMARY data store may. A SECONDARY store is the primary's
// volumes seen from the DR site, and a RESTRICTED one another domain's:
// writing there would fork the primary's volumes.
func LoadForOutput(ctx context.Context, r store.Reader, label string) error {
	return checkLoad(ctx, r, label, true)
}

// LoadForInput checks that the labeled volume label may be read (a
// restore): any volume of an ACTIVE data store, SECONDARY ones included.
func LoadForInput(ctx context.Context, r store.Reader, label string) error {
	return checkLoad(ctx, r, label, false)
}

func checkLoad(ctx context.Context, r store.Reader, label string, output bool) error {
	use := "input"
	if output {
		use = "output"
	}
	v, err := r.Volume(ctx, catalog.VolumeKey{Label: label, LabelType: catalog.Labeled})
	if err != nil {
		return fmt.Errorf("load volume %s for %s: %w", label, use, err)
	}
	ds, err := r.DataStore(ctx, v.StoreID)
	if err != nil {
		return fmt.Errorf("load volume %s for %s: data store %s: %w", label, use, v.StoreID, err)
	}
	refused := func(why string, args ...any) error {
		return fmt.Errorf("load volume %s for %s refused: "+why, append([]any{label, use}, args...)...)
	}
	switch {
	case ds.Status != catalog.StoreActive:
		return refused("data store %s is %s", ds.ID, ds.Status)
	case output && ds.Access != catalog.AccessPrimary:
		return refused("data store %s is %s here; only the domain owning it (PRIMARY) writes its volumes", ds.ID, ds.Access)
	case output && v.Access != catalog.AccessPrimary:
		return refused("the volume is %s in data store %s; only the domain owning it writes it", v.Access, ds.ID)
	}
	return nil
}
