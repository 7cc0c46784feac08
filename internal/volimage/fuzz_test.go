package volimage

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"testing/fstest"

	"github.com/catsync/catsync/internal/catalog"
)

// FuzzOpenFiles feeds hostile index and data files to Open, Files, Check and
// FileAt: they
// must fail with an *Error, never panic, and never allocate what the files
// only declare. With fix set, the index's checksums are recomputed so that
// the fuzzer reaches the block, label and directory parsers.
func FuzzOpenFiles(f *testing.F) {
	const label = "F00001"
	key := testKey(5)
	seed := func(keyName string, c catalog.Compression, content bool) {
		dir := f.TempDir()
		var k []byte
		if keyName != "" {
			k = key
		}
		if err := WriteWith(dir, header(label, keyName, c), k, sampleFiles(1, 40), Options{BlockSize: MinBlockSize, Content: content}); err != nil {
			f.Fatal(err)
		}
		ind, _ := os.ReadFile(filepath.Join(dir, IndexName(label)))
		dat, _ := os.ReadFile(filepath.Join(dir, DataName(label)))
		f.Add(ind, dat, false)
		f.Add(ind, dat, true)
	}
	seed("", catalog.CompressNone, true)
	seed("", catalog.CompressZlib, false)
	seed("K", catalog.CompressZlib, true)
	f.Add([]byte(indexMagic), []byte{}, true)

	f.Fuzz(func(t *testing.T, ind, dat []byte, fix bool) {
		if fix {
			ind = fixIndex(append([]byte(nil), ind...), dat)
		}
		// In memory: fast executions keep the fuzzer's minimization short.
		fsys := fstest.MapFS{IndexName(label): {Data: ind}, DataName(label): {Data: dat}}

		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		im, err := open(fsys, label)
		if err == nil {
			var k []byte
			if im.Header.MediaKeyName != "" {
				k = key
			}
			err = im.Files(k, func(TapeFile) error { return nil })
			if cerr := im.Check(k); err == nil {
				err = cerr
			}
			for _, l := range im.locs {
				if _, ferr := im.FileAt(k, int64(l.hdrLBA)); err == nil {
					err = ferr
				}
			}
		}
		runtime.ReadMemStats(&after)
		var e *Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("error %v is not an *Error", err)
		}
		// A block and its decoded copy, reader buffers, and what is
		// proportional to the input itself.
		bound := uint64(3*MaxBlockSize + 64*(len(ind)+len(dat)) + 4<<20)
		if got := after.TotalAlloc - before.TotalAlloc; got > bound {
			t.Fatalf("allocated %d bytes for %d+%d bytes of input", got, len(ind), len(dat))
		}
	})
}
