package sqlstore

import (
	"slices"
	"testing"
)

// A table is analyzed once the rows written since it last was reach its
// size then: from empty, at minAnalyzeRows, then each time it doubled.
func TestGrowthDoubles(t *testing.T) {
	g := &growth{tables: map[string]*grown{}}
	var at []int64
	var total int64
	for range 100 {
		total += 1000
		for _, name := range g.due(map[string]int64{"diskfile": 1000}) {
			at = append(at, total)
			g.done(name, total)
		}
	}
	if want := []int64{10_000, 20_000, 40_000, 80_000}; !slices.Equal(at, want) {
		t.Errorf("analyzed at %v rows, want %v", at, want)
	}
	// A failed ANALYZE leaves the count running: the next commit tries
	// again.
	g.due(map[string]int64{"config": minAnalyzeRows})
	g.done("config", -1)
	if due := g.due(map[string]int64{"config": 1}); !slices.Equal(due, []string{"config"}) {
		t.Errorf("after a failed ANALYZE, due %v", due)
	}
}
