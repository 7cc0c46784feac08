// Package temporaltest starts the Temporal dev server that integration
// tests run against: the pinned CLI binary, never a download. A package's
// TestMain calls Main; its tests that need the server call Client (or
// Server, for its address).
//
// It imports workflows for the search attributes to register: an assembly
// package for tests, above the packages it serves.
package temporaltest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/catsync/catsync/workflows"
)

// CLIEnv names the Temporal CLI binary the tests run.
const CLIEnv = "CATSYNC_TEMPORAL_CLI"

// RequireEnv makes a missing Temporal CLI a failure instead of a skip (CI
// sets it).
const RequireEnv = "CATSYNC_REQUIRE_TEMPORAL"

// The package's one dev server, started by the first Server and stopped by
// Main once the tests ran.
var (
	mainRan bool
	once    sync.Once
	server  *testsuite.DevServer
	failed  error
)

// Main runs a package's tests, then stops the dev server if one of them
// started it, and exits with the tests' status.
func Main(m *testing.M) {
	mainRan = true
	code := m.Run()
	if server != nil {
		if err := server.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop the Temporal dev server:", err)
		}
	}
	os.Exit(code)
}

// Client returns a client of the default namespace of the package's dev
// server (see Server).
func Client(t testing.TB) client.Client {
	t.Helper()
	return Server(t).Client()
}

// Server returns the package's dev server, which the first call starts
// with catsync's search attributes. Without the CLI the test is skipped,
// or fails when RequireEnv is set.
func Server(t testing.TB) *testsuite.DevServer {
	t.Helper()
	if !mainRan {
		t.Fatal("temporaltest needs the package's TestMain to call temporaltest.Main")
	}
	path := CLI(t)
	once.Do(func() { server, failed = start(context.Background(), path) })
	if failed != nil {
		t.Fatalf("start the Temporal dev server %s: %v", path, failed)
	}
	return server
}

// CLI returns the path of the Temporal CLI; without it the test is
// skipped, or fails when RequireEnv is set.
func CLI(t testing.TB) string {
	t.Helper()
	path := cli()
	if path == "" {
		msg := fmt.Sprintf("no Temporal CLI: set %s to its binary, or build it into .bin/temporal with `make temporal`", CLIEnv)
		if p := os.Getenv(CLIEnv); p != "" {
			msg = fmt.Sprintf("no Temporal CLI at %s=%s: build it with `make temporal`", CLIEnv, p)
		}
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("%s (%s is set: the Temporal tests must run)", msg, RequireEnv)
		}
		t.Skip(msg)
	}
	return path
}

// Persistent starts a dev server of the test's own on the SQLite file db,
// for a test that stops it and starts it again on the same state (Stop,
// then Persistent again with register false: the search attributes are
// in the file). The caller stops it.
func Persistent(t testing.TB, db string, register bool) *testsuite.DevServer {
	t.Helper()
	return PersistentOn(t, db, "", register)
}

// PersistentOn is Persistent with the frontend on hostPort ("" for a free
// port): a server started again there is the same server to the workers
// and clients that dialled it.
func PersistentOn(t testing.TB, db, hostPort string, register bool) *testsuite.DevServer {
	t.Helper()
	opts := testsuite.DevServerOptions{ExistingPath: CLI(t), LogLevel: "error", DBFilename: db,
		ClientOptions: &client.Options{Namespace: "default", HostPort: hostPort}}
	if register {
		opts.SearchAttributes = workflows.SearchAttributes()
	}
	s, err := testsuite.StartDevServer(context.Background(), opts)
	if err != nil {
		t.Fatalf("start a Temporal dev server on %s: %v", db, err)
	}
	return s
}

// cli finds the Temporal CLI: CATSYNC_TEMPORAL_CLI, or the one `make
// temporal` builds into .bin at the module root. It returns "" when there
// is none.
func cli() string {
	if p := os.Getenv(CLIEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return ""
		}
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

// start starts a dev server from the CLI at path, with catsync's search
// attributes registered, and returns it with a client of its default
// namespace.
func start(ctx context.Context, path string) (*testsuite.DevServer, error) {
	return testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: path, LogLevel: "error", SearchAttributes: workflows.SearchAttributes(),
		ClientOptions: &client.Options{Namespace: "default"},
	})
}

// WithUI starts a dev server of its own with the Web UI on a free port,
// catsync's search attributes registered, for a test that drives the UI;
// it returns the server and the UI's base URL. The test's end stops it.
func WithUI(t testing.TB) (*testsuite.DevServer, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	s, err := testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{ExistingPath: CLI(t), LogLevel: "error",
		SearchAttributes: workflows.SearchAttributes(), ClientOptions: &client.Options{Namespace: "default"}, EnableUI: true, UIPort: port})
	if err != nil {
		t.Fatalf("start a Temporal dev server with its Web UI: %v", err)
	}
	t.Cleanup(func() { s.Stop() })
	return s, "http://127.0.0.1:" + port
}
