package audit

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

func open(t *testing.T) *sqlstore.DB {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "secondary.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestChain(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	at := time.Date(2026, 2, 1, 3, 0, 0, 0, time.UTC)
	for i, run := range []string{"r1", "r2", "r3", "r2"} { // r2 retried: recorded once
		if _, err := Append(ctx, st, Entry{WorkflowID: "catalogsync-DS_PROD", RunID: run, Store: "DS_PROD", Type: "UPDATE",
			Outcome: "Completed", Counts: map[string]int64{"tapefile.create": int64(i)}, Started: at, Finished: at.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	var runs []string
	n, err := Verify(ctx, st, func(_ store.AuditRecord, e Entry) error { runs = append(runs, e.RunID); return nil })
	if err != nil || n != 3 || len(runs) != 3 || runs[2] != "r3" {
		t.Fatalf("verify: %d records %v, %v", n, runs, err)
	}
	res, err := Check(ctx, st, nil)
	if last, _ := st.LastAudit(ctx); err != nil || res.HeadSeq != 3 || res.HeadHash != last.Hash || len(res.Breaks) != 0 {
		t.Errorf("check: %+v, %v", res, err)
	}

	// Edit the second record behind the store's back: the chain breaks there.
	if _, err := st.SQL().Exec(`UPDATE audit SET entry = replace(entry, 'Completed', 'Failed') WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	var broken *BrokenError
	if _, err = Verify(ctx, st, nil); !errors.As(err, &broken) || len(broken.Breaks) != 1 || broken.Breaks[0].Seq != 2 {
		t.Fatalf("after editing record 2: %v", err)
	}
}

// Records that are not a run's own have keys of their own.
func TestKeys(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	appended := func(e Entry) store.AuditRecord {
		t.Helper()
		rec, err := Append(ctx, st, e)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	if r := appended(Entry{Kind: KindFailover, RunID: "f1", Outcome: "Promoted"}); r.Seq != 1 || r.Key != "f1" {
		t.Errorf("failover's own record: %+v", r)
	}
	if r := appended(Entry{Kind: KindApproval, RunID: "f1", Operator: "ops1", Outcome: "Approved"}); r.Seq != 2 || r.Key != "f1/approval" {
		t.Errorf("approval within the failover run: %+v", r)
	}
	if r := appended(Entry{Kind: KindApproval, RunID: "f1", Operator: "ops1", Outcome: "Approved"}); r.Seq != 0 {
		t.Errorf("approval retried, recorded again: %+v", r)
	}
	// Acts outside runs: each its own record, unless the caller gives one id.
	a, b := appended(Entry{Kind: KindSchedule, Operator: "ops1", Detail: "paused"}), appended(Entry{Kind: KindSchedule, Operator: "ops1", Detail: "paused"})
	if a.Seq != 3 || b.Seq != 4 || a.Key == b.Key || !strings.HasPrefix(a.Key, "act-") {
		t.Errorf("two schedule changes: %+v, %+v", a, b)
	}
	if r := appended(Entry{Kind: KindSchedule, ID: "sched-1", Operator: "ops1"}); r.Seq != 5 || r.Key != "sched-1" {
		t.Errorf("schedule change with an id: %+v", r)
	}
	if r := appended(Entry{Kind: KindSchedule, ID: "sched-1", Operator: "ops1"}); r.Seq != 0 {
		t.Errorf("schedule change retried, recorded again: %+v", r)
	}
	var ids []string
	if n, err := Verify(ctx, st, func(r store.AuditRecord, e Entry) error { ids = append(ids, e.ID); return nil }); err != nil || n != 5 {
		t.Fatalf("verify: %d, %v", n, err)
	}
	if ids[2] != a.Key { // the generated id is in the entry, under the hash
		t.Errorf("entry ids %v, want %s third", ids, a.Key)
	}
	if _, err := Append(ctx, st, Entry{Kind: "promote", RunID: "f2"}); err == nil || !strings.Contains(err.Error(), `"promote"`) || !strings.Contains(err.Error(), "f2") {
		t.Errorf("unknown kind: %v", err)
	}
}

// trail appends n records to a fresh catalog.
func trail(t *testing.T, n int) *sqlstore.DB {
	t.Helper()
	st := open(t)
	at := time.Date(2026, 2, 1, 3, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		if _, err := Append(context.Background(), st, Entry{WorkflowID: "catalogsync-DS_PROD", RunID: fmt.Sprintf("r%d", i),
			Store: "DS_PROD", Type: "UPDATE", Outcome: "Completed", Started: at, Finished: at.Add(time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// exec runs an attacker's statements on the catalog file.
func exec(t *testing.T, st *sqlstore.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := st.SQL().Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// forge adds a record as a careful attacker would: a well-formed entry,
// its hash computed as Append does, linked to the record before.
func forge(t *testing.T, st *sqlstore.DB, seq int64, prev string) {
	t.Helper()
	entry := `{"workflow_id":"catalogsync-DS_PROD","run_id":"forged","store":"DS_PROD","type":"FULL","outcome":"Completed"}`
	if _, err := st.SQL().Exec(`INSERT INTO audit (seq, key, entry, prev, hash) VALUES (?, 'forged', ?, ?, ?)`,
		seq, entry, prev, hash(seq, prev, entry)); err != nil {
		t.Fatal(err)
	}
}

// swap exchanges the columns of records a and b.
func swap(t *testing.T, st *sqlstore.DB, a, b int, cols ...string) {
	t.Helper()
	for _, c := range cols {
		var va, vb string
		if err := st.SQL().QueryRow(`SELECT `+c+` FROM audit WHERE seq = ?`, a).Scan(&va); err != nil {
			t.Fatal(err)
		}
		if err := st.SQL().QueryRow(`SELECT `+c+` FROM audit WHERE seq = ?`, b).Scan(&vb); err != nil {
			t.Fatal(err)
		}
		for _, u := range []struct {
			seq int
			v   string
		}{{a, vb}, {b, va}} {
			if _, err := st.SQL().Exec(`UPDATE audit SET `+c+` = ? WHERE seq = ?`, u.v, u.seq); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func hashOf(t *testing.T, st *sqlstore.DB, seq int) string {
	t.Helper()
	var h string
	if err := st.SQL().QueryRow(`SELECT hash FROM audit WHERE seq = ?`, seq).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// Every kind of tampering is reported, with the records it touched.
func TestTampering(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, st *sqlstore.DB)
		want   []string // kind seq[-last]
		detail string   // in the first break's words
	}{
		{"edited", func(t *testing.T, st *sqlstore.DB) {
			exec(t, st, `UPDATE audit SET entry = replace(entry, 'Completed', 'Failed') WHERE seq = 3`)
		}, []string{"edited 3"}, "its content does not match its hash"},
		{"edited key", func(t *testing.T, st *sqlstore.DB) {
			exec(t, st, `UPDATE audit SET key = 'r9' WHERE seq = 4`)
		}, []string{"edited 4"}, `its key "r9" is not its entry's "r4"`},
		{"edited with its hash made again", func(t *testing.T, st *sqlstore.DB) {
			var prev, entry string
			if err := st.SQL().QueryRow(`SELECT prev, entry FROM audit WHERE seq = 3`).Scan(&prev, &entry); err != nil {
				t.Fatal(err)
			}
			entry = strings.Replace(entry, "Completed", "Failed", 1)
			if _, err := st.SQL().Exec(`UPDATE audit SET entry = ?, hash = ? WHERE seq = 3`, entry, hash(3, prev, entry)); err != nil {
				t.Fatal(err)
			}
		}, []string{"inserted 3"}, "it is not the record written as 3: record 4, written after that one, carries a hash no record has"},
		{"deleted", func(t *testing.T, st *sqlstore.DB) {
			exec(t, st, `DELETE FROM audit WHERE seq = 3`)
		}, []string{"deleted 3"}, "missing between record 2 and record 4"},
		{"deleted several", func(t *testing.T, st *sqlstore.DB) {
			exec(t, st, `DELETE FROM audit WHERE seq IN (3, 4)`)
		}, []string{"deleted 3-4"}, "missing between record 2 and record 5"},
		{"deleted first", func(t *testing.T, st *sqlstore.DB) {
			exec(t, st, `DELETE FROM audit WHERE seq = 1`)
		}, []string{"deleted 1"}, "missing before record 2, the first"},
		{"deleted newest", func(t *testing.T, st *sqlstore.DB) {
			exec(t, st, `DELETE FROM audit WHERE seq >= 5`)
		}, []string{"deleted 5-6"}, "from the end: the anchor (audit.head) names record 6, the trail ends at record 4"},
		{"deleted all", func(t *testing.T, st *sqlstore.DB) {
			exec(t, st, `DELETE FROM audit`)
		}, []string{"deleted 1-6"}, "the trail is empty"},
		{"deleted, the rest renumbered", func(t *testing.T, st *sqlstore.DB) {
			exec(t, st, `DELETE FROM audit WHERE seq = 3`,
				`UPDATE audit SET seq = -(seq - 1) WHERE seq > 3`, `UPDATE audit SET seq = -seq WHERE seq < 0`)
		}, []string{"deleted 3", "renumbered 3-5"}, "missing between record 2 and record 3 (written as 4)"},
		{"hashes only swapped", func(t *testing.T, st *sqlstore.DB) {
			swap(t, st, 3, 4, "hash")
		}, []string{"reordered 3-4"}, "records 3 and 4 hold each other's hashes"},
		{"inserted at the end", func(t *testing.T, st *sqlstore.DB) {
			forge(t, st, 7, hashOf(t, st, 6))
		}, []string{"inserted 7"}, "added after record 6, the newest the anchor (audit.head) knows"},
		{"inserted, the rest renumbered", func(t *testing.T, st *sqlstore.DB) {
			exec(t, st, `UPDATE audit SET seq = -(seq + 1) WHERE seq >= 3`, `UPDATE audit SET seq = -seq WHERE seq < 0`)
			forge(t, st, 3, hashOf(t, st, 2))
		}, []string{"inserted 3", "renumbered 4-7"}, "it was written as 3, as record 4 (written as 3) was, and the chain links to that one"},
		{"inserted into a gap", func(t *testing.T, st *sqlstore.DB) {
			prev := hashOf(t, st, 2)
			exec(t, st, `DELETE FROM audit WHERE seq = 3`)
			forge(t, st, 3, prev)
		}, []string{"inserted 3"}, "carries a hash no record has (it was replaced, or removed and another put in its place)"},
		{"inserted in front", func(t *testing.T, st *sqlstore.DB) {
			exec(t, st, `DELETE FROM audit WHERE seq = 1`)
			forge(t, st, 1, "0000")
		}, []string{"inserted 1"}, "it is the first record but carries a previous hash"},
		{"reordered", func(t *testing.T, st *sqlstore.DB) {
			exec(t, st, `UPDATE audit SET seq = -1 WHERE seq = 2`, `UPDATE audit SET seq = 2 WHERE seq = 4`, `UPDATE audit SET seq = 4 WHERE seq = -1`)
		}, []string{"reordered 2-4"}, "record 2 was written as 4, record 4 was written as 2"},
		{"entries swapped", func(t *testing.T, st *sqlstore.DB) {
			swap(t, st, 2, 3, "entry")
		}, []string{"reordered 2-3"}, "records 2 and 3 hold each other's entries"},
		{"hashes swapped", func(t *testing.T, st *sqlstore.DB) {
			swap(t, st, 2, 5, "prev", "hash")
		}, []string{"reordered 2-5"}, "records 2 and 5 hold each other's previous hashes and hashes"},
		{"anchor deleted", func(t *testing.T, st *sqlstore.DB) {
			exec(t, st, `DELETE FROM meta WHERE key = 'audit.head'`)
		}, []string{"anchor 0"}, "the trail has no anchor"},
		{"anchor damaged", func(t *testing.T, st *sqlstore.DB) {
			exec(t, st, `UPDATE meta SET value = 'six' WHERE key = 'audit.head'`)
		}, []string{"anchor 0"}, `"six" is not SEQ HASH`},
		{"several at once", func(t *testing.T, st *sqlstore.DB) {
			exec(t, st, `UPDATE audit SET entry = replace(entry, 'Completed', 'Failed') WHERE seq = 2`, `DELETE FROM audit WHERE seq = 4`,
				`DELETE FROM audit WHERE seq = 6`)
		}, []string{"edited 2", "deleted 4", "deleted 6"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := trail(t, 6)
			tc.tamper(t, st)
			n, err := Verify(context.Background(), st, nil)
			var broken *BrokenError
			if !errors.As(err, &broken) {
				t.Fatalf("%d records, %v; want broken", n, err)
			}
			var got []string
			for _, b := range broken.Breaks {
				s := fmt.Sprintf("%s %d", b.Kind, b.Seq)
				if b.Last != 0 {
					s += fmt.Sprintf("-%d", b.Last)
				}
				got = append(got, s)
			}
			if strings.Join(got, ", ") != strings.Join(tc.want, ", ") || !strings.Contains(broken.Breaks[0].Detail, tc.detail) {
				t.Errorf("breaks:\n%s\nwant %v, the first saying %q", strings.ReplaceAll(err.Error(), "; ", "\n"), tc.want, tc.detail)
			}
		})
	}
}

// A trail the store appended since the anchor's start holds; one from
// before anchors (the migration anchors it) holds too: TestAuditKeyMigration
// in sqlstore.
func TestIntactTrail(t *testing.T) {
	st := trail(t, 40)
	res, err := Check(context.Background(), st, nil)
	if err != nil || res.Records != 40 || res.HeadSeq != 40 || len(res.Breaks) != 0 {
		t.Errorf("%+v, %v", res, err)
	}
}

// A walk while records are appended sees the records and the anchor as of
// one moment: nothing looks inserted or deleted.
func TestCheckWhileAppending(t *testing.T) {
	ctx := context.Background()
	st := trail(t, 3)
	done := make(chan error)
	go func() {
		for i := range 40 {
			if _, err := Append(ctx, st, Entry{RunID: fmt.Sprintf("c%d", i), Store: "DS_PROD", Outcome: "Completed"}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		default:
		}
		if res, err := Check(ctx, st, nil); err != nil || len(res.Breaks) != 0 {
			t.Fatalf("check while appending: %+v, %v", res, err)
		}
	}
}

// TestConcurrentAppends: writers appending at once, each in its own
// transaction, all get their records into one unbroken chain, on SQLite
// and on PostgreSQL (where two transactions read the same head).
func TestConcurrentAppends(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, newStore func(testing.TB) store.Store) {
		ctx := context.Background()
		st := newStore(t)
		const writers, each = 6, 10
		errs := make(chan error, writers)
		for w := range writers {
			go func() {
				for i := range each {
					if _, err := Append(ctx, st, Entry{RunID: fmt.Sprintf("w%d-%d", w, i), Store: "DS_PROD", Outcome: "Completed"}); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range writers {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		n, err := Verify(ctx, st, nil)
		if err != nil || n != writers*each {
			t.Fatalf("verify: %d records, %v; want %d in one chain", n, err, writers*each)
		}
	})
}
