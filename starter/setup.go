package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/serve"
)

// defaultRetention keeps a month of closed runs in Temporal: the audit
// trail, in the secondary's catalog, keeps them for good.
const defaultRetention = 30 * 24 * time.Hour

func (c *cli) setupCmd() *cobra.Command {
	retention := defaultRetention
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "setup [--retention 30d]",
		Short: "Prepare the Temporal namespace: register it with its retention, and catsync's search attributes",
		Long: `Run once per Temporal cluster, by an operator allowed to manage namespaces,
before the workers start: registers TEMPORAL_NAMESPACE with the retention of
closed runs when it is missing (or sets the retention when it differs), and
registers catsync's search attributes, which the workers check at start
and never register themselves. Running it again changes nothing.

Temporal comes from TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and the standard
TEMPORAL_TLS_* variables (or TEMPORAL_API_KEY), as for every command.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Read()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			done, err := serve.SetupNamespace(ctx, cfg, retention, "catsync: replication of BackPak and DSM/TC catalogs")
			for _, line := range done {
				fmt.Fprintln(c.out, line)
			}
			if err != nil {
				return err
			}
			if len(done) == 0 {
				fmt.Fprintf(c.out, "namespace %s ready: retention %s, search attributes registered; nothing to change\n",
					cfg.TemporalNamespace, retentionText(retention))
			}
			return nil
		},
	}
	cmd.Flags().Var((*retentionValue)(&retention), "retention", "how long Temporal keeps closed runs: days (30d) or a duration (720h), at least 1d")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "give up after this long")
	return cmd
}

// retentionValue is a retention flag: whole days (30d) or a Go duration.
type retentionValue time.Duration

func (r *retentionValue) String() string { return retentionText(time.Duration(*r)) }
func (r *retentionValue) Type() string   { return "retention" }

func (r *retentionValue) Set(s string) error {
	s = strings.TrimSpace(s)
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return config.Bad("--retention", s, "want whole days such as 30d, or a duration such as 720h")
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return config.Bad("--retention", s, "want whole days such as 30d, or a duration such as 720h")
		}
	}
	if d < serve.MinRetention {
		return config.Bad("--retention", s, "at least 1d: Temporal keeps closed runs a day or more")
	}
	*r = retentionValue(d)
	return nil
}

func retentionText(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
