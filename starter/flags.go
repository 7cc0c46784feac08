package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/internal/importer"
)

// importFlags are the flags shaping an import: --catalogfiles and
// --node-map, for sync and for the commands that reproduce an import.
type importFlags struct {
	files, nodeMap string
	// Parsed by parse.
	catalogFiles bool
	pairs        []importer.NodePair
}

func (f *importFlags) bind(cmd *cobra.Command, filesUsage, nodeMapUsage string) {
	cmd.Flags().StringVar(&f.files, "catalogfiles", "yes", filesUsage)
	cmd.Flags().StringVar(&f.nodeMap, "node-map", "", nodeMapUsage)
}

// parse checks the flags, naming the one at fault.
func (f *importFlags) parse() error {
	var err error
	if f.catalogFiles, err = parseYesNo("catalogfiles", f.files); err != nil {
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

// parseYesNo parses the YES/NO values BackPak's macros take.
func parseYesNo(flag, v string) (bool, error) {
	switch strings.ToUpper(v) {
	case "YES", "Y":
		return true, nil
	case "NO", "N":
		return false, nil
	}
	return false, fmt.Errorf("--%s %q: want yes or no", flag, v)
}
