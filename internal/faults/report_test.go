package faults

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// table is the matrix's report: the trials by fault and outcome with the
// checker's totals, then every trial (in the order they ran) with its
// replay command.
func table(seed uint64, rs []result) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FAULT\tTRIALS\tCONVERGED\tRECOVERED\tFAILED\tLOST\tDUPLICATED\tCORRUPT\tAUDIT BROKEN")
	var total tally
	for _, f := range faultKinds {
		var t tally
		for _, r := range rs {
			if r.Fault == f {
				t.add(r)
				total.add(r)
			}
		}
		if t.trials > 0 {
			t.row(tw, f)
		}
	}
	total.row(tw, "total")
	tw.Flush()

	fmt.Fprintf(&b, "\nby run: ")
	for i, k := range []string{runFull, runUpdate, runDrill} {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, count(rs, func(r result) bool { return r.Kind == k }))
	}
	fmt.Fprintf(&b, "\n\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TRIAL\tRUN\tMOMENT\tLANDED IN\tFAULT\tWHAT IT DID\tOUTCOME\tTOOK\tRUNS")
	for _, r := range rs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.N, r.Kind, r.moment(), r.Observed, r.Fault, r.Detail, r.Outcome,
			r.Took.Round(100*time.Millisecond), strings.Join(r.Runs, "; "))
	}
	tw.Flush()
	fmt.Fprintf(&b, "\nreplay trial N: %s=%d %s=N make faults\n", seedEnv, seed, trialEnv)
	return b.String()
}

// tally counts trials by outcome, and what their checks found.
type tally struct {
	trials, converged, recovered, failed, lost, duplicated, corrupt, auditBroken int
}

func (t *tally) add(r result) {
	t.trials++
	switch r.Outcome {
	case converged:
		t.converged++
	case recovered:
		t.recovered++
	default:
		t.failed++
	}
	t.lost += r.Lost
	t.duplicated += r.Duplicated
	t.corrupt += r.Corrupt
	if r.Audit != "" {
		t.auditBroken++
	}
}

func (t tally) row(w io.Writer, name string) {
	fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", name, t.trials, t.converged, t.recovered, t.failed,
		t.lost, t.duplicated, t.corrupt, t.auditBroken)
}

func count(rs []result, f func(result) bool) int {
	n := 0
	for _, r := range rs {
		if f(r) {
			n++
		}
	}
	return n
}
