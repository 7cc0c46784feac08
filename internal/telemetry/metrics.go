// Package telemetry serves a worker's Prometheus metrics and health
// probes: the Temporal SDK's metrics (through OpenTelemetry), catsync's
// own, computed at scrape time from the secondary's catalog, audit trail
// and staging area (Collector), and /livez and /readyz (Check). It knows
// nothing of workflows or activities: the serve package wires it.
package telemetry

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// LatencyBuckets are the bucket bounds, in seconds, of the SDK's latency
// histograms: OpenTelemetry's default bounds (0 to 10000) suit
// milliseconds, and catsync's steps take from milliseconds to an hour.
var LatencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}

// Metrics is a worker's Prometheus registry: the Go runtime's and the
// process's metrics, the Temporal SDK's, and the collectors registered.
type Metrics struct {
	Registry *prometheus.Registry
	provider *sdkmetric.MeterProvider
	logger   *slog.Logger
}

// NewMetrics makes the registry; logger (nil: slog's default) tells of
// the SDK metrics that could not be recorded.
func NewMetrics(logger *slog.Logger) (*Metrics, error) {
	if logger == nil {
		logger = slog.Default()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Set explicitly: the exporter's default depends on a global of
	// prometheus/common and is to change; the names documented in
	// docs/metrics.md are these.
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes))
	if err != nil {
		return nil, fmt.Errorf("metrics: the OpenTelemetry Prometheus exporter: %w", err)
	}
	seconds := sdkmetric.NewView(sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram, Unit: "s"},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: LatencyBuckets}})
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithView(seconds))
	return &Metrics{Registry: reg, provider: provider, logger: logger}, nil
}

// Temporal is the handler the Temporal client reports the SDK's metrics
// to (client.Options.MetricsHandler); nil for nil Metrics, which the SDK
// takes as no metrics.
func (m *Metrics) Temporal() client.MetricsHandler {
	if m == nil {
		return nil
	}
	return temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter: m.provider.Meter("go.temporal.io/sdk"),
		// The SDK only adds to its counters: Prometheus counters, not gauges.
		UseMonotonicCounters: true,
		// The handler's default panics, in the worker's pollers.
		OnError: func(err error) { m.logger.Warn("a Temporal SDK metric was not recorded", "error", err) },
	})
}

// Shutdown stops the OpenTelemetry meter provider.
func (m *Metrics) Shutdown(ctx context.Context) error {
	if m == nil {
		return nil
	}
	return m.provider.Shutdown(ctx)
}
