package activities

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/catsync/catsync/internal/store/sqlstore"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// BenchmarkSyncPostgres is BenchmarkSync with the secondary in PostgreSQL
// (CATSYNC_TEST_POSTGRES_DSN; skipped without it): a FULL into an empty
// schema, then an UPDATE after a simulated day, beside a COPY (pgx
// CopyFrom) of the same rows into the same schema, in the same run.
func BenchmarkSyncPostgres(b *testing.B) {
	ctx := context.Background()
	copyDSN := sqltest.PostgresDSN(b) // skips without a server
	dir := b.TempDir()
	prim, _, n := benchPrimary(b, benchScale(b), dir)
	rows := rowsOf(n, snapshotTables)
	for i := 0; i < b.N; i++ {
		var copyTime time.Duration
		b.Run("baseline-postgres-copy", func(b *testing.B) {
			dsn := copyDSN
			if i > 0 {
				dsn = sqltest.PostgresDSN(b)
			}
			t0 := time.Now()
			got, err := pgCopy(ctx, prim.SQL(), dsn)
			copyTime = time.Since(t0)
			if err != nil || got != rows {
				b.Fatalf("%d of %d rows: %v", got, rows, err)
			}
			b.ReportMetric(copyTime.Seconds(), "full_s")
			b.ReportMetric(float64(got)/copyTime.Seconds(), "full_rows/s")
		})
		b.Run("catsync-full-then-update", func(b *testing.B) {
			p := benchPair(b, prim, sqltest.Open(b, sqltest.PostgresDSN(b)), filepath.Join(dir, fmt.Sprint(i)))
			fullTime, againTime := p.fullThenUpdate(b, prim, rows)
			if copyTime > 0 {
				b.ReportMetric(fullTime.Seconds()/copyTime.Seconds(), "full_per_copy")
				b.ReportMetric(againTime.Seconds()/copyTime.Seconds(), "refull_per_copy")
				b.Logf("FULL %s = %.2fx a COPY of the same %d rows (%s); FULL into the secondary holding the store %s = %.2fx",
					fullTime.Round(time.Millisecond), fullTime.Seconds()/copyTime.Seconds(), rows, copyTime.Round(time.Millisecond),
					againTime.Round(time.Millisecond), againTime.Seconds()/copyTime.Seconds())
			}
		})
	}
}

// pgCopy loads the snapshot tables of the SQLite catalog src into the
// PostgreSQL schema of dsn (laid out by catsync's store first) with COPY,
// in one transaction: the fastest way rows go into PostgreSQL.
func pgCopy(ctx context.Context, src *sql.DB, dsn string) (int64, error) {
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		return 0, err
	}
	st.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)
	var total int64
	for _, tb := range snapshotTables {
		rd, err := readTable(ctx, src, tb)
		if err != nil {
			return total, err
		}
		k, err := tx.CopyFrom(ctx, pgx.Identifier{tb}, rd.cols, pgx.CopyFromFunc(func() ([]any, error) {
			if more, err := rd.next(); !more || err != nil {
				return nil, err
			}
			return rd.vals, nil
		}))
		rd.rows.Close()
		total += k
		if err != nil {
			return total, fmt.Errorf("copy %s: %w", tb, err)
		}
	}
	return total, tx.Commit(ctx)
}
