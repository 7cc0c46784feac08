package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/restore"
	"github.com/catsync/catsync/internal/store/sqlstore"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// auditedSecondary is a secondary whose trail holds a sync, a failover
// with its approval, and a schedule change made outside any run.
func auditedSecondary(t *testing.T) (string, *sqlstore.DB) {
	t.Helper()
	sec := filepath.Join(t.TempDir(), "secondary.db")
	mustRun(t, "sim", "init-secondary", "--catalog", sec, "--primary", newPrimary(t))
	st := sqltest.Open(t, sec).(*sqlstore.DB)
	at := time.Date(2026, 1, 6, 2, 0, 0, 0, time.UTC)
	rpo, rto := 90*time.Second, 12*time.Minute
	for _, e := range []audit.Entry{
		{WorkflowID: "catalogsync-DS_PROD", RunID: "r1", Trigger: "schedule", Store: "DS_PROD", Type: "UPDATE", Outcome: "Completed",
			Counts: map[string]int64{"volume.create": 3, "volume.unchanged": 9}, Restore: &restore.Report{Fraction: 0.75, Volumes: 4, Verified: 3},
			Started: at, Finished: at.Add(time.Minute)},
		{Kind: audit.KindApproval, WorkflowID: "drfailover-DS_PROD", RunID: "f1", Operator: "alice", Reason: "primary site lost",
			Store: "DS_PROD", Outcome: "Approved", Started: at.Add(time.Hour), Finished: at.Add(time.Hour)},
		{Kind: audit.KindFailover, WorkflowID: "drfailover-DS_PROD", RunID: "f1", Trigger: "alice", Store: "DS_PROD", Outcome: "Promoted",
			RPO: &rpo, RTO: &rto, Started: at.Add(time.Hour), Finished: at.Add(2 * time.Hour)},
		{Kind: audit.KindSchedule, Operator: "bob", Detail: "paused catalogsync-DS_PROD", Outcome: "Paused",
			Started: at.Add(3 * time.Hour), Finished: at.Add(3 * time.Hour)},
	} {
		if _, err := audit.Append(context.Background(), st, e); err != nil {
			t.Fatal(err)
		}
	}
	return sec, st
}

func TestAuditList(t *testing.T) {
	sec, _ := auditedSecondary(t)
	out := mustRun(t, "audit", "list", "--catalog", sec)
	rs := tableRows(out)
	if len(rs) != 6 || !strings.HasSuffix(out, "\n4 records, hash chain intact\n") {
		t.Fatalf("audit list:\n%s", out)
	}
	for _, want := range [][]string{
		{"1", "2026-01-06", "02:01:00", "sync", "DS_PROD", "UPDATE", "Completed", "schedule", "3", "0", "-", "75.0%", "-", "r1", ""},
		{"2", "2026-01-06", "03:00:00", "approval", "DS_PROD", "-", "Approved", "alice", "0", "0", "-", "-", "-", "f1", ""},
		{"3", "2026-01-06", "04:00:00", "failover", "DS_PROD", "-", "Promoted", "alice", "0", "0", "-", "-", "1m30s/12m0s", "f1", ""},
	} {
		if !hasRow(rs, want[:len(want)-1]) {
			t.Errorf("audit list lacks %v:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "Paused     bob") || !strings.Contains(out, "paused catalogsync-DS_PROD") {
		t.Errorf("the schedule change is not listed with its operator and detail:\n%s", out)
	}
	// Alone, audit lists.
	if alone := mustRun(t, "audit", "--catalog", sec); alone != out {
		t.Errorf("audit alone:\n%s\nwant audit list's:\n%s", alone, out)
	}

	for _, tc := range []struct {
		args []string
		seqs []int64
	}{
		{[]string{"--kind", "sync"}, []int64{1}},
		{[]string{"--kind", "approval"}, []int64{2}},
		{[]string{"--store", "DS_PROD", "--outcome", "promoted"}, []int64{3}},
		{[]string{"--since", "2026-01-06T04:00:00Z"}, []int64{3, 4}},
		{[]string{"--until", "2026-01-06T04:00:00Z"}, []int64{1, 2}},
		{[]string{"--since", "2026-01-06", "--until", "2026-01-07", "--kind", "schedule"}, []int64{4}},
		{[]string{"--store", "DS_TEST"}, nil},
	} {
		args := append([]string{"audit", "list", "--catalog", sec, "--json"}, tc.args...)
		var seqs []int64
		for _, r := range jsonLines[auditRecord](t, mustRun(t, args...)) {
			seqs = append(seqs, r.Seq)
		}
		if !slices.Equal(seqs, tc.seqs) {
			t.Errorf("audit list %v: records %v, want %v", tc.args, seqs, tc.seqs)
		}
	}
	if out := mustRun(t, "audit", "list", "--catalog", sec, "--kind", "failover"); !strings.HasSuffix(out, "\n1 of 4 records, hash chain intact\n") {
		t.Errorf("filtered list:\n%s", out)
	}
	recs := jsonLines[auditRecord](t, mustRun(t, "audit", "--catalog", sec, "--json"))
	if len(recs) != 4 || recs[1].Key != "f1/approval" || recs[2].Key != "f1" || !strings.HasPrefix(recs[3].Key, "act-") ||
		recs[3].Entry.ID != recs[3].Key || recs[1].Prev != recs[0].Hash || *recs[2].Entry.RTO != 12*time.Minute {
		t.Errorf("audit --json: %+v", recs)
	}

	mustFail(t, []string{"--kind", `"promotion"`, "approval"}, "audit", "list", "--catalog", sec, "--kind", "promotion")
	mustFail(t, []string{"--since", `"yesterday"`}, "audit", "list", "--catalog", sec, "--since", "yesterday")
	mustFail(t, []string{"--since", "not before --until"}, "audit", "list", "--catalog", sec, "--since", "2026-01-07", "--until", "2026-01-06")
	mustFail(t, []string{`unknown command "lst"`}, "audit", "lst", "--catalog", sec)
}

// tableRows are the fields of every line of out.
func tableRows(out string) [][]string {
	var rs [][]string
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		rs = append(rs, strings.Fields(line))
	}
	return rs
}

func TestAuditShow(t *testing.T) {
	sec, st := auditedSecondary(t)
	out := mustRun(t, "audit", "show", "3", "--catalog", sec)
	for _, want := range []string{"record      3\n", "key         f1\n", "kind        failover\n", "run         f1\n",
		"outcome     Promoted\n", "rpo         1m30s\n", "rto         12m0s\n", "chain       intact, 4 records\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit show 3 lacks %q:\n%s", want, out)
		}
	}
	out = mustRun(t, "audit", "show", "2", "--catalog", sec)
	for _, want := range []string{"operator    alice\n", "reason      primary site lost\n", "key         f1/approval\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit show 2 lacks %q:\n%s", want, out)
		}
	}
	rec := jsonValue[auditRecord](t, mustRun(t, "audit", "show", "1", "--catalog", sec, "--json"))
	if rec.Seq != 1 || rec.Key != "r1" || rec.Prev != "" || rec.Entry.Restore == nil || rec.Entry.Counts["volume.create"] != 3 {
		t.Errorf("audit show 1 --json: %+v", rec)
	}
	mustFail(t, []string{"no audit record 9", "4 records"}, "audit", "show", "9", "--catalog", sec)
	mustFail(t, []string{`SEQ "x"`}, "audit", "show", "x", "--catalog", sec)
	mustFail(t, []string{"SEQ argument"}, "audit", "show", "--catalog", sec)

	// A record edited is shown as it is now, with the break.
	if _, err := st.SQL().Exec(`UPDATE audit SET entry = replace(entry, 'alice', 'mallory') WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, "audit", "show", "2", "--catalog", sec)
	if !strings.Contains(out, "operator    mallory\n") || !strings.Contains(out, "chain       BROKEN at this record: record 2 edited") {
		t.Errorf("audit show of an edited record:\n%s", out)
	}
	if out := mustRun(t, "audit", "show", "3", "--catalog", sec); !strings.Contains(out, "chain       broken elsewhere (1 break in 4 records: 1 edited)") {
		t.Errorf("audit show of a record after an edited one:\n%s", out)
	}
}

func TestAuditVerify(t *testing.T) {
	sec, st := auditedSecondary(t)
	last, err := st.LastAudit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "audit", "verify", "--catalog", sec); out != "4 records, chain intact, head "+last.Hash+"\n" {
		t.Errorf("audit verify of an intact trail: %q", out)
	}

	// Record 2 edited and the newest deleted: both told, exit 1.
	for _, s := range []string{`UPDATE audit SET entry = replace(entry, 'Approved', 'Refused') WHERE seq = 2`, `DELETE FROM audit WHERE seq = 4`} {
		if _, err := st.SQL().Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	out, errs, code := catsync(t, "audit", "verify", "--catalog", sec)
	want := "record 2 edited: its content does not match its hash\n" +
		"record 4 deleted: from the end: the anchor (audit.head) names record 4, the trail ends at record 3\n"
	if code != 1 || out != want || errs != "catsync: audit trail broken: 2 breaks in 3 records: 1 edited, 1 deleted\n" {
		t.Errorf("audit verify of a broken trail: exit %d\n%s%s", code, out, errs)
	}
	// List shows what is there, and fails naming the breaks.
	out, errs, code = catsync(t, "audit", "list", "--catalog", sec)
	if code != 1 || len(tableRows(out)) != 4 || !strings.Contains(errs, "record 2 edited") || !strings.Contains(errs, "catsync audit verify") {
		t.Errorf("audit list of a broken trail: exit %d\n%s%s", code, out, errs)
	}

	empty := filepath.Join(t.TempDir(), "empty.db")
	mustRun(t, "sim", "init-secondary", "--catalog", empty, "--primary", newPrimary(t))
	if out := mustRun(t, "audit", "verify", "--catalog", empty); out != "0 records, chain intact, no head\n" {
		t.Errorf("audit verify of an empty trail: %q", out)
	}
}
