//go:build !linux

package volimage

import "testing"

func evict(b *testing.B, paths ...string) {
	b.Skip("reading from storage needs the page cache evicted, which only the Linux benchmark does")
}
