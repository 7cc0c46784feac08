package main

import (
	"bufio"
	"context"
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

// stdin is where the CLI reads an operator's answers; tests replace it.
var stdin io.Reader = os.Stdin

func (c *cli) failoverCmd() *cobra.Command {
	var storeID, operator, reason, running string
	var approve, refuse bool
	var primaryTimeout, approvalTimeout, budget time.Duration
	var sample int
	imp := &importFlags{}
	cmd := &cobra.Command{
		Use:   "failover --store ID [--approve|--refuse --operator NAME --reason TEXT] [--running wait|cancel]",
		Short: "Fail a data store over to the secondary: prove it, ask for approval, promote it",
		Long: `Starts (or joins, when one is running) the DRFailover workflow of a data store. It waits for
an import of the store that is running (--running cancel cancels it), runs a final UPDATE
import and a verification if the primary's worker answers within --primary-timeout (else
proves what the secondary already holds, and says so), proves key parity and restores a
sample, then shows its findings and asks: approve, and the secondary's data store and its
volumes become PRIMARY and the store's schedules are paused; refuse, or leave it unanswered
for --approval-timeout, and nothing changes. --approve or --refuse answers without asking
(unattended use). The answer carries the operator's name (--operator, default $USER) and
a reason (--reason, asked for when missing); the audit trail keeps both, with the RPO
and RTO the failover measured.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case storeID == "":
				return fmt.Errorf("--store is required: name the data store to fail over")
			case approve && refuse:
				return fmt.Errorf("--approve and --refuse: give one answer")
			case running != workflows.RunningWait && running != workflows.RunningCancel:
				return fmt.Errorf("--running %q: want wait or cancel", running)
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
			in := workflows.FailoverInput{Store: storeID, Primary: cfg.Primary.Name, Secondary: cfg.Secondary.Name,
				CatalogFiles: imp.catalogFiles, NodePairs: imp.pairs, PrimaryTimeout: primaryTimeout, ApprovalTimeout: approvalTimeout,
				Running: running, RestoreSample: sample, RestoreBudget: budget}
			if approve || refuse {
				in.Approval = &workflows.Approval{Approve: approve, Operator: operator, Reason: reason}
			}
			run, joined, err := startFailover(cmd.Context(), tc, in)
			if err != nil {
				return err
			}
			verb := "started"
			if joined {
				verb = "joined the running"
			}
			fmt.Fprintf(c.errOut, "%s failover %s run %s\nWeb UI: %s\n", verb, run.GetID(), run.GetRunID(), runURL(cfg, run))
			if in.Approval == nil || joined {
				if err := c.askApproval(cmd.Context(), tc, run, storeID, operator, reason, in.Approval, func(v converter.EncodedValue) (asked, error) {
					var r workflows.FailoverResult
					err := v.Get(&r)
					return asked{what: "failover", question: "Promote the secondary's data store " + storeID + " and its volumes to PRIMARY, and pause its schedules",
						waiting: func() bool { return r.Outcome == workflows.OutcomeAwaitingApproval },
						ended:   func() bool { return r.Finished.After(r.Started) }, print: func(w io.Writer) { printFailover(w, &r) }}, err
				}); err != nil {
					return err
				}
			}
			var res workflows.FailoverResult
			if err := run.Get(cmd.Context(), &res); err != nil {
				return fmt.Errorf("failover of %s failed: %w", storeID, err)
			}
			printFailover(c.out, &res)
			if res.Outcome != workflows.OutcomeFailedOver {
				return fmt.Errorf("failover of %s ended %s: nothing was changed", storeID, res.Outcome)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&storeID, "store", "", "data store id (required)")
	imp.bind(cmd, "import and verify DISKFILE entries: yes or no", `node pairs rewriting DISKFILE names, e.g. '\PRIM=\PRIMDR'`)
	cmd.Flags().BoolVar(&approve, "approve", false, "approve the promotion without asking (unattended use)")
	cmd.Flags().BoolVar(&refuse, "refuse", false, "refuse the promotion without asking")
	cmd.Flags().StringVar(&operator, "operator", "", "who answers (default $USER)")
	cmd.Flags().StringVar(&reason, "reason", "", "why: kept in the audit trail (asked for when missing)")
	cmd.Flags().StringVar(&running, "running", workflows.RunningWait, "an import of the store that is running: wait for it, or cancel it")
	cmd.Flags().DurationVar(&primaryTimeout, "primary-timeout", workflows.DefaultPrimaryTimeout, "how long the primary's worker has to answer")
	cmd.Flags().DurationVar(&approvalTimeout, "approval-timeout", workflows.DefaultApprovalTimeout, "how long the failover waits for an answer")
	cmd.Flags().IntVar(&sample, "sample", 0, fmt.Sprintf("volumes the restore test samples (default %d)", workflows.DrillSample))
	cmd.Flags().DurationVar(&budget, "budget", 0, "time the restore test may take (0: no limit)")
	return cmd
}

// startFailover starts the failover of a store, or joins the one running.
func startFailover(ctx context.Context, tc client.Client, in workflows.FailoverInput) (client.WorkflowRun, bool, error) {
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.FailoverID(in.Store), TaskQueue: workflows.TaskQueue,
		WorkflowExecutionErrorWhenAlreadyStarted: true}, workflows.DRFailover, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return tc.GetWorkflow(ctx, workflows.FailoverID(in.Store), started.RunId), true, nil
	}
	return run, false, err
}

// asked is what an approval prompt needs of a run's report.
type asked struct {
	what     string // "failover", "failback"
	question string // the promotion asked for
	waiting  func() bool
	ended    func() bool
	print    func(io.Writer)
}

// askApproval waits until the run has its findings, shows them and sends
// the operator's answer: the one given, or the one typed. report decodes
// the run's report query into what the prompt needs.
func (c *cli) askApproval(ctx context.Context, tc client.Client, run client.WorkflowRun, storeID, operator, reason string, given *workflows.Approval,
	report func(converter.EncodedValue) (asked, error)) error {
	var rep asked
	for {
		v, err := tc.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.ReportQuery)
		if err == nil {
			if rep, err = report(v); err != nil {
				return err
			}
			if rep.waiting() || rep.ended() {
				break
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	if !rep.waiting() {
		return nil // answered already, or ended: its result says how
	}
	rep.print(c.errOut)
	ap := given
	if ap == nil {
		in := bufio.NewReader(stdin)
		fmt.Fprintf(c.errOut, "%s?\nType %s to approve, no to refuse: ", rep.question, storeID)
		answer, err := in.ReadString('\n')
		if err != nil && answer == "" {
			return fmt.Errorf("no answer read (%v): the %s still waits; answer with --approve or --refuse", err, rep.what)
		}
		answer = strings.TrimSpace(answer)
		switch {
		case answer == storeID:
			ap = &workflows.Approval{Approve: true, Operator: operator, Reason: reason}
		case strings.EqualFold(answer, "no"):
			ap = &workflows.Approval{Approve: false, Operator: operator, Reason: reason}
		default:
			return fmt.Errorf("answer %q is neither %s nor no: nothing sent, the %s still waits", answer, storeID, rep.what)
		}
		if strings.TrimSpace(ap.Reason) == "" {
			fmt.Fprint(c.errOut, "Reason (kept in the audit trail): ")
			r, _ := in.ReadString('\n')
			if ap.Reason = strings.TrimSpace(r); ap.Reason == "" {
				return fmt.Errorf("no reason given: nothing sent, the %s still waits", rep.what)
			}
		}
	}
	h, err := tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(),
		UpdateName: workflows.ApproveUpdate, Args: []any{*ap}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		return fmt.Errorf("answer not taken: %w", err)
	}
	var msg string
	if err := h.Get(ctx, &msg); err != nil {
		return fmt.Errorf("answer not taken: %w", err)
	}
	fmt.Fprintln(c.errOut, msg)
	return nil
}

// printFailover prints a failover's report.
func printFailover(w io.Writer, r *workflows.FailoverResult) {
	fmt.Fprintln(w, r.Summary())
	if u := r.Update; u != nil {
		fmt.Fprintf(w, "final import: %s\n", u.Summary())
		fmt.Fprintf(w, "restore test: %s\n", u.Restore.Summary())
	}
	if v := r.Verify; v != nil {
		fmt.Fprintf(w, "verification: %s\n", v.Summary())
	}
	for _, k := range r.Keys {
		fmt.Fprintf(w, "key parity:   staged snapshot %s: %s\n", k.Snapshot, k.Summary())
	}
	if r.Restore != nil {
		fmt.Fprintf(w, "restore test: %s\n", r.Restore.Summary())
	}
	if r.Promoted != nil {
		fmt.Fprintf(w, "promoted:     data store %s and %d volumes are PRIMARY\n", r.Promoted.Store, r.Promoted.Volumes)
	}
	for _, id := range r.Paused {
		fmt.Fprintf(w, "paused:       schedule %s\n", id)
	}
	for _, f := range r.Findings {
		fmt.Fprintf(w, "FINDING: %s\n", cell(f))
	}
}
