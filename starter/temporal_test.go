package main

import (
	"context"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/serve"
)

// serveSites starts workers for the sites cfg describes (a smallPair), with
// their key managers, on the dev server, and points the CLI's environment at
// them.
func serveSites(t *testing.T, c client.Client, cfg *config.Config) {
	t.Helper()
	workers, err := serve.Start(context.Background(), c, cfg)
	must(t, err)
	t.Cleanup(workers.Stop)
	for k, v := range map[string]string{"TEMPORAL_ADDRESS": devServer.FrontendHostPort(), "TEMPORAL_NAMESPACE": "default",
		"CATSYNC_PRIMARY_NAME": cfg.Primary.Name, "CATSYNC_SECONDARY_NAME": cfg.Secondary.Name} {
		t.Setenv(k, v)
	}
}

// syncedRun runs a sync that waits, checks its exit code and the outcome it
// reports, and returns its output and run id.
func syncedRun(t *testing.T, code int, outcome string, args ...string) (out, runID string) {
	t.Helper()
	out, errs, got := catsync(t, append([]string{"sync", "--store", "DS_PROD", "--wait"}, args...)...)
	r := rows(out, "workflow")
	if got != code || len(r) != 1 || len(r[0]) != 4 || r[0][1] != "catalogsync-DS_PROD" || !strings.Contains(out, outcome+" ") {
		t.Fatalf("sync %s: exit %d, want %d and %s\n%s\n%s", strings.Join(args, " "), got, code, outcome, out, errs)
	}
	if code != 0 && !strings.Contains(errs, "sync of DS_PROD ended "+outcome) {
		t.Errorf("sync %s: stderr %q does not give the outcome %s", strings.Join(args, " "), errs, outcome)
	}
	return out, r[0][3]
}
