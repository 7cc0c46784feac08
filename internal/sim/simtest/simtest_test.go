package simtest

import (
	"testing"

	"github.com/catsync/catsync/internal/sim"
)

// TestKeyReplication: a pair's secondary holds the primary's keys after New
// and after Advance, and none of them when the pair is Unreplicated.
func TestKeyReplication(t *testing.T) {
	p := Small()
	p.Days = 3
	for _, unreplicated := range []bool{false, true} {
		pair := New(t, p, Options{Keys: Keystores, Unreplicated: unreplicated})
		pair.Advance(t, 1)
		res := pair.ReplicateKeys(t, sim.KeyReplication{}) // what was still to copy
		if unreplicated && (res.Replicated == 0 || res.Present != 0) || !unreplicated && (res.Replicated != 0 || res.Present == 0) {
			t.Errorf("Unreplicated %v: after New and Advance, %s", unreplicated, res)
		}
	}
}
