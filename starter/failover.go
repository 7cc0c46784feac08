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

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/workflows"
)

// stdin is where the CLI reads an operator's answers; tests replace it.
var stdin io.Reader = os.Stdin

func (c *cli) failoverCmd() *cobra.Command {
	var storeID, running string
	ans := &answerFlags{}
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
			case running != workflows.RunningWait && running != workflows.RunningCancel:
				return fmt.Errorf("--running %q: want wait or cancel", running)
			}
			given, err := ans.parse()
			if err != nil {
				return err
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
				Running: running, RestoreSample: sample, RestoreBudget: budget, Approval: given}
			run, joined, err := c.startOrJoin(cmd.Context(), cfg, tc, "failover", workflows.FailoverID(storeID), workflows.DRFailover, in)
			if err != nil {
				return err
			}
			if given == nil || joined {
				if err := c.askApproval(cmd.Context(), tc, run, storeID, ans, given, func(v converter.EncodedValue) (asked, error) {
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
	ans.bind(cmd, "the promotion")
	cmd.Flags().StringVar(&running, "running", workflows.RunningWait, "an import of the store that is running: wait for it, or cancel it")
	cmd.Flags().DurationVar(&primaryTimeout, "primary-timeout", workflows.DefaultPrimaryTimeout, "how long the primary's worker has to answer")
	cmd.Flags().DurationVar(&approvalTimeout, "approval-timeout", workflows.DefaultApprovalTimeout, "how long the failover waits for an answer")
	cmd.Flags().IntVar(&sample, "sample", 0, fmt.Sprintf("volumes the restore test samples (default %d)", workflows.DrillSample))
	cmd.Flags().DurationVar(&budget, "budget", 0, "time the restore test may take (0: no limit)")
	return cmd
}

// answerFlags are an operator's answer to a run that asks for approval:
// --approve or --refuse for unattended use, who answers and why.
type answerFlags struct {
	approve, refuse  bool
	operator, reason string
}

func (f *answerFlags) bind(cmd *cobra.Command, what string) {
	cmd.Flags().BoolVar(&f.approve, "approve", false, "approve "+what+" without asking (unattended use)")
	cmd.Flags().BoolVar(&f.refuse, "refuse", false, "refuse "+what+" without asking")
	cmd.Flags().StringVar(&f.operator, "operator", "", "who answers (default $USER)")
	cmd.Flags().StringVar(&f.reason, "reason", "", "why: kept in the audit trail (asked for when missing)")
}

// parse checks the flags, naming the one at fault, and returns the answer
// they give: nil when the operator is to be asked.
func (f *answerFlags) parse() (*workflows.Approval, error) {
	switch {
	case f.approve && f.refuse:
		return nil, fmt.Errorf("--approve and --refuse: give one answer")
	case (f.approve || f.refuse) && strings.TrimSpace(f.reason) == "":
		return nil, fmt.Errorf("--reason is required with --approve or --refuse: the audit trail keeps why")
	}
	if f.operator == "" {
		f.operator = os.Getenv("USER")
	}
	if strings.TrimSpace(f.operator) == "" {
		return nil, fmt.Errorf("--operator is required: name who answers (USER is not set)")
	}
	if !f.approve && !f.refuse {
		return nil, nil
	}
	return &workflows.Approval{Approve: f.approve, Operator: f.operator, Reason: f.reason}, nil
}

// startOrJoin starts workflow wf under id, or joins the run of id already
// under way (one failover or failback of a store at a time), and says
// which, with the run's page in the Web UI.
func (c *cli) startOrJoin(ctx context.Context, cfg *config.Config, tc client.Client, what, id string, wf, in any) (client.WorkflowRun, bool, error) {
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue,
		WorkflowExecutionErrorWhenAlreadyStarted: true}, wf, in)
	joined := false
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		run, joined, err = tc.GetWorkflow(ctx, id, started.RunId), true, nil
	}
	if err != nil {
		return nil, false, err
	}
	verb := "started"
	if joined {
		verb = "joined the running"
	}
	fmt.Fprintf(c.errOut, "%s %s %s run %s\nWeb UI: %s\n", verb, what, run.GetID(), run.GetRunID(), runURL(cfg, run))
	return run, joined, nil
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
func (c *cli) askApproval(ctx context.Context, tc client.Client, run client.WorkflowRun, storeID string, ans *answerFlags, given *workflows.Approval,
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
			ap = &workflows.Approval{Approve: true, Operator: ans.operator, Reason: ans.reason}
		case strings.EqualFold(answer, "no"):
			ap = &workflows.Approval{Approve: false, Operator: ans.operator, Reason: ans.reason}
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
