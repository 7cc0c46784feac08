package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/store"
)

// importFlags are the flags shaping an import: --catalogfiles and
// --node-map, for sync and for the commands that reproduce an import.
type importFlags struct {
	files, nodeMap string
	flags          *pflag.FlagSet
	// Parsed by parse.
	catalogFiles bool
	pairs        []importer.NodePair
}

func (f *importFlags) bind(cmd *cobra.Command, filesUsage, nodeMapUsage string) {
	cmd.Flags().StringVar(&f.files, "catalogfiles", "yes", filesUsage)
	cmd.Flags().StringVar(&f.nodeMap, "node-map", "", nodeMapUsage)
	f.flags = cmd.Flags()
}

// parse checks the flags, naming the one at fault.
func (f *importFlags) parse() error {
	var err error
	if f.catalogFiles, err = config.ParseBool("--catalogfiles", f.files); err != nil {
		return err
	}
	if f.pairs, err = importer.ParseNodePairs(f.nodeMap); err != nil {
		return fmt.Errorf("--node-map: %w", err)
	}
	return nil
}

// options are the import's options for a data store, once parsed.
func (f *importFlags) options(storeID string) importer.Options {
	return importer.Options{StoreID: storeID, CatalogFiles: f.catalogFiles, NodePairs: f.pairs}
}

// asRecorded are the options of the last import of storeID that the
// secondary recorded, but for the flags given, which win; and a line
// saying where each came from. A store never imported takes the flags.
func (f *importFlags) asRecorded(ctx context.Context, secondary store.Reader, storeID string) (importer.Options, string, error) {
	o := f.options(storeID)
	last, ok, err := importer.RecordedOptions(ctx, secondary, storeID)
	if err != nil || !ok {
		return o, "", err
	}
	from := map[bool]string{true: "as given", false: "as the last import"}
	files, nodes := f.flags.Changed("catalogfiles"), f.flags.Changed("node-map")
	if !files {
		o.CatalogFiles = last.CatalogFiles
	}
	if !nodes {
		o.NodePairs = last.NodePairs
	}
	var named []string
	for _, p := range o.NodePairs {
		named = append(named, p.From+"="+p.To)
	}
	pairs := cmp.Or(strings.Join(named, ","), "none")
	return o, fmt.Sprintf("CATALOGFILES %s (%s), node pairs %s (%s)", map[bool]string{true: "YES", false: "NO"}[o.CatalogFiles],
		from[files], pairs, from[nodes]), nil
}

// parseBools makes every boolean flag of cmd and its subcommands read its
// value as the boolean settings do (config.ParseBool): --wait=yes works as
// CATSYNC_WORKFLOWS=yes does, and a bad value is refused in the same words.
func parseBools(cmd *cobra.Command) {
	for _, flags := range []*pflag.FlagSet{cmd.Flags(), cmd.PersistentFlags()} {
		flags.VisitAll(func(f *pflag.Flag) {
			if f.Value.Type() == "bool" {
				f.Value = boolValue{Value: f.Value, flag: "--" + f.Name}
			}
		})
	}
	for _, sub := range cmd.Commands() {
		parseBools(sub)
	}
}

// boolValue is a boolean flag's value, parsed by config.ParseBool.
type boolValue struct {
	pflag.Value
	flag string
}

func (v boolValue) Set(s string) error {
	b, err := config.ParseBool(v.flag, s)
	if err != nil {
		return err
	}
	return v.Value.Set(strconv.FormatBool(b))
}

// flagError states a flag value that does not parse as a setting's error:
// the flag, the value and what it takes, not pflag's and strconv's words.
func flagError(_ *cobra.Command, err error) error {
	var bad *config.SettingError
	if errors.As(err, &bad) {
		return bad
	}
	var invalid *pflag.InvalidValueError
	if !errors.As(err, &invalid) {
		return err
	}
	f := invalid.GetFlag()
	want := "want a value of type " + f.Value.Type()
	if strings.HasPrefix(f.Value.Type(), "int") || strings.HasPrefix(f.Value.Type(), "uint") {
		want = "want a whole number"
	}
	return config.Bad("--"+f.Name, invalid.GetValue(), want)
}
