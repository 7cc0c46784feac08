package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/converter"

	"github.com/catsync/catsync/workflows"
)

func (c *cli) failbackCmd() *cobra.Command {
	var storeID string
	ans := &answerFlags{}
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
			if storeID == "" {
				return fmt.Errorf("--store is required: name the data store to fail back")
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
			in := workflows.FailbackInput{Store: storeID, Returning: cfg.Primary.Name, Owner: cfg.Secondary.Name, CatalogFiles: imp.catalogFiles,
				NodePairs: imp.pairs, ApprovalTimeout: approvalTimeout, RestoreSample: sample, RestoreBudget: budget, Approval: given}
			run, joined, err := c.startOrJoin(cmd.Context(), cfg, tc, "failback", workflows.FailbackID(storeID), workflows.DRFailback, in)
			if err != nil {
				return err
			}
			if given == nil || joined {
				question := fmt.Sprintf("Switch the roles back: data store %s PRIMARY at %s again, SECONDARY at %s, its schedules resumed", storeID, in.Returning, in.Owner)
				if err := c.askApproval(cmd.Context(), tc, run, storeID, ans, given, func(v converter.EncodedValue) (asked, error) {
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
	ans.bind(cmd, "the switch of roles")
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
