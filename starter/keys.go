package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/workflows"
)

func (c *cli) keysCmd() *cobra.Command {
	return c.runReportCmd("keys WORKFLOW_ID", "Print the key-manager parity report of a finished sync",
		`Prints, for the encrypted volumes of a sync's snapshot, whether the secondary's key
manager holds their keys under the primary's BackPak id, active and with the fingerprint
the primary recorded: counts, and every missing, misfiled, inactive, mismatched or
unrecorded key by volume label and key name, with what to do.`, c.keys)
}

func (c *cli) keys(workflowID, runID string, res *workflows.SyncResult, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(c.out).Encode(newRunReport(workflowID, runID, res, res.Keys))
	}
	fmt.Fprintf(c.out, "%s of %s, workflow %s run %s: %s\n", res.Type, res.Store, workflowID, runID, res.Outcome)
	printParity(c.out, &res.Keys)
	return nil
}
