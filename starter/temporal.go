package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/serve"
	"github.com/catsync/catsync/internal/telemetry"
	"github.com/catsync/catsync/workflows"
)

// connect reads the configuration of a command that talks to Temporal and
// dials it as the worker does: the SDK's warnings logged on stderr, and
// the runs it starts traced when the OTEL_EXPORTER_OTLP_* variables name
// an endpoint, in the trace the worker continues.
func connect(ctx context.Context) (*config.Config, client.Client, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, nil, err
	}
	logger, err := telemetry.NewLogger(os.Stderr, slog.LevelWarn)
	if err != nil {
		return nil, nil, err
	}
	tracing, err := telemetry.NewTracing(ctx, "catsync")
	if err != nil {
		return nil, nil, err
	}
	opts, err := telemetry.Observed{Logger: logger, Tracing: tracing}.ClientOptions()
	if err != nil {
		return nil, nil, err
	}
	tc, err := serve.DialWith(ctx, cfg, opts)
	if err != nil {
		return nil, nil, err
	}
	return cfg, tracedClient{tc, tracing}, nil
}

// tracedClient flushes the command's spans when it is closed.
type tracedClient struct {
	client.Client
	tracing *telemetry.Tracing
}

func (c tracedClient) Close() {
	c.Client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.tracing.Shutdown(ctx) // a collector that is down costs the spans, not the command
}

// runReportCmd is a command printing part of a finished sync's result.
func (c *cli) runReportCmd(use, short, long string,
	print func(w, runID string, res *workflows.SyncResult, asJSON bool) error) *cobra.Command {
	var runID string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long: long + `
WORKFLOW_ID is the sync's workflow id (catalogsync-<store>); the latest run unless
--run is given. Temporal comes from TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE.`,
		Args: oneArg("WORKFLOW_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, tc, err := connect(cmd.Context())
			if err != nil {
				return err
			}
			defer tc.Close()
			res, runID, err := finishedRun(cmd.Context(), tc, args[0], runID)
			if err != nil {
				return err
			}
			return print(args[0], runID, &res, asJSON)
		},
	}
	cmd.Flags().StringVar(&runID, "run", "", "run id (default: the latest run)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// finishedRun returns the result of a sync run that has ended.
func finishedRun(ctx context.Context, tc client.Client, workflowID, runID string) (workflows.SyncResult, string, error) {
	var res workflows.SyncResult
	desc, err := tc.DescribeWorkflowExecution(ctx, workflowID, runID)
	if err != nil {
		return res, runID, fmt.Errorf("workflow %s: %w", workflowID, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	runID = info.GetExecution().GetRunId()
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return res, runID, fmt.Errorf("workflow %s run %s is still running: its report comes when it ends", workflowID, runID)
	}
	if err := tc.GetWorkflow(ctx, workflowID, runID).Get(ctx, &res); err != nil {
		return res, runID, fmt.Errorf("workflow %s run %s ended without a report (catsync audit shows what it recorded): %w", workflowID, runID, err)
	}
	return res, runID, nil
}

// runReport is the JSON form of a report of a run: its conflicts or its
// key parity (docs/cli-json.md).
type runReport[R any] struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	Store      string `json:"store"`
	Type       string `json:"type"`
	Outcome    string `json:"outcome"`
	Report     R      `json:"report"`
}

func newRunReport[R any](workflowID, runID string, res *workflows.SyncResult, r R) runReport[R] {
	return runReport[R]{WorkflowID: workflowID, RunID: runID, Store: res.Store, Type: string(res.Type), Outcome: res.Outcome, Report: r}
}

// errorText is what the CLI prints of an error. A failed run reaches it as
// the SDK's chain (workflow execution error, activity error, then an
// application, timeout, canceled or terminated error) whose text repeats
// every layer's ids and retry flags around the message: it is told as the
// innermost message, once, then one line per fact.
func errorText(err error) string {
	var run *temporal.WorkflowExecutionError
	if !errors.As(err, &run) {
		return err.Error()
	}
	// What the CLI said of the run, such as "sync of DS_PROD failed: ".
	said, ok := strings.CutSuffix(err.Error(), run.Error())
	if !ok {
		said = ""
	}
	var msg string
	var facts [][2]string
	if act, ok := innermost[*temporal.ActivityError](run); ok {
		at := act.ActivityType().GetName()
		if id := act.Identity(); id != "" {
			at += " on worker " + id
		}
		facts = append(facts, [2]string{"activity", at})
		switch rs := act.RetryState(); rs {
		case enumspb.RETRY_STATE_UNSPECIFIED, enumspb.RETRY_STATE_IN_PROGRESS, enumspb.RETRY_STATE_NON_RETRYABLE_FAILURE:
		default:
			facts = append(facts, [2]string{"retries", words(rs.String())})
		}
	}
	if app, ok := innermost[*temporal.ApplicationError](run); ok {
		msg = app.Message()
		var kind []string
		if t := app.Type(); t != "" {
			kind = append(kind, t)
		}
		if app.NonRetryable() {
			kind = append(kind, "not retried")
		}
		if len(kind) > 0 {
			facts = append(facts, [2]string{"error", strings.Join(kind, ", ")})
		}
	}
	if timeout, ok := innermost[*temporal.TimeoutError](run); ok {
		msg = cmp.Or(msg, timeout.Message())
		facts = append(facts, [2]string{"timeout", words(timeout.TimeoutType().String())})
	}
	if canceled, ok := innermost[*temporal.CanceledError](run); ok {
		msg = cmp.Or(msg, canceled.Error(), "canceled")
	}
	if terminated, ok := innermost[*temporal.TerminatedError](run); ok {
		msg = cmp.Or(msg, terminated.Error())
	}
	if msg == "" {
		msg = run.Error()
	}
	var b strings.Builder
	b.WriteString(said + msg)
	for _, f := range facts {
		fmt.Fprintf(&b, "\n  %-9s %s", f[0]+":", f[1])
	}
	return b.String()
}

// innermost is the last error of type T down err's chain.
func innermost[T error](err error) (last T, found bool) {
	var t T
	for errors.As(err, &t) {
		last, found, err = t, true, errors.Unwrap(t)
	}
	return last, found
}

// words spells an enum's name (MaximumAttemptsReached) as words.
func words(name string) string {
	var b strings.Builder
	for i, r := range name {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
