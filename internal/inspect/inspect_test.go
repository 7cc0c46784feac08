package inspect

import (
	"context"
	"testing"

	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/store"
)

// sites simulates, per dialect, a small primary (one data store, an
// encrypting group among two) and its secondary, with local backups of
// its own when local.
func sites(t *testing.T, newStore func(testing.TB) store.Store, local bool) (prim, sec store.Store) {
	t.Helper()
	ctx := context.Background()
	p := sim.DefaultParams()
	p.Volumes, p.Days = 40, 5
	prim, sec = newStore(t), newStore(t)
	if err := sim.Init(ctx, prim, p, nil); err != nil {
		t.Fatal(err)
	}
	sp := sim.DefaultSecondaryParams()
	if local {
		sp.Local.Volumes, sp.Local.Days, sp.Local.BackupsPerDay, sp.Local.EncryptedGroups = 10, 2, 2, 0
	}
	if err := sim.InitSecondary(ctx, sec, prim, sp, nil); err != nil {
		t.Fatal(err)
	}
	return prim, sec
}
