// Package activities holds every step of catalog replication that touches
// the outside world: catalogs, staging areas, files. Each step runs on the
// worker of the site it needs (task queue catsync.<site>); long steps
// heartbeat a cursor and resume from it when retried.
package activities

import (
	"context"
	"errors"
	"fmt"
	"strconv"

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
	TypeConflict   = "SafetyConflict" // a strict import stopped by a conflict
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
}

// Activities are the steps one site's worker runs.
type Activities struct {
	Site *Site
}

// TaskQueue is the queue of a site's worker.
func TaskQueue(site string) string { return "catsync." + site }

// heartbeat records a cursor when running as an activity; tests calling the
// steps directly run without one.
func heartbeat(ctx context.Context, cursor any) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, cursor)
	}
}

// resume loads the cursor of the previous attempt, if any.
func resume(ctx context.Context, cursor any) bool {
	if !activity.IsActivity(ctx) || !activity.HasHeartbeatDetails(ctx) {
		return false
	}
	return activity.GetHeartbeatDetails(ctx, cursor) == nil
}

// classify turns domain errors into Temporal errors the workflow can act on.
func classify(err error) error {
	var fe *catalog.FieldError
	var ce *catalog.ConfigError
	var corrupt *snapshot.CorruptError
	var conflict *safety.ConflictError
	var keyConfig *keys.ConfigError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		return temporal.NewNonRetryableApplicationError(err.Error(), TypeValidation, err)
	case errors.As(err, &ce), errors.As(err, &keyConfig):
		return temporal.NewNonRetryableApplicationError(err.Error(), TypeConfig, err)
	case errors.As(err, &conflict):
		return temporal.NewNonRetryableApplicationError(err.Error(), TypeConflict, err)
	case errors.As(err, &corrupt):
		return temporal.NewNonRetryableApplicationError(err.Error(), TypeCorrupt, err, corrupt.File)
	}
	return err
}

// Watermark is what the secondary has applied of a data store.
type Watermark struct {
	Seq      int64 `json:"seq"`      // changes applied up to here
	Reimport bool  `json:"reimport"` // a volume failed: the next UPDATE takes everything
}

func watermarkKey(storeID string) string { return "sync." + storeID + ".watermark" }
func reimportKey(storeID string) string  { return "sync." + storeID + ".reimport" }

// ReadWatermark returns the secondary's watermark for a data store.
func (a *Activities) ReadWatermark(ctx context.Context, storeID string) (Watermark, error) {
	return readWatermark(ctx, a.Site.Catalog, storeID)
}

func readWatermark(ctx context.Context, r store.Reader, storeID string) (Watermark, error) {
	var w Watermark
	v, err := r.Meta(ctx, watermarkKey(storeID))
	if errors.Is(err, store.ErrNotFound) {
		return w, nil
	}
	if err != nil {
		return w, err
	}
	if w.Seq, err = strconv.ParseInt(v, 10, 64); err != nil {
		return w, fmt.Errorf("watermark of %s: %w", storeID, err)
	}
	flag, err := r.Meta(ctx, reimportKey(storeID))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return w, err
	}
	w.Reimport = flag == "true"
	return w, nil
}
