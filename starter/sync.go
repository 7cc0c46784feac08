package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/workflows"
)

// parseYesNo parses the YES/NO values BackPak's macros take.
func parseYesNo(flag, v string) (bool, error) {
	switch strings.ToUpper(v) {
	case "YES", "Y":
		return true, nil
	case "NO", "N":
		return false, nil
	}
	return false, fmt.Errorf("--%s %q: want yes or no", flag, v)
}

func (c *cli) syncCmd() *cobra.Command {
	var storeID, typ, files, nodeMap, keyParity string
	var wait, strict bool
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
			in, err := syncInput(storeID, typ, files, nodeMap)
			if err != nil {
				return err
			}
			cfg, err := config.Load()
			if err != nil {
				return err
			}
			in.Primary, in.Secondary, in.Strict, in.KeyParity = cfg.Primary.Name, cfg.Secondary.Name, strict, keyParity
			if keyParity != workflows.ParityReport && keyParity != workflows.ParityFail {
				return fmt.Errorf("--key-parity %q: want report or fail", keyParity)
			}
			tc, err := client.DialContext(cmd.Context(), client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace})
			if err != nil {
				return fmt.Errorf("connect to Temporal at %s (TEMPORAL_ADDRESS): %w", cfg.TemporalAddress, err)
			}
			defer tc.Close()
			run, err := workflows.StartSync(cmd.Context(), tc, in)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.out, "workflow %s run %s\n", run.GetID(), run.GetRunID())
			fmt.Fprintf(c.out, "Web UI: %s/namespaces/%s/workflows/%s/%s\n", strings.TrimSuffix(cfg.UI, "/"),
				url.PathEscape(cfg.TemporalNamespace), url.PathEscape(run.GetID()), run.GetRunID())
			if !wait {
				return nil
			}
			var res workflows.SyncResult
			if err := run.Get(cmd.Context(), &res); err != nil {
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
	cmd.Flags().StringVar(&files, "catalogfiles", "yes", "import DISKFILE entries: yes or no")
	cmd.Flags().StringVar(&nodeMap, "node-map", "", `node pairs rewriting DISKFILE names, e.g. '\PRIM=\PRIMDR'`)
	cmd.Flags().BoolVar(&strict, "strict", false, "apply nothing if any volume set is in conflict")
	cmd.Flags().StringVar(&keyParity, "key-parity", workflows.ParityReport, "when a key is not in parity: report (outcome KeyParityFailed) or fail the run")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the sync and print its summary")
	return cmd
}

func syncInput(storeID, typ, files, nodeMap string) (workflows.SyncInput, error) {
	var in workflows.SyncInput
	if storeID == "" {
		return in, fmt.Errorf("--store is required: name the data store to sync")
	}
	t := snapshot.Type(strings.ToUpper(typ))
	if t != snapshot.Update && t != snapshot.Full {
		return in, fmt.Errorf("--type %q: want update or full", typ)
	}
	cf, err := parseYesNo("catalogfiles", files)
	if err != nil {
		return in, err
	}
	pairs, err := importer.ParseNodePairs(nodeMap)
	if err != nil {
		return in, fmt.Errorf("--node-map: %w", err)
	}
	return workflows.SyncInput{Store: storeID, Type: t, CatalogFiles: cf, NodePairs: pairs}, nil
}

// printSummary prints a finished run: outcome, duration, and per entity the
// records created, updated, deleted and unchanged.
func printSummary(c *cli, res *workflows.SyncResult) {
	fmt.Fprintf(c.out, "%s %s of %s in %s: snapshot %s covers changes (%d, %d], %d volume sets\n", res.Outcome, res.Type,
		res.Store, res.Finished.Sub(res.Started).Round(time.Millisecond), res.Snapshot.ID, res.Snapshot.FromSeq,
		res.Snapshot.ToSeq, res.Applied.Sets)
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
	tw := tabwriter.NewWriter(c.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ENTITY\tCREATE\tUPDATE\tDELETE\tUNCHANGED\tDEFERRED\t")
	for _, e := range names {
		a := entities[e]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t\n", strings.ToUpper(e), a["create"], a["update"], a["delete"], a["unchanged"], a["deferred"])
	}
	tw.Flush()
	for _, f := range res.Applied.Failed {
		fmt.Fprintf(c.out, "FAILED volume set %s: %s\n", f.Set, f.Error)
	}
	if r := &res.Conflicts; r.Total > 0 {
		fmt.Fprintf(c.out, "CONFLICTS: %s; catsync conflicts %s prints the report\n", r.Summary(), workflows.SyncID(res.Store))
	}
	if r := &res.Keys; r.Failed() {
		fmt.Fprintf(c.out, "KEYS: %s; catsync keys %s prints the report\n", r.Summary(), workflows.SyncID(res.Store))
	} else if r.Volumes > 0 {
		fmt.Fprintf(c.out, "keys: %s\n", r.Summary())
	}
	fmt.Fprintf(c.out, "watermark %d", res.Watermark.Seq)
	if res.Watermark.Reimport {
		fmt.Fprint(c.out, " (the next UPDATE re-imports every volume)")
	}
	fmt.Fprintln(c.out)
}

func (c *cli) verifyCmd() *cobra.Command {
	return c.twoSiteCmd("verify --store ID",
		"Compare a data store on the primary, as imported, with the secondary; exit 1 on drift",
		`Reads every volume set of the data store on the primary, applies the import's
transformations (volume group, VOLCAT/POOL/FILECAT, node pairs) and compares the
result with the secondary, printing each difference.`,
		"print differences as JSON lines", c.verify)
}

// twoSiteCmd is a command that reads a data store on both sites' catalogs,
// given by --primary/--secondary or the environment.
func (c *cli) twoSiteCmd(use, short, long, jsonUsage string,
	run func(ctx context.Context, primary, secondary store.Store, opts importer.Options, asJSON bool) error) *cobra.Command {
	var storeID, files, nodeMap, primary, secondary string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long + "\nThe catalogs come from --primary/--secondary or CATSYNC_PRIMARY_CATALOG/CATSYNC_SECONDARY_CATALOG.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, err := syncInput(storeID, "full", files, nodeMap)
			if err != nil {
				return err
			}
			if primary == "" || secondary == "" {
				p, s, err := config.Sites()
				if err != nil {
					return err
				}
				primary, secondary = cmp.Or(primary, p.Catalog), cmp.Or(secondary, s.Catalog)
			}
			if primary == "" || secondary == "" {
				return fmt.Errorf("give --primary and --secondary, or set CATSYNC_PRIMARY_CATALOG and CATSYNC_SECONDARY_CATALOG")
			}
			ctx := cmd.Context()
			p, err := openSite(ctx, primary, "--primary")
			if err != nil {
				return err
			}
			defer p.Close()
			s, err := openSite(ctx, secondary, "--secondary")
			if err != nil {
				return err
			}
			defer s.Close()
			return run(ctx, p, s, importer.Options{StoreID: in.Store, CatalogFiles: in.CatalogFiles, NodePairs: in.NodePairs}, asJSON)
		},
	}
	cmd.Flags().StringVar(&storeID, "store", "", "data store id (required)")
	cmd.Flags().StringVar(&files, "catalogfiles", "yes", "include DISKFILE entries: yes or no")
	cmd.Flags().StringVar(&nodeMap, "node-map", "", `node pairs of the import, e.g. '\PRIM=\PRIMDR'`)
	cmd.Flags().StringVar(&primary, "primary", "", "the primary's catalog (default $CATSYNC_PRIMARY_CATALOG)")
	cmd.Flags().StringVar(&secondary, "secondary", "", "the secondary's catalog (default $CATSYNC_SECONDARY_CATALOG)")
	cmd.Flags().BoolVar(&asJSON, "json", false, jsonUsage)
	return cmd
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
