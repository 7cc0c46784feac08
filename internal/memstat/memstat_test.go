package memstat

import (
	"runtime"
	"testing"
)

func TestPeakRSSGrows(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("VmHWM is Linux's")
	}
	before := PeakRSS()
	if before <= 0 {
		t.Fatalf("peak RSS %v MiB", before)
	}
	b := make([]byte, 64<<20)
	for i := range b {
		b[i] = 1
	}
	if after := PeakRSS(); after < before+60 {
		t.Errorf("peak RSS %v MiB after touching 64 MiB, was %v", after, before)
	}
	runtime.KeepAlive(b)
}
