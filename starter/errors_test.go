package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
)

// A run failing on a configuration error, on the dev server: the CLI
// prints the activity's message once, its type, and the step it failed
// in, without Temporal's wrappers and retry flags.
func TestFailedRunError(t *testing.T) {
	c := devClient(t)
	_, sec, cfg := smallPair(t)
	// The secondary's copy of the store is not SECONDARY: CheckConfig
	// fails the run with a ConfigError listing the problem.
	editSite(t, sec, func(ctx context.Context, tx store.Tx) error {
		ds, err := tx.DataStore(ctx, "DS_PROD")
		if err != nil {
			return err
		}
		ds.Access = catalog.AccessPrimary
		return tx.PutDataStore(ctx, &ds)
	})
	serveSites(t, c, cfg)
	out, errs, code := catsync(t, "sync", "--store", "DS_PROD", "--type", "full", "--wait")
	if code != 1 {
		t.Fatalf("sync of a misconfigured pair: exit %d\n%s\n%s", code, out, errs)
	}
	lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
	if want := "catsync: sync of DS_PROD failed: unsafe configuration, nothing imported:"; lines[0] != want {
		t.Errorf("first line %q, want %q", lines[0], want)
	}
	n := len(lines)
	if n < 4 || !strings.HasPrefix(lines[1], "CONFIG_STORE_ACCESS") || !strings.HasPrefix(lines[n-2], "  activity: CheckConfig on worker ") ||
		lines[n-1] != "  error:    ConfigError, not retried" {
		t.Errorf("stderr:\n%s\nwant the message's lines, then the activity and the error type", errs)
	}
	for _, once := range []string{"unsafe configuration", "CONFIG_STORE_ACCESS", "ConfigError"} {
		if k := strings.Count(errs, once); k != 1 {
			t.Errorf("%q %d times in\n%s", once, k, errs)
		}
	}
	for _, noise := range []string{"retryable", "workflow execution error", "activity error", "scheduledEventID", "wrapError"} {
		if strings.Contains(errs, noise) {
			t.Errorf("stderr shows %q:\n%s", noise, errs)
		}
	}
}

// A retryable activity error that used up its attempts, on the dev
// server: the message once and the retry state (a plain Go error has no
// type to show); an error from outside Temporal is printed as it is.
func TestErrorTextRetriesSpent(t *testing.T) {
	c := devClient(t)
	w := worker.New(c, "catsync-errortext", worker.Options{})
	w.RegisterActivityWithOptions(func(context.Context) error { return errors.New("tape library offline") },
		activity.RegisterOptions{Name: "Mount"})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Millisecond, MaximumAttempts: 2}})
		return workflow.ExecuteActivity(ctx, "Mount").Get(ctx, nil)
	}, workflow.RegisterOptions{Name: "MountTape"})
	must(t, w.Start())
	defer w.Stop()
	ctx := context.Background()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "catsync-errortext"}, "MountTape")
	must(t, err)
	got := errorText(fmt.Errorf("mount of T00042 failed: %w", run.Get(ctx, nil)))
	lines := strings.Split(got, "\n")
	if len(lines) != 3 || lines[0] != "mount of T00042 failed: tape library offline" || !strings.HasPrefix(lines[1], "  activity: Mount on worker ") ||
		lines[2] != "  retries:  maximum attempts reached" ||
		strings.Contains(got, "retryable") || strings.Count(got, "tape library offline") != 1 {
		t.Errorf("errorText:\n%s", got)
	}
	plain := fmt.Errorf("--store is required")
	if got := errorText(plain); got != plain.Error() {
		t.Errorf("errorText(%q) = %q", plain, got)
	}
}
