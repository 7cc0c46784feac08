package telemetry

import (
	"context"
	"reflect"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"
)

// Log keys every line of a run carries beside the SDK's WorkflowID and
// RunID: the data store and the step (the activity; a workflow's own lines
// name theirs).
const (
	StoreKey = "store"
	StepKey  = "step"
)

// storeHeader carries a run's data store from its workflow to its
// activities, which may not take it as input.
const storeHeader = "catsync-store"

type storeCtxKey struct{}

// RunLogs makes the logs of a run name its data store: the interceptor
// reads the store from the workflow's input (every catsync workflow's
// input has a Store field) and adds it, and each activity's step, to the
// loggers the SDK gives; the propagator carries the store to the
// activities in a header. Both go in the client's options.
func RunLogs() (interceptor.Interceptor, workflow.ContextPropagator) {
	return &runLogs{}, storePropagator{}
}

type runLogs struct{ interceptor.InterceptorBase }

func (*runLogs) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &workflowIn{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

func (*runLogs) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &activityIn{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type workflowIn struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (w *workflowIn) Init(out interceptor.WorkflowOutboundInterceptor) error {
	return w.Next.Init(&workflowOut{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: out}})
}

func (w *workflowIn) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	if s := storeOf(in.Args); s != "" {
		ctx = workflow.WithValue(ctx, storeCtxKey{}, s)
	}
	return w.Next.ExecuteWorkflow(ctx, in)
}

type workflowOut struct {
	interceptor.WorkflowOutboundInterceptorBase
}

func (w *workflowOut) GetLogger(ctx workflow.Context) log.Logger {
	l := w.Next.GetLogger(ctx)
	if s, _ := ctx.Value(storeCtxKey{}).(string); s != "" {
		l = log.With(l, StoreKey, s)
	}
	return l
}

type activityIn struct {
	interceptor.ActivityInboundInterceptorBase
}

// ExecuteActivity logs each step's end: one line per attempt, with its
// duration and, when it failed, why.
func (a *activityIn) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	start := time.Now()
	res, err := a.Next.ExecuteActivity(ctx, in)
	info := activity.GetInfo(ctx)
	l := activity.GetLogger(ctx)
	took := time.Since(start).Round(time.Millisecond).String()
	if err != nil {
		l.Warn("step failed", "attempt", info.Attempt, "took", took, "error", err)
	} else {
		l.Info("step done", "attempt", info.Attempt, "took", took)
	}
	return res, err
}

func (a *activityIn) Init(out interceptor.ActivityOutboundInterceptor) error {
	return a.Next.Init(&activityOut{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: out}})
}

type activityOut struct {
	interceptor.ActivityOutboundInterceptorBase
}

func (a *activityOut) GetLogger(ctx context.Context) log.Logger {
	l := log.With(a.Next.GetLogger(ctx), StepKey, activity.GetInfo(ctx).ActivityType.Name)
	if s, _ := ctx.Value(storeCtxKey{}).(string); s != "" {
		l = log.With(l, StoreKey, s)
	}
	return l
}

// storeOf is the Store field of a workflow's input, "" when it has none.
func storeOf(args []any) string {
	if len(args) == 0 {
		return ""
	}
	v := reflect.ValueOf(args[0])
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return ""
	}
	if f := v.FieldByName("Store"); f.IsValid() && f.Kind() == reflect.String {
		return f.String()
	}
	return ""
}

// storePropagator carries the store in the header of what a workflow
// schedules, and back into the context of what runs it.
type storePropagator struct{}

func (storePropagator) Inject(ctx context.Context, w workflow.HeaderWriter) error {
	return inject(ctx.Value(storeCtxKey{}), w)
}

func (storePropagator) InjectFromWorkflow(ctx workflow.Context, w workflow.HeaderWriter) error {
	return inject(ctx.Value(storeCtxKey{}), w)
}

func inject(v any, w workflow.HeaderWriter) error {
	s, _ := v.(string)
	if s == "" {
		return nil
	}
	p, err := converter.GetDefaultDataConverter().ToPayload(s)
	if err != nil {
		return err
	}
	w.Set(storeHeader, p)
	return nil
}

func (storePropagator) Extract(ctx context.Context, r workflow.HeaderReader) (context.Context, error) {
	if s := extract(r); s != "" {
		ctx = context.WithValue(ctx, storeCtxKey{}, s)
	}
	return ctx, nil
}

func (storePropagator) ExtractToWorkflow(ctx workflow.Context, r workflow.HeaderReader) (workflow.Context, error) {
	if s := extract(r); s != "" {
		ctx = workflow.WithValue(ctx, storeCtxKey{}, s)
	}
	return ctx, nil
}

func extract(r workflow.HeaderReader) string {
	p, ok := r.Get(storeHeader)
	if !ok {
		return ""
	}
	var s string
	if converter.GetDefaultDataConverter().FromPayload(p, &s) != nil {
		return ""
	}
	return s
}
