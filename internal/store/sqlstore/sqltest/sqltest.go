// Package sqltest gives tests throwaway site catalogs on both dialects: an
// SQLite file, and a PostgreSQL schema when CATSYNC_TEST_POSTGRES_DSN
// names a server.
package sqltest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore"
)

// PostgresEnv names the server the PostgreSQL tests use; they skip without it.
const PostgresEnv = "CATSYNC_TEST_POSTGRES_DSN"

var schemaSeq atomic.Int64

// SQLiteDSN returns a new SQLite catalog path in the test's temporary folder.
func SQLiteDSN(t testing.TB) string {
	return filepath.Join(t.TempDir(), fmt.Sprintf("site%d.db", schemaSeq.Add(1)))
}

// PostgresDSN returns the DSN of a new schema, dropped when the test ends;
// the test skips when no server is configured.
func PostgresDSN(t testing.TB) string {
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		t.Skipf("%s is not set", PostgresEnv)
	}
	schema := fmt.Sprintf("catsync_test_%d_%d", time.Now().UnixNano(), schemaSeq.Add(1))
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", dsn); err == nil {
			db.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE")
			db.Close()
		}
	})
	return dsn + sep + "search_path=" + schema
}

// Open opens a catalog for the rest of the test.
func Open(t testing.TB, dsn string) store.Store {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Run runs fn once per dialect, as subtests sqlite and postgres; newStore
// opens a fresh, empty catalog of that dialect.
func Run(t *testing.T, fn func(t *testing.T, newStore func(testing.TB) store.Store)) {
	RunDSN(t, func(t *testing.T, dsn func(testing.TB) string) {
		fn(t, func(tb testing.TB) store.Store { return Open(tb, dsn(tb)) })
	})
}

// RunDSN is Run for tests that open catalogs by name (a site's
// configuration): dsn names a fresh, empty catalog of the dialect.
func RunDSN(t *testing.T, fn func(t *testing.T, dsn func(testing.TB) string)) {
	for _, d := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", SQLiteDSN}, {"postgres", PostgresDSN}} {
		t.Run(d.name, func(t *testing.T) {
			d.dsn(t) // skips early without a server
			fn(t, d.dsn)
		})
	}
}
