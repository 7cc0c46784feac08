package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/store"
)

func (c *cli) verifyCmd() *cobra.Command {
	return c.importCmd("verify --store ID",
		"Compare a data store on the primary, as imported, with the secondary; exit 1 on drift",
		`Reads every volume set of the data store on the primary, applies the import's
transformations (volume group, VOLCAT/POOL/FILECAT, node pairs) and compares the
result with the secondary, printing each difference. CATALOGFILES and the node
pairs are those of the store's last import, as the secondary recorded them,
unless --catalogfiles or --node-map say otherwise.`,
		"print differences as JSON lines", true, c.verify)
}

func (c *cli) verify(ctx context.Context, p, s store.Store, opts importer.Options, asJSON bool) error {
	drift := 0
	enc := json.NewEncoder(c.out)
	sets, err := importer.Verify(ctx, p, s, opts, func(d importer.Drift) error {
		if d.IsDrift() {
			drift++
		}
		if asJSON {
			return enc.Encode(d)
		}
		_, err := fmt.Fprintln(c.out, d)
		return err
	})
	if err != nil {
		return err
	}
	if drift > 0 {
		return fmt.Errorf("%d differences in data store %s (%d volume sets checked)", drift, opts.StoreID, sets)
	}
	if !asJSON {
		fmt.Fprintf(c.out, "no drift: %d volume sets of %s match\n", sets, opts.StoreID)
	}
	return nil
}
