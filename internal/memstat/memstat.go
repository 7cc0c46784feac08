// Package memstat reads the process's memory high-water mark, which
// includes what SQLite allocates outside the Go heap.
package memstat

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// PeakRSS is the process's peak resident set (VmHWM) in MiB, or 0 where
// /proc does not tell.
func PeakRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
