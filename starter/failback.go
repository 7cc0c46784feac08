package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/catsync/catsync/workflows"
)

func (c *cli) failbackCmd() *cobra.Command {
	var storeID, operator, reason string
	var approve, refuse bool
	var approvalTimeout, budget time.Duration
	var sample int
	imp := &importFlags{}
	cmd := &cobra.Command{
		Use:   "failback --store ID [--approve|--refuse --operator NAME --reason TEXT]",
		Short: "Give a failed-over data store back to the primary: sync it back, verify, ask, switch the roles",
		Long: `Starts (or joins) the DRFailback workflow of a data store failed over to the secondary
(CATSYNC_SECONDARY_NAME) while the primary (CATSYNC_PRIMARY_NAME) was lost. The primary's
data store becomes SECONDARY (its volume groups receiving the entries of the secondary's
groups of the same names), a FULL sync from the secondary brings it in step with every
safety check, key parity and a restore test, and a verification proves it: nothing
written at the secondary during the outage is lost. Then it shows its findings and asks
to switch the roles back: approve, and the secondary's store becomes SECONDARY again,
the primary's PRIMARY, the store's schedules are resumed and the first direction is
verified; refuse, or leave it for --approval-timeout, and the store stays with the
secondary, the primary in step as its secondary. The primary's site must know the
secondary's BackPak id (a key-manager entry) to read the keys of volumes written there.
--node-map rewrites DISKFILE names from the secondary to the primary.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case storeID == "":
				return fmt.Errorf("--store is required: name the data store to fail back")
			case approve && refuse:
				return fmt.Errorf("--approve and --refuse: give one answer")
			case (approve || refuse) && strings.TrimSpace(reason) == "":
				return fmt.Errorf("--reason is required with --approve or --refuse: the audit trail keeps why")
			}
			if operator == "" {
				operator = os.Getenv("USER")
			}
			if strings.TrimSpace(operator) == "" {
				return fmt.Errorf("--operator is required: name who answers (USER is not set)")
			}
			if err := imp.parse(); err != nil {
				return err
			}
			cfg, tc, err := connect(cmd.Context())
			if err != nil {
				return err
			}
			defer tc.Close()
			in := workflows.FailbackInput{Store: storeID, Returning: cfg.Primary.Name, Owner: cfg.Secondary.Name, CatalogFiles: imp.catalogFiles,
				NodePairs: imp.pairs, ApprovalTimeout: approvalTimeout, RestoreSample: sample, RestoreBudget: budget}
			if approve || refuse {
				in.Approval = &workflows.Approval{Approve: approve, Operator: operator, Reason: reason}
			}
			run, err := tc.ExecuteWorkflow(cmd.Context(), client.StartWorkflowOptions{ID: workflows.FailbackID(storeID), TaskQueue: workflows.TaskQueue,
				WorkflowExecutionErrorWhenAlreadyStarted: true}, workflows.DRFailback, in)
			joined := false
			var started *serviceerror.WorkflowExecutionAlreadyStarted
			if errors.As(err, &started) {
				run, joined, err = tc.GetWorkflow(cmd.Context(), workflows.FailbackID(storeID), started.RunId), true, nil
			}
			if err != nil {
				return err
			}
			verb := "started"
			if joined {
				verb = "joined the running"
			}
			fmt.Fprintf(c.errOut, "%s failback %s run %s\nWeb UI: %s\n", verb, run.GetID(), run.GetRunID(), runURL(cfg, run))
			if in.Approval == nil || joined {
				question := fmt.Sprintf("Switch the roles back: data store %s PRIMARY at %s again, SECONDARY at %s, its schedules resumed", storeID, in.Returning, in.Owner)
				if err := c.askApproval(cmd.Context(), tc, run, storeID, operator, reason, in.Approval, func(v converter.EncodedValue) (asked, error) {
					var r workflows.FailbackResult
					err := v.Get(&r)
					return asked{what: "failback", question: question, waiting: func() bool { return r.Outcome == workflows.OutcomeAwaitingApproval },
						ended: func() bool { return r.Finished.After(r.Started) }, print: func(w io.Writer) { printFailback(w, &r) }}, err
				}); err != nil {
					return err
				}
			}
			var res workflows.FailbackResult
			if err := run.Get(cmd.Context(), &res); err != nil {
				return fmt.Errorf("failback of %s failed: %w", storeID, err)
			}
			printFailback(c.out, &res)
			if res.Outcome != workflows.OutcomeFailedBack {
				return fmt.Errorf("failback of %s ended %s: the store stays with %s", storeID, res.Outcome, in.Owner)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&storeID, "store", "", "data store id (required)")
	imp.bind(cmd, "sync and verify DISKFILE entries: yes or no", `node pairs rewriting DISKFILE names from the secondary to the primary, e.g. '\PRIMDR=\PRIM'`)
	cmd.Flags().BoolVar(&approve, "approve", false, "approve the switch of roles without asking (unattended use)")
	cmd.Flags().BoolVar(&refuse, "refuse", false, "refuse the switch of roles without asking")
	cmd.Flags().StringVar(&operator, "operator", "", "who answers (default $USER)")
	cmd.Flags().StringVar(&reason, "reason", "", "why: kept in the audit trail (asked for when missing)")
	cmd.Flags().DurationVar(&approvalTimeout, "approval-timeout", workflows.DefaultApprovalTimeout, "how long the failback waits for an answer")
	cmd.Flags().IntVar(&sample, "sample", 0, fmt.Sprintf("volumes the restore test samples (default %d)", workflows.DrillSample))
	cmd.Flags().DurationVar(&budget, "budget", 0, "time the restore test may take (0: no limit)")
	return cmd
}

// printFailback prints a failback's report.
func printFailback(w io.Writer, r *workflows.FailbackResult) {
	fmt.Fprintln(w, r.Summary())
	if d := r.Demoted; d != nil {
		fmt.Fprintf(w, "demoted:      data store %s and %d volumes SECONDARY at the returning site", d.Store, d.Volumes)
		if len(d.Mapped) > 0 {
			fmt.Fprintf(w, ", volume groups %s mapped", strings.Join(d.Mapped, ", "))
		}
		fmt.Fprintln(w)
	}
	if s := r.Back; s != nil {
		fmt.Fprintf(w, "sync back:    %s\n", s.Summary())
		fmt.Fprintf(w, "restore test: %s\n", s.Restore.Summary())
	}
	if v := r.Verify; v != nil {
		fmt.Fprintf(w, "verification: %s\n", v.Summary())
	}
	if p := r.Promoted; p != nil {
		fmt.Fprintf(w, "promoted:     data store %s and %d volumes PRIMARY at the returning site\n", p.Store, p.Volumes)
	}
	if d := r.Released; d != nil {
		fmt.Fprintf(w, "released:     data store %s and %d volumes SECONDARY at the DR site\n", d.Store, d.Volumes)
	}
	for _, id := range r.Resumed {
		fmt.Fprintf(w, "resumed:      schedule %s\n", id)
	}
	if f := r.Forward; f != nil {
		fmt.Fprintf(w, "first direction: %s\n", f.Summary())
	}
	for _, f := range r.Findings {
		fmt.Fprintf(w, "FINDING: %s\n", cell(f))
	}
}
