package main

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/workflows"
)

func (c *cli) syncCmd() *cobra.Command {
	var storeID, typ, keyParity string
	var wait, strict bool
	imp := &importFlags{}
	cmd := &cobra.Command{
		Use:   "sync --store ID --type update|full --catalogfiles yes|no [--strict] [--key-parity report|fail] [--wait]",
		Short: "Start a CatalogSync of one data store from the primary site to the secondary",
		Long: `Starts the CatalogSync workflow for a data store, as BB027_IMPORT_CATALOG does:
TYPE UPDATE imports the volume sets changed since the last import, TYPE FULL every
volume of the store (and deletes what the primary no longer has). A volume set that
breaks a safety rule is left out and reported (catsync conflicts); with --strict any
conflict makes the run apply nothing. Then the secondary proves it holds the key of
every encrypted volume of the snapshot (catsync keys); a failure ends the run
KeyParityFailed, or with --key-parity fail fails it. Temporal and the
site names come from TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, CATSYNC_PRIMARY_NAME and
CATSYNC_SECONDARY_NAME.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, err := syncInput(storeID, typ, imp)
			if err != nil {
				return err
			}
			if keyParity != workflows.ParityReport && keyParity != workflows.ParityFail {
				return fmt.Errorf("--key-parity %q: want report or fail", keyParity)
			}
			cfg, tc, err := connect(cmd.Context())
			if err != nil {
				return err
			}
			defer tc.Close()
			in.Primary, in.Secondary, in.Strict, in.KeyParity = cfg.Primary.Name, cfg.Secondary.Name, strict, keyParity
			run, err := workflows.StartSync(cmd.Context(), tc, in)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.out, "workflow %s run %s\n", run.GetID(), run.GetRunID())
			fmt.Fprintf(c.out, "Web UI: %s\n", runURL(cfg, run))
			if !wait {
				return nil
			}
			res, err := waitSync(cmd.Context(), tc, run, in, cmd.ErrOrStderr())
			if err != nil {
				return fmt.Errorf("sync of %s failed: %w", in.Store, err)
			}
			printSummary(c, &res)
			if res.Outcome != workflows.OutcomeCompleted {
				return fmt.Errorf("sync of %s ended %s", in.Store, res.Outcome)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&storeID, "store", "", "data store id (required)")
	cmd.Flags().StringVar(&typ, "type", "update", "update or full")
	imp.bind(cmd, "import DISKFILE entries: yes or no", `node pairs rewriting DISKFILE names, e.g. '\PRIM=\PRIMDR'`)
	cmd.Flags().BoolVar(&strict, "strict", false, "apply nothing if any volume set is in conflict")
	cmd.Flags().StringVar(&keyParity, "key-parity", workflows.ParityReport, "when a key is not in parity: report (outcome KeyParityFailed) or fail the run")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the sync and print its summary")
	return cmd
}

// runURL is a run's page in the Temporal Web UI.
func runURL(cfg *config.Config, run client.WorkflowRun) string {
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s", strings.TrimSuffix(cfg.UI, "/"), url.PathEscape(cfg.TemporalNamespace),
		url.PathEscape(run.GetID()), run.GetRunID())
}

// syncInput checks the flags of a sync, naming the one at fault.
func syncInput(storeID, typ string, imp *importFlags) (workflows.SyncInput, error) {
	var in workflows.SyncInput
	if storeID == "" {
		return in, fmt.Errorf("--store is required: name the data store to sync")
	}
	t := snapshot.Type(strings.ToUpper(typ))
	if t != snapshot.Update && t != snapshot.Full {
		return in, fmt.Errorf("--type %q: want update or full", typ)
	}
	if err := imp.parse(); err != nil {
		return in, err
	}
	return workflows.SyncInput{Store: storeID, Type: t, CatalogFiles: imp.catalogFiles, NodePairs: imp.pairs}, nil
}

// printSummary prints a finished run: outcome, duration, and per entity the
// records created, updated, deleted and unchanged.
func printSummary(c *cli, res *workflows.SyncResult) {
	fmt.Fprintf(c.out, "%s %s of %s in %s: snapshot %s covers changes (%d, %d], %d volume sets\n", res.Outcome, res.Type,
		res.Store, res.Finished.Sub(res.Started).Round(time.Millisecond), res.Snapshot.ID, res.Snapshot.FromSeq,
		res.Snapshot.ToSeq, res.Snapshot.Sets)
	entities := map[string]map[string]int64{}
	for k, v := range res.Applied.Counts {
		e, action, _ := strings.Cut(k, ".")
		if entities[e] == nil {
			entities[e] = map[string]int64{}
		}
		entities[e][action] += v
	}
	names := make([]string, 0, len(entities))
	for e := range entities {
		names = append(names, e)
	}
	slices.Sort(names)
	tb := newTable(c.out, tabwriter.AlignRight, "ENTITY", "CREATE", "UPDATE", "DELETE", "UNCHANGED", "DEFERRED")
	for _, e := range names {
		a := entities[e]
		tb.row(strings.ToUpper(e), a["create"], a["update"], a["delete"], a["unchanged"], a["deferred"])
	}
	tb.flush()
	for _, f := range res.Applied.Failed {
		fmt.Fprintf(c.out, "FAILED volume set %s: %s\n", cell(f.Set), cell(f.Error))
	}
	if r := &res.Conflicts; r.Total > 0 {
		fmt.Fprintf(c.out, "CONFLICTS: %s; catsync conflicts %s prints the report\n", r.Summary(), workflows.SyncID(res.Store))
	}
	if r := &res.Keys; r.Failed() {
		fmt.Fprintf(c.out, "KEYS: %s; catsync keys %s prints the report\n", r.Summary(), workflows.SyncID(res.Store))
	} else if r.Volumes > 0 {
		fmt.Fprintf(c.out, "keys: %s\n", r.Summary())
	}
	if r := &res.Restore; r.Sampled > 0 || r.Skipped != "" {
		fmt.Fprintf(c.out, "restore test: %s\n", r.Summary())
		for _, v := range r.Verdicts {
			if v.Problem != "" {
				fmt.Fprintf(c.out, "NOT RESTORABLE: %s\n", cell(v.String()))
			}
		}
	}
	fmt.Fprintf(c.out, "watermark %d", res.Watermark.Seq)
	if res.Watermark.Reimport {
		fmt.Fprint(c.out, " (the next UPDATE re-imports every volume)")
	}
	fmt.Fprintln(c.out)
}
