package main

import (
	"fmt"
	"io"

	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/safety"
)

// printConflict prints one conflict for an operator: what, where, why, and
// what to do (check and conflicts).
func printConflict(w io.Writer, cf safety.Conflict) {
	fmt.Fprintf(w, "volume set %s, label %s: %s\n  %s\n  where: %s\n  rule:  %s\n  do:    %s\n",
		cf.Set, cf.Label, cf.Rule, cf.Detail, cf.Where, safety.Rules[cf.Rule].Explain, cf.Action)
}

// printParity prints a parity report for an operator (keys and parity).
func printParity(w io.Writer, r *parity.Report) {
	if r.Volumes == 0 && r.Domain == "" {
		fmt.Fprintln(w, "no encrypted volumes to check")
		return
	}
	fmt.Fprintln(w, r.Summary()) // it says what is wrong with the domain, if anything
	if r.Domain != "" {
		fmt.Fprintf(w, "  do: add to the secondary BackPak domain a key-manager entry with BackPak id %s, pointing to its key manager\n", r.BackPakID)
	}
	for _, f := range r.Findings {
		if f.Set != "" {
			fmt.Fprintf(w, "volume set %s: ", f.Set)
		}
		fmt.Fprintf(w, "%s\n  do: %s\n", f, parity.Actions[f.Problem])
	}
	if n := r.Unlisted(); n > 0 {
		fmt.Fprintf(w, "%d more keys not listed\n", n)
	}
}
