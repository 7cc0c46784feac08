package telemetry

import (
	"log/slog"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"
)

// Observed is what a process's Temporal client, and the workers made from
// it, report to: its logger, its tracing, and (a worker's) its metrics.
// Nil parts are left out.
type Observed struct {
	Logger  *slog.Logger
	Tracing *Tracing
	Metrics *Metrics
}

// ClientOptions are the Temporal client options that report to o: the
// SDK's logger adapted to o.Logger, the SDK's metrics to o.Metrics, the
// tracing interceptor, and the store and step in every line of a run.
func (o Observed) ClientOptions() (client.Options, error) {
	var opts client.Options
	if o.Logger != nil {
		opts.Logger = tlog.NewStructuredLogger(o.Logger)
	}
	opts.MetricsHandler = o.Metrics.Temporal()
	if o.Tracing != nil {
		t, err := o.Tracing.Interceptor()
		if err != nil {
			return opts, err
		}
		opts.Interceptors = append(opts.Interceptors, t)
	}
	logs, prop := RunLogs()
	opts.Interceptors = append(opts.Interceptors, logs)
	opts.ContextPropagators = []workflow.ContextPropagator{prop}
	return opts, nil
}
