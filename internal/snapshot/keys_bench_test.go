package snapshot

import (
	"fmt"
	"testing"

	"github.com/catsync/catsync/internal/keys"
)

// BenchmarkReadKeys reads the key records of a segment, as the parity step
// does, beside the full decode of every set that the plan does: the
// parity pass over a snapshot costs a fraction of the plan's.
func BenchmarkReadKeys(b *testing.B) {
	sets := fxSets(0, 2000)
	for _, s := range sets {
		for _, v := range s.Volumes {
			s.Keys = append(s.Keys, Key{Label: v.Label, LabelType: v.LabelType, Name: fmt.Sprintf("N8A3F%s_BP01_2603022115", v.Label),
				State: keys.Active, Algorithm: "AES", Length: 256, Fingerprint: "kcv:0123456789abcdef"})
		}
	}
	dir, seg := stageSegment(b, sets)
	b.Run("key records", func(b *testing.B) {
		b.SetBytes(seg.Bytes)
		for range b.N {
			n := 0
			if err := ReadKeys(dir, seg, func(string, *Key) error { n++; return nil }); err != nil || n == 0 {
				b.Fatal(n, err)
			}
		}
	})
	b.Run("full decode", func(b *testing.B) {
		b.SetBytes(seg.Bytes)
		for range b.N {
			if err := ReadSegment(dir, seg, 0, func(int, *VolumeSet) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
