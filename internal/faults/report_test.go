package faults

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
)

// table is the matrix's report: the trials by fault and outcome with the
// checker's totals, then every trial with its replay command.
func table(seed uint64, rs []result) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FAULT\tTRIALS\tCONVERGED\tRECOVERED\tFAILED\tLOST\tDUPLICATED\tCORRUPT\tAUDIT BROKEN")
	var total result
	var n, conv, rec, fail, audit int
	for _, f := range faultKinds {
		var rows, c, r, x, a int
		var lost, dup, bad int
		for _, res := range rs {
			if res.Fault != f {
				continue
			}
			rows++
			switch res.Outcome {
			case converged:
				c++
			case recovered:
				r++
			default:
				x++
			}
			lost, dup, bad = lost+res.Lost, dup+res.Duplicated, bad+res.Corrupt
			if res.Audit != "" {
				a++
			}
		}
		if rows == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", f, rows, c, r, x, lost, dup, bad, a)
		n, conv, rec, fail, audit = n+rows, conv+c, rec+r, fail+x, audit+a
		total.Lost, total.Duplicated, total.Corrupt = total.Lost+lost, total.Duplicated+dup, total.Corrupt+bad
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", n, conv, rec, fail, total.Lost, total.Duplicated, total.Corrupt, audit)
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
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b result) int { return a.N - b.N })
	for _, r := range sorted {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.N, r.Kind, r.moment(), r.Observed, r.Fault, r.Detail, r.Outcome,
			r.Took.Round(100_000_000), strings.Join(r.Runs, "; "))
	}
	tw.Flush()
	fmt.Fprintf(&b, "\nreplay trial N: %s=%d %s=N make faults\n", seedEnv, seed, trialEnv)
	return b.String()
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
