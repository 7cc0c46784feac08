package sqlstore_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
	"github.com/catsync/catsync/internal/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() (store.Store, error) {
		path := filepath.Join(t.TempDir(), "site.db")
		return func() (store.Store, error) { return sqlstore.Open(context.Background(), path) }
	})
}

func TestPostgres(t *testing.T) {
	sqltest.PostgresDSN(t) // skips without a server
	storetest.Run(t, func(t *testing.T) func() (store.Store, error) {
		dsn := sqltest.PostgresDSN(t)
		return func() (store.Store, error) { return sqlstore.Open(context.Background(), dsn) }
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
