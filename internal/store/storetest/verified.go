package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
)

// testVerified: restore verification dates are kept per data store and
// volume, the last one wins, they read back in label order, and writing
// them marks no change.
func testVerified(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := load(t, s)
	seq, err := s.LastSeq(ctx, f.Store.ID)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 2, 3, 0, 0, 123456000, time.UTC)
	b := catalog.VolumeKey{Label: "B00001", LabelType: catalog.Labeled}
	a := catalog.VolumeKey{Label: "A00001", LabelType: catalog.Labeled}
	if err := s.Update(ctx, func(tx store.Tx) error {
		for _, w := range []struct {
			store string
			key   catalog.VolumeKey
			at    time.Time
		}{{f.Store.ID, b, t0}, {f.Store.ID, a, t0}, {f.Store.ID, b, t0.Add(time.Hour)}, {"DS_OTHER", a, t0}} {
			if err := tx.PutVerified(ctx, w.store, w.key, w.at); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	type got struct {
		key catalog.VolumeKey
		at  time.Time
	}
	var all []got
	if err := s.ScanVerified(ctx, f.Store.ID, func(k catalog.VolumeKey, at time.Time) error {
		all = append(all, got{k, at})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0] != (got{a, t0}) || all[1] != (got{b, t0.Add(time.Hour)}) {
		t.Errorf("verified dates %+v", all)
	}
	if after, err := s.LastSeq(ctx, f.Store.ID); err != nil || after != seq {
		t.Errorf("recording verification dates moved the change sequence from %d to %d (%v)", seq, after, err)
	}
}
