package importer

import (
	"context"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
	"github.com/catsync/catsync/internal/store/storetest"
)

// A FULL removes, with a BackPak volume, the DSM/TC entries of its
// group's pool; a volume whose group the secondary does not have takes
// only its BackPak entry with it, whatever shares its label elsewhere.
func TestRemovalStaysInTheGroupsPool(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, newStore func(testing.TB) store.Store) {
		ctx := context.Background()
		st := newStore(t)
		f := storetest.NewFixture()
		f.Store.Access = catalog.AccessSecondary
		if err := storetest.Load(ctx, st, f); err != nil {
			t.Fatal(err)
		}
		im, err := New(ctx, st, Options{StoreID: "DS_PROD", CatalogFiles: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		head := f.Volumes[0]
		_, have, err := im.removal(ctx, st, head)
		if err != nil || len(have.TapeVolumes) != 1 || len(have.TapeFiles) == 0 || len(have.DiskFiles) == 0 {
			t.Fatalf("removing %s of its group: %d tape volumes, %d tape files, %d disk files (%v)", head.Label,
				len(have.TapeVolumes), len(have.TapeFiles), len(have.DiskFiles), err)
		}
		head.Group = "VG_GONE"
		_, have, err = im.removal(ctx, st, head)
		if err != nil || len(have.Volumes) != 1 || len(have.TapeVolumes)+len(have.TapeFiles)+len(have.TFTOV)+len(have.DiskFiles)+len(have.VTOFC) != 0 {
			t.Fatalf("removing %s without its group: %+v (%v), want its BackPak entry only", head.Label, have, err)
		}
	})
}
