package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/store"
)

// auditRecord is one line of `audit --json` (docs/cli-json.md).
type auditRecord struct {
	Seq   int64       `json:"seq"`
	Hash  string      `json:"hash"`
	Entry audit.Entry `json:"entry"`
}

func (c *cli) auditCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "audit --catalog SECONDARY",
		Short: "List the sync runs recorded in a secondary's audit trail and verify its hash chain",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			enc := json.NewEncoder(c.out)
			var tb *table
			if !asJSON {
				tb = newTable(c.out, 0, "SEQ", "FINISHED", "STORE", "TYPE", "OUTCOME", "CHANGES", "CONFLICTS", "KEYS", "RUN", "ERROR")
			}
			n, err := audit.Verify(cmd.Context(), st, func(r store.AuditRecord, e audit.Entry) error {
				if asJSON {
					return enc.Encode(auditRecord{r.Seq, r.Hash, e})
				}
				conflicts, keys := 0, "-"
				if e.Conflicts != nil {
					conflicts = e.Conflicts.Total
				}
				if k := e.Keys; k != nil {
					keys = fmt.Sprintf("%d/%d", k.OK, k.Volumes) // in parity of those checked
				}
				tb.row(r.Seq, e.Finished.Format("2006-01-02 15:04:05"), e.Store, e.Type, e.Outcome,
					importer.Counts(e.Counts).Changed(), conflicts, keys, e.RunID, e.Error)
				return nil
			})
			if tb != nil {
				if ferr := tb.flush(); err == nil {
					err = ferr
				}
			}
			if err != nil {
				return err
			}
			if !asJSON {
				fmt.Fprintf(c.out, "%d records, hash chain intact\n", n)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print records as JSON lines")
	return cmd
}
