package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/store"
)

// siteFlags binds the flags of sim.Params. Start and Retention are kept as
// text until params() parses them, so that an error names the flag.
type siteFlags struct {
	p         sim.Params
	start     string
	retention string
}

func addSiteFlags(cmd *cobra.Command, def sim.Params) *siteFlags {
	fs := cmd.Flags()
	f := &siteFlags{p: def, start: def.Start.Format(time.DateOnly), retention: formatRetention(def.Retention)}
	p := &f.p
	fs.Uint64Var(&p.Seed, "seed", def.Seed, "random seed: the same flags and seed make the same site")
	fs.StringVar(&p.Node, "node", def.Node, `NonStop node name, \ and 1-6 letters or digits`)
	fs.StringVar(&p.DomainID, "domain", def.DomainID, "BackPak domain id")
	fs.StringVar(&p.BackPakID, "backpak-id", def.BackPakID, "BackPak id, the identity of the domain's keys in the key manager")
	fs.StringVar(&f.start, "start", f.start, "first simulated day (YYYY-MM-DD)")
	fs.IntVar(&p.Days, "days", def.Days, "days of backups to simulate")
	fs.StringSliceVar(&p.Stores, "stores", def.Stores, "data stores the site owns (comma list)")
	fs.IntVar(&p.GroupsPerStore, "groups", def.GroupsPerStore, "volume groups per data store (1-9)")
	fs.IntVar(&p.EncryptedGroups, "encrypted-groups", def.EncryptedGroups, "encrypting volume groups per data store")
	fs.IntVar(&p.Volumes, "volumes", def.Volumes, "BackPak volumes to create, spread over the groups")
	fs.StringVar(&p.LabelPrefix, "label-prefix", def.LabelPrefix, "first letter of generated labels")
	fs.IntVar(&p.DSMOnlyVolumes, "dsm-only-volumes", def.DSMOnlyVolumes, "DSM/TC tape volumes BackPak does not know")
	fs.IntVar(&p.BackupsPerDay, "backups-per-day", def.BackupsPerDay, "backup runs per simulated day")
	fs.IntVar(&p.FilesPerBackup, "files-per-backup", def.FilesPerBackup, "tape files one backup run writes (1-99)")
	fs.IntVar(&p.DiskFilesPerFile, "diskfiles-per-file", def.DiskFilesPerFile, "DISKFILE entries per tape file (0-9999)")
	fs.IntVar(&p.MaxVolumesPerSet, "max-volumes-per-set", def.MaxVolumesPerSet, "largest volume set a backup writes (1-9)")
	fs.StringVar(&f.retention, "retention", f.retention, `retention mix, days:weight,... ("permanent" for days)`)
	fs.IntVar(&p.ParallelPercent, "parallel-percent", def.ParallelPercent, "share of jobs writing two parallel copies (0-100)")
	fs.IntVar(&p.RerunPercent, "rerun-percent", def.RerunPercent, "share of runs rerun with VERSION NEW (0-100)")
	fs.IntVar(&p.BadPercent, "bad-percent", def.BadPercent, "share of mounts finding a defective tape (0-50)")
	return f
}

// params returns the parameters; sim.Params.Validate checks the rest.
func (f *siteFlags) params() (sim.Params, error) {
	start, err := time.Parse(time.DateOnly, f.start)
	if err != nil {
		return sim.Params{}, fmt.Errorf("--start %q: want a date YYYY-MM-DD", f.start)
	}
	f.p.Start = start
	if f.p.Retention, err = sim.ParseRetentionMix(f.retention); err != nil {
		return sim.Params{}, fmt.Errorf("--retention: %w", err)
	}
	return f.p, nil
}

func formatRetention(mix []sim.Retention) string {
	parts := make([]string, len(mix))
	for i, r := range mix {
		days := strconv.Itoa(r.Days)
		if r.Days == catalog.RetentionPermanent {
			days = "permanent"
		}
		parts[i] = days + ":" + strconv.Itoa(r.Weight)
	}
	return strings.Join(parts, ",")
}

func (c *cli) simInitCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "init --catalog DSN [flags]",
		Short: "Create a simulated primary site and simulate its backups",
		Args:  cobra.NoArgs,
	}
	flags := addSiteFlags(cmd, sim.DefaultParams())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		p, err := flags.params()
		if err != nil {
			return err
		}
		// Checked before the catalog is created: a bad flag leaves no file.
		if err := p.Validate(); err != nil {
			return err
		}
		ctx := cmd.Context()
		st, err := c.create(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := sim.Init(ctx, st, p, nil); err != nil {
			return err
		}
		return summary(ctx, c.out, st)
	}
	return cmd
}

func (c *cli) simInitSecondaryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "init-secondary --catalog DSN --primary DSN [flags]",
		Short: "Create a simulated secondary (disaster-recovery) site for a primary",
		Long: "Create a simulated secondary site: a SECONDARY data store for every PRIMARY store of the primary\n" +
			"and a replica of every volume group, sending entries to dedicated catalogs. The site flags shape\n" +
			"the secondary's identity and its optional local backups (none unless --volumes or --backups-per-day is set).",
		Args: cobra.NoArgs,
	}
	def := sim.DefaultSecondaryParams()
	flags := addSiteFlags(cmd, def.Local)
	var primary string
	cmd.Flags().StringVar(&primary, "primary", "", "the primary site's catalog (required)")
	cmd.Flags().StringVar(&def.ReplVolcat, "repl-volcat", def.ReplVolcat, `dedicated VOLCAT for replicated entries (default \NODE.VCREPL)`)
	cmd.Flags().StringVar(&def.ReplFilecat, "repl-filecat", def.ReplFilecat, `dedicated FILECAT for replicated entries (default \NODE.FCREPL)`)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if primary == "" {
			return fmt.Errorf("--primary is required: the primary site's catalog")
		}
		sp := def
		var err error
		if sp.Local, err = flags.params(); err != nil {
			return err
		}
		// Checked before the catalog is created, as InitSecondary will: a
		// site without local backups gets no local data store.
		check := sp.Local
		if check.Volumes == 0 && check.BackupsPerDay == 0 {
			check.Stores = nil
		}
		if err := check.Validate(); err != nil {
			return err
		}
		ctx := cmd.Context()
		prim, err := openSite(ctx, primary, "--primary")
		if err != nil {
			return err
		}
		defer prim.Close()
		st, err := c.create(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := sim.InitSecondary(ctx, st, prim, sp, nil); err != nil {
			return err
		}
		return summary(ctx, c.out, st)
	}
	return cmd
}

// summary prints one paragraph about a site: identity, data stores, rows
// per table and the simulated clock.
func summary(ctx context.Context, w io.Writer, r store.Reader) error {
	site, err := r.Site(ctx)
	if err != nil {
		return err
	}
	var stores []string
	if err := r.ScanDataStores(ctx, func(d *catalog.DataStore) error {
		stores = append(stores, fmt.Sprintf("%s (%s)", d.ID, d.Access))
		return nil
	}); err != nil {
		return err
	}
	if len(stores) == 0 {
		stores = []string{"none"}
	}
	n, err := r.Count(ctx)
	if err != nil {
		return err
	}
	rows := make([]string, len(store.Tables))
	for i, t := range store.Tables {
		rows[i] = fmt.Sprintf("%s %d", t, n[t])
	}
	clock, err := sim.Clock(ctx, r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "Site %s (domain %s, BackPak id %s), data stores %s. Rows: %s. Simulated clock: %s.\n",
		site.Node, site.DomainID, site.BackPakID, strings.Join(stores, ", "), strings.Join(rows, ", "),
		clock.Format(time.DateOnly))
	return err
}

func (c *cli) simAdvanceCmd() *cobra.Command {
	var days int
	cmd := &cobra.Command{
		Use:   "advance --catalog DSN --days N",
		Short: "Simulate more days of backups on a simulated site",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if days < 0 {
				return fmt.Errorf("--days %d: must not be negative", days)
			}
			ctx := cmd.Context()
			st, err := c.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			var stores []catalog.DataStore
			if err := st.ScanDataStores(ctx, func(d *catalog.DataStore) error {
				stores = append(stores, *d)
				return nil
			}); err != nil {
				return err
			}
			before := make([]int64, len(stores))
			for i, d := range stores {
				if before[i], err = st.LastSeq(ctx, d.ID); err != nil {
					return err
				}
			}
			if err := sim.Advance(ctx, st, days, nil); err != nil {
				return err
			}
			return advanceReport(ctx, c.out, st, stores, before, days)
		},
	}
	cmd.Flags().IntVar(&days, "days", 1, "days to simulate")
	return cmd
}

// advanceReport prints the new clock and, per data store, the volumes whose
// volume set changed since the sequence numbers in before.
func advanceReport(ctx context.Context, w io.Writer, r store.Reader, stores []catalog.DataStore, before []int64, days int) error {
	site, err := r.Site(ctx)
	if err != nil {
		return err
	}
	clock, err := sim.Clock(ctx, r)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Advanced %s by %d day(s). Simulated clock: %s.\n", site.Node, days, clock.Format(time.DateOnly))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DATA STORE\tACCESS\tCHANGED\tDELETED\tSEQUENCE")
	for i, d := range stores {
		after, err := r.LastSeq(ctx, d.ID)
		if err != nil {
			return err
		}
		changed, deleted := 0, 0
		if err := r.Changes(ctx, d.ID, before[i], func(ch store.Change) error {
			changed++
			if ch.Deleted {
				deleted++
			}
			return nil
		}); err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d -> %d\n", d.ID, d.Access, changed, deleted, before[i], after)
	}
	return tw.Flush()
}
