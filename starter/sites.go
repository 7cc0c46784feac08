package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/keys/keyconf"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore"
)

// twoSiteCmd is a command that reads data store --store on both sites'
// catalogs, given by --primary/--secondary or the environment. prepare
// (nil: nothing to do) checks the flags the caller binds on the command,
// before the catalogs open.
func (c *cli) twoSiteCmd(use, short, long, jsonUsage string, prepare func() error,
	run func(ctx context.Context, primary, secondary store.Store, storeID string, asJSON bool) error) *cobra.Command {
	var storeID, primary, secondary string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long + "\nThe catalogs come from --primary/--secondary or CATSYNC_PRIMARY_CATALOG/CATSYNC_SECONDARY_CATALOG.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if storeID == "" {
				return fmt.Errorf("--store is required: name the data store to sync")
			}
			if prepare != nil {
				if err := prepare(); err != nil {
					return err
				}
			}
			if primary == "" || secondary == "" {
				cfg, err := config.Read()
				if err != nil {
					return err
				}
				primary, secondary = cmp.Or(primary, cfg.Primary.Catalog), cmp.Or(secondary, cfg.Secondary.Catalog)
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
			return run(ctx, p, s, storeID, asJSON)
		},
	}
	cmd.Flags().StringVar(&storeID, "store", "", "data store id (required)")
	cmd.Flags().StringVar(&primary, "primary", "", "the primary's catalog (default $CATSYNC_PRIMARY_CATALOG)")
	cmd.Flags().StringVar(&secondary, "secondary", "", "the secondary's catalog (default $CATSYNC_SECONDARY_CATALOG)")
	cmd.Flags().BoolVar(&asJSON, "json", false, jsonUsage)
	return cmd
}

// importCmd is a two-site command that reproduces an import of the data
// store, with its --catalogfiles and --node-map.
func (c *cli) importCmd(use, short, long, jsonUsage string,
	run func(ctx context.Context, primary, secondary store.Store, opts importer.Options, asJSON bool) error) *cobra.Command {
	imp := &importFlags{}
	cmd := c.twoSiteCmd(use, short, long, jsonUsage, imp.parse,
		func(ctx context.Context, p, s store.Store, storeID string, asJSON bool) error {
			return run(ctx, p, s, imp.options(storeID), asJSON)
		})
	imp.bind(cmd, "include DISKFILE entries: yes or no", `node pairs of the import, e.g. '\PRIM=\PRIMDR'`)
	return cmd
}

// openSite opens the catalog of an existing site. A mistyped SQLite path
// must not leave an empty catalog behind, so the file has to exist first.
func openSite(ctx context.Context, dsn, flag string) (*sqlstore.DB, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		if _, err := os.Stat(strings.TrimPrefix(dsn, "sqlite:")); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s %s: no such catalog file", flag, dsn)
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
	}
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if _, err := st.Site(ctx); err != nil {
		st.Close()
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%s %s holds no site: create one with catsync sim init", flag, redact(dsn))
		}
		return nil, err
	}
	return st, nil
}

// redact hides the password of a PostgreSQL URL: secrets never reach logs.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

// siteKeys opens the key manager of role (CATSYNC_<ROLE>_KEYS): nil if none
// is configured, unless need says why one must be.
func siteKeys(role, need string) (keys.Manager, error) {
	cfg, err := config.Read()
	if err != nil {
		return nil, err
	}
	km, err := keyconf.Open(cfg, role)
	if err == nil && km == nil && need != "" {
		err = fmt.Errorf("%s_KEYS is not set: %s", config.Prefix(role), need)
	}
	return km, err
}

func closeKeys(km keys.Manager) {
	if km != nil {
		km.Close()
	}
}
