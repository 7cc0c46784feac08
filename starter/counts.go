package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	tb := newTable(w, 0, "TABLE", "ROWS")
	for _, t := range store.Tables {
		tb.row(t, rep.Tables[t])
	}
	if err := tb.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "BackPak volumes per data store: by domain access, by DSM/TC status (NONE: no TAPEVOLUME)")
	header := []any{"DATA STORE", "ACCESS", "VOLUMES"}
	for _, a := range catalog.DomainAccesses {
		header = append(header, a)
	}
	for _, s := range catalog.VolumeStatuses {
		header = append(header, s)
	}
	tb = newTable(w, 0, append(header, inspect.NoTapeVolume, "LAST SEQ")...)
	for _, sc := range rep.Stores {
		fields := []any{sc.ID, sc.Access, sc.Volumes}
		for _, a := range catalog.DomainAccesses {
			fields = append(fields, sc.ByAccess[string(a)])
		}
		for _, s := range catalog.VolumeStatuses {
			fields = append(fields, sc.ByStatus[string(s)])
		}
		tb.row(append(fields, sc.ByStatus[inspect.NoTapeVolume], sc.LastSeq)...)
	}
	return tb.flush()
}
