// Command catsync-worker runs catsync's Temporal workers: the activities of
// the sites it serves (CATSYNC_SERVE) and the workflows, and its metrics
// and health probes on CATSYNC_METRICS_ADDRESS. It logs JSON lines (text
// on a terminal) and exports traces over OTLP when the standard
// OTEL_EXPORTER_OTLP_* variables name an endpoint.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/serve"
	"github.com/catsync/catsync/internal/telemetry"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "catsync-worker:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	logger, err := telemetry.NewLogger(os.Stderr, slog.LevelInfo)
	if err != nil {
		return err
	}
	slog.SetDefault(logger)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tracing, err := telemetry.NewTracing(ctx, "catsync-worker")
	if err != nil {
		return err
	}
	defer tracing.Shutdown(context.Background())
	// The SDK's metrics are the client's: made before it, served by Start.
	var metrics *telemetry.Metrics
	if cfg.MetricsAddress != "" {
		if metrics, err = telemetry.NewMetrics(logger); err != nil {
			return err
		}
		defer metrics.Shutdown(context.Background())
	}
	opts, err := telemetry.Observed{Logger: logger, Tracing: tracing, Metrics: metrics}.ClientOptions()
	if err != nil {
		return err
	}
	c, err := serve.DialWith(ctx, cfg, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	w, err := serve.StartWith(ctx, c, cfg, metrics)
	if err != nil {
		return err
	}
	defer w.Stop()
	logger.Info("catsync worker running", "serve", cfg.Serve, "primary", cfg.Primary.Name, "secondary", cfg.Secondary.Name,
		"workflows", cfg.Workflows, "metrics", w.MetricsAddress(), "traces", tracing.Endpoint)
	<-ctx.Done()
	logger.Info("catsync worker stopping")
	return nil
}
