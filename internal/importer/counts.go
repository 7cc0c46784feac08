package importer

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Counts are numbers of records by "entity.action" (tapefile.create,
// volume.update, diskfile.delete, volume.unchanged, volume.deferred, ...).
type Counts map[string]int64

// Merge adds other into c.
func (c Counts) Merge(other Counts) {
	for k, v := range other {
		c[k] += v
	}
}

// Changed is the number of records created, updated or deleted.
func (c Counts) Changed() int64 {
	var n int64
	for k, v := range c {
		if !strings.HasSuffix(k, ".unchanged") && !strings.HasSuffix(k, ".deferred") {
			n += v
		}
	}
	return n
}

// Differences lists, sorted, every "entity.action" whose count differs
// between c and other, either way ("tapefile.delete: 3, other 5"): a plan
// and its apply must have none.
func (c Counts) Differences(other Counts) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(c)) {
		if c[k] != other[k] {
			out = append(out, fmt.Sprintf("%s: %d, other %d", k, c[k], other[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(other)) {
		if _, ok := c[k]; !ok && other[k] != 0 {
			out = append(out, fmt.Sprintf("%s: none, other %d", k, other[k]))
		}
	}
	return out
}
