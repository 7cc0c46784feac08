package importer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// The lease's life on both stores: taken, refused to another run while it
// lasts, renewed by its holder only, taken over once it expired (the old
// holder then named abandoned), and released.
func TestLease(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, newStore func(testing.TB) store.Store) {
		ctx, st := context.Background(), newStore(t)
		first := importer.Holder{WorkflowID: "catalogsync-DS_PROD", RunID: "r1"}
		second := importer.Holder{WorkflowID: "nightly-DS_PROD", RunID: "r2"}
		t0, ttl := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC), time.Minute

		if err := importer.RenewLease(ctx, st, "DS_PROD", first, t0, ttl); !isLost(err) {
			t.Fatalf("renewing a lease never taken: %v, want it lost", err)
		}
		if err := importer.TakeLease(ctx, st, "DS_PROD", first, t0, ttl); err != nil {
			t.Fatal(err)
		}
		var held *importer.LeaseHeldError
		err := importer.TakeLease(ctx, st, "DS_PROD", second, t0.Add(30*time.Second), ttl)
		if !errors.As(err, &held) || held.Lease.Holder != first || !strings.Contains(err.Error(), "catalogsync-DS_PROD (run r1)") {
			t.Fatalf("a second run took a held lease: %v", err)
		}
		// Another store's lease is its own.
		if err := importer.TakeLease(ctx, st, "DS_TEST", second, t0, ttl); err != nil {
			t.Fatal(err)
		}
		// Renewed, the lease outlives its first expiry; a retried take by
		// its holder renews it too.
		if err := importer.RenewLease(ctx, st, "DS_PROD", first, t0.Add(50*time.Second), ttl); err != nil {
			t.Fatal(err)
		}
		if err := importer.TakeLease(ctx, st, "DS_PROD", first, t0.Add(55*time.Second), ttl); err != nil {
			t.Fatal(err)
		}
		if err := importer.TakeLease(ctx, st, "DS_PROD", second, t0.Add(90*time.Second), ttl); !errors.As(err, &held) {
			t.Fatalf("a renewed lease was taken before it expired: %v", err)
		}
		if err := importer.RenewLease(ctx, st, "DS_PROD", second, t0.Add(90*time.Second), ttl); !isLost(err) {
			t.Fatalf("a run renewed a lease it does not hold: %v", err)
		}

		// Expired unreleased, the lease goes to the next run and names its
		// holder abandoned; the old holder's writes are refused from then.
		late := t0.Add(55*time.Second + ttl)
		l, _, err := importer.ReadLease(ctx, st, "DS_PROD")
		if err != nil || !l.Abandoned(second, late) || l.Abandoned(first, late) || l.Abandoned(second, late.Add(-time.Second)) {
			t.Fatalf("lease %+v (%v): abandoned wrongly told", l, err)
		}
		if l.Taken != t0 {
			t.Errorf("renewals moved the time the lease was taken to %s", l.Taken)
		}
		if err := importer.TakeLease(ctx, st, "DS_PROD", second, late, ttl); err != nil {
			t.Fatal(err)
		}
		err = st.Update(ctx, func(tx store.Tx) error {
			return importer.RenewLeaseTx(ctx, tx, "DS_PROD", first, late, ttl, true)
		})
		if !isLost(err) || !strings.Contains(err.Error(), "nightly-DS_PROD (run r2) took it") {
			t.Fatalf("the old holder's write: %v, want the lease lost to the new holder", err)
		}

		// Released, the lease is free at once; the releaser's renewal is
		// refused, and a release by a run not holding it changes nothing.
		if err := importer.ReleaseLease(ctx, st, "DS_PROD", first, late); err != nil {
			t.Fatal(err)
		}
		if err := importer.TakeLease(ctx, st, "DS_PROD", first, late, ttl); !errors.As(err, &held) {
			t.Fatalf("a release by a run not holding the lease freed it: %v", err)
		}
		if err := importer.ReleaseLease(ctx, st, "DS_PROD", second, late); err != nil {
			t.Fatal(err)
		}
		if err := importer.RenewLease(ctx, st, "DS_PROD", second, late, ttl); !isLost(err) || !strings.Contains(err.Error(), "released") {
			t.Fatalf("renewal of a released lease: %v", err)
		}
		l, _, _ = importer.ReadLease(ctx, st, "DS_PROD")
		if l.Abandoned(first, late.Add(time.Hour)) {
			t.Error("a released lease is told abandoned")
		}
		if err := importer.TakeLease(ctx, st, "DS_PROD", first, late, ttl); err != nil {
			t.Fatal(err)
		}
	})
}

// A lease record nobody can read does not lock the store for good: it is
// free, and taking it rewrites it.
func TestUnreadableLeaseIsFree(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, newStore func(testing.TB) store.Store) {
		ctx, st := context.Background(), newStore(t)
		if err := st.Update(ctx, func(tx store.Tx) error { return tx.PutMeta(ctx, "import.DS_PROD.lease", "{garbage") }); err != nil {
			t.Fatal(err)
		}
		now, h := time.Now(), importer.Holder{WorkflowID: "w", RunID: "r"}
		if l, _, err := importer.ReadLease(ctx, st, "DS_PROD"); err != nil || l.Abandoned(h, now) {
			t.Fatalf("unreadable lease read as %+v, %v", l, err)
		}
		if err := importer.TakeLease(ctx, st, "DS_PROD", h, now, time.Minute); err != nil {
			t.Fatal(err)
		}
		if l, _, err := importer.ReadLease(ctx, st, "DS_PROD"); err != nil || l.Holder != h {
			t.Fatalf("lease after the take: %+v, %v", l, err)
		}
	})
}

func isLost(err error) bool {
	var lost *importer.LeaseLostError
	return errors.As(err, &lost)
}
