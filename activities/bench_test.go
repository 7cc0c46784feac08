package activities

import (
	"context"
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
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore"
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
// secondary, then an UPDATE after about 1% of the volumes changed; beside
// two naive baselines in the same run: upserting every row of the primary
// one by one into the secondary, and copying the whole SQLite file.
func BenchmarkSync(b *testing.B) {
	ctx := context.Background()
	scale := benchScale(b)
	dir := b.TempDir()
	primPath := filepath.Join(dir, "primary.db")
	prim, err := sqlstore.Open(ctx, primPath)
	if err != nil {
		b.Fatal(err)
	}
	defer prim.Close()
	start := time.Now()
	if err := sim.Init(ctx, prim, referenceSite(scale)); err != nil {
		b.Fatal(err)
	}
	n, _ := prim.Count(ctx)
	b.Logf("primary built in %s: %v", time.Since(start).Round(time.Second), n)
	rows := int64(0)
	for _, t := range store.Tables {
		rows += n[t]
	}

	for i := 0; i < b.N; i++ {
		run := filepath.Join(dir, strconv.Itoa(i))
		if err := os.MkdirAll(run, 0o755); err != nil {
			b.Fatal(err)
		}
		b.Run("catsync-full-then-update", func(b *testing.B) {
			sec, err := sqlstore.Open(ctx, filepath.Join(run, "secondary.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer sec.Close()
			if err := sim.InitSecondary(ctx, sec, prim, sim.DefaultSecondaryParams()); err != nil {
				b.Fatal(err)
			}
			outbox := snapshot.Area{Root: filepath.Join(run, "outbox")}
			p := &pair{prim: &Activities{Site: &Site{Name: "prim", Catalog: prim, Staging: outbox}},
				sec: &Activities{Site: &Site{Name: "secd", Catalog: sec, Staging: snapshot.Area{Root: filepath.Join(run, "staging")}, Source: outbox}}}
			opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
			t0 := time.Now()
			full := p.syncOnce(b, "full", snapshot.Full, opts)
			fullTime := time.Since(t0)
			b.ReportMetric(fullTime.Seconds(), "full_s")
			b.ReportMetric(float64(rows)/fullTime.Seconds(), "full_rows/s")
			b.Logf("FULL: %d sets in %s: %v", full.Sets, fullTime.Round(time.Millisecond), full.Counts)

			// About 1% of the volumes change: a simulated day whose backups
			// write that many volumes.
			if err := sim.Advance(ctx, prim, 1); err != nil {
				b.Fatal(err)
			}
			t0 = time.Now()
			upd := p.syncOnce(b, "update", snapshot.Update, opts)
			updTime := time.Since(t0)
			b.ReportMetric(updTime.Seconds(), "update_s")
			b.ReportMetric(float64(upd.Counts["volume.create"]+upd.Counts["volume.update"]+upd.Counts["volume.unchanged"]), "update_volumes")
			b.Logf("UPDATE: %d sets in %s: %v", upd.Sets, updTime.Round(time.Millisecond), upd.Counts)
			b.ReportMetric(memstat.PeakRSS(), "peak_rss_MiB")
		})
		b.Run("naive-row-by-row-upsert", func(b *testing.B) {
			sec, err := sqlstore.Open(ctx, filepath.Join(run, "naive.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer sec.Close()
			t0 := time.Now()
			copied, err := upsertEveryRow(ctx, prim, sec)
			if err != nil {
				b.Fatal(err)
			}
			d := time.Since(t0)
			b.ReportMetric(d.Seconds(), "full_s")
			b.ReportMetric(float64(copied)/d.Seconds(), "full_rows/s")
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

// upsertEveryRow is the naive replication: every row of the primary's
// catalogs upserted into the secondary, one autocommitted write each.
func upsertEveryRow(ctx context.Context, from store.Reader, to store.Store) (int64, error) {
	var n int64
	one := func(fn func(store.Tx) error) error {
		n++
		return to.Update(ctx, fn)
	}
	// The scans below first collect one table, then write it: a callback
	// must not write to the store it reads from.
	var vols []catalog.Volume
	var tvs []catalog.TapeVolume
	var tfs []catalog.TapeFile
	var tftov []catalog.TapeFileVolume
	all := store.Filter{}
	if err := from.ScanVolumes(ctx, all, func(v *catalog.Volume) error { vols = append(vols, *v); return nil }); err != nil {
		return n, err
	}
	for i := range vols {
		if err := one(func(tx store.Tx) error { return tx.PutVolume(ctx, &vols[i]) }); err != nil {
			return n, err
		}
	}
	if err := from.ScanTapeVolumes(ctx, all, func(v *catalog.TapeVolume) error { tvs = append(tvs, *v); return nil }); err != nil {
		return n, err
	}
	for i := range tvs {
		if err := one(func(tx store.Tx) error { return tx.PutTapeVolume(ctx, &tvs[i]) }); err != nil {
			return n, err
		}
	}
	if err := from.ScanTapeFiles(ctx, all, func(v *catalog.TapeFile) error { tfs = append(tfs, *v); return nil }); err != nil {
		return n, err
	}
	for i := range tfs {
		if err := one(func(tx store.Tx) error { return tx.PutTapeFile(ctx, &tfs[i]) }); err != nil {
			return n, err
		}
	}
	if err := from.ScanTapeFileVolumes(ctx, all, func(v *catalog.TapeFileVolume) error { tftov = append(tftov, *v); return nil }); err != nil {
		return n, err
	}
	for i := range tftov {
		if err := one(func(tx store.Tx) error { return tx.PutTapeFileVolume(ctx, &tftov[i]) }); err != nil {
			return n, err
		}
	}
	var dfs []catalog.DiskFile
	if err := from.ScanDiskFiles(ctx, all, func(d *catalog.DiskFile) error { dfs = append(dfs, *d); return nil }); err != nil {
		return n, err
	}
	for i := range dfs {
		if err := one(func(tx store.Tx) error { return tx.PutDiskFile(ctx, &dfs[i]) }); err != nil {
			return n, err
		}
	}
	return n, nil
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
