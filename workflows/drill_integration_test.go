package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/workflows"
)

// drill runs a DRDrill of the world's store to its end.
func (w *world) drill() *workflows.DrillResult {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	in := workflows.DrillInput{Store: w.storeID, Primary: w.cfg.Primary.Name, Secondary: w.cfg.Secondary.Name, CatalogFiles: true}
	run, err := w.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.DrillID(w.storeID) + "-" + time.Now().Format("150405.000"),
		TaskQueue: workflows.TaskQueue}, workflows.DRDrill, in)
	if err != nil {
		w.t.Fatal(err)
	}
	var res workflows.DrillResult
	if err := run.Get(ctx, &res); err != nil {
		w.t.Fatalf("drill: %v", err)
	}
	return &res
}

// lastAudit is the newest record of the secondary's audit trail.
func (w *world) lastAudit() audit.Entry {
	w.t.Helper()
	var last audit.Entry
	if _, err := audit.Verify(context.Background(), w.sec, func(_ store.AuditRecord, e audit.Entry) error { last = e; return nil }); err != nil {
		w.t.Fatal(err)
	}
	return last
}

func hasFinding(res *workflows.DrillResult, parts ...string) bool {
	for _, f := range res.Findings {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(f, p)
		}
		if all {
			return true
		}
	}
	return false
}

// A drill on a clean pair passes: every sampled volume restorable, the
// verification finds nothing, the RPO is zero, the store stays SECONDARY;
// a record of the secondary edited behind the import's back is drift the
// next drill reports.
func TestDrillPassesThenFindsDrift(t *testing.T) {
	w := imageWorld(t)
	w.replicateKeys(sim.KeyReplication{})
	w.pair.ReplicateData(t, sim.DataReplication{})
	res := w.drill()
	if res.Outcome != workflows.OutcomeDrillPassed || len(res.Findings) > 0 {
		t.Fatalf("clean pair: %s", res.Summary())
	}
	if res.Update == nil || res.Update.Restore.Sampled != workflows.DrillSample || res.Update.Restore.Failed != 0 || res.Verify == nil || res.Verify.Outcome != workflows.OutcomeVerified ||
		res.RPO == nil || *res.RPO != 0 || res.Verify.Keys.Volumes == 0 || res.Verify.Keys.OK != res.Verify.Keys.Volumes {
		t.Fatalf("clean pair: %s (update %+v, verify %+v)", res.Summary(), res.Update, res.Verify)
	}
	ds, err := w.sec.DataStore(context.Background(), w.storeID)
	if err != nil || ds.Access != catalog.AccessSecondary {
		t.Fatalf("after the drill the store is %s (%v), want SECONDARY", ds.Access, err)
	}
	if e := w.lastAudit(); e.Kind != audit.KindDrill || e.Outcome != workflows.OutcomeDrillPassed || e.RPO == nil || e.Restore == nil || e.Keys == nil {
		t.Fatalf("audit record of the drill: %+v", e)
	}

	// A tape file's expiration changed on the secondary alone.
	var tf catalog.TapeFile
	if err := w.sec.ScanTapeFiles(context.Background(), store.Filter{}, func(f *catalog.TapeFile) error {
		if tf.FileID == "" && f.Volcat != "" {
			tf = *f
		}
		return nil
	}); err != nil || tf.FileID == "" {
		t.Fatalf("no tape file on the secondary: %v", err)
	}
	tf.Expiration = tf.Expiration.AddDate(1, 0, 0)
	w.plant(w.sec, func(ctx context.Context, tx store.Tx) error { return tx.PutTapeFile(ctx, &tf) })
	res = w.drill()
	if res.Outcome != workflows.OutcomeDrillFailed || res.Verify == nil || res.Verify.Outcome != workflows.OutcomeDrift ||
		!hasFinding(res, "verification", "tapefile.update 1") {
		t.Fatalf("drifted pair: %s", res.Summary())
	}
}

// A key missing at the secondary, an image missing from its data store:
// each fails the drill with a finding that names it.
func TestDrillFindsMissingKeyAndImage(t *testing.T) {
	t.Run("key", func(t *testing.T) {
		w := imageWorld(t)
		_, encrypted := w.written()
		w.replicateKeys(sim.KeyReplication{Omit: encrypted[:1]})
		w.pair.ReplicateData(t, sim.DataReplication{})
		res := w.drill()
		if res.Outcome != workflows.OutcomeDrillFailed || !hasFinding(res, "key parity of every encrypted volume") {
			t.Fatalf("key %s missing: %s", encrypted[0], res.Summary())
		}
		if e := w.lastAudit(); e.Kind != audit.KindDrill || e.Outcome != workflows.OutcomeDrillFailed || !strings.Contains(e.Detail, "key parity") {
			t.Fatalf("audit record: %+v", e)
		}
	})
	t.Run("image", func(t *testing.T) {
		w := imageWorld(t)
		plain, _ := w.written()
		w.replicateKeys(sim.KeyReplication{})
		w.pair.ReplicateData(t, sim.DataReplication{Store: w.storeID, Missing: plain[:1]})
		res := w.drill()
		if res.Outcome != workflows.OutcomeDrillFailed || !hasFinding(res, "restore test", plain[0], "IMAGE_MISSING") || len(res.Findings) != 1 {
			t.Fatalf("image of %s missing: %s", plain[0], res.Summary())
		}
	})
}
