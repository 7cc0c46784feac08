package volimage

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/catalog"
)

// BenchmarkRestoreRead measures the restore test's read of a 64 MiB
// encrypted, compressed volume (Open; Check: every block's GCM tag; FileAt
// of each tape file: its labels and directory) beside a bare sequential
// read of the same files, both from storage (the files evicted from the
// page cache before each read, as a data store's images are) and from the
// page cache; and, from the cache, a full read of the tape stream (Files:
// inflate and content digests too). All report MB/s of image bytes on
// disk; plainMB/s is the tape data the full read recovers.
func BenchmarkRestoreRead(b *testing.B) {
	const label = "P00001"
	dir := b.TempDir()
	key := testKey(9)
	var files []TapeFile
	for i := range 4 {
		f := TapeFile{FileID: fmt.Sprintf("PRIM.BACKUP.BENCH.F%d", i), FileSetID: label, Section: 1, Sequence: i + 1,
			Generation: 1, Created: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
		for j := range 4 {
			f.Disk = append(f.Disk, SyntheticEntry(fmt.Sprintf("\\PRIM.$DATA.BENCH%d.F%d", i, j), 4<<20))
		}
		files = append(files, f)
	}
	h := header(label, "K_BENCH", catalog.CompressZlib)
	if err := WriteWith(dir, h, key, files, Options{Content: true}); err != nil {
		b.Fatal(err)
	}
	paths := []string{filepath.Join(dir, IndexName(label)), filepath.Join(dir, DataName(label))}
	var onDisk int64
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		onDisk += st.Size()
	}

	restoreTest := func(b *testing.B) {
		im, err := Open(dir, label)
		if err != nil {
			b.Fatal(err)
		}
		if err := im.Check(key); err != nil {
			b.Fatal(err)
		}
		for k := range files {
			if _, err := im.FileAt(key, NextLabelLBA(files[:k], true)); err != nil {
				b.Fatal(err)
			}
		}
	}
	rawRead := func(b *testing.B) {
		if n, err := RawRead(dir, label); err != nil || n != onDisk {
			b.Fatal(n, err)
		}
	}
	for _, from := range []string{"storage", "cached"} {
		for _, c := range []struct {
			name string
			read func(*testing.B)
		}{{"RestoreTest", restoreTest}, {"RawRead", rawRead}} {
			b.Run(from+"/"+c.name, func(b *testing.B) {
				b.SetBytes(onDisk)
				for b.Loop() {
					if from == "storage" {
						b.StopTimer()
						evict(b, paths...)
						b.StartTimer()
					}
					c.read(b)
				}
			})
		}
	}
	b.Run("cached/FullRead", func(b *testing.B) {
		b.SetBytes(onDisk)
		var plain int64
		for b.Loop() {
			im, err := Open(dir, label)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			if err := im.Files(key, func(TapeFile) error { n++; return nil }); err != nil || n != len(files) {
				b.Fatal(n, err)
			}
			plain = im.DataSize()
		}
		b.ReportMetric(float64(plain)*float64(b.N)/1e6/b.Elapsed().Seconds(), "plainMB/s")
	})
}
