package inspect

import (
	"testing"

	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/store"
)

// sites simulates, on catalogs dsn names, a small primary (one data store,
// an encrypting group among two) and its secondary, with local backups of
// its own when local.
func sites(t *testing.T, dsn func(testing.TB) string, local bool) (prim, sec store.Store) {
	t.Helper()
	p := sim.DefaultParams()
	p.Volumes, p.Days = 40, 5
	sp := sim.DefaultSecondaryParams()
	if local {
		sp.Local.Volumes, sp.Local.Days, sp.Local.BackupsPerDay, sp.Local.EncryptedGroups = 10, 2, 2, 0
	}
	pair := simtest.New(t, p, simtest.Options{Secondary: &sp, DSN: dsn})
	return pair.Primary, pair.Secondary
}
