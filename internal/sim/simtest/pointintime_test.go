package simtest

import (
	"context"
	"testing"

	"github.com/catsync/catsync/internal/store"
)

// TestCopyHoldsEveryRecord: a copy of a simulated primary has its digest.
func TestCopyHoldsEveryRecord(t *testing.T) {
	ctx := context.Background()
	pair := New(t, Small(), Options{})
	want, err := store.Digest(ctx, pair.Primary)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := store.Digest(ctx, Copy(t, pair.Primary)); err != nil || got != want {
		t.Errorf("digest of the copy %s (%v), of the primary %s", got, err, want)
	}
}
