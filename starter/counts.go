package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/store"
)

// noTapeVolume counts BackPak volumes with no TAPEVOLUME in their group's
// VOLCAT and POOL.
const noTapeVolume = "NONE"

var (
	accesses = []catalog.DomainAccess{catalog.AccessPrimary, catalog.AccessSecondary, catalog.AccessRestricted}
	statuses = []catalog.VolumeStatus{catalog.StatusScratch, catalog.StatusSelected, catalog.StatusInUse,
		catalog.StatusAssigned, catalog.StatusFull, catalog.StatusReleased, catalog.StatusBad}
)

type countsReport struct {
	Node   string           `json:"node"`
	Clock  string           `json:"clock,omitempty"` // next simulated day, for simulated sites
	Tables map[string]int64 `json:"tables"`
	Stores []storeCounts    `json:"stores"`
}

type storeCounts struct {
	ID       string           `json:"id"`
	Access   string           `json:"access"`
	Volumes  int64            `json:"volumes"`
	ByAccess map[string]int64 `json:"by_access"` // per-volume domain access
	ByStatus map[string]int64 `json:"by_status"` // VOLUMESTATUS of the TAPEVOLUME, or NONE
	LastSeq  int64            `json:"last_seq"`
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
	rep := &countsReport{Node: site.Node, Stores: []storeCounts{}}
	if clock, err := sim.Clock(ctx, r); err == nil {
		rep.Clock = clock.Format(time.DateOnly)
	}
	if rep.Tables, err = r.Count(ctx); err != nil {
		return nil, err
	}
	groups := map[string]catalog.VolumeGroup{}
	if err := r.ScanVolumeGroups(ctx, func(g *catalog.VolumeGroup) error {
		groups[g.Name] = *g
		return nil
	}); err != nil {
		return nil, err
	}
	var stores []catalog.DataStore
	if err := r.ScanDataStores(ctx, func(d *catalog.DataStore) error {
		stores = append(stores, *d)
		return nil
	}); err != nil {
		return nil, err
	}
	for _, d := range stores {
		sc, err := countStore(ctx, r, d, groups)
		if err != nil {
			return nil, err
		}
		rep.Stores = append(rep.Stores, sc)
	}
	return rep, nil
}

// countStore counts a data store's volumes by domain access, then by the
// status of their TAPEVOLUME. The join runs one group at a time: a
// label->status map of the group's pool, then a pass over the store's
// volumes, so memory stays at one pool's labels.
func countStore(ctx context.Context, r store.Reader, d catalog.DataStore, groups map[string]catalog.VolumeGroup) (storeCounts, error) {
	sc := storeCounts{ID: d.ID, Access: string(d.Access), ByAccess: map[string]int64{}, ByStatus: map[string]int64{}}
	inStore := store.Filter{StoreID: d.ID}
	used := map[string]bool{}
	if err := r.ScanVolumes(ctx, inStore, func(v *catalog.Volume) error {
		sc.Volumes++
		sc.ByAccess[string(v.Access)]++
		used[v.Group] = true
		return nil
	}); err != nil {
		return sc, err
	}
	for _, name := range slices.Sorted(maps.Keys(used)) {
		status := map[string]catalog.VolumeStatus{}
		if g, ok := groups[name]; ok {
			if err := r.ScanTapeVolumes(ctx, store.Filter{Volcat: g.Volcat, Pool: g.Pool}, func(tv *catalog.TapeVolume) error {
				status[tv.Volser] = tv.Status
				return nil
			}); err != nil {
				return sc, err
			}
		}
		if err := r.ScanVolumes(ctx, inStore, func(v *catalog.Volume) error {
			if v.Group != name {
				return nil
			}
			if s, ok := status[v.Label]; ok {
				sc.ByStatus[string(s)]++
			} else {
				sc.ByStatus[noTapeVolume]++
			}
			return nil
		}); err != nil {
			return sc, err
		}
	}
	var err error
	sc.LastSeq, err = r.LastSeq(ctx, d.ID)
	return sc, err
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
	for _, a := range accesses {
		fmt.Fprintf(tw, "\t%s", a)
	}
	for _, s := range statuses {
		fmt.Fprintf(tw, "\t%s", s)
	}
	fmt.Fprintf(tw, "\t%s\tLAST SEQ\n", noTapeVolume)
	for _, sc := range rep.Stores {
		fmt.Fprintf(tw, "%s\t%s\t%d", sc.ID, sc.Access, sc.Volumes)
		for _, a := range accesses {
			fmt.Fprintf(tw, "\t%d", sc.ByAccess[string(a)])
		}
		for _, s := range statuses {
			fmt.Fprintf(tw, "\t%d", sc.ByStatus[string(s)])
		}
		fmt.Fprintf(tw, "\t%d\t%d\n", sc.ByStatus[noTapeVolume], sc.LastSeq)
	}
	return tw.Flush()
}
