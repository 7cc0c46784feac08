package sim

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/memstat"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore"
)

// referenceParams shape the reference catalog of the performance budget:
// 100,000 volumes, 1,000,000 TAPEFILEs and 5,000,000 DISKFILEs (scaled by
// CATSYNC_BENCH_SCALE, 1 by default): 30 days of 1,667 nightly runs writing
// 20 tape files of 5 disk files each, kept 60 days so none expires yet.
func referenceParams(scale float64) Params {
	p := DefaultParams()
	p.Volumes = int(100000 * scale)
	p.GroupsPerStore, p.EncryptedGroups = 4, 1
	p.Days, p.BackupsPerDay = 30, int(1667*scale+0.5)
	p.FilesPerBackup, p.DiskFilesPerFile, p.MaxVolumesPerSet = 20, 5, 2
	p.Retention = []Retention{{60, 1}}
	p.ParallelPercent, p.RerunPercent, p.BadPercent, p.DSMOnlyVolumes = 0, 0, 0, 0
	return p
}

func benchScale(b *testing.B) float64 {
	s := os.Getenv("CATSYNC_BENCH_SCALE")
	if s == "" {
		return 1
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		b.Fatalf("CATSYNC_BENCH_SCALE=%q: want a positive number", s)
	}
	return f
}

// heapSampler records the largest Go heap seen while a phase runs.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func sampleHeap() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > h.peak.Load() {
				h.peak.Store(m.HeapInuse)
			}
			select {
			case <-h.stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return h
}

func (h *heapSampler) mib() float64 {
	close(h.stop)
	<-h.done
	return float64(h.peak.Load()) / (1 << 20)
}

func totalRows(b *testing.B, st store.Reader) int64 {
	n, err := st.Count(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	var sum int64
	for _, t := range store.Tables {
		sum += n[t]
	}
	b.Logf("rows: %v", n)
	return sum
}

// BenchmarkReferenceCatalog builds the reference catalog through the
// simulator and the store (batched, one transaction per simulated day), then
// streams every table back; run it with -benchtime=1x.
func BenchmarkReferenceCatalog(b *testing.B) {
	ctx := context.Background()
	scale := benchScale(b)
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		st, err := sqlstore.Open(ctx, filepath.Join(dir, "reference.db"))
		if err != nil {
			b.Fatal(err)
		}
		heap := sampleHeap()
		start := time.Now()
		if err := Init(ctx, st, referenceParams(scale), nil); err != nil {
			b.Fatal(err)
		}
		build := time.Since(start)
		buildHeap := heap.mib()
		rows := totalRows(b, st)
		b.ReportMetric(float64(rows), "rows")
		b.ReportMetric(float64(rows)/build.Seconds(), "build_rows/s")
		b.ReportMetric(buildHeap, "build_peak_heap_MiB")
		b.ReportMetric(memstat.PeakRSS(), "build_peak_rss_MiB")

		heap = sampleHeap()
		start = time.Now()
		var streamed int64
		count := func(any) error { streamed++; return nil }
		all := store.Filter{}
		for _, scan := range []func() error{
			func() error { return st.ScanVolumes(ctx, all, func(v *catalog.Volume) error { return count(v) }) },
			func() error {
				return st.ScanTapeVolumes(ctx, all, func(v *catalog.TapeVolume) error { return count(v) })
			},
			func() error { return st.ScanTapeFiles(ctx, all, func(v *catalog.TapeFile) error { return count(v) }) },
			func() error {
				return st.ScanTapeFileVolumes(ctx, all, func(v *catalog.TapeFileVolume) error { return count(v) })
			},
			func() error { return st.ScanDiskFiles(ctx, all, func(v *catalog.DiskFile) error { return count(v) }) },
			func() error {
				return st.ScanDiskFileVolumes(ctx, all, func(v *catalog.DiskFileVolume) error { return count(v) })
			},
		} {
			if err := scan(); err != nil {
				b.Fatal(err)
			}
		}
		stream := time.Since(start)
		b.ReportMetric(float64(streamed)/stream.Seconds(), "stream_rows/s")
		b.ReportMetric(heap.mib(), "stream_peak_heap_MiB")
		b.ReportMetric(memstat.PeakRSS(), "peak_rss_MiB")
		if fi, err := os.Stat(filepath.Join(dir, "reference.db")); err == nil {
			b.ReportMetric(float64(fi.Size())/(1<<20), "db_MiB")
		}
		st.Close()
	}
}

// BenchmarkInsertDiskFiles compares, on the same slice of DISKFILE rows,
// the store's batched transaction with the naive way: one INSERT per row,
// each its own autocommitted transaction.
func BenchmarkInsertDiskFiles(b *testing.B) {
	ctx := context.Background()
	rows := diskFileSlice(b, 20000)
	b.Run("store-batched", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			st := openBench(b)
			start := time.Now()
			err := st.Update(ctx, func(tx store.Tx) error {
				for j := range rows {
					if err := tx.PutDiskFile(ctx, &rows[j]); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(rows))/time.Since(start).Seconds(), "rows/s")
			st.Close()
		}
	})
	b.Run("naive-autocommit", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			st := openBench(b)
			db := st.SQL()
			start := time.Now()
			for _, d := range rows {
				_, err := db.ExecContext(ctx, `INSERT INTO diskfile (filecat, diskfilename, fileid, generation, volsetid,
					version, timedumped, physicalcopy, logicalcopy, diskfilestatus, opened, broken, rfneeded, corrupt,
					audited, filecode, filetype, diskfileeof, diskfileeof64, lastmodtime, poolname, volumecatalog)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, ?, ?, ?, ?, ?, ?, ?)`,
					d.Filecat, d.Name, d.FileID, d.Generation, d.VolsetID, d.Version, d.TimeDumped.UnixMicro(),
					d.PhysicalCopy, d.LogicalCopy, d.Status, d.FileCode, d.FileType, d.EOF32(), d.EOF,
					d.LastModified.UnixMicro(), d.Pool, d.Volcat)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(rows))/time.Since(start).Seconds(), "rows/s")
			st.Close()
		}
	})
}

func openBench(b *testing.B) *sqlstore.DB {
	st, err := sqlstore.Open(context.Background(), filepath.Join(b.TempDir(), "slice.db"))
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// diskFileSlice simulates a small site and returns its first n DISKFILEs.
func diskFileSlice(b *testing.B, n int) []catalog.DiskFile {
	ctx := context.Background()
	st := openBench(b)
	defer st.Close()
	p := referenceParams(0.01)
	p.Days = 1 + n/(p.BackupsPerDay*p.FilesPerBackup*p.DiskFilesPerFile)
	if err := Init(ctx, st, p, nil); err != nil {
		b.Fatal(err)
	}
	out := make([]catalog.DiskFile, 0, n)
	stop := errStop{}
	err := st.ScanDiskFiles(ctx, store.Filter{}, func(d *catalog.DiskFile) error {
		if out = append(out, *d); len(out) == n {
			return stop
		}
		return nil
	})
	if err != nil && err != error(stop) {
		b.Fatal(err)
	}
	return out
}

type errStop struct{}

func (errStop) Error() string { return "stop" }
