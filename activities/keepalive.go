package activities

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
)

// KeepAlive is the worker interceptor that keeps every activity with a
// heartbeat timeout seen alive while its worker runs it: it heartbeats
// every third of the timeout, sending again the last cursor the step
// recorded (or the previous attempt's, until it records one). The steps'
// own heartbeats come when a cursor moves, and a cursor can take longer
// than the timeout to move (a segment's keys at a slow key manager, a
// batch through a locked catalog): without the ticks such an attempt was
// timed out and retried, again and again, though its worker was alive.
// A worker that dies stops the ticks, and its step is retried within the
// timeout, as before.
func KeepAlive() interceptor.WorkerInterceptor { return &keepAlive{} }

type keepAlive struct {
	interceptor.WorkerInterceptorBase
}

func (*keepAlive) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &keepAliveInbound{}
	i.Next = next
	return i
}

type keepAliveInbound struct {
	interceptor.ActivityInboundInterceptorBase
}

func (i *keepAliveInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	timeout := activity.GetInfo(ctx).HeartbeatTimeout
	if timeout <= 0 {
		return i.Next.ExecuteActivity(ctx, in)
	}
	b := &beat{}
	if activity.HasHeartbeatDetails(ctx) {
		// Sent again as they came: the step decodes them itself.
		var raw json.RawMessage
		if activity.GetHeartbeatDetails(ctx, &raw) == nil {
			b.cursor, b.has = raw, true
		}
	}
	ctx = context.WithValue(ctx, beatKey{}, b)
	ticking, stop := context.WithCancel(ctx)
	defer stop()
	go b.tick(ticking, timeout/3)
	return i.Next.ExecuteActivity(ctx, in)
}

// beat is the cursor an activity last recorded, for its ticks.
type beat struct {
	mu     sync.Mutex
	cursor any
	has    bool
}

type beatKey struct{}

// tick heartbeats every interval until ctx ends (the activity returned,
// or its attempt was given up).
func (b *beat) tick(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.mu.Lock()
			if b.has {
				activity.RecordHeartbeat(ctx, b.cursor)
			} else {
				activity.RecordHeartbeat(ctx)
			}
			b.mu.Unlock()
		}
	}
}
