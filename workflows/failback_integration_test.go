package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/workflows"
)

// After a failover and an outage during which the DR site wrote to the
// store, a failback brings the old primary in step (a FULL sync back with
// every check, verified), then, approved, switches the roles back: nothing
// the DR site wrote is lost, and the sites match both ways.
func TestFailbackBringsTheOldPrimaryBack(t *testing.T) {
	w := failoverWorld(t)
	ctx := context.Background()
	in := w.failoverInput()
	in.Approval = &workflows.Approval{Approve: true, Operator: "jdoe", Reason: "primary site lost"}
	if res := w.waitFailover(w.startFailover(in)); res.Outcome != workflows.OutcomeFailedOver {
		t.Fatalf("failover: %s", res.Summary())
	}

	// The outage: the DR site backs up onto a volume of the store.
	var vol catalog.Volume
	if err := w.sec.ScanVolumes(ctx, store.Filter{StoreID: w.storeID}, func(v *catalog.Volume) error {
		if vol.Label == "" && !v.Timestamp.IsZero() {
			vol = *v
		}
		return nil
	}); err != nil || vol.Label == "" {
		t.Fatalf("no written volume at the DR site: %v", err)
	}
	vol.OwnerUser, vol.LastUpdate = "DR.BACKUP", time.Now().UTC().Truncate(time.Second)
	w.plant(w.sec, func(ctx context.Context, tx store.Tx) error { return tx.PutVolume(ctx, &vol) })

	w.knowDR()

	fb := workflows.FailbackInput{Store: w.storeID, Returning: w.cfg.Primary.Name, Owner: w.cfg.Secondary.Name, CatalogFiles: true,
		RestoreSample: 20, Approval: &workflows.Approval{Approve: true, Operator: "jdoe", Reason: "primary site repaired"}}
	run, err := w.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.FailbackID(w.storeID) + "-" + time.Now().Format("150405.000"),
		TaskQueue: workflows.TaskQueue}, workflows.DRFailback, fb)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	var res workflows.FailbackResult
	if err := run.Get(wctx, &res); err != nil {
		t.Fatalf("failback: %v", err)
	}
	if res.Outcome != workflows.OutcomeFailedBack || len(res.Findings) > 0 || res.Verify == nil || res.Verify.Outcome != workflows.OutcomeVerified ||
		res.Forward == nil || res.Forward.Outcome != workflows.OutcomeVerified || res.Back.Restore.Failed != 0 || res.Back.Restore.Sampled == 0 {
		t.Fatalf("%s", res.Summary())
	}
	for _, s := range []struct {
		name string
		st   store.Store
		want catalog.DomainAccess
	}{{"old primary", w.prim, catalog.AccessPrimary}, {"DR site", w.sec, catalog.AccessSecondary}} {
		ds, err := s.st.DataStore(ctx, w.storeID)
		if err != nil || ds.Access != s.want {
			t.Fatalf("%s: store %s (%v), want %s", s.name, ds.Access, err, s.want)
		}
	}
	back, err := w.prim.Volume(ctx, vol.Key())
	if err != nil || back.OwnerUser != "DR.BACKUP" {
		t.Fatalf("the DR site's write did not reach the old primary: %+v %v", back, err)
	}
	if d := w.drift(importer.Options{StoreID: w.storeID, CatalogFiles: true}); len(d) > 0 {
		t.Fatalf("drift after the failback: %v", d)
	}
	// The first direction works again.
	w.mustSync(w.input("UPDATE", true))
	if e := w.lastAudit(); !strings.Contains(e.Type, "UPDATE") {
		t.Fatalf("last record %+v", e)
	}
}

// knowDR gives the old primary, back, the DR domain's key-manager entry,
// as its operator would: it then reads the keys of volumes written there.
func (w *world) knowDR() {
	w.t.Helper()
	dr, err := w.sec.Site(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	w.plant(w.prim, func(ctx context.Context, tx store.Tx) error {
		s, err := tx.Site(ctx)
		if err != nil {
			return err
		}
		s.KeyManagers = append(s.KeyManagers, catalog.KeyManagerEntry{BackPakID: dr.BackPakID, Server: "kms.dr:5696"})
		return tx.PutSite(ctx, &s)
	})
}
