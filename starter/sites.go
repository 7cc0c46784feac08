package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/keys/keyconf"
	"github.com/catsync/catsync/internal/serve"
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
			// Errors name the flag, or the variable the catalog came from.
			sites := []struct{ dsn, setting, role string }{{primary, "--primary", config.RolePrimary},
				{secondary, "--secondary", config.RoleSecondary}}
			if primary == "" || secondary == "" {
				cfg, err := config.Read()
				if err != nil {
					return err
				}
				for i, site := range sites {
					if site.dsn == "" {
						sites[i].dsn, sites[i].setting = cfg.Site(site.role).Catalog, config.Prefix(site.role)+"_CATALOG"
					}
				}
			}
			if sites[0].dsn == "" || sites[1].dsn == "" {
				return fmt.Errorf("give --primary and --secondary, or set CATSYNC_PRIMARY_CATALOG and CATSYNC_SECONDARY_CATALOG")
			}
			ctx := cmd.Context()
			p, err := openSite(ctx, sites[0].dsn, sites[0].setting)
			if err != nil {
				return err
			}
			defer p.Close()
			s, err := openSite(ctx, sites[1].dsn, sites[1].setting)
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
// store, with its --catalogfiles and --node-map. With asRecorded, a flag
// not given takes what the secondary recorded of the store's last import
// (verify compares with what was imported); without, the flags' defaults
// (check proposes an import).
func (c *cli) importCmd(use, short, long, jsonUsage string, asRecorded bool,
	run func(ctx context.Context, primary, secondary store.Store, opts importer.Options, asJSON bool) error) *cobra.Command {
	imp := &importFlags{}
	cmd := c.twoSiteCmd(use, short, long, jsonUsage, imp.parse,
		func(ctx context.Context, p, s store.Store, storeID string, asJSON bool) error {
			if !asRecorded {
				return run(ctx, p, s, imp.options(storeID), asJSON)
			}
			opts, note, err := imp.asRecorded(ctx, s, storeID)
			if err != nil {
				return err
			}
			if note != "" {
				fmt.Fprintf(c.errOut, "%s: %s\n", storeID, note)
			}
			return run(ctx, p, s, opts, asJSON)
		})
	imp.bind(cmd, "include DISKFILE entries: yes or no", `node pairs of the import, e.g. '\PRIM=\PRIMDR'`)
	return cmd
}

// openSite opens the catalog of an existing site, which setting (a flag
// or a variable) gives. A mistyped SQLite path must not leave an empty
// catalog behind, so the file has to exist first.
func openSite(ctx context.Context, dsn, setting string) (*sqlstore.DB, error) {
	if path, ok := serve.SQLitePath(dsn); ok {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, config.Bad(setting, dsn, "no such catalog file: correct "+setting)
		} else if err != nil {
			return nil, config.Wrap(setting, dsn, err, "")
		}
	}
	st, err := serve.OpenCatalog(ctx, setting, dsn)
	if err != nil {
		return nil, err
	}
	if _, err := st.Site(ctx); err != nil {
		st.Close()
		if errors.Is(err, store.ErrNotFound) {
			return nil, config.Bad(setting, dsn, "holds no site: create one with catsync sim init, or correct "+setting)
		}
		return nil, config.Wrap(setting, dsn, err, "is it a catsync catalog?")
	}
	return st, nil
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

// siteData returns the data root of role (CATSYNC_<ROLE>_DATA), the folder
// of its data stores' folders of volume images: "" if it is not set,
// unless need says why it must be. A folder the command writes (create)
// is made if missing, so that a root that cannot be is refused, naming
// the variable, before anything is simulated or copied.
func siteData(role, need string, create bool) (string, error) {
	cfg, err := config.Read()
	if err != nil {
		return "", err
	}
	root, setting := cfg.Site(role).Data, config.Prefix(role)+"_DATA"
	if root == "" {
		if need != "" {
			return "", fmt.Errorf("%s is not set: %s", setting, need)
		}
		return "", nil
	}
	fi, err := os.Stat(root)
	switch {
	case err == nil && !fi.IsDir(), errors.Is(err, syscall.ENOTDIR):
		return "", config.Bad(setting, root, "not a folder: point it at the folder holding the data stores' folders of volume images")
	case errors.Is(err, fs.ErrNotExist) && !create:
		return "", config.Bad(setting, root, "no such folder: create it, or correct "+setting)
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(root, 0o755); err != nil {
			return "", config.Wrap(setting, root, err, "the folder cannot be created: correct "+setting+", or the permissions above it")
		}
	case err != nil:
		return "", config.Wrap(setting, root, err, "correct "+setting+", or the folder's permissions")
	}
	return root, nil
}

func closeKeys(km keys.Manager) {
	if km != nil {
		km.Close()
	}
}
