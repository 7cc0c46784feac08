package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/workflows"
)

func (c *cli) conflictsCmd() *cobra.Command {
	return c.runReportCmd("conflicts WORKFLOW_ID", "Print the conflict report of a finished sync",
		`Prints the volume sets a sync left out (or, with --strict, that made it apply
nothing) because they break a safety rule: the label, the rule, where it collides and
what to do.`, c.conflicts)
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
