package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// catsync runs one command line in-process.
func catsync(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	keyEnv(t)
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// keyEnv gives a test, the first time it runs catsync, its own primary and
// secondary keystores as an operator's environment would; a test that set
// CATSYNC_PRIMARY_KEYS itself (even empty) keeps its setting.
func keyEnv(t *testing.T) {
	if _, set := os.LookupEnv("CATSYNC_PRIMARY_KEYS"); set {
		return
	}
	cfg := &config.Config{MasterKey: bytes.Repeat([]byte{4}, 32)}
	simtest.Keystores(t, t.TempDir(), cfg)
	useKeys(t, cfg)
}

// useKeys gives the CLI the sites' key managers of cfg, through the
// environment.
func useKeys(t *testing.T, cfg *config.Config) {
	t.Setenv(config.MasterKeyEnv, base64.StdEncoding.EncodeToString(cfg.MasterKey))
	t.Setenv("CATSYNC_PRIMARY_KEYS", cfg.Primary.Keys)
	t.Setenv("CATSYNC_SECONDARY_KEYS", cfg.Secondary.Keys)
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := catsync(t, args...)
	if code != 0 {
		t.Fatalf("catsync %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

// mustFail runs a command that must fail with a message holding every want.
func mustFail(t *testing.T, want []string, args ...string) {
	t.Helper()
	out, errs, code := catsync(t, args...)
	if code != 1 {
		t.Errorf("catsync %s: exit %d, want 1 (stdout %q)", strings.Join(args, " "), code, out)
	}
	for _, w := range want {
		if !strings.Contains(errs, w) {
			t.Errorf("catsync %s: stderr %q does not name %q", strings.Join(args, " "), errs, w)
		}
	}
}

// newPrimary simulates a small primary site: 10 days from 2026-01-05.
func newPrimary(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "primary.db")
	mustRun(t, "sim", "init", "--catalog", path, "--volumes", "60", "--days", "10")
	return path
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// rows returns the whitespace-separated fields of the output lines whose
// first field is first.
func rows(out, first string) [][]string {
	var found [][]string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == first {
			found = append(found, f)
		}
	}
	return found
}

// hasRow reports whether one of rs starts with want.
func hasRow(rs [][]string, want []string) bool {
	for _, r := range rs {
		if len(r) >= len(want) && strings.Join(r[:len(want)], " ") == strings.Join(want, " ") {
			return true
		}
	}
	return false
}

// collect appends copies of scanned records: a scan reuses its record, and
// its callback must not query the store, so lookups wait for the scan's end.
func collect[T any](out *[]T) func(*T) error {
	return func(rec *T) error {
		*out = append(*out, *rec)
		return nil
	}
}

func TestCatalogFlag(t *testing.T) {
	t.Setenv(config.CatalogEnv, "")
	mustFail(t, []string{"--catalog", config.CatalogEnv}, "counts")
	mustFail(t, []string{"--catalog", config.CatalogEnv}, "sim", "init", "--volumes", "1")
	mustFail(t, []string{"--catalog", config.CatalogEnv}, "info", "tapevolume", "T00001")

	path := newPrimary(t)
	t.Setenv(config.CatalogEnv, path)
	if out := mustRun(t, "counts"); !strings.Contains(out, `Site \PRIM`) {
		t.Errorf("counts from %s: %s", config.CatalogEnv, out)
	}

	// Read commands open existing sites only, and create nothing.
	dir := t.TempDir()
	missing := filepath.Join(dir, "typo.db")
	mustFail(t, []string{"--catalog", missing}, "counts", "--catalog", missing)
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("counts created %s", missing)
	}
	empty := filepath.Join(dir, "empty.db")
	sqltest.Open(t, empty)
	mustFail(t, []string{"holds no site"}, "counts", "--catalog", empty)
}
