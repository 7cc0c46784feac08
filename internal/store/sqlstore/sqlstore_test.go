package sqlstore_test

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
	"github.com/catsync/catsync/internal/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() (store.Store, error) {
		path := filepath.Join(t.TempDir(), "site.db")
		return func() (store.Store, error) { return sqlstore.Open(context.Background(), path) }
	})
}

// postgresEnv names the server the PostgreSQL tests use; they skip without it.
const postgresEnv = "CATSYNC_TEST_POSTGRES_DSN"

var schemaSeq atomic.Int64

func TestPostgres(t *testing.T) {
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		t.Skipf("%s is not set", postgresEnv)
	}
	storetest.Run(t, func(t *testing.T) func() (store.Store, error) {
		schema := fmt.Sprintf("catsync_test_%d_%d", time.Now().UnixNano(), schemaSeq.Add(1))
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		siteDSN := dsn + sep + "search_path=" + schema
		t.Cleanup(func() {
			if db, err := sql.Open("pgx", dsn); err == nil {
				db.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE")
				db.Close()
			}
		})
		return func() (store.Store, error) { return sqlstore.Open(context.Background(), siteDSN) }
	})
}

func TestOpenErrorsNameTheCatalog(t *testing.T) {
	_, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "missing", "dir", "site.db"))
	if err == nil || !strings.Contains(err.Error(), "site.db") {
		t.Errorf("opening an unreachable file: %v", err)
	}
	if _, err := sqlstore.Open(context.Background(), ""); err == nil {
		t.Error("empty DSN accepted")
	}
}
