package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/serve"
	"github.com/catsync/catsync/workflows"
)

// connect reads the configuration of a command that talks to Temporal and
// dials it as the worker does.
func connect(ctx context.Context) (*config.Config, client.Client, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, nil, err
	}
	tc, err := serve.Dial(ctx, cfg, nil)
	if err != nil {
		return nil, nil, err
	}
	return cfg, tc, nil
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
