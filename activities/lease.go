package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/store"
)

// Error types of the lease: another run holds it, or this run lost it.
const (
	TypeLeaseHeld = "LeaseHeld"
	TypeLeaseLost = "LeaseLost"
)

// OutcomeAbandoned is the audit outcome of a run that ended without
// releasing its lease (terminated, timed out, or its workers gone for
// longer than the lease lasts), recorded by the run that took it next.
const OutcomeAbandoned = "Abandoned"

// LeaseInput names a run's lease on a data store and how long it lasts
// unless renewed.
type LeaseInput struct {
	Store  string          `json:"store"`
	Holder importer.Holder `json:"holder"`
	TTL    time.Duration   `json:"ttl"`
}

// TakeLease gives the run the lease of its data store, refusing with a
// LeaseHeld error naming the run that holds it. A lease left by a run that
// ended without releasing it is taken over, and that run is first
// recorded in the audit trail with what its apply committed; if it had
// begun writing, the next UPDATE re-imports every volume.
func (a *Activities) TakeLease(ctx context.Context, in LeaseInput) error {
	st, now := a.Site.Catalog, time.Now().UTC()
	old, ok, err := importer.ReadLease(ctx, st, in.Store)
	if err != nil {
		return err
	}
	if ok && old.Abandoned(in.Holder, now) {
		if err := a.recordAbandoned(ctx, old, in.Holder, now); err != nil {
			return fmt.Errorf("record the run that left the lease of %s: %w", in.Store, err)
		}
	}
	return leaseError(importer.TakeLease(ctx, st, in.Store, in.Holder, now, in.TTL))
}

// RenewLease keeps the run's lease alive while its steps run elsewhere (a
// long snapshot on the primary); a lease lost is a LeaseLost error.
func (a *Activities) RenewLease(ctx context.Context, in LeaseInput) error {
	return leaseError(importer.RenewLease(ctx, a.Site.Catalog, in.Store, in.Holder, time.Now().UTC(), in.TTL))
}

// ReleaseLease ends the run's lease, whatever the run's end.
func (a *Activities) ReleaseLease(ctx context.Context, in LeaseInput) error {
	return importer.ReleaseLease(ctx, a.Site.Catalog, in.Store, in.Holder, time.Now().UTC())
}

// recordAbandoned appends the audit record of the run that left lease l;
// appending is idempotent per run, so a retry records it once.
func (a *Activities) recordAbandoned(ctx context.Context, l importer.Lease, by importer.Holder, now time.Time) error {
	cur, err := loadCursor(ctx, a.Site.Catalog, l.Store, l.Holder.RunID)
	if err != nil {
		return err
	}
	applied := cur.Result
	if l.Applying {
		if _, err := importer.AdvanceWatermark(ctx, a.Site.Catalog, l.Store, 0, false); err != nil {
			return err
		}
	}
	e := audit.Entry{WorkflowID: l.Holder.WorkflowID, RunID: l.Holder.RunID, Store: l.Store, Outcome: OutcomeAbandoned,
		Counts: applied.Counts, Started: l.Taken, Finished: l.Renewed,
		Error: fmt.Sprintf("the run ended without releasing its lease (last renewed %s, expired %s); recorded by %s on %s",
			l.Renewed.Format(time.RFC3339), l.Expires.Format(time.RFC3339), by, now.Format(time.RFC3339))}
	for _, f := range applied.Failed {
		e.Failed = append(e.Failed, f.Set)
	}
	if applied.Conflicts.Total > 0 {
		e.Conflicts = &applied.Conflicts
	}
	_, err = audit.Append(ctx, a.Site.Catalog, e)
	return err
}

// leaseError makes the lease's refusals errors the workflow will not retry.
func leaseError(err error) error {
	var held *importer.LeaseHeldError
	var lost *importer.LeaseLostError
	switch {
	case errors.As(err, &held):
		return temporal.NewNonRetryableApplicationError(err.Error(), TypeLeaseHeld, nil, held.Lease)
	case errors.As(err, &lost):
		return temporal.NewNonRetryableApplicationError(err.Error(), TypeLeaseLost, nil)
	}
	return err
}

// renewIn renews in's lease inside a write's transaction; without a lease
// (a run from before leases, or a test calling the step) it does nothing.
func (in *LeaseInput) renewIn(ctx context.Context, tx store.Tx) error {
	if in == nil {
		return nil
	}
	return importer.RenewLeaseTx(ctx, tx, in.Store, in.Holder, time.Now().UTC(), in.TTL, true)
}
