// Command catsync-worker runs catsync's Temporal workers: the activities of
// the sites it serves (CATSYNC_SERVE) and the workflows.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	tlog "go.temporal.io/sdk/log"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/serve"
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
	c, err := serve.Dial(ctx, cfg, tlog.NewStructuredLogger(logger))
	if err != nil {
		return err
	}
	defer c.Close()
	if err := serve.EnsureSearchAttributes(ctx, c, cfg.TemporalNamespace); err != nil {
		return err
	}
	w, err := serve.Start(ctx, c, cfg)
	if err != nil {
		return err
	}
	defer w.Stop()
	logger.Info("catsync worker running", "serve", cfg.Serve, "primary", cfg.Primary.Name, "secondary", cfg.Secondary.Name,
		"workflows", cfg.Workflows)
	<-ctx.Done()
	logger.Info("catsync worker stopping")
	return nil
}
