package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/inspect"
	"github.com/catsync/catsync/internal/keys"
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
	role := keysFlag(cmd, config.RolePrimary)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		p, err := flags.params()
		if err != nil {
			return err
		}
		// Checked before the catalog is created: a bad flag leaves no file.
		if err := p.Validate(); err != nil {
			return err
		}
		if _, err := c.dsn(); err != nil {
			return err
		}
		if p.DataRoot, err = siteData(config.RolePrimary, "", true); err != nil {
			return err
		}
		km, err := simKeys(*role, p.EncryptedGroups > 0)
		if err != nil {
			return err
		}
		defer closeKeys(km)
		if err := imagesNeedKeys(p.DataRoot, p.EncryptedGroups > 0, km); err != nil {
			return err
		}
		ctx := cmd.Context()
		st, err := c.create(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := sim.Init(ctx, st, p, km); err != nil {
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
	cmd.Flags().StringVar(&def.KeyManagerID, "key-manager-id", "", `BackPak id of the domain's key-manager entry (default the primary's; "none" for no entry)`)
	cmd.Flags().StringVar(&def.KeyManagerServer, "key-manager-server", "", "server of that entry (default kms.<node>:5696)")
	role := keysFlag(cmd, config.RoleSecondary)
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
		km, err := simKeys(*role, check.Stores != nil && check.EncryptedGroups > 0)
		if err != nil {
			return err
		}
		defer closeKeys(km)
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
		if err := sim.InitSecondary(ctx, st, prim, sp, km); err != nil {
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
	ds, err := inspect.DataStores(ctx, r)
	if err != nil {
		return err
	}
	var stores []string
	for _, d := range ds {
		stores = append(stores, fmt.Sprintf("%s (%s)", d.ID, d.Access))
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
	var role *string
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
			stores, err := inspect.DataStores(ctx, st)
			if err != nil {
				return err
			}
			encrypts, err := inspect.WritesEncrypted(ctx, st)
			if err != nil {
				return err
			}
			// The primary's writes have their images in CATSYNC_PRIMARY_DATA
			// when it is set, whatever root init kept; a secondary's own
			// backups write none, its data root holding the primary's copies.
			root := ""
			if !slices.ContainsFunc(stores, func(d catalog.DataStore) bool { return d.Access == catalog.AccessSecondary }) {
				if root, err = siteData(config.RolePrimary, "", true); err != nil {
					return err
				}
			}
			km, err := simKeys(*role, encrypts)
			if err != nil {
				return err
			}
			defer closeKeys(km)
			if err := imagesNeedKeys(root, encrypts, km); err != nil {
				return err
			}
			before := make([]int64, len(stores))
			for i, d := range stores {
				if before[i], err = st.LastSeq(ctx, d.ID); err != nil {
					return err
				}
			}
			if err := sim.AdvanceImages(ctx, st, days, km, root); err != nil {
				return err
			}
			return advanceReport(ctx, c.out, st, stores, before, days)
		},
	}
	cmd.Flags().IntVar(&days, "days", 1, "days to simulate")
	role = keysFlag(cmd, config.RolePrimary)
	return cmd
}

// keysFlag binds --keys: whose configured key manager receives the keys
// of simulated encrypted writes.
func keysFlag(cmd *cobra.Command, def string) *string {
	return cmd.Flags().String("keys", def, "key manager receiving the simulated keys: primary or secondary (CATSYNC_<ROLE>_KEYS), or none")
}

// simKeys opens the key manager --keys names, which must be configured
// when the simulation writes encrypted volumes.
func simKeys(role string, encrypts bool) (keys.Manager, error) {
	if role == "none" {
		return nil, nil
	}
	if role != config.RolePrimary && role != config.RoleSecondary {
		return nil, fmt.Errorf("--keys %q: want primary, secondary or none", role)
	}
	need := ""
	if encrypts {
		need = "the simulated encrypted volumes need their keys; set it or pass --keys none"
	}
	return siteKeys(role, need)
}

// imagesNeedKeys refuses, before anything is simulated, to write the
// images of encrypted volumes without the key manager their keys go to.
func imagesNeedKeys(dataRoot string, encrypts bool, km keys.Manager) error {
	if dataRoot != "" && encrypts && km == nil {
		return fmt.Errorf("%s_DATA is set: the images of the simulated encrypted volumes are encrypted with their keys; "+
			"give --keys primary or secondary, or unset it", config.Prefix(config.RolePrimary))
	}
	return nil
}

func (c *cli) simReplicateKeysCmd() *cobra.Command {
	var opts sim.KeyReplication
	var omit, deactivate, alter string
	cmd := &cobra.Command{
		Use:   "replicate-keys --catalog PRIMARY [--store ID] [--omit LABELS] [--deactivate LABELS] [--alter LABELS] [--as BACKPAKID]",
		Short: "Copy the keys of the primary's encrypted volumes to the secondary's key manager, as key-manager replication would",
		Long: `Copies, from the primary's key manager (CATSYNC_PRIMARY_KEYS) to the secondary's
(CATSYNC_SECONDARY_KEYS), the key of every encrypted volume of the primary catalog, under
the primary's BackPak id; keys already there are left alone. The options plant the
faults a parity check must find: keys left out, deactivated, registered with other
material under the same name, or filed under another BackPak id (--as).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Omit, opts.Deactivate, opts.Alter = sim.ParseLabels(omit), sim.ParseLabels(deactivate), sim.ParseLabels(alter)
			ctx := cmd.Context()
			from, err := siteKeys(config.RolePrimary, "replicate-keys reads the primary's keys from its key manager")
			if err != nil {
				return err
			}
			defer closeKeys(from)
			to, err := siteKeys(config.RoleSecondary, "replicate-keys copies the keys to the secondary's key manager")
			if err != nil {
				return err
			}
			defer closeKeys(to)
			st, err := c.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			res, err := sim.ReplicateKeys(ctx, st, from, to, opts)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.out, res)
			for _, m := range res.MissingAtPrimary {
				fmt.Fprintf(c.out, "missing at the primary: volume %s key %s\n", m.Label, m.Key)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Store, "store", "", "only this data store's volumes")
	cmd.Flags().StringVar(&omit, "omit", "", "labels whose keys are left out (comma list)")
	cmd.Flags().StringVar(&deactivate, "deactivate", "", "labels whose copies are deactivated")
	cmd.Flags().StringVar(&alter, "alter", "", "labels whose copies get other material under the same name")
	cmd.Flags().StringVar(&opts.As, "as", "", "file the copies under this BackPak id instead of the primary's")
	return cmd
}

func (c *cli) simReplicateDataCmd() *cobra.Command {
	var opts sim.DataReplication
	var missing, stale, corrupt, truncated, misfiled string
	cmd := &cobra.Command{
		Use:   "replicate-data --catalog PRIMARY [--store ID] [--missing LABELS] [--stale LABELS] [--corrupt LABELS] [--truncated LABELS] [--misfiled FROM=TO,...]",
		Short: "Copy the primary's volume images to the secondary's data stores, as NAS or LUN mirroring would",
		Long: `Copies the image (LB<label>.IND and .DAT) of every volume of the primary catalog's
PRIMARY data stores from their folders under CATSYNC_PRIMARY_DATA to the same folders under
CATSYNC_SECONDARY_DATA, where the restore test reads them; copies already there are
overwritten. The options plant the faults a restore test must find: images left out,
stale copies (as a mirror that stopped would hold: the volume timestamp a day older; an
encrypted one is rewritten with its key from CATSYNC_PRIMARY_KEYS), a data block's byte
flipped, a data file cut short, or another volume's image filed under a label (--misfiled
FROM=TO). Every label they name must be a volume with an image at the primary; nothing is
copied otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Missing, opts.Stale = sim.ParseLabels(missing), sim.ParseLabels(stale)
			opts.Corrupt, opts.Truncated = sim.ParseLabels(corrupt), sim.ParseLabels(truncated)
			var err error
			if opts.Misfiled, err = sim.ParseLabelPairs(misfiled); err != nil {
				return fmt.Errorf("--misfiled: %w", err)
			}
			from, err := siteData(config.RolePrimary, "replicate-data reads the primary's volume images from its data stores' folders there (sim init and sim advance write them)", false)
			if err != nil {
				return err
			}
			to, err := siteData(config.RoleSecondary, "replicate-data copies the images into the secondary's data stores' folders there, where the restore test reads them", true)
			if err != nil {
				return err
			}
			if same, err := sameFolder(from, to); err != nil {
				return err
			} else if same {
				return config.Bad(config.Prefix(config.RoleSecondary)+"_DATA", to,
					"is the folder of "+config.Prefix(config.RolePrimary)+"_DATA: give the secondary's copies a folder of their own")
			}
			// Only a stale copy needs keys: it is written again.
			if len(opts.Stale) > 0 {
				if opts.Keys, err = siteKeys(config.RolePrimary, "--stale rewrites the images it names, an encrypted one with its key from the primary's key manager"); err != nil {
					return err
				}
				defer closeKeys(opts.Keys)
			}
			ctx := cmd.Context()
			st, err := c.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			res, err := sim.ReplicateData(ctx, st, from, to, opts)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.out, res)
			if len(res.MissingAtPrimary) > 0 {
				fmt.Fprintf(c.out, "missing at the primary: the images of written volumes %s\n", strings.Join(res.MissingAtPrimary, ", "))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Store, "store", "", "only this data store's images")
	cmd.Flags().StringVar(&missing, "missing", "", "labels whose images are left out (comma list)")
	cmd.Flags().StringVar(&stale, "stale", "", "labels whose copies are stale: their volume timestamp a day older")
	cmd.Flags().StringVar(&corrupt, "corrupt", "", "labels whose copies get a data block's byte flipped")
	cmd.Flags().StringVar(&truncated, "truncated", "", "labels whose copies get their data file cut short")
	cmd.Flags().StringVar(&misfiled, "misfiled", "", "FROM=TO pairs: the image of FROM filed as TO's (comma list)")
	return cmd
}

// sameFolder reports whether two folders, both existing, are one.
func sameFolder(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
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
	tb := newTable(w, 0, "DATA STORE", "ACCESS", "CHANGED", "DELETED", "SEQUENCE")
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
		tb.row(d.ID, d.Access, changed, deleted, fmt.Sprintf("%d -> %d", before[i], after))
	}
	return tb.flush()
}
