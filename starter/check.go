package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/workflows"
)

func (c *cli) checkCmd() *cobra.Command {
	return c.twoSiteCmd("check --store ID",
		"Check that a data store can be imported safely; exit 1 on any problem or conflict",
		`Checks the configuration rules of an import (data store access on both sides, one
system search list, every primary volume group mapped, no replicated entries in catalogs
the secondary's local backups use), then every volume set of the store on the primary
as a FULL import would receive it (labels, FILEIDs, DSM/TC invariants). Writes nothing
and lists every conflict.`,
		"print problems and conflicts as JSON lines", c.check)
}

func (c *cli) check(ctx context.Context, p, s store.Store, opts importer.Options, asJSON bool) error {
	enc := json.NewEncoder(c.out)
	var report safety.Report
	problems, sets, err := importer.CheckStore(ctx, p, s, opts, func(cs []safety.Conflict) error {
		report.Add(cs)
		for _, cf := range cs {
			if !asJSON {
				printConflict(c.out, cf)
			} else if err := enc.Encode(cf); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, pr := range problems {
		if asJSON {
			if err := enc.Encode(pr); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(c.out, "%s\n  %s\n  rule: %s\n  do:   %s\n", pr.Rule, pr.Detail, safety.Rules[pr.Rule].Explain, safety.Rules[pr.Rule].Action)
	}
	switch {
	case len(problems) > 0:
		return fmt.Errorf("data store %s cannot be imported safely: %d configuration problems", opts.StoreID, len(problems))
	case report.Total > 0:
		return fmt.Errorf("data store %s: %d conflicts in %d of %d volume sets", opts.StoreID, report.Total, report.Sets, sets)
	}
	if !asJSON {
		fmt.Fprintf(c.out, "safe: configuration sound, %d volume sets of %s without conflict\n", sets, opts.StoreID)
	}
	return nil
}

// printConflict prints one conflict for an operator: what, where, why, and
// what to do.
func printConflict(w io.Writer, cf safety.Conflict) {
	fmt.Fprintf(w, "volume set %s, label %s: %s\n  %s\n  where: %s\n  rule:  %s\n  do:    %s\n",
		cf.Set, cf.Label, cf.Rule, cf.Detail, cf.Where, safety.Rules[cf.Rule].Explain, cf.Action)
}

func (c *cli) conflictsCmd() *cobra.Command {
	return c.runReportCmd("conflicts WORKFLOW_ID", "Print the conflict report of a finished sync",
		`Prints the volume sets a sync left out (or, with --strict, that made it apply
nothing) because they break a safety rule: the label, the rule, where it collides and
what to do.`, c.conflicts)
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
			cfg, err := config.Load()
			if err != nil {
				return err
			}
			tc, err := client.DialContext(cmd.Context(), client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace})
			if err != nil {
				return fmt.Errorf("connect to Temporal at %s (TEMPORAL_ADDRESS): %w", cfg.TemporalAddress, err)
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
// key parity.
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

func (c *cli) conflicts(workflowID, runID string, res *workflows.SyncResult, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(c.out).Encode(newRunReport(workflowID, runID, res, res.Conflicts))
	}
	r := &res.Conflicts
	fmt.Fprintf(c.out, "%s of %s, workflow %s run %s: %s\n", res.Type, res.Store, workflowID, runID, res.Outcome)
	if r.Total == 0 {
		fmt.Fprintln(c.out, "no conflicts")
		return nil
	}
	fmt.Fprintln(c.out, r.Summary())
	for _, cf := range r.Conflicts {
		printConflict(c.out, cf)
	}
	if n := r.Unlisted(); n > 0 {
		fmt.Fprintf(c.out, "%d more conflicts not listed: catsync check --store %s lists them all\n", n, res.Store)
	}
	return nil
}
