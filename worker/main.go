// Command catsync-worker runs catsync's Temporal workers: the activities of
// the sites it serves (CATSYNC_SERVE) and the workflows, and its metrics
// and health probes on CATSYNC_METRICS_ADDRESS.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

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
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The SDK's metrics are the client's: made before it, served by Start.
	var metrics *telemetry.Metrics
	if cfg.MetricsAddress != "" {
		if metrics, err = telemetry.NewMetrics(logger); err != nil {
			return err
		}
		defer metrics.Shutdown(context.Background())
	}
	c, err := serve.DialWith(ctx, cfg, client.Options{Logger: tlog.NewStructuredLogger(logger), MetricsHandler: metrics.Temporal()})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := serve.EnsureSearchAttributes(ctx, c, cfg.TemporalNamespace); err != nil {
		return err
	}
	w, err := serve.StartWith(ctx, c, cfg, metrics)
	if err != nil {
		return err
	}
	defer w.Stop()
	logger.Info("catsync worker running", "serve", cfg.Serve, "primary", cfg.Primary.Name, "secondary", cfg.Secondary.Name,
		"workflows", cfg.Workflows, "metrics", w.MetricsAddress())
	<-ctx.Done()
	logger.Info("catsync worker stopping")
	return nil
}
