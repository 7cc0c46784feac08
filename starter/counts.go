package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/inspect"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/store"
)

// countsReport is the `counts --json` form (docs/cli-json.md).
type countsReport struct {
	Node   string                `json:"node"`
	Clock  string                `json:"clock,omitempty"` // next simulated day, for simulated sites
	Tables map[string]int64      `json:"tables"`
	Stores []inspect.StoreCounts `json:"stores"`
}

func (c *cli) countsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "counts --catalog DSN [--json]",
		Short: "Count a site's catalog rows, and its BackPak volumes per data store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := c.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			rep, err := countSite(ctx, st)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(c.out)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return rep.print(c.out)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

func countSite(ctx context.Context, r store.Reader) (*countsReport, error) {
	site, err := r.Site(ctx)
	if err != nil {
		return nil, err
	}
	rep := &countsReport{Node: site.Node}
	if clock, err := sim.Clock(ctx, r); err == nil {
		rep.Clock = clock.Format(time.DateOnly)
	}
	if rep.Tables, err = r.Count(ctx); err != nil {
		return nil, err
	}
	if rep.Stores, err = inspect.CountStores(ctx, r); err != nil {
		return nil, err
	}
	return rep, nil
}

func (rep *countsReport) print(w io.Writer) error {
	fmt.Fprintf(w, "Site %s", rep.Node)
	if rep.Clock != "" {
		fmt.Fprintf(w, ", simulated clock %s", rep.Clock)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS")
	for _, t := range store.Tables {
		fmt.Fprintf(tw, "%s\t%d\n", t, rep.Tables[t])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "BackPak volumes per data store: by domain access, by DSM/TC status (NONE: no TAPEVOLUME)")
	fmt.Fprint(tw, "DATA STORE\tACCESS\tVOLUMES")
	for _, a := range catalog.DomainAccesses {
		fmt.Fprintf(tw, "\t%s", a)
	}
	for _, s := range catalog.VolumeStatuses {
		fmt.Fprintf(tw, "\t%s", s)
	}
	fmt.Fprintf(tw, "\t%s\tLAST SEQ\n", inspect.NoTapeVolume)
	for _, sc := range rep.Stores {
		fmt.Fprintf(tw, "%s\t%s\t%d", sc.ID, sc.Access, sc.Volumes)
		for _, a := range catalog.DomainAccesses {
			fmt.Fprintf(tw, "\t%d", sc.ByAccess[string(a)])
		}
		for _, s := range catalog.VolumeStatuses {
			fmt.Fprintf(tw, "\t%d", sc.ByStatus[string(s)])
		}
		fmt.Fprintf(tw, "\t%d\t%d\n", sc.ByStatus[inspect.NoTapeVolume], sc.LastSeq)
	}
	return tw.Flush()
}
