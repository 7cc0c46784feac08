package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/catsync/catsync/activities"
)

// nonRetryable are the error types a retry cannot cure: the same input
// fails the same way.
var nonRetryable = []string{activities.TypeValidation, activities.TypeConfig, activities.TypeCorrupt, activities.TypeConflict, activities.TypeRefused, TypeKeyParity}

// Activity options per kind of step: short catalog reads and writes, and
// long streaming steps that heartbeat their cursor.
func shortStep(ctx workflow.Context, site string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           activities.TaskQueue(site),
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second,
			MaximumAttempts: 10, NonRetryableErrorTypes: nonRetryable},
	})
}

// longStep runs a streaming step; heartbeat is how soon a silent worker's
// attempt is given up and retried (0: never, for steps that do not
// heartbeat).
func longStep(ctx workflow.Context, site string, heartbeat time.Duration) workflow.Context {
	o := workflow.ActivityOptions{
		TaskQueue:           activities.TaskQueue(site),
		StartToCloseTimeout: 6 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, MaximumInterval: time.Minute,
			MaximumAttempts: 20, NonRetryableErrorTypes: nonRetryable},
	}
	o.HeartbeatTimeout = heartbeat
	return workflow.WithActivityOptions(ctx, o)
}

// summarized gives the activities ctx schedules the one-line summary the
// Web UI shows in the run's timeline, so that it reads without opening an
// event.
func summarized(ctx workflow.Context, format string, args ...any) workflow.Context {
	o := workflow.GetActivityOptions(ctx)
	o.Summary = fmt.Sprintf(format, args...)
	return workflow.WithActivityOptions(ctx, o)
}
