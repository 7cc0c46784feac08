package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/restore"
)

// restoreTestCmd runs the sync's restore test on demand, at the secondary
// alone: it needs no primary, as at a failover.
func (c *cli) restoreTestCmd() *cobra.Command {
	var storeID, secondary, labels, backpakID string
	var asJSON bool
	opts := restore.Options{}
	cmd := &cobra.Command{
		Use:   "restore-test --store ID",
		Short: "Prove at the secondary that volumes of a data store can be restored from; exit 1 if one cannot",
		Long: `Tests, on the secondary, a sample of the data store's volumes (the newest, encrypted
ones, random ones and the least recently verified), or the volumes --labels names: the
image is in the data store's folder under CATSYNC_SECONDARY_DATA, its index agrees with
the BackPak entry, the key from the secondary's key manager (CATSYNC_SECONDARY_KEYS)
decrypts every block, every tape file is found by its HDR1 label where TFTOV places it,
and its DISKFILE entries are in its directory with their sizes. Each volume that passes
is recorded as verified. The keys are looked for under the primary's BackPak id: the
secondary domain's key-manager entry, or --backpak-id.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if storeID == "" {
				return fmt.Errorf("--store is required: name the data store to test")
			}
			if opts.Sample < 0 {
				return config.Bad("--sample", fmt.Sprint(opts.Sample), "want a number of volumes, at least 1")
			}
			if opts.Budget < 0 {
				return config.Bad("--budget", opts.Budget.String(), "want a duration, such as 5m")
			}
			for _, l := range strings.Split(labels, ",") {
				if l = strings.TrimSpace(l); l != "" {
					opts.Labels = append(opts.Labels, l)
				}
			}
			cfg, err := config.Read()
			if err != nil {
				return err
			}
			dsn, setting := secondary, "--secondary"
			if dsn == "" {
				dsn, setting = cfg.Secondary.Catalog, config.Prefix(config.RoleSecondary)+"_CATALOG"
			}
			if dsn == "" {
				return fmt.Errorf("give --secondary, or set CATSYNC_SECONDARY_CATALOG")
			}
			if cfg.Secondary.Data == "" {
				return fmt.Errorf("CATSYNC_SECONDARY_DATA is not set: give the folder holding the data stores' folders of volume images")
			}
			ctx := cmd.Context()
			st, err := openSite(ctx, dsn, setting)
			if err != nil {
				return err
			}
			defer st.Close()
			km, err := siteKeys(config.RoleSecondary, "")
			if err != nil {
				return err
			}
			defer closeKeys(km)
			site, err := st.Site(ctx)
			if err != nil {
				return err
			}
			group, err := primaryBackPakID(site, backpakID)
			if err != nil {
				return err
			}
			opts.Store = storeID
			rep, err := restore.Run(ctx, restore.Site{Catalog: st, Keys: km, Data: cfg.Secondary.Data, Group: group}, opts, time.Now().UTC(), nil)
			if err != nil {
				return err
			}
			if asJSON {
				if err := json.NewEncoder(c.out).Encode(rep); err != nil {
					return err
				}
			} else {
				for _, v := range rep.Verdicts {
					fmt.Fprintln(c.out, cell(v.String()))
				}
				fmt.Fprintln(c.out, rep.Summary())
			}
			if rep.Failures() {
				return fmt.Errorf("data store %s: %d of %d sampled volumes cannot be restored from", storeID, rep.Failed, rep.Sampled)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&storeID, "store", "", "data store id (required)")
	cmd.Flags().StringVar(&secondary, "secondary", "", "the secondary's catalog (default $CATSYNC_SECONDARY_CATALOG)")
	cmd.Flags().StringVar(&labels, "labels", "", "test these volumes (comma list) instead of a sample")
	cmd.Flags().IntVar(&opts.Sample, "sample", 10, "volumes in the sample")
	cmd.Flags().DurationVar(&opts.Budget, "budget", 0, "end the test after this long, reporting what was done (0: none)")
	cmd.Flags().StringVar(&backpakID, "backpak-id", "", "the primary's BackPak id, the keys' group (default: the secondary domain's key-manager entry)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// primaryBackPakID is the BackPak id the primary filed its keys under: the
// one given, or the secondary domain's key-manager entry other than its
// own, when there is exactly one.
func primaryBackPakID(site catalog.Site, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	var ids []string
	for _, e := range site.KeyManagers {
		if e.BackPakID != site.BackPakID {
			ids = append(ids, e.BackPakID)
		}
	}
	if len(ids) != 1 {
		return "", fmt.Errorf("--backpak-id: the secondary domain %s has %d key-manager entries of another BackPak id (%s): give the primary's",
			site.DomainID, len(ids), strings.Join(ids, ", "))
	}
	return ids[0], nil
}
