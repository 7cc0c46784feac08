package audit

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore"
)

func TestChain(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "secondary.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
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

	// Edit the second record behind the store's back: the chain breaks there.
	if _, err := st.SQL().Exec(`UPDATE audit SET entry = replace(entry, 'Completed', 'Failed') WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	_, err = Verify(ctx, st, nil)
	var broken *BrokenError
	if !errors.As(err, &broken) || broken.Seq != 2 {
		t.Fatalf("after editing record 2: %v", err)
	}
	// Removing a record breaks it too.
	if _, err := st.SQL().Exec(`DELETE FROM audit WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(ctx, st, nil); !errors.As(err, &broken) || broken.Seq != 3 {
		t.Fatalf("after removing record 2: %v", err)
	}
}
