// Package temporaltest starts the Temporal dev server that integration
// tests run against: the pinned CLI binary, never a download.
package temporaltest

import (
	"context"
	"os"
	"path/filepath"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/catsync/catsync/workflows"
)

// CLI finds the Temporal CLI: CATSYNC_TEMPORAL_CLI, or the one `make
// temporal` builds into .bin at the module root. It returns "" when there
// is none.
func CLI() string {
	if p := os.Getenv("CATSYNC_TEMPORAL_CLI"); p != "" {
		return p
	}
	dir, err := os.Getwd()
	for err == nil {
		if _, e := os.Stat(filepath.Join(dir, "go.mod")); e == nil {
			p := filepath.Join(dir, ".bin", "temporal")
			if _, e := os.Stat(p); e == nil {
				return p
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return ""
}

// Start starts a dev server from the CLI at path, with catsync's search
// attributes registered, and returns it with a client of its default
// namespace.
func Start(ctx context.Context, path string) (*testsuite.DevServer, error) {
	sa := temporal.NewSearchAttributes(workflows.StoreKey.ValueSet(""), workflows.TypeKey.ValueSet(""),
		workflows.OutcomeKey.ValueSet(""), workflows.ChangesKey.ValueSet(0))
	return testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: path, LogLevel: "error", SearchAttributes: sa,
		ClientOptions: &client.Options{Namespace: "default"},
	})
}
