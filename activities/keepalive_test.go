package activities_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/temporaltest"
)

func TestMain(m *testing.M) { temporaltest.Main(m) }

// quietFor is how long slowStep goes without a heartbeat of its own:
// three heartbeat timeouts.
const (
	beatTimeout = time.Second
	quietFor    = 3 * beatTimeout
)

// slowStep records cursor 7, then goes quiet longer than its heartbeat
// timeout; its first attempt fails when fail is set and returns
// firstAttempt otherwise, and a later one returns the cursor it found (-1
// for none).
func slowStep(ctx context.Context, fail bool) (int, error) {
	if activity.GetInfo(ctx).Attempt > 1 {
		cursor := -1
		if activity.HasHeartbeatDetails(ctx) {
			if err := activity.GetHeartbeatDetails(ctx, &cursor); err != nil {
				return 0, err
			}
		}
		return cursor, nil
	}
	activities.Heartbeat(ctx, 7)
	time.Sleep(quietFor)
	if fail {
		return 0, errors.New("first attempt fails")
	}
	return firstAttempt, nil
}

const firstAttempt = 100

func slowWorkflow(ctx workflow.Context, fail bool) (int, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, HeartbeatTimeout: beatTimeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumAttempts: 2}})
	var n int
	err := workflow.ExecuteActivity(ctx, slowStep, fail).Get(ctx, &n)
	return n, err
}

// KeepAlive keeps an attempt that records no cursor for a while alive,
// and the cursor it recorded is the one its ticks send: the next attempt
// resumes from it. Without it the same attempt is timed out.
func TestKeepAlive(t *testing.T) {
	c := temporaltest.Client(t)
	run := func(t *testing.T, queue string, kept, fail bool) (int, error) {
		t.Helper()
		var opts worker.Options
		if kept {
			opts.Interceptors = []interceptor.WorkerInterceptor{activities.KeepAlive()}
		}
		w := worker.New(c, queue, opts)
		w.RegisterWorkflow(slowWorkflow)
		w.RegisterActivity(slowStep)
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		r, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, slowWorkflow, fail)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		err = r.Get(ctx, &n)
		return n, err
	}
	t.Run("alive", func(t *testing.T) {
		n, err := run(t, "keepalive-alive", true, false)
		if err != nil || n != firstAttempt {
			t.Errorf("a step quiet for %s under a heartbeat timeout of %s: %d, %v; want %d, from its first attempt", quietFor, beatTimeout, n, err, firstAttempt)
		}
	})
	t.Run("cursor kept", func(t *testing.T) {
		n, err := run(t, "keepalive-cursor", true, true)
		if err != nil || n != 7 {
			t.Errorf("the second attempt found cursor %d (%v), want 7, the first attempt's", n, err)
		}
	})
	t.Run("without it", func(t *testing.T) {
		// The first attempt is timed out; the second resumes from the
		// cursor the first recorded itself.
		n, err := run(t, "keepalive-none", false, false)
		if err != nil || n != 7 {
			t.Errorf("without KeepAlive: %d, %v; want 7, from a second attempt after the first timed out", n, err)
		}
	})
}
