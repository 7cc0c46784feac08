package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/workflows"
)

func (c *cli) drillCmd() *cobra.Command {
	var storeID, operator string
	var sample int
	var budget time.Duration
	var wait bool
	imp := &importFlags{}
	cmd := &cobra.Command{
		Use:   "drill --store ID [--catalogfiles yes|no] [--sample N] [--budget 10m] [--wait]",
		Short: "Start a DR drill of one data store: import, verify, key parity, a large restore test",
		Long: `Starts the DRDrill workflow for a data store: an UPDATE import (a CatalogSync) with a
restore test of a large sample (--sample, default ` + fmt.Sprint(workflows.DrillSample) + ` volumes, within --budget if given),
then a verification: a FULL snapshot of the primary planned against the secondary, applying
nothing, with the key parity of every encrypted volume of the store. The secondary's data
store stays SECONDARY. The drill report (findings, fraction of volumes verified
restorable, RPO now) is in the run's result and memo and in the audit trail. With --wait,
prints the report and exits 1 when the drill found anything.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if storeID == "" {
				return fmt.Errorf("--store is required: name the data store to drill")
			}
			if sample < 0 {
				return fmt.Errorf("--sample %d: want a number of volumes, 0 for the default", sample)
			}
			if budget < 0 {
				return fmt.Errorf("--budget %s: want a positive duration, 0 for none", budget)
			}
			if err := imp.parse(); err != nil {
				return err
			}
			cfg, tc, err := connect(cmd.Context())
			if err != nil {
				return err
			}
			defer tc.Close()
			in := workflows.DrillInput{Store: storeID, Primary: cfg.Primary.Name, Secondary: cfg.Secondary.Name,
				CatalogFiles: imp.catalogFiles, NodePairs: imp.pairs, RestoreSample: sample, RestoreBudget: budget, Operator: operator}
			run, err := workflows.StartDrill(cmd.Context(), tc, in)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.errOut, "workflow %s run %s\nWeb UI: %s\n", run.GetID(), run.GetRunID(), runURL(cfg, run))
			if !wait {
				return nil
			}
			var res workflows.DrillResult
			if err := run.Get(cmd.Context(), &res); err != nil {
				return fmt.Errorf("drill of %s failed: %w", storeID, err)
			}
			printDrill(c, &res)
			if res.Outcome != workflows.OutcomeDrillPassed {
				return fmt.Errorf("drill of %s: %d findings", storeID, len(res.Findings))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&storeID, "store", "", "data store id (required)")
	imp.bind(cmd, "import and verify DISKFILE entries: yes or no", `node pairs rewriting DISKFILE names, e.g. '\PRIM=\PRIMDR'`)
	cmd.Flags().IntVar(&sample, "sample", 0, fmt.Sprintf("volumes the restore test samples (default %d)", workflows.DrillSample))
	cmd.Flags().DurationVar(&budget, "budget", 0, "time the restore test may take (0: no limit)")
	cmd.Flags().StringVar(&operator, "operator", os.Getenv("USER"), "who runs the drill, for the audit trail (USER's value by default)")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the drill and print its report")
	return cmd
}

// printDrill prints a drill's report: outcome, each step, findings.
func printDrill(c *cli, r *workflows.DrillResult) {
	fmt.Fprintf(c.out, "%s of %s in %s\n", r.Outcome, r.Store, r.Finished.Sub(r.Started).Round(time.Millisecond))
	if u := r.Update; u != nil {
		fmt.Fprintf(c.out, "import:       %s\n", u.Summary())
		fmt.Fprintf(c.out, "restore test: %s\n", u.Restore.Summary())
	}
	if v := r.Verify; v != nil {
		fmt.Fprintf(c.out, "verification: %s\n", v.Summary())
	}
	if r.RPO != nil {
		fmt.Fprintf(c.out, "RPO now:      %s\n", r.RPO.Round(time.Second))
	}
	for _, f := range r.Findings {
		fmt.Fprintf(c.out, "FINDING: %s\n", cell(f))
	}
}
