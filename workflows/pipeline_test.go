package workflows_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
	"github.com/catsync/catsync/workflows"
)

// local runs CatalogSync, the workflow code itself, in the SDK's test
// environment on the real steps of a simulated pair of sites: the order of
// the steps is the workflow's, without a Temporal server. The dev-server
// tests run the same on real workers.
type local struct {
	*simtest.Pair
	prim, sec *activities.Activities
	runs      int
}

func newLocal(t *testing.T, p sim.Params, o simtest.Options) *local {
	t.Helper()
	if o.Keys == nil {
		o.Keys = simtest.Keystores // the sync proves key parity
	}
	sp := simtest.New(t, p, o)
	cfg := sp.Config
	return &local{Pair: sp,
		prim: &activities.Activities{Site: &activities.Site{Name: cfg.Primary.Name, Catalog: sp.Primary,
			Staging: snapshot.Area{Root: cfg.Primary.Staging, Keys: cfg.Keyring(config.RolePrimary)}, Keys: sp.PrimaryKeys}},
		sec: &activities.Activities{Site: &activities.Site{Name: cfg.Secondary.Name, Catalog: sp.Secondary,
			Staging: snapshot.Area{Root: cfg.Secondary.Staging, Keys: cfg.Keyring(config.RoleSecondary)}, Source: snapshot.Area{Root: cfg.Source, Keys: cfg.Keyring(config.RoleSecondary)}, Keys: sp.SecondaryKeys}},
	}
}

// sync runs one CatalogSync to its end and checks that its plan counted,
// for every entity and action, what its apply did.
func (l *local) sync(t *testing.T, typ snapshot.Type, opts importer.Options) *workflows.SyncResult {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.CatalogSync)
	// The test environment gives every run the same run id, which the
	// workflow uses as the snapshot's: number the snapshots instead.
	l.runs++
	id := fmt.Sprintf("run%d", l.runs)
	register := func(name string, fn any) { env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	register("Describe", l.prim.Describe)
	register("Snapshot", func(ctx context.Context, in activities.SnapshotInput) (snapshot.Ref, error) {
		in.ID = id
		return l.prim.Snapshot(ctx, in)
	})
	for name, fn := range map[string]any{"CheckConfig": l.sec.CheckConfig, "ReadWatermark": l.sec.ReadWatermark, "Transfer": l.sec.Transfer,
		"Plan": l.sec.Plan, "Apply": l.sec.Apply, "KeyParity": l.sec.KeyParity, "Finish": l.sec.Finish, "Record": l.sec.Record,
		"TakeLease": l.sec.TakeLease, "RenewLease": l.sec.RenewLease, "ReleaseLease": l.sec.ReleaseLease, "Unfinished": l.sec.Unfinished, "RestoreTest": l.sec.RestoreTest} {
		register(name, fn)
	}
	env.ExecuteWorkflow(workflows.CatalogSync, workflows.SyncInput{Store: opts.StoreID, Type: typ, CatalogFiles: opts.CatalogFiles,
		NodePairs: opts.NodePairs, Primary: l.prim.Site.Name, Secondary: l.sec.Site.Name})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("%s %s: %v", typ, id, env.GetWorkflowError())
	}
	var res workflows.SyncResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != workflows.OutcomeCompleted {
		t.Fatalf("%s %s: %s", typ, id, res.Summary())
	}
	sameCounts(t, string(typ)+" "+id, res.Plan.Counts, res.Applied.Counts)
	return &res
}

// sameCounts fails unless the plan counted, for every entity and action,
// exactly what the apply did.
func sameCounts(t testing.TB, what string, plan, applied importer.Counts) {
	t.Helper()
	for _, d := range plan.Differences(applied) {
		t.Errorf("%s: plan and apply differ: %s", what, d)
	}
}

func TestLocalFullUpdateFull(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t, simtest.Small(), simtest.Options{})
	opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
	full := l.sync(t, snapshot.Full, opts)
	if full.Applied.Counts["tapefile.create"] == 0 || full.Applied.Counts["diskfile.create"] == 0 {
		t.Fatalf("FULL created nothing: %v", full.Applied.Counts)
	}
	l.NoDrift(t, opts)

	// Re-applying changes nothing.
	if again := l.sync(t, snapshot.Full, opts); again.Applied.Counts.Changed() != 0 {
		t.Errorf("a second FULL of the same catalog changed %d records: %v", again.Applied.Counts.Changed(), again.Applied.Counts)
	}

	l.Advance(t, 3)
	if d := l.Verify(t, opts); len(d) == 0 {
		t.Fatal("the primary advanced three days and verify found no difference")
	}
	upd := l.sync(t, snapshot.Update, opts)
	// The outbox keeps the last export only; staging keeps the chain that
	// rebuilds the store: the last FULL and the UPDATEs after it.
	outbox, _ := os.ReadDir(filepath.Join(l.Config.Primary.Staging, "DS_PROD"))
	if len(outbox) != 1 || outbox[0].Name() != "run3" {
		t.Errorf("outbox holds %v, want only run3", outbox)
	}
	if chain, err := l.sec.Site.Staging.Chain("DS_PROD"); err != nil || strings.Join(chain, ",") != "run2,run3" {
		t.Errorf("staging chain %v (%v), want run2,run3", chain, err)
	}
	if upd.Applied.Sets == 0 || upd.Applied.Sets >= full.Applied.Sets {
		t.Errorf("UPDATE applied %d sets (FULL had %d)", upd.Applied.Sets, full.Applied.Sets)
	}
	l.NoDrift(t, opts)

	// Delete a scratch volume on the primary: UPDATE keeps it, FULL removes it.
	var victim catalog.TapeVolume
	err := l.Primary.ScanTapeVolumes(ctx, store.Filter{Status: string(catalog.StatusScratch)}, func(tv *catalog.TapeVolume) error {
		if victim.Volser == "" && tv.Volser[0] == 'T' {
			victim = *tv
		}
		return nil
	})
	if err != nil || victim.Volser == "" {
		t.Fatalf("no scratch volume to delete: %v", err)
	}
	err = l.Primary.Update(ctx, func(tx store.Tx) error {
		if err := tx.DeleteTapeVolume(ctx, &victim); err != nil {
			return err
		}
		return tx.DeleteVolume(ctx, catalog.VolumeKey{Label: victim.Volser, LabelType: catalog.Labeled})
	})
	if err != nil {
		t.Fatal(err)
	}
	if upd = l.sync(t, snapshot.Update, opts); upd.Applied.Counts["volume.deferred"] != 1 {
		t.Errorf("UPDATE after a deletion: %v, want one deferred deletion", upd.Applied.Counts)
	}
	d := l.Verify(t, opts)
	if len(d) != 1 || d[0].IsDrift() || !strings.HasPrefix(d[0].Key, victim.Volser) {
		t.Errorf("after UPDATE, verify: %v; want the deleted volume pending deletion", d)
	}
	full = l.sync(t, snapshot.Full, opts)
	if full.Applied.Counts["volume.delete"] != 1 || full.Applied.Counts["tapevolume.delete"] != 1 {
		t.Errorf("FULL after a deletion: %v", full.Applied.Counts)
	}
	l.NoDrift(t, opts)
}

// TestLocalPlanCountsWhatApplyDoes runs FULL and UPDATE syncs, with whole
// volume sets deleted, CATALOGFILES NO and node pairs, on SQLite and
// PostgreSQL; every run's plan must count exactly what its apply did.
func TestLocalPlanCountsWhatApplyDoes(t *testing.T) {
	sqltest.RunDSN(t, func(t *testing.T, dsn func(testing.TB) string) {
		for _, tc := range []struct {
			name string
			opts importer.Options
		}{
			{"catalogfiles", importer.Options{StoreID: "DS_PROD", CatalogFiles: true}},
			{"catalogfiles no", importer.Options{StoreID: "DS_PROD"}},
			{"node pairs", importer.Options{StoreID: "DS_PROD", CatalogFiles: true, NodePairs: []importer.NodePair{{From: `\PRIM`, To: `\SECD`}}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				l := newLocal(t, simtest.Small(), simtest.Options{DSN: dsn})
				l.sync(t, snapshot.Full, tc.opts)
				l.Advance(t, 2)
				l.sync(t, snapshot.Update, tc.opts)
				gone := simtest.DropSetWithFiles(t, l.Primary)
				if upd := l.sync(t, snapshot.Update, tc.opts); upd.Applied.Counts["volume.deferred"] == 0 {
					t.Errorf("UPDATE after deleting volume set %s: %v, want its deletion deferred", gone, upd.Applied.Counts)
				}
				full := l.sync(t, snapshot.Full, tc.opts)
				for _, k := range []string{"volume.delete", "tapevolume.delete", "tapefile.delete", "tftov.delete", "vtofc.delete"} {
					if full.Applied.Counts[k] == 0 {
						t.Errorf("FULL after deleting volume set %s counted no %s: %v", gone, k, full.Applied.Counts)
					}
				}
				if tc.opts.CatalogFiles && full.Applied.Counts["diskfile.delete"] == 0 {
					t.Errorf("FULL after deleting volume set %s counted no diskfile.delete: %v", gone, full.Applied.Counts)
				}
				l.NoDrift(t, tc.opts)
			})
		}
	})
}

// TestLocalVolumeMovedToAnotherGroup: a volume set that moves to another
// volume group of the store on the primary moves on the secondary too,
// its old tape volumes removed in the same transaction, so each label is
// in one pool only; verify reports a label left in two pools of the
// search space, and a FULL removes the stale one.
func TestLocalVolumeMovedToAnotherGroup(t *testing.T) {
	sqltest.RunDSN(t, func(t *testing.T, dsn func(testing.TB) string) {
		ctx := context.Background()
		l := newLocal(t, simtest.Small(), simtest.Options{DSN: dsn})
		opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
		l.sync(t, snapshot.Full, opts)

		to, err := l.Primary.VolumeGroup(ctx, "VG_PROD_2")
		if err != nil {
			t.Fatal(err)
		}
		set := simtest.FindSet(t, l.Primary, func(s *snapshot.VolumeSet) bool {
			return len(s.DiskFiles) > 0 && s.Volumes[0].Group == "VG_PROD_1"
		})
		simtest.MoveSet(t, l.Primary, set, to)
		upd := l.sync(t, snapshot.Update, opts)
		if n := int64(len(set.TapeVolumes)); upd.Applied.Counts["tapevolume.delete"] != n || upd.Applied.Counts["tapevolume.create"] != n {
			t.Errorf("UPDATE after the move: %v, want %d tape volumes deleted in their old pool and created in the new", upd.Applied.Counts, n)
		}
		for _, tv := range set.TapeVolumes {
			if got := simtest.Pools(t, l.Secondary, tv.Volser); len(got) != 1 || got[0] != `\SECD.VCREPL `+to.Pool {
				t.Fatalf("label %s is in %v on the secondary, want only %s", tv.Volser, got, to.Pool)
			}
		}
		l.NoDrift(t, opts)

		// A label left in two pools (as older imports did) is drift that
		// verify names, and the next FULL import removes the stale entry.
		stale := set.TapeVolumes[0]
		stale.Volcat = `\SECD.VCREPL`
		if err := l.Secondary.Update(ctx, func(tx store.Tx) error { return tx.PutTapeVolume(ctx, &stale) }); err != nil {
			t.Fatal(err)
		}
		var dup []importer.Drift
		for _, d := range l.Verify(t, opts) {
			if strings.HasPrefix(d.Kind, importer.DuplicateLabel) {
				dup = append(dup, d)
			}
		}
		if len(dup) != 1 || dup[0].Key != stale.Volser || !strings.Contains(dup[0].Kind, stale.Pool) || !strings.Contains(dup[0].Kind, to.Pool) || !dup[0].IsDrift() {
			t.Fatalf("verify with %s in two pools: %v", stale.Volser, dup)
		}
		l.sync(t, snapshot.Full, opts)
		if got := simtest.Pools(t, l.Secondary, stale.Volser); len(got) != 1 {
			t.Fatalf("after a FULL, label %s is in %v", stale.Volser, got)
		}
		l.NoDrift(t, opts)
	})
}
