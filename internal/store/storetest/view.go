package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
)

// testView: a view reads the catalogs as they were when it began, however
// long it stays open: a write committed after that, even before the view's
// first read, is not in it. The writer commits while the view is open
// (were it blocked, its Update would fail or never return). The view ends
// with fn's error; afterwards the writes are there.
func testView(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := load(t, s)
	counts, err := s.Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := s.LastSeq(ctx, f.Store.ID)
	if err != nil {
		t.Fatal(err)
	}
	late := f.Volumes[2]
	late.Label = "L00001"
	bad := f.TapeVolumes[0]
	bad.Status = catalog.StatusBad
	write := func(what string, fn func(store.Tx) error) {
		t.Helper()
		if err := s.Update(ctx, fn); err != nil {
			t.Fatalf("%s while a view is open: %v", what, err)
		}
	}
	err = s.View(ctx, func(r store.Reader) error {
		write("a new volume", func(tx store.Tx) error { return tx.PutVolume(ctx, &late) })
		if now, err := s.LastSeq(ctx, f.Store.ID); err != nil || now <= seq {
			t.Errorf("outside the view the sequence is %d (%v), want past %d", now, err, seq)
		}
		if got, err := r.LastSeq(ctx, f.Store.ID); err != nil || got != seq {
			t.Errorf("the view's sequence is %d (%v), want %d as it began", got, err, seq)
		}
		if _, err := r.Volume(ctx, late.Key()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the view reads volume %s written after it began: %v", late.Key(), err)
		}
		write("a tape volume status", func(tx store.Tx) error { return tx.PutTapeVolume(ctx, &bad) })
		same(t, "the view's tape volumes", collect(t, r.ScanTapeVolumes, store.Filter{}), f.TapeVolumes)
		got, err := r.Count(ctx)
		if err != nil {
			return err
		}
		same(t, "the view's counts", got, counts)
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("View returned %v, want the function's error", err)
	}
	if _, err := s.Volume(ctx, late.Key()); err != nil {
		t.Errorf("volume %s written during the view: %v", late.Key(), err)
	}
	if got := collect(t, s.ScanTapeVolumes, store.Filter{Volser: bad.Volser}); len(got) != 1 || got[0].Status != catalog.StatusBad {
		t.Errorf("tape volume %s written during the view: %+v", bad.Volser, got)
	}
}
