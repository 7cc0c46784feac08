package telemetry

import (
	"context"
	"fmt"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// The standard OpenTelemetry variables tracing reads; the exporters read
// the rest of theirs themselves (headers, certificates, timeouts).
const (
	OTLPEndpointEnv       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	OTLPTracesEndpointEnv = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	OTLPProtocolEnv       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	OTLPTracesProtocolEnv = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	TracesExporterEnv     = "OTEL_TRACES_EXPORTER"
)

// Tracing is a process's tracer provider: it exports over OTLP when the
// environment names an endpoint, and records nothing otherwise.
type Tracing struct {
	// Endpoint is where spans go, "" when nowhere.
	Endpoint string
	provider trace.TracerProvider
	shutdown func(context.Context) error
}

// NewTracing sets up tracing from the standard OpenTelemetry variables and
// installs it as the global provider, for the catalog code's spans. With
// no endpoint set (or OTEL_TRACES_EXPORTER=none) it records nothing and
// leaves the global provider alone.
func NewTracing(ctx context.Context, service string) (*Tracing, error) {
	endpoint := os.Getenv(OTLPTracesEndpointEnv)
	if endpoint == "" {
		endpoint = os.Getenv(OTLPEndpointEnv)
	}
	if endpoint == "" || os.Getenv(TracesExporterEnv) == "none" {
		return &Tracing{provider: noop.NewTracerProvider(), shutdown: func(context.Context) error { return nil }}, nil
	}
	protocol, setting := os.Getenv(OTLPTracesProtocolEnv), OTLPTracesProtocolEnv
	if protocol == "" {
		protocol, setting = os.Getenv(OTLPProtocolEnv), OTLPProtocolEnv
	}
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "", "http/protobuf": // the specification's default
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("%s=%q: want grpc or http/protobuf", setting, protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("tracing: the OTLP exporter to %s: %w", endpoint, err)
	}
	t := NewTracingWith(service, sdktrace.WithBatcher(exp))
	t.Endpoint = endpoint
	return t, nil
}

// NewTracingWith is tracing through the options given (an in-memory
// exporter, in tests), installed as the global provider.
func NewTracingWith(service string, opts ...sdktrace.TracerProviderOption) *Tracing {
	res, _ := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(service)))
	// OTEL_SERVICE_NAME, when set, names the service instead.
	if env, err := resource.New(context.Background(), resource.WithFromEnv()); err == nil {
		if merged, err := resource.Merge(res, env); err == nil {
			res = merged
		}
	}
	tp := sdktrace.NewTracerProvider(append([]sdktrace.TracerProviderOption{sdktrace.WithResource(res)}, opts...)...)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return &Tracing{provider: tp, shutdown: tp.Shutdown}
}

// Interceptor is the Temporal SDK's tracing interceptor on this provider:
// set on the client (client.Options.Interceptors), it traces what the
// client starts and what the workers made from it run, as one trace per
// run across processes.
func (t *Tracing) Interceptor() (interceptor.Interceptor, error) {
	return temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		Tracer: t.provider.Tracer("go.temporal.io/sdk"),
	})
}

// Shutdown flushes the spans not yet exported.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.shutdown(ctx)
}
