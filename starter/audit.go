package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/store"
)

// auditRecord is one line of `audit list --json` and what `audit show
// --json` prints (docs/cli-json.md).
type auditRecord struct {
	Seq   int64       `json:"seq"`
	Key   string      `json:"key"`
	Prev  string      `json:"prev"`
	Hash  string      `json:"hash"`
	Entry audit.Entry `json:"entry"`
}

func newAuditRecord(r store.AuditRecord, e audit.Entry) auditRecord {
	return auditRecord{r.Seq, r.Key, r.Prev, r.Hash, e}
}

// auditKinds are the kinds --kind takes.
var auditKinds = []string{audit.KindSync, audit.KindDrill, audit.KindFailover, audit.KindFailback, audit.KindSchedule, audit.KindApproval}

// kindOf is e's kind; records without one are syncs.
func kindOf(e audit.Entry) string { return cmp.Or(e.Kind, audit.KindSync) }

// auditFilter is what `audit list` shows.
type auditFilter struct {
	store, kind, outcome, since, until string
	from, to                           time.Time
}

func (f *auditFilter) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.store, "store", "", "only the records of this data store")
	cmd.Flags().StringVar(&f.kind, "kind", "", "only records of this kind: "+strings.Join(auditKinds, ", "))
	cmd.Flags().StringVar(&f.outcome, "outcome", "", "only records with this outcome (Completed, Failed, ...)")
	cmd.Flags().StringVar(&f.since, "since", "", "only records finished at or after this time (RFC 3339 or YYYY-MM-DD, UTC)")
	cmd.Flags().StringVar(&f.until, "until", "", "only records finished before this time (RFC 3339 or YYYY-MM-DD, UTC)")
}

// parse checks the flags, naming the one at fault.
func (f *auditFilter) parse() error {
	if f.kind != "" && !slices.Contains(auditKinds, f.kind) {
		return fmt.Errorf("--kind %q: not a kind of record; kinds: %s", f.kind, strings.Join(auditKinds, ", "))
	}
	for _, t := range []struct {
		flag, v string
		to      *time.Time
	}{{"--since", f.since, &f.from}, {"--until", f.until, &f.to}} {
		if t.v == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, t.v)
		if err != nil {
			if at, err = time.Parse(time.DateOnly, t.v); err != nil {
				return fmt.Errorf("%s %q: not a time: give RFC 3339 (2026-01-15T22:00:00Z) or a date (2026-01-15)", t.flag, t.v)
			}
		}
		*t.to = at
	}
	if !f.from.IsZero() && !f.to.IsZero() && !f.from.Before(f.to) {
		return fmt.Errorf("--since %s is not before --until %s", f.since, f.until)
	}
	return nil
}

func (f *auditFilter) any() bool {
	return f.store != "" || f.kind != "" || f.outcome != "" || f.since != "" || f.until != ""
}

func (f *auditFilter) match(e audit.Entry) bool {
	at := e.Finished
	if at.IsZero() {
		at = e.Started
	}
	return (f.store == "" || e.Store == f.store) && (f.kind == "" || kindOf(e) == f.kind) &&
		(f.outcome == "" || strings.EqualFold(e.Outcome, f.outcome)) &&
		(f.from.IsZero() || !at.Before(f.from)) && (f.to.IsZero() || at.Before(f.to))
}

// auditCmd is `audit`: alone, it lists as `audit list` does.
func (c *cli) auditCmd() *cobra.Command {
	cmd := c.auditListCmd("audit")
	cmd.Short = "List, show and verify a secondary's hash-chained audit trail (alone: audit list)"
	cmd.AddCommand(c.auditListCmd("list"), c.auditShowCmd(), c.auditVerifyCmd())
	return cmd
}

func (c *cli) auditListCmd(use string) *cobra.Command {
	var asJSON bool
	var f auditFilter
	cmd := &cobra.Command{
		Use:   use + " [--catalog SECONDARY] [--store ID] [--kind K] [--outcome O] [--since T] [--until T]",
		Short: "List the runs and acts recorded in a secondary's audit trail, its hash chain checked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.parse(); err != nil {
				return err
			}
			st, err := c.openTrail(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			enc := json.NewEncoder(c.out)
			var tb *table
			if !asJSON {
				tb = newTable(c.out, 0, "SEQ", "FINISHED", "KIND", "STORE", "TYPE", "OUTCOME", "BY", "CHANGES", "CONFLICTS", "KEYS",
					"RESTORABLE", "RPO/RTO", "RUN", "ERROR/DETAIL")
			}
			shown := 0
			n, err := audit.Verify(cmd.Context(), st, func(r store.AuditRecord, e audit.Entry) error {
				if !f.match(e) {
					return nil
				}
				shown++
				if asJSON {
					return enc.Encode(newAuditRecord(r, e))
				}
				conflicts, keys, restorable := 0, "-", "-"
				if e.Conflicts != nil {
					conflicts = e.Conflicts.Total
				}
				if k := e.Keys; k != nil {
					keys = fmt.Sprintf("%d/%d", k.OK, k.Volumes) // in parity of those checked
				}
				if rt := e.Restore; rt != nil && rt.Skipped == "" {
					restorable = fmt.Sprintf("%.1f%%", 100*rt.Fraction)
				}
				tb.row(r.Seq, e.Finished.Format("2006-01-02 15:04:05"), kindOf(e), dash(e.Store), dash(e.Type), e.Outcome,
					dash(cmp.Or(e.Operator, e.Trigger)), importer.Counts(e.Counts).Changed(), conflicts, keys, restorable,
					rpoRTO(e), dash(e.RunID), cmp.Or(e.Error, e.Detail))
				return nil
			})
			if tb != nil {
				if ferr := tb.flush(); err == nil {
					err = ferr
				}
			}
			var broken *audit.BrokenError
			if errors.As(err, &broken) {
				return fmt.Errorf("%w (catsync audit verify lists every break)", err)
			}
			if err != nil {
				return err
			}
			switch {
			case asJSON:
			case f.any():
				fmt.Fprintf(c.out, "%d of %d records, hash chain intact\n", shown, n)
			default:
				fmt.Fprintf(c.out, "%d records, hash chain intact\n", n)
			}
			return nil
		},
	}
	f.bind(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print records as JSON lines")
	return cmd
}

func dash(s string) string { return cmp.Or(s, "-") }

// rpoRTO is a failover's recovery point and time, "-" for either unknown.
func rpoRTO(e audit.Entry) string {
	if e.RPO == nil && e.RTO == nil {
		return "-"
	}
	d := func(p *time.Duration) string {
		if p == nil {
			return "-"
		}
		return p.Round(time.Second).String()
	}
	return d(e.RPO) + "/" + d(e.RTO)
}

func (c *cli) auditShowCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show SEQ [--catalog SECONDARY]",
		Short: "Show one record of a secondary's audit trail, whole, and whether the chain holds",
		Args:  oneArg("SEQ"),
		RunE: func(cmd *cobra.Command, args []string) error {
			seq, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || seq < 1 {
				return fmt.Errorf("audit show: SEQ %q is not a record number (1, 2, ...)", args[0])
			}
			st, err := c.openTrail(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			var found *auditRecord
			res, err := audit.Check(cmd.Context(), st, func(r store.AuditRecord, e audit.Entry) error {
				if r.Seq == seq {
					rec := newAuditRecord(r, e)
					found = &rec
				}
				return nil
			})
			if err != nil {
				return err
			}
			if found == nil {
				if res.Records == 0 {
					return fmt.Errorf("no audit record %d: the trail is empty", seq)
				}
				return fmt.Errorf("no audit record %d (or its entry is not readable): the trail holds %d records, the newest %d", seq, res.Records, res.HeadSeq)
			}
			if asJSON {
				return json.NewEncoder(c.out).Encode(found)
			}
			printAuditRecord(c.out, found)
			var mine []string
			for _, b := range res.Breaks {
				if b.Seq <= seq && seq <= max(b.Seq, b.Last) {
					mine = append(mine, b.String())
				}
			}
			switch {
			case len(mine) > 0:
				fmt.Fprintf(c.out, "chain       BROKEN at this record: %s\n", cell(strings.Join(mine, "; ")))
			case len(res.Breaks) > 0:
				fmt.Fprintf(c.out, "chain       broken elsewhere (%s): catsync audit verify\n", (&audit.BrokenError{Records: res.Records, Breaks: res.Breaks}).Summary())
			default:
				fmt.Fprintf(c.out, "chain       intact, %d records\n", res.Records)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the record as one JSON object")
	return cmd
}

// printAuditRecord prints a record for an operator: one field a line, the
// empty ones left out.
func printAuditRecord(w io.Writer, r *auditRecord) {
	e := r.Entry
	line := func(name string, v any) {
		if s := fmt.Sprint(v); s != "" && s != "0" {
			fmt.Fprintf(w, "%-11s %s\n", name, cell(s))
		}
	}
	at := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(time.RFC3339Nano)
	}
	line("record", r.Seq)
	line("key", r.Key)
	line("hash", r.Hash)
	line("prev", cmp.Or(r.Prev, "(none: the first record)"))
	line("kind", kindOf(e))
	line("id", e.ID)
	line("workflow", e.WorkflowID)
	line("run", e.RunID)
	line("trigger", e.Trigger)
	line("operator", e.Operator)
	line("reason", e.Reason)
	line("detail", e.Detail)
	line("store", e.Store)
	line("type", e.Type)
	line("outcome", e.Outcome)
	line("started", at(e.Started))
	line("finished", at(e.Finished))
	if e.RPO != nil {
		line("rpo", e.RPO.String())
	}
	if e.RTO != nil {
		line("rto", e.RTO.String())
	}
	line("snapshot", e.Snapshot)
	if e.FromSeq != 0 || e.ToSeq != 0 {
		line("changes", fmt.Sprintf("after %d up to %d", e.FromSeq, e.ToSeq))
	}
	if len(e.Counts) > 0 {
		var counts []string
		for _, k := range slices.Sorted(maps.Keys(e.Counts)) {
			counts = append(counts, fmt.Sprintf("%s %d", k, e.Counts[k]))
		}
		line("counts", strings.Join(counts, ", "))
	}
	line("failed", strings.Join(e.Failed, ", "))
	if cf := e.Conflicts; cf != nil {
		line("conflicts", cf.Total)
		for _, x := range cf.Conflicts {
			printConflict(w, x)
		}
	}
	if k := e.Keys; k != nil {
		fmt.Fprintln(w, "keys")
		printParity(w, k)
	}
	if rt := e.Restore; rt != nil {
		line("restore", rt.Summary())
	}
	line("error", e.Error)
}

func (c *cli) auditVerifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "verify [--catalog SECONDARY]",
		Short: "Walk a secondary's audit trail and report every record edited, deleted, inserted or reordered; exit 1 if any",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := c.openTrail(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			res, err := audit.Check(cmd.Context(), st, nil)
			if err != nil {
				return err
			}
			if len(res.Breaks) > 0 {
				for _, b := range res.Breaks {
					fmt.Fprintln(c.out, cell(b.String()))
				}
				return fmt.Errorf("audit trail broken: %s", (&audit.BrokenError{Records: res.Records, Breaks: res.Breaks}).Summary())
			}
			if res.Records == 0 {
				fmt.Fprintln(c.out, "0 records, chain intact, no head")
				return nil
			}
			fmt.Fprintf(c.out, "%d records, chain intact, head %s\n", res.Records, res.HeadHash)
			return nil
		},
	}
}
