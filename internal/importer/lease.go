package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/catsync/catsync/internal/store"
)

// A lease is the secondary's rule of one import per data store, whatever
// started the run (a schedule, a script, the Temporal CLI, an operator):
// a run takes it before anything moves, keeps it alive while it works and
// releases it at its end, all in transactions of the secondary's catalog.
// A run that stops renewing it (terminated, or its workers gone) loses it
// once it expires, and the next run to take it records the run it
// replaced.

// Holder names a run that may hold a lease.
type Holder struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
}

func (h Holder) String() string { return h.WorkflowID + " (run " + h.RunID + ")" }

// Lease is what the secondary keeps of a data store's lease: its holder,
// when it was taken, renewed and released, and when it expires unless
// renewed.
type Lease struct {
	Store    string    `json:"store"`
	Holder   Holder    `json:"holder"`
	Taken    time.Time `json:"taken"`
	Renewed  time.Time `json:"renewed"`
	Expires  time.Time `json:"expires"`
	Released time.Time `json:"released,omitzero"`
	// Applying tells that the holder began writing the store's catalogs.
	Applying bool `json:"applying,omitempty"`
}

// free tells whether another run may take the lease at now.
func (l Lease) free(now time.Time) bool { return !l.Released.IsZero() || !now.Before(l.Expires) }

// LeaseHeldError refuses a run the lease another run holds.
type LeaseHeldError struct{ Lease Lease }

func (e *LeaseHeldError) Error() string {
	l := e.Lease
	return fmt.Sprintf("data store %s is being imported by %s (lease taken %s, renewed %s, expires %s unless renewed): wait for that run to end, or cancel it",
		l.Store, l.Holder, stamp(l.Taken), stamp(l.Renewed), stamp(l.Expires))
}

// LeaseLostError stops a run whose lease is no longer its own: it expired
// and another run took it, or it was released.
type LeaseLostError struct {
	Store  string
	Holder Holder
	Now    *Lease // the lease as it is, nil when none was ever taken
}

func (e *LeaseLostError) Error() string {
	switch {
	case e.Now == nil:
		return fmt.Sprintf("data store %s: %s holds no lease on it", e.Store, e.Holder)
	case e.Now.Holder != e.Holder:
		return fmt.Sprintf("data store %s: the lease of %s expired and %s took it on %s; this run stops so that the two do not write together",
			e.Store, e.Holder, e.Now.Holder, stamp(e.Now.Taken))
	}
	return fmt.Sprintf("data store %s: the lease of %s was released on %s", e.Store, e.Holder, stamp(e.Now.Released))
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func leaseKey(storeID string) string { return "import." + storeID + ".lease" }

// ReadLease returns the lease of a data store, and false when none was
// ever taken.
func ReadLease(ctx context.Context, r store.Reader, storeID string) (Lease, bool, error) {
	var l Lease
	v, err := r.Meta(ctx, leaseKey(storeID))
	if errors.Is(err, store.ErrNotFound) {
		return l, false, nil
	}
	if err != nil {
		return l, false, err
	}
	if err := json.Unmarshal([]byte(v), &l); err != nil {
		// Damaged bookkeeping must not lock the store for good: a lease
		// nobody can read is treated as expired, and the next take
		// rewrites it.
		return Lease{Store: storeID}, true, nil
	}
	return l, true, nil
}

func putLease(ctx context.Context, tx store.Writer, l Lease) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	return tx.PutMeta(ctx, leaseKey(l.Store), string(b))
}

// Abandoned tells whether l was left by a run that ended without
// releasing it: it expired, unreleased, in the hands of a run other than
// holder. Its holder's end is for the next holder to record.
func (l Lease) Abandoned(holder Holder, now time.Time) bool {
	return l.Released.IsZero() && !now.Before(l.Expires) && l.Holder != holder && l.Holder.RunID != ""
}

// TakeLease gives holder the lease of storeID until now+ttl, in one
// transaction. A lease held by another run that has not expired is refused
// with a LeaseHeldError; the holder taking it again (a retried step) renews
// it.
func TakeLease(ctx context.Context, st store.Store, storeID string, holder Holder, now time.Time, ttl time.Duration) error {
	return st.Update(ctx, func(tx store.Tx) error {
		old, ok, err := ReadLease(ctx, tx, storeID)
		if err != nil {
			return err
		}
		l := Lease{Store: storeID, Holder: holder, Taken: now, Renewed: now, Expires: now.Add(ttl)}
		switch {
		case ok && old.Holder == holder && old.Released.IsZero():
			l.Taken, l.Applying = old.Taken, old.Applying
		case ok && !old.free(now):
			return &LeaseHeldError{Lease: old}
		}
		return putLease(ctx, tx, l)
	})
}

// RenewLease extends holder's lease of storeID to now+ttl, and refuses
// with a LeaseLostError when it is no longer the holder's.
func RenewLease(ctx context.Context, st store.Store, storeID string, holder Holder, now time.Time, ttl time.Duration) error {
	return st.Update(ctx, func(tx store.Tx) error { return RenewLeaseTx(ctx, tx, storeID, holder, now, ttl, false) })
}

// RenewLeaseTx renews the lease inside tx, so that a write commits only
// while its run holds the lease; applying marks that the holder writes the
// catalogs. An expired lease nobody took is still the holder's.
func RenewLeaseTx(ctx context.Context, tx store.Tx, storeID string, holder Holder, now time.Time, ttl time.Duration, applying bool) error {
	l, ok, err := ReadLease(ctx, tx, storeID)
	if err != nil {
		return err
	}
	if !ok || l.Holder != holder || !l.Released.IsZero() {
		lost := &LeaseLostError{Store: storeID, Holder: holder}
		if ok {
			lost.Now = &l
		}
		return lost
	}
	l.Renewed, l.Expires = now, now.Add(ttl)
	l.Applying = l.Applying || applying
	return putLease(ctx, tx, l)
}

// ReleaseLease ends holder's lease of storeID; a lease no longer the
// holder's is left to its new holder.
func ReleaseLease(ctx context.Context, st store.Store, storeID string, holder Holder, now time.Time) error {
	return st.Update(ctx, func(tx store.Tx) error {
		l, ok, err := ReadLease(ctx, tx, storeID)
		if err != nil || !ok || l.Holder != holder || !l.Released.IsZero() {
			return err
		}
		l.Released = now
		return putLease(ctx, tx, l)
	})
}
