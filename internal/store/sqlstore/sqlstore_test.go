package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/catalog"
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

// A trail written before records had keys (schema 7: one record per run,
// by run_id) keeps its records, their keys and its chain, and is anchored
// at its head by the migration, on both dialects.
func TestAuditKeyMigration(t *testing.T) {
	ctx := context.Background()
	// Records as the older catsync wrote them: a run's own, keyed by run.
	src := sqltest.Open(t, sqltest.SQLiteDSN(t))
	for _, run := range []string{"r1", "r2", "r3"} {
		if _, err := audit.Append(ctx, src, audit.Entry{RunID: run, Store: "DS_PROD", Type: "UPDATE", Outcome: "Completed"}); err != nil {
			t.Fatal(err)
		}
	}
	var old []store.AuditRecord
	if err := src.ScanAudit(ctx, func(r *store.AuditRecord) error { old = append(old, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	sqltest.RunDSN(t, func(t *testing.T, dsn func(testing.TB) string) {
		name := dsn(t)
		db, err := sqlstore.OpenVersion(ctx, name, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range old {
			q := "INSERT INTO audit (seq, run_id, entry, prev, hash) VALUES (?, ?, ?, ?, ?)"
			if strings.HasPrefix(name, "postgres") {
				q = "INSERT INTO audit (seq, run_id, entry, prev, hash) VALUES ($1, $2, $3, $4, $5)"
			}
			if _, err := db.SQL().Exec(q, r.Seq, r.Key, r.Entry, r.Prev, r.Hash); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()

		st := sqltest.Open(t, name)
		if v, err := st.Meta(ctx, store.MetaAuditHead); err != nil || v != "3 "+old[2].Hash {
			t.Errorf("anchor after the migration %q, %v; want the head, record 3", v, err)
		}
		var keys []string
		if n, err := audit.Verify(ctx, st, func(r store.AuditRecord, _ audit.Entry) error { keys = append(keys, r.Key); return nil }); err != nil || n != 3 {
			t.Fatalf("verify after the migration: %d records, %v", n, err)
		}
		if strings.Join(keys, ",") != "r1,r2,r3" {
			t.Errorf("keys after the migration %v, want the run ids", keys)
		}
		// r2 still has its record; its approval is another.
		if rec, err := audit.Append(ctx, st, audit.Entry{RunID: "r2", Store: "DS_PROD", Outcome: "Completed"}); err != nil || rec.Seq != 0 {
			t.Errorf("r2 recorded again: %+v, %v", rec, err)
		}
		rec, err := audit.Append(ctx, st, audit.Entry{Kind: audit.KindApproval, RunID: "r2", Operator: "ops1", Outcome: "Approved"})
		if err != nil || rec.Seq != 4 || rec.Key != "r2/approval" {
			t.Errorf("approval within r2: %+v, %v", rec, err)
		}
		if n, err := audit.Verify(ctx, st, nil); err != nil || n != 4 {
			t.Errorf("verify after appending: %d records, %v", n, err)
		}
	})
}

// A trail without records gets no anchor from the migration, and verifies.
func TestAuditMigrationEmptyTrail(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, newStore func(testing.TB) store.Store) {
		st := newStore(t)
		if _, err := st.Meta(context.Background(), store.MetaAuditHead); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("anchor of an empty trail: %v, want none", err)
		}
		if n, err := audit.Verify(context.Background(), st, nil); err != nil || n != 0 {
			t.Errorf("verify an empty trail: %d, %v", n, err)
		}
	})
}

// On PostgreSQL a table a transaction filled has statistics once it
// commits, not a minute later: what the next reads are planned from.
func TestPostgresAnalyzesWhatGrew(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqltest.PostgresDSN(t)) // skips without a server
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = sqlstore.MinAnalyzeRows + 500
	if err := db.Update(ctx, func(tx store.Tx) error {
		for i := range n {
			if err := tx.PutFileConfig(ctx, &catalog.FileConfig{Filecat: `\SECD.FC`, FileID: fmt.Sprintf("F%06d", i), LastGeneration: 1}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var rows int64
	if err := db.SQL().QueryRowContext(ctx, "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass('config')").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != n {
		t.Errorf("config's statistics count %d rows, want %d", rows, n)
	}
}

// A write the database refuses fails the savepoint it was put in, whenever
// the database answers it: on PostgreSQL a table's rows are held back and
// sent together, and the refusal comes back with what sends them (a read,
// the thousandth row, the savepoint's end); rows held back and not sent
// go with a savepoint that fails. What the transaction wrote
// before and after the savepoint commits, and nothing of the savepoint.
func TestRefusedWriteFailsItsSavepoint(t *testing.T) {
	sqltest.RunDSN(t, func(t *testing.T, dsn func(testing.TB) string) {
		ctx := context.Background()
		db, err := sqlstore.Open(ctx, dsn(t))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		refuse := `ALTER TABLE tapevolume ADD CONSTRAINT refused CHECK (volser <> 'BAD001')`
		if strings.HasPrefix(t.Name(), "TestRefusedWriteFailsItsSavepoint/sqlite") {
			refuse = `CREATE TRIGGER refused BEFORE INSERT ON tapevolume WHEN NEW.volser = 'BAD001'
				BEGIN SELECT RAISE(ABORT, 'refused'); END`
		}
		if _, err := db.SQL().ExecContext(ctx, refuse); err != nil {
			t.Fatal(err)
		}
		put := func(tx store.Tx, volser string) error {
			return tx.PutTapeVolume(ctx, &catalog.TapeVolume{Volcat: "VOLCAT1", Pool: "POOL1", Volser: volser,
				Label: "BACKUP", Type: "CART3480", Status: catalog.StatusScratch, EndOfDataLBA: -1})
		}
		puts := func(tx store.Tx, prefix string, n int, bad int) error {
			for i := range n {
				if err := put(tx, fmt.Sprintf("%s%05d", prefix, i)); err != nil {
					return err
				}
				if i == bad {
					if err := put(tx, "BAD001"); err != nil {
						return err
					}
				}
			}
			return nil
		}
		err = db.Update(ctx, func(tx store.Tx) error {
			if err := puts(tx, "A", 1500, -1); err != nil {
				return err
			}
			// The refused row among the first thousand held: refused as
			// the thousandth is put.
			if err := tx.Savepoint(ctx, func() error { return puts(tx, "B", 1500, 700) }); err == nil || !strings.Contains(err.Error(), "tapevolume") {
				t.Errorf("savepoint writing a refused row: %v, want the refusal naming tapevolume", err)
			}
			// Refused as a read sends it.
			if err := tx.Savepoint(ctx, func() error {
				if err := puts(tx, "C", 10, 5); err != nil {
					return err
				}
				return tx.ScanTapeVolumes(ctx, store.Filter{Volser: "A00001"}, func(*catalog.TapeVolume) error { return nil })
			}); err == nil || !strings.Contains(err.Error(), "tapevolume") {
				t.Errorf("read after a refused row: %v, want the refusal naming tapevolume", err)
			}
			own := errors.New("the set's own failure")
			// Rows held back, not sent, go with a savepoint that fails
			// of its own accord.
			if err := tx.Savepoint(ctx, func() error {
				if err := puts(tx, "F", 10, -1); err != nil {
					return err
				}
				return own
			}); !errors.Is(err, own) {
				t.Errorf("savepoint failing with rows held: %v, want its own error", err)
			}
			return puts(tx, "D", 1200, -1)
		})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		if err := db.ScanTapeVolumes(ctx, store.Filter{}, func(v *catalog.TapeVolume) error {
			got[v.Volser[:1]]++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{"A": 1500, "D": 1200}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("tape volumes by first letter %v, want %v", got, want)
		}
	})
}
