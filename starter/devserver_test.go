package main

import (
	"context"
	"os"
	"sync"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/catsync/catsync/internal/temporaltest"
)

var (
	devOnce   sync.Once
	devServer *testsuite.DevServer
	devErr    error
)

// TestMain stops the dev server the tests started, if any: it shares the
// test binary's output. Key managers of the caller's environment are not
// the tests' to use: each test gets its own (keyEnv).
func TestMain(m *testing.M) {
	os.Unsetenv("CATSYNC_PRIMARY_KEYS")
	os.Unsetenv("CATSYNC_SECONDARY_KEYS")
	code := m.Run()
	if devServer != nil {
		_ = devServer.Stop()
	}
	os.Exit(code)
}

// devClient starts one Temporal dev server for the package's tests.
func devClient(t *testing.T) client.Client {
	t.Helper()
	cli := temporaltest.CLI()
	if cli == "" {
		t.Skip("no Temporal CLI (run `make temporal` or set CATSYNC_TEMPORAL_CLI)")
	}
	devOnce.Do(func() { devServer, devErr = temporaltest.Start(context.Background(), cli) })
	if devErr != nil {
		t.Fatal(devErr)
	}
	return devServer.Client()
}
