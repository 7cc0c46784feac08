package volimage

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// evict drops the files' pages from the page cache, so that the next read
// comes from storage. The files are synced, so their pages are clean.
func evict(b *testing.B, paths ...string) {
	b.Helper()
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		err = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
}
