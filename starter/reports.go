package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/safety"
)

// cell makes a value safe to print as one field of a table or of a report
// line: a newline would start a row of its own and a tab shift the
// columns, so line breaks become " ⏎ ", tabs a space, and other control
// characters are escaped. Every table and report line prints through it.
func cell(v any) string {
	s := strings.TrimRight(fmt.Sprint(v), "\r\n")
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	s = strings.NewReplacer("\r\n", " ⏎ ", "\n", " ⏎ ", "\r", " ⏎ ", "\t", " ").Replace(s)
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			b.WriteString(strings.Trim(strconv.QuoteRuneToASCII(r), "'"))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// table prints rows in aligned columns, each field through cell.
type table struct {
	tw    *tabwriter.Writer
	right bool
}

// newTable starts a table on w with its header; flags are tabwriter's
// (tabwriter.AlignRight for counts).
func newTable(w io.Writer, flags uint, header ...any) *table {
	t := &table{tabwriter.NewWriter(w, 0, 0, 2, ' ', flags), flags&tabwriter.AlignRight != 0}
	t.row(header...)
	return t
}

func (t *table) row(fields ...any) {
	cells := make([]string, len(fields))
	for i, f := range fields {
		cells[i] = cell(f)
	}
	line := strings.Join(cells, "\t")
	if t.right {
		line += "\t" // tabwriter aligns a column by the tab that ends it
	}
	fmt.Fprintln(t.tw, line)
}

// flush writes the table out; call it once, after the last row.
func (t *table) flush() error { return t.tw.Flush() }

// printConflict prints one conflict for an operator: what, where, why, and
// what to do (check and conflicts).
func printConflict(w io.Writer, cf safety.Conflict) {
	fmt.Fprintf(w, "volume set %s, label %s: %s\n  %s\n  where: %s\n  rule:  %s\n  do:    %s\n",
		cell(cf.Set), cell(cf.Label), cell(cf.Rule), cell(cf.Detail), cell(cf.Where), cell(safety.Rules[cf.Rule].Explain), cell(cf.Action))
}

// printParity prints a parity report for an operator (keys and parity).
func printParity(w io.Writer, r *parity.Report) {
	if r.Volumes == 0 && r.Domain == "" {
		fmt.Fprintln(w, "no encrypted volumes to check")
		return
	}
	fmt.Fprintln(w, cell(r.Summary())) // it says what is wrong with the domain, if anything
	if r.Domain != "" {
		fmt.Fprintf(w, "  do: add to the secondary BackPak domain a key-manager entry with BackPak id %s, pointing to its key manager\n", cell(r.BackPakID))
	}
	for _, f := range r.Findings {
		if f.Set != "" {
			fmt.Fprintf(w, "volume set %s: ", cell(f.Set))
		}
		fmt.Fprintf(w, "%s\n  do: %s\n", cell(f), cell(parity.Actions[f.Problem]))
	}
	if n := r.Unlisted(); n > 0 {
		fmt.Fprintf(w, "%d more keys not listed\n", n)
	}
}
