package volimage

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/catalog"
)

// BenchmarkRestoreRead measures a restore test's read of a 64 MiB encrypted,
// compressed volume (Open + Files: checksums, GCM tags, inflate, labels,
// directory and content digests) beside a bare sequential read of the same
// files. Both report MB/s of image bytes on disk; plainMB/s is the tape
// data recovered.
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
	st1, _ := os.Stat(filepath.Join(dir, IndexName(label)))
	st2, _ := os.Stat(filepath.Join(dir, DataName(label)))
	onDisk := st1.Size() + st2.Size()

	b.Run("OpenFiles", func(b *testing.B) {
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
	b.Run("RawRead", func(b *testing.B) {
		b.SetBytes(onDisk)
		for b.Loop() {
			if n, err := RawRead(dir, label); err != nil || n != onDisk {
				b.Fatal(n, err)
			}
		}
	})
}
