package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/store"
)

func (c *cli) checkCmd() *cobra.Command {
	return c.importCmd("check --store ID",
		"Check that a data store can be imported safely; exit 1 on any problem or conflict",
		`Checks the configuration rules of an import (data store access on both sides, one
system search list, every primary volume group mapped, no replicated entries in catalogs
the secondary's local backups use), then every volume set of the store on the primary
as a FULL import would receive it (labels, FILEIDs, DSM/TC invariants). Writes nothing
and lists every conflict.`,
		"print problems and conflicts as JSON lines", false, c.check)
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
