package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/catsync/catsync/internal/snapshot"
)

// ErrSyncRunning is returned by StartSync when the data store is syncing.
var ErrSyncRunning = errors.New("a sync of this data store is already running")

// StartSync starts a CatalogSync. A store has one sync at a time: while one
// runs, a second start is refused (never queued) with ErrSyncRunning.
func StartSync(ctx context.Context, c client.Client, in SyncInput) (client.WorkflowRun, error) {
	// Refused here, before the store's id becomes a workflow id.
	if err := in.validate(); err != nil {
		return nil, err
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       SyncID(in.Store),
		StaticSummary:            in.title(),
		TaskQueue:                TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		// Without this the client would hand back the running sync as if
		// it were the one asked for.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, CatalogSync, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil, fmt.Errorf("%w: data store %s is being synced by workflow %s (run %s); wait for it or cancel it",
			ErrSyncRunning, in.Store, SyncID(in.Store), started.RunId)
	}
	return run, err
}

// ErrDrillRunning is returned by StartDrill when the data store is in a
// drill.
var ErrDrillRunning = errors.New("a drill of this data store is already running")

// StartDrill starts a DRDrill; one at a time per data store.
func StartDrill(ctx context.Context, c client.Client, in DrillInput) (client.WorkflowRun, error) {
	sync := SyncInput{Store: in.Store, Type: snapshot.Update, Primary: in.Primary, Secondary: in.Secondary, NodePairs: in.NodePairs}
	if err := sync.validate(); err != nil {
		return nil, errors.New("drill input: " + strings.TrimPrefix(err.Error(), "sync input: "))
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       DrillID(in.Store),
		StaticSummary:                            "DR drill of " + in.Store,
		TaskQueue:                                TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, DRDrill, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil, fmt.Errorf("%w: workflow %s (run %s); wait for it or cancel it", ErrDrillRunning, DrillID(in.Store), started.RunId)
	}
	return run, err
}
