// Command catsync is the operator CLI: it starts syncs and verifies their
// result, simulates sites (sim init, init-secondary, advance), counts a
// site's catalogs and shows catalog entries the way MEDIACOM INFO does.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/serve"
	"github.com/catsync/catsync/internal/store/sqlstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "catsync:", errorText(err))
		return 1
	}
	return 0
}

// cli holds what every command shares: the output and the --catalog flag.
type cli struct {
	out     io.Writer
	errOut  io.Writer // notes that are not the command's output
	catalog string
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	c := &cli{out: stdout, errOut: stderr}
	root := &cobra.Command{
		Use:   "catsync",
		Short: "Disaster-recovery replication of BackPak and DSM/TC tape catalogs",
		// run prints errors once; a failed command is not a usage error.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&c.catalog, "catalog", "",
		"the site's catalog: an SQLite path (or sqlite:PATH) or a postgres:// URL (default $"+config.CatalogEnv+")")

	simCmd := group("sim", "Simulate a site's catalogs")
	simCmd.AddCommand(c.simInitCmd(), c.simInitSecondaryCmd(), c.simAdvanceCmd(), c.simReplicateKeysCmd(), c.simReplicateDataCmd())
	infoCmd := group("info", "Show catalog entries, as MEDIACOM INFO does")
	infoCmd.AddCommand(c.infoTapeVolumeCmd(), c.infoTapeFileCmd(), c.infoDiskFileCmd())
	root.AddCommand(simCmd, c.countsCmd(), infoCmd, c.syncCmd(), c.checkCmd(), c.conflictsCmd(), c.keysCmd(), c.parityCmd(), c.restoreTestCmd(), c.drillCmd(), c.failoverCmd(), c.failbackCmd(), c.verifyCmd(), c.auditCmd())
	root.AddCommand(c.scheduleCmd(), c.setupCmd(), c.keygenCmd(), c.codecServerCmd())
	parseBools(root)
	root.SetFlagErrorFunc(flagError)
	return root
}

// group makes a command that only holds subcommands. Cobra would show help
// for a mistyped subcommand and succeed; this one fails and names it.
func group(use, short string) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
		}}
}

// oneArg accepts exactly one positional argument, named what in the error.
func oneArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("%s takes one %s argument, got %d", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}

// dsn resolves --catalog, falling back to the environment.
func (c *cli) dsn() (string, error) {
	dsn, _, err := c.catalogSetting()
	return dsn, err
}

// catalogSetting resolves --catalog as dsn does, and names where it came
// from, for errors: the flag or the variable.
func (c *cli) catalogSetting() (dsn, setting string, err error) {
	if c.catalog != "" {
		return c.catalog, "--catalog", nil
	}
	cfg, err := config.Read()
	if err != nil {
		return "", "", err
	}
	if cfg.Catalog == "" {
		return "", "", fmt.Errorf("no catalog: give --catalog DSN or set %s", config.CatalogEnv)
	}
	return cfg.Catalog, config.CatalogEnv, nil
}

// create opens the --catalog store for a new site; an SQLite file is
// created if missing.
func (c *cli) create(ctx context.Context) (*sqlstore.DB, error) {
	dsn, setting, err := c.catalogSetting()
	if err != nil {
		return nil, err
	}
	return serve.OpenCatalog(ctx, setting, dsn)
}

// openTrail opens the catalog holding the audit trail: --catalog, else
// CATSYNC_CATALOG, else the secondary's, where the trail is kept.
func (c *cli) openTrail(ctx context.Context) (*sqlstore.DB, error) {
	dsn, setting, err := c.catalogSetting()
	if err == nil {
		return openSite(ctx, dsn, setting)
	}
	cfg, cerr := config.Read()
	if cerr != nil {
		return nil, cerr
	}
	if cfg.Secondary.Catalog == "" {
		return nil, fmt.Errorf("no catalog: the audit trail is the secondary's: give --catalog SECONDARY or set %s_CATALOG", config.Prefix(config.RoleSecondary))
	}
	return openSite(ctx, cfg.Secondary.Catalog, config.Prefix(config.RoleSecondary)+"_CATALOG")
}

// open opens the --catalog store of an existing site.
func (c *cli) open(ctx context.Context) (*sqlstore.DB, error) {
	dsn, setting, err := c.catalogSetting()
	if err != nil {
		return nil, err
	}
	return openSite(ctx, dsn, setting)
}
