package importer

import "strings"

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
