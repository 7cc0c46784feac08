// Package activities holds every step of catalog replication that touches
// the outside world: catalogs, staging areas, files. Each step runs on the
// worker of the site it needs (task queue catsync.<site>); long steps
// heartbeat a cursor and resume from it when retried.
package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// Error types the workflow tells apart. Validation and configuration errors
// are not retried: the same input fails the same way.
const (
	TypeValidation = "ValidationError"
	TypeConfig     = "ConfigError"
	TypeCorrupt    = "CorruptSnapshot"
	TypeConflict   = "SafetyConflict"  // a strict import stopped by a conflict
	TypeRefused    = "SnapshotRefused" // unsigned, untrusted, replayed or of another store
)

// Site is one site as its worker reaches it.
type Site struct {
	Name    string
	Catalog store.Store
	Staging snapshot.Area // the primary's outbox, or the secondary's staging area
	Source  snapshot.Area // secondary only: where it reads the primary's outbox
	// Keys is the site's key manager (nil when none is configured): the
	// primary records fingerprints from it, the secondary proves parity.
	Keys keys.Manager
	// Data is the root of the site's data stores' folders, where volume
	// images live ("" when none is configured): the secondary's restore
	// test reads them.
	Data string
}

// Activities are the steps one site's worker runs.
type Activities struct {
	Site *Site
	// ApplyBatch is about how many records one transaction of an apply
	// writes; 0 is batchRecords.
	ApplyBatch int
	// Schedules acts on the data stores' Temporal schedules (nil when the
	// worker cannot): a failover pauses those of the store it promotes.
	Schedules ScheduleControl
}

// ScheduleControl pauses and resumes the schedules of a data store.
type ScheduleControl interface {
	// PauseStore pauses every schedule of the store with note, and
	// returns their ids; UnpauseStore resumes them.
	PauseStore(ctx context.Context, storeID, note string) ([]string, error)
	UnpauseStore(ctx context.Context, storeID, note string) ([]string, error)
}

// TaskQueue is the queue of a site's worker.
func TaskQueue(site string) string { return "catsync." + site }

// heartbeat records a cursor when running as an activity; tests calling the
// steps directly run without one. Under KeepAlive the cursor is also the
// one its ticks send again.
func heartbeat(ctx context.Context, cursor any) {
	if !activity.IsActivity(ctx) {
		return
	}
	if b, ok := ctx.Value(beatKey{}).(*beat); ok {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.cursor, b.has = cursor, true
	}
	activity.RecordHeartbeat(ctx, cursor)
}

// resume loads the cursor of the previous attempt, if any.
func resume(ctx context.Context, cursor any) bool {
	if !activity.IsActivity(ctx) || !activity.HasHeartbeatDetails(ctx) {
		return false
	}
	return activity.GetHeartbeatDetails(ctx, cursor) == nil
}

// classify turns domain errors into Temporal errors the workflow can act on.
// The message is the error's whole text and the error is not attached as
// the cause too: the SDK would print its text again after the message, as
// a retryable error of its Go type, and a cause cannot be matched with
// errors.As once it has crossed Temporal anyway. What the workflow needs
// of a corrupt snapshot, the file, travels as details.
func classify(err error) error {
	var fe *catalog.FieldError
	var ce *catalog.ConfigError
	var corrupt *snapshot.CorruptError
	var conflict *safety.ConflictError
	var keyConfig *keys.ConfigError
	var refused *snapshot.RefusedError
	var typ string
	var details []any
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		typ = TypeValidation
	case errors.As(err, &ce), errors.As(err, &keyConfig):
		typ = TypeConfig
	case errors.As(err, &refused):
		typ = TypeRefused
	case errors.As(err, &conflict):
		typ = TypeConflict
	case errors.As(err, &corrupt):
		typ, details = TypeCorrupt, []any{corrupt.File}
	default:
		return err
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), typ, nil, details...)
}
