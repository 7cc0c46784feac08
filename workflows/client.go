package workflows

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
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
