package main

import (
	"os"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/catsync/catsync/internal/temporaltest"
)

// TestMain runs the tests with the package's Temporal dev server (started
// by the first test that needs it). Key managers of the caller's
// environment are not the tests' to use: each test gets its own (keyEnv).
func TestMain(m *testing.M) {
	os.Unsetenv("CATSYNC_PRIMARY_KEYS")
	os.Unsetenv("CATSYNC_SECONDARY_KEYS")
	temporaltest.Main(m)
}

// devServer is the dev server once devClient gave a test its client: the
// CLI under test reaches it by its address.
var devServer *testsuite.DevServer

// devClient is a client of the dev server; without the Temporal CLI the
// test is skipped (or fails, under CATSYNC_REQUIRE_TEMPORAL).
func devClient(t *testing.T) client.Client {
	t.Helper()
	devServer = temporaltest.Server(t)
	return devServer.Client()
}
