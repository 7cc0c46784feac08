package faults

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestChoose checks the trials' draw: one trial of a seed is the same
// alone as among the others, every cycle tries each fault once, and the
// runs and moments cover what the matrix promises.
func TestChoose(t *testing.T) {
	const seed, trials = 42, 50
	kinds, steps := map[string]int{}, map[string]int{}
	boundaries := 0
	for cycle := 0; cycle*len(faultKinds) < trials; cycle++ {
		var faults []string
		for i := range len(faultKinds) {
			n := cycle*len(faultKinds) + i
			tr := choose(seed, n)
			if again := choose(seed, n); !same(tr, again) {
				t.Fatalf("trial %d drawn twice: %+v, then %+v", n, tr, again)
			}
			if tr.At < 0 || tr.At >= 1 {
				t.Errorf("trial %d: moment at %v of its step, want [0, 1)", n, tr.At)
			}
			if tr.At == 0 {
				boundaries++
			}
			if n < trials {
				kinds[tr.Kind]++
				steps[tr.Step]++
			}
			faults = append(faults, tr.Fault)
		}
		slices.Sort(faults)
		if want := slices.Sorted(slices.Values(faultKinds)); !slices.Equal(faults, want) {
			t.Errorf("cycle %d tries %v, want each fault once: %v", cycle, faults, want)
		}
	}
	for _, k := range []string{runFull, runUpdate, runDrill} {
		if kinds[k] == 0 {
			t.Errorf("no %s among %d trials: %v", k, trials, kinds)
		}
	}
	if len(steps) < 8 {
		t.Errorf("%d trials fall on %d steps only: %v", trials, len(steps), steps)
	}
	if boundaries == 0 || boundaries == trials {
		t.Errorf("%d of %d moments at a step's start: want both kinds of moment", boundaries, trials)
	}
	differ := 0
	for n := range trials {
		if !same(choose(seed, n), choose(seed+1, n)) {
			differ++
		}
	}
	if differ < trials/2 {
		t.Errorf("seeds %d and %d draw %d different trials of %d", seed, seed+1, differ, trials)
	}
}

func same(a, b trial) bool {
	return a.Kind == b.Kind && a.Watch == b.Watch && a.Step == b.Step && a.At == b.At && a.Fault == b.Fault
}

// TestTable checks the report's rows: each fault's trials by outcome, and
// the totals the README quotes.
func TestTable(t *testing.T) {
	rs := []result{
		{trial: trial{N: 0, Kind: runFull, Fault: killPrimary}, Outcome: converged},
		{trial: trial{N: 1, Kind: runDrill, Fault: truncate}, Outcome: recovered},
		{trial: trial{N: 2, Kind: runUpdate, Fault: killPrimary}, Outcome: failed, check: check{Lost: 3, Corrupt: 1, Audit: "broken"}},
	}
	got := table(7, rs)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^kill primary worker +2 +1 +0 +1 +3 +0 +1 +1 *$`),
		regexp.MustCompile(`(?m)^segment truncated +1 +0 +1 +0 +0 +0 +0 +0 *$`),
		regexp.MustCompile(`(?m)^total +3 +1 +1 +1 +3 +0 +1 +1 *$`),
		regexp.MustCompile(`by run: FULL 1, UPDATE 1, drill 1`),
		regexp.MustCompile(`CATSYNC_FAULTS_SEED=7 CATSYNC_FAULTS_TRIAL=N make faults`),
	} {
		if !want.MatchString(got) {
			t.Errorf("the report lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "kill secondary worker") {
		t.Errorf("a fault no trial tried has a row:\n%s", got)
	}
}
