package activities

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/memstat"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

func benchScale(b *testing.B) float64 {
	f, err := strconv.ParseFloat(os.Getenv("CATSYNC_BENCH_SCALE"), 64)
	if err != nil || f <= 0 {
		return 0.03
	}
	return f
}

// referenceSite shapes the reference catalog (100,000 volumes, 1,000,000
// tape files, 5,000,000 disk files at scale 1).
func referenceSite(scale float64) sim.Params {
	p := sim.DefaultParams()
	p.Volumes = int(100000 * scale)
	p.GroupsPerStore, p.EncryptedGroups = 4, 1
	p.Days, p.BackupsPerDay = 30, int(1667*scale+0.5)
	p.FilesPerBackup, p.DiskFilesPerFile, p.MaxVolumesPerSet = 20, 5, 2
	p.Retention = []sim.Retention{{Days: 60, Weight: 1}}
	p.ParallelPercent, p.RerunPercent, p.BadPercent, p.DSMOnlyVolumes = 0, 0, 0, 0
	return p
}

// BenchmarkSync measures the sync steps end to end (snapshot, transfer,
// plan, apply, finish) on a reference-shaped primary: a FULL into an empty
// secondary, then an UPDATE after a simulated day (fullThenUpdate); beside,
// in the same run, a plain Go bulk load and the SQLite engine's own insert
// of the same rows, and two naive baselines: upserting every row of the
// primary one by one into the secondary, and copying the whole SQLite file.
func BenchmarkSync(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	prim, primPath, n := benchPrimary(b, benchScale(b), dir)
	rows, snapRows := rowsOf(n, store.Tables), rowsOf(n, snapshotTables)

	for i := 0; i < b.N; i++ {
		run := filepath.Join(dir, strconv.Itoa(i))
		if err := os.MkdirAll(run, 0o755); err != nil {
			b.Fatal(err)
		}
		// The baselines first, so that the FULL reports its ratio to them.
		if _, err := prim.SQL().ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			b.Fatal(err)
		}
		var goBulk, engine time.Duration
		for _, base := range []struct {
			name string
			took *time.Duration
			load func(dst *sql.DB) (int64, error)
		}{
			{"baseline-go-bulk-load", &goBulk, func(dst *sql.DB) (int64, error) { return goBulkLoad(ctx, prim.SQL(), dst) }},
			{"baseline-sqlite-engine-insert-select", &engine, func(dst *sql.DB) (int64, error) { return engineLoad(ctx, primPath, dst) }},
		} {
			b.Run(base.name, func(b *testing.B) {
				dst, err := sqlstore.Open(ctx, filepath.Join(run, base.name+".db"))
				if err != nil {
					b.Fatal(err)
				}
				defer dst.Close()
				t0 := time.Now()
				got, err := base.load(dst.SQL())
				*base.took = time.Since(t0)
				if err != nil || got != snapRows {
					b.Fatalf("%d of %d rows: %v", got, snapRows, err)
				}
				b.ReportMetric(base.took.Seconds(), "full_s")
				b.ReportMetric(float64(got)/base.took.Seconds(), "full_rows/s")
			})
		}
		b.Run("catsync-full-then-update", func(b *testing.B) {
			p := benchPair(b, prim, sqltest.Open(b, filepath.Join(run, "secondary.db")), run)
			fullTime, againTime := p.fullThenUpdate(b, prim, snapRows)
			if goBulk > 0 && engine > 0 {
				b.ReportMetric(fullTime.Seconds()/goBulk.Seconds(), "full_per_go_bulk_load")
				b.ReportMetric(fullTime.Seconds()/engine.Seconds(), "full_per_engine_load")
				b.ReportMetric(againTime.Seconds()/goBulk.Seconds(), "refull_per_go_bulk_load")
				b.Logf("FULL %s = %.2fx the Go bulk load (%s), %.2fx the engine's row-by-row insert (%s) of the same %d rows; "+
					"FULL into the secondary holding the store %s = %.2fx the Go bulk load",
					fullTime.Round(time.Millisecond), fullTime.Seconds()/goBulk.Seconds(), goBulk.Round(time.Millisecond),
					fullTime.Seconds()/engine.Seconds(), engine.Round(time.Millisecond), snapRows,
					againTime.Round(time.Millisecond), againTime.Seconds()/goBulk.Seconds())
			}
		})
		b.Run("naive-row-by-row-upsert", func(b *testing.B) {
			sec, err := sqlstore.Open(ctx, filepath.Join(run, "naive.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer sec.Close()
			// At reference scale the naive copy would take hours: it runs
			// on the first naiveRows rows and its full time is projected
			// from the rate it measured (full_s_projected).
			limit := naiveRows(rows)
			t0 := time.Now()
			copied, err := upsertEveryRow(ctx, prim, sec, limit)
			if err != nil {
				b.Fatal(err)
			}
			d := time.Since(t0)
			rate := float64(copied) / d.Seconds()
			b.ReportMetric(rate, "full_rows/s")
			if copied < rows {
				b.ReportMetric(float64(rows)/rate, "full_s_projected")
			} else {
				b.ReportMetric(d.Seconds(), "full_s")
			}
		})
		b.Run("naive-copy-sqlite-file", func(b *testing.B) {
			t0 := time.Now()
			if _, err := prim.SQL().ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				b.Fatal(err)
			}
			if err := copyFile(primPath, filepath.Join(run, "copy.db")); err != nil {
				b.Fatal(err)
			}
			d := time.Since(t0)
			b.ReportMetric(d.Seconds(), "full_s")
			b.ReportMetric(float64(rows)/d.Seconds(), "full_rows/s")
		})
	}
}

// fullThenUpdate runs a FULL of the pair, then a simulated day on the
// primary (about 2.4% of the volumes written at the reference shape;
// BenchmarkUpdateScaling measures 1%) and an UPDATE, then a FULL again
// into the secondary that now holds the store, and reports their times,
// the FULL's rate over the rows it writes and the process's peak RSS. It
// returns the two FULLs' times.
func (p *pair) fullThenUpdate(b *testing.B, prim store.Store, rows int64) (time.Duration, time.Duration) {
	b.Helper()
	opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
	t0 := time.Now()
	full := p.syncOnce(b, "full", snapshot.Full, opts)
	fullTime := time.Since(t0)
	b.ReportMetric(fullTime.Seconds(), "full_s")
	b.ReportMetric(float64(rows)/fullTime.Seconds(), "full_rows/s")
	b.Logf("FULL: %d sets in %s (%s): %v", full.Sets, fullTime.Round(time.Millisecond), p.stepTimes(), full.Counts)
	if err := sim.Advance(context.Background(), prim, 1, nil); err != nil {
		b.Fatal(err)
	}
	t0 = time.Now()
	upd := p.syncOnce(b, "update", snapshot.Update, opts)
	updTime := time.Since(t0)
	b.ReportMetric(updTime.Seconds(), "update_s")
	b.ReportMetric(float64(upd.Counts["volume.create"]+upd.Counts["volume.update"]+upd.Counts["volume.unchanged"]), "update_volumes")
	b.Logf("UPDATE: %d sets in %s (%s): %v", upd.Sets, updTime.Round(time.Millisecond), p.stepTimes(), upd.Counts)
	// The monthly FULL meets a secondary that holds the store already:
	// every set is planned and checked again, and next to nothing written.
	t0 = time.Now()
	again := p.syncOnce(b, "full-again", snapshot.Full, opts)
	againTime := time.Since(t0)
	b.ReportMetric(againTime.Seconds(), "refull_s")
	b.Logf("FULL into the secondary holding the store: %d sets in %s (%s): %v", again.Sets, againTime.Round(time.Millisecond), p.stepTimes(), again.Counts)
	b.ReportMetric(memstat.PeakRSS(), "peak_rss_MiB")
	return fullTime, againTime
}

// benchPrimary builds the reference-shaped primary at scale in an SQLite
// file under dir, closed with the benchmark, and returns it with its path
// and its rows by table.
func benchPrimary(b *testing.B, scale float64, dir string) (*sqlstore.DB, string, map[string]int64) {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(dir, "primary.db")
	prim, err := sqlstore.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { prim.Close() })
	start := time.Now()
	if err := sim.Init(ctx, prim, referenceSite(scale), nil); err != nil {
		b.Fatal(err)
	}
	n, err := prim.Count(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("primary at scale %g built in %s: %v", scale, time.Since(start).Round(time.Second), n)
	return prim, path, n
}

// rowsOf is how many rows n counts in tables.
func rowsOf(n map[string]int64, tables []string) int64 {
	var rows int64
	for _, t := range tables {
		rows += n[t]
	}
	return rows
}

// benchPair makes sec the secondary of prim and gives both sites their
// steps, the outbox and the staging area under dir.
func benchPair(b *testing.B, prim, sec store.Store, dir string) *pair {
	b.Helper()
	if err := sim.InitSecondary(context.Background(), sec, prim, sim.DefaultSecondaryParams(), nil); err != nil {
		b.Fatal(err)
	}
	keys := simtest.Signing(b, dir)
	outbox := snapshot.Area{Root: filepath.Join(dir, "outbox"), Keys: keys.Primary}
	source := snapshot.Area{Root: outbox.Root, Keys: keys.Secondary}
	return &pair{prim: &Activities{Site: &Site{Name: "prim", Catalog: prim, Staging: outbox}},
		sec: &Activities{Site: &Site{Name: "secd", Catalog: sec, Staging: snapshot.Area{Root: filepath.Join(dir, "staging"), Keys: keys.Secondary}, Source: source}}}
}

// naiveRows bounds the naive baseline: all rows up to 1.5 million, which
// covers the reference catalog at scale 0.1 (CATSYNC_BENCH_NAIVE_ROWS
// overrides).
func naiveRows(total int64) int64 {
	if n, err := strconv.ParseInt(os.Getenv("CATSYNC_BENCH_NAIVE_ROWS"), 10, 64); err == nil && n > 0 {
		return min(n, total)
	}
	return min(total, 1_500_000)
}

// upsertEveryRow is the naive replication: every row of the primary's
// catalogs upserted into the secondary, one autocommitted write each, up
// to limit rows.
func upsertEveryRow(ctx context.Context, from store.Reader, to store.Store, limit int64) (int64, error) {
	var n int64
	all := store.Filter{}
	err := errors.Join(
		copyRows(ctx, to, &n, limit, func(fn func(*catalog.Volume) error) error { return from.ScanVolumes(ctx, all, fn) }, store.Tx.PutVolume),
		copyRows(ctx, to, &n, limit, func(fn func(*catalog.TapeVolume) error) error { return from.ScanTapeVolumes(ctx, all, fn) }, store.Tx.PutTapeVolume),
		copyRows(ctx, to, &n, limit, func(fn func(*catalog.TapeFile) error) error { return from.ScanTapeFiles(ctx, all, fn) }, store.Tx.PutTapeFile),
		copyRows(ctx, to, &n, limit, func(fn func(*catalog.TapeFileVolume) error) error { return from.ScanTapeFileVolumes(ctx, all, fn) }, store.Tx.PutTapeFileVolume),
		copyRows(ctx, to, &n, limit, func(fn func(*catalog.DiskFile) error) error { return from.ScanDiskFiles(ctx, all, fn) }, store.Tx.PutDiskFile),
		copyRows(ctx, to, &n, limit, func(fn func(*catalog.DiskFileVolume) error) error { return from.ScanDiskFileVolumes(ctx, all, fn) }, store.Tx.PutDiskFileVolume),
	)
	return n, err
}

// copyRows reads a table, then writes each row in its own transaction (a
// scan's callback must not write to the store it reads from).
func copyRows[T any](ctx context.Context, to store.Store, n *int64, limit int64, scan func(func(*T) error) error,
	put func(store.Tx, context.Context, *T) error) error {
	var rows []T
	errFull := errors.New("limit reached")
	err := scan(func(r *T) error {
		if *n+int64(len(rows)) >= limit {
			return errFull
		}
		rows = append(rows, *r)
		return nil
	})
	if err != nil && err != errFull {
		return err
	}
	for i := range rows {
		if err := to.Update(ctx, func(tx store.Tx) error { return put(tx, ctx, &rows[i]) }); err != nil {
			return err
		}
		*n++
	}
	return nil
}

func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
