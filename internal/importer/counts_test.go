package importer

import (
	"slices"
	"testing"
)

func TestCountsDifferences(t *testing.T) {
	plan := Counts{"volume.create": 2, "tapefile.delete": 3, "config.unchanged": 0}
	applied := Counts{"volume.create": 2, "tapefile.delete": 5, "tapevolume.delete": 1}
	want := []string{"tapefile.delete: 3, other 5", "tapevolume.delete: none, other 1"}
	if got := plan.Differences(applied); !slices.Equal(got, want) {
		t.Errorf("differences %q, want %q", got, want)
	}
	if got := plan.Differences(plan); got != nil {
		t.Errorf("a count differs from itself: %q", got)
	}
}
