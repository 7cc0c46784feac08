package telemetry

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/restore"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// t0 is 1.7723664e+09 in Unix seconds: FULL finished at 1.7723634e+09,
// UPDATE at 1.7723658e+09.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// secondary is a catalog with data store DS_PROD (and DS_NEW, never
// synced) and a trail of a FULL that succeeded, an UPDATE that did not,
// a verification and an approval.
func secondary(t *testing.T) store.Store {
	t.Helper()
	ctx := context.Background()
	st := sqltest.Open(t, sqltest.SQLiteDSN(t))
	if err := st.Update(ctx, func(tx store.Tx) error {
		return errors.Join(
			tx.PutDataStore(ctx, &catalog.DataStore{ID: "DS_PROD", Access: catalog.AccessSecondary, Status: catalog.StoreActive}),
			tx.PutDataStore(ctx, &catalog.DataStore{ID: "DS_NEW", Access: catalog.AccessSecondary, Status: catalog.StoreActive}))
	}); err != nil {
		t.Fatal(err)
	}
	for i, e := range []audit.Entry{
		{RunID: "r1", Store: "DS_PROD", Type: "FULL", Outcome: "Completed", Counts: map[string]int64{"volume.create": 80, "tapefile.create": 300},
			Restore:  &restore.Report{Sampled: 3, Passed: 3, Volumes: 80, Verified: 3, Fraction: 3.0 / 80},
			Started:  t0.Add(-time.Hour),
			Finished: t0.Add(-50 * time.Minute)},
		{RunID: "r2", Store: "DS_PROD", Type: "UPDATE", Outcome: "CompletedWithConflicts", Counts: map[string]int64{"tapefile.update": 4, "volume.deferred": 1},
			Conflicts: &safety.Report{Total: 2, Sets: 1, ByRule: map[safety.Rule]int{safety.LabelLocal: 2},
				Conflicts: []safety.Conflict{{Set: "S1"}, {Set: "S1"}}},
			Keys:    &parity.Report{Volumes: 5, OK: 4, Total: 1, ByProblem: map[parity.Problem]int{parity.Missing: 1}},
			Restore: &restore.Report{Sampled: 3, Passed: 1, Failed: 2, ByProblem: map[string]int{"image missing": 2}, Volumes: 80, Verified: 4, Fraction: 0.05},
			Started: t0.Add(-20 * time.Minute), Finished: t0.Add(-10 * time.Minute)},
		// Not syncs: left out.
		{RunID: "r3", Store: "DS_PROD", Type: "FULL", Outcome: "Drift", Counts: map[string]int64{"volume.create": 9}, Finished: t0},
		{RunID: "r2", Kind: audit.KindApproval, Store: "DS_PROD", Operator: "ops", Outcome: "approved", Finished: t0},
	} {
		if _, err := audit.Append(ctx, st, e); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	return st
}

func newCollector(st store.Reader, applied map[string]time.Time) *Collector {
	return NewCollector(State{Catalog: st,
		Applied:   func(_ context.Context, id string) (time.Time, error) { return applied[id], nil },
		Succeeded: []string{"Completed"}, Verifications: []string{"Verified", "Drift"},
		Now: func() time.Time { return t0 }})
}

func TestCollector(t *testing.T) {
	st := secondary(t)
	c := newCollector(st, map[string]time.Time{"DS_PROD": t0.Add(-25 * time.Minute)})
	want := `
# HELP catsync_replication_lag_seconds Seconds from when the newest snapshot applied to the data store was taken until now: the recovery point were the primary lost now.
# TYPE catsync_replication_lag_seconds gauge
catsync_replication_lag_seconds{store="DS_PROD"} 1500
# HELP catsync_last_success_timestamp_seconds When the newest sync of the store and type that applied everything finished, in Unix seconds.
# TYPE catsync_last_success_timestamp_seconds gauge
catsync_last_success_timestamp_seconds{store="DS_PROD",type="FULL"} 1.7723634e+09
# HELP catsync_last_sync_rows Rows of the newest sync of the store and type, by entity and action (created, updated, deleted, unchanged, deferred).
# TYPE catsync_last_sync_rows gauge
catsync_last_sync_rows{action="create",entity="tapefile",store="DS_PROD",type="FULL"} 300
catsync_last_sync_rows{action="create",entity="volume",store="DS_PROD",type="FULL"} 80
catsync_last_sync_rows{action="deferred",entity="volume",store="DS_PROD",type="UPDATE"} 1
catsync_last_sync_rows{action="update",entity="tapefile",store="DS_PROD",type="UPDATE"} 4
# HELP catsync_last_sync_conflicts Conflicts the newest sync of the store and type found, by safety rule.
# TYPE catsync_last_sync_conflicts gauge
catsync_last_sync_conflicts{rule="LABEL_LOCAL",store="DS_PROD",type="UPDATE"} 2
# HELP catsync_last_sync_keys_not_in_parity Encrypted volumes whose key the newest sync of the store and type found not in parity at the secondary, by problem.
# TYPE catsync_last_sync_keys_not_in_parity gauge
catsync_last_sync_keys_not_in_parity{problem="MISSING",store="DS_PROD",type="UPDATE"} 1
# HELP catsync_last_sync_restore_samples Volumes the newest sync of the store and type tested restoring, by verdict (passed, failed) and, failed, by problem.
# TYPE catsync_last_sync_restore_samples gauge
catsync_last_sync_restore_samples{problem="",store="DS_PROD",type="FULL",verdict="passed"} 3
catsync_last_sync_restore_samples{problem="",store="DS_PROD",type="UPDATE",verdict="passed"} 1
catsync_last_sync_restore_samples{problem="image missing",store="DS_PROD",type="UPDATE",verdict="failed"} 2
# HELP catsync_last_sync_restorable_ratio Fraction of the store's volumes whose restore was verified within the restore test's window, as of the newest sync of the store and type.
# TYPE catsync_last_sync_restorable_ratio gauge
catsync_last_sync_restorable_ratio{store="DS_PROD",type="FULL"} 0.0375
catsync_last_sync_restorable_ratio{store="DS_PROD",type="UPDATE"} 0.05
# HELP catsync_last_sync_timestamp_seconds When the newest sync of the store and type finished, in Unix seconds, by its outcome.
# TYPE catsync_last_sync_timestamp_seconds gauge
catsync_last_sync_timestamp_seconds{outcome="Completed",store="DS_PROD",type="FULL"} 1.7723634e+09
catsync_last_sync_timestamp_seconds{outcome="CompletedWithConflicts",store="DS_PROD",type="UPDATE"} 1.7723658e+09
# HELP catsync_state_up 1 when the last scrape read the secondary's catalog, audit trail and staging area in full, 0 when a read failed (the worker's log says which).
# TYPE catsync_state_up gauge
catsync_state_up 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	// A record appended after a scrape is in the next.
	if _, err := audit.Append(context.Background(), st, audit.Entry{RunID: "r4", Store: "DS_PROD", Type: "UPDATE", Outcome: "Completed",
		Counts: map[string]int64{"tapefile.update": 7}, Finished: t0}); err != nil {
		t.Fatal(err)
	}
	if err := testutil.CollectAndCompare(c, strings.NewReader(`
# HELP catsync_last_sync_rows Rows of the newest sync of the store and type, by entity and action (created, updated, deleted, unchanged, deferred).
# TYPE catsync_last_sync_rows gauge
catsync_last_sync_rows{action="create",entity="tapefile",store="DS_PROD",type="FULL"} 300
catsync_last_sync_rows{action="create",entity="volume",store="DS_PROD",type="FULL"} 80
catsync_last_sync_rows{action="update",entity="tapefile",store="DS_PROD",type="UPDATE"} 7
`), "catsync_last_sync_rows"); err != nil {
		t.Error(err)
	}
	if err := testutil.CollectAndCompare(c, strings.NewReader(`
# HELP catsync_last_success_timestamp_seconds When the newest sync of the store and type that applied everything finished, in Unix seconds.
# TYPE catsync_last_success_timestamp_seconds gauge
catsync_last_success_timestamp_seconds{store="DS_PROD",type="FULL"} 1.7723634e+09
catsync_last_success_timestamp_seconds{store="DS_PROD",type="UPDATE"} 1.7723664e+09
`), "catsync_last_success_timestamp_seconds"); err != nil {
		t.Error(err)
	}
}

func TestCollectorEmpty(t *testing.T) {
	st := sqltest.Open(t, sqltest.SQLiteDSN(t))
	if n, err := testutil.GatherAndCount(registry(t, newCollector(st, nil))); err != nil || n != 1 {
		t.Errorf("an empty catalog: %d metrics (%v), want catsync_state_up alone", n, err)
	}
}

// A catalog that cannot be read fails the scrape's catsync part, saying so.
func TestCollectorClosedCatalog(t *testing.T) {
	st := secondary(t)
	c := newCollector(st, nil)
	st.Close()
	_, err := registry(t, c).Gather()
	if err == nil || !strings.Contains(err.Error(), "data stores") {
		t.Errorf("scrape of a closed catalog: %v, want the data stores' error", err)
	}
}

func registry(t *testing.T, c prometheus.Collector) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	return reg
}
