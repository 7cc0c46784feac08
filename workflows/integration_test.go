package workflows_test

// Integration tests: the real Temporal dev server (the pinned CLI binary),
// real SQLite site catalogs made by the simulator, the real workers.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/kmip/pykmiptest"
	"github.com/catsync/catsync/internal/serve"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/temporaltest"
	"github.com/catsync/catsync/workflows"
)

// TestMain runs the package's tests with one Temporal dev server, started by
// the first test that needs it.
func TestMain(m *testing.M) { temporaltest.Main(m) }

// world is a primary and a secondary site with workers serving them.
type world struct {
	t         *testing.T
	c         client.Client // of the dev server
	pair      *simtest.Pair // the sites simulated
	cfg       *config.Config
	prim      store.Store
	sec       store.Store
	workers   *serve.Workers
	faulty    worker.Worker // a site's worker planting a fault (serveWith)
	storeID   string
	hbTimeout time.Duration
	// The sites' key managers, as the simulator and key replication
	// reach them; the workers open their own from cfg.
	primKeys, secKeys keys.Manager
}

// pykmipServers gives each site a PyKMIP server of its own, reached over
// mutual TLS with the site's client certificate.
func pykmipServers(t testing.TB, _ string, cfg *config.Config) {
	for _, site := range []*config.Site{&cfg.Primary, &cfg.Secondary} {
		srv := pykmiptest.Start(t)
		site.Keys = "kmip://" + srv.Addr
		site.KMIP.CA, site.KMIP.Cert, site.KMIP.Key = srv.Client(t, "catsync-"+site.Name)
	}
}

func newWorld(t *testing.T, p sim.Params, sp sim.SecondaryParams) *world {
	t.Helper()
	return newWorldKeys(t, p, sp, simtest.Keystores)
}

// newWorldKeys simulates a primary whose encrypted writes file their keys
// in the key manager km gives it (simtest.Keystores, pykmipServers), and a
// secondary whose key manager received them all by replication.
func newWorldKeys(t *testing.T, p sim.Params, sp sim.SecondaryParams, km func(testing.TB, string, *config.Config)) *world {
	t.Helper()
	return newWorldWith(t, p, simtest.Options{Secondary: &sp, Keys: km})
}

// newWorldWith simulates the pair o describes and serves it.
func newWorldWith(t *testing.T, p sim.Params, o simtest.Options) *world {
	t.Helper()
	return newWorldOn(t, temporaltest.Client(t), p, o) // the client first: without a server the test skips (or fails) before simulating
}

// newWorldOn is newWorldWith on the client c (one logging or tracing to
// the test, say), which the workers take their logger and interceptors
// from.
func newWorldOn(t *testing.T, c client.Client, p sim.Params, o simtest.Options) *world {
	t.Helper()
	pair := simtest.New(t, p, o)
	w := &world{t: t, c: c, pair: pair, cfg: pair.Config, prim: pair.Primary, sec: pair.Secondary,
		primKeys: pair.PrimaryKeys, secKeys: pair.SecondaryKeys, storeID: "DS_PROD", hbTimeout: 3 * time.Second}
	w.start()
	t.Cleanup(w.stop)
	return w
}

// replicateKeys copies the primary's new keys to the secondary.
func (w *world) replicateKeys(opts sim.KeyReplication) sim.KeyReplicationResult {
	w.t.Helper()
	return w.pair.ReplicateKeys(w.t, opts)
}

// advance simulates days on the primary, its keys replicated.
func (w *world) advance(days int) {
	w.t.Helper()
	w.pair.Advance(w.t, days)
}

func (w *world) start() {
	w.t.Helper()
	var err error
	if w.workers, err = serve.Start(context.Background(), w.c, w.cfg); err != nil {
		w.t.Fatal(err)
	}
}

// activities are the steps of the site of role, on the world's catalogs
// and key managers.
func (w *world) activities(role string) *activities.Activities {
	if role == config.RolePrimary {
		return &activities.Activities{Site: &activities.Site{Name: w.cfg.Primary.Name, Catalog: w.prim,
			Staging: snapshot.Area{Root: w.cfg.Primary.Staging, Keys: w.cfg.Keyring(config.RolePrimary)}, Keys: w.primKeys}}
	}
	return &activities.Activities{Site: &activities.Site{Name: w.cfg.Secondary.Name, Catalog: w.sec,
		Staging: snapshot.Area{Root: w.cfg.Secondary.Staging, Keys: w.cfg.Keyring(config.RoleSecondary)}, Source: snapshot.Area{Root: w.cfg.Source, Keys: w.cfg.Keyring(config.RoleSecondary)}, Keys: w.secKeys, Data: w.cfg.Secondary.Data}}
}

// serveWith restarts the workers: the site of role runs acts (its
// activities wrapped to plant a fault), the other site and the workflows
// run as usual.
func (w *world) serveWith(role string, acts any) {
	w.t.Helper()
	w.stop()
	other := config.RoleSecondary
	if role == config.RoleSecondary {
		other = config.RolePrimary
	}
	cfg := *w.cfg
	cfg.Serve = []string{other}
	var err error
	if w.workers, err = serve.Start(context.Background(), w.c, &cfg); err != nil {
		w.t.Fatal(err)
	}
	w.faulty = worker.New(w.c, activities.TaskQueue(w.cfg.Site(role).Name), worker.Options{})
	w.faulty.RegisterActivity(acts)
	if err := w.faulty.Start(); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) stop() {
	if w.faulty != nil {
		w.faulty.Stop()
		w.faulty = nil
	}
	if w.workers != nil {
		w.workers.Stop()
		w.workers = nil
	}
}

func (w *world) input(typ snapshot.Type, catalogFiles bool) workflows.SyncInput {
	return workflows.SyncInput{Store: w.storeID, Type: typ, CatalogFiles: catalogFiles, Primary: w.cfg.Primary.Name,
		Secondary: w.cfg.Secondary.Name, HeartbeatTimeout: w.hbTimeout}
}

func (w *world) sync(in workflows.SyncInput) (*workflows.SyncResult, error) {
	w.t.Helper()
	_, res, err := w.run(in)
	return res, err
}

// run runs a sync to its end and returns the run with its result.
func (w *world) run(in workflows.SyncInput) (client.WorkflowRun, *workflows.SyncResult, error) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, err := workflows.StartSync(ctx, w.c, in)
	if err != nil {
		return nil, nil, err
	}
	var res workflows.SyncResult
	err = run.Get(ctx, &res)
	return run, &res, err
}

func (w *world) mustSync(in workflows.SyncInput) *workflows.SyncResult {
	w.t.Helper()
	res, err := w.sync(in)
	if err != nil {
		w.t.Fatalf("%s sync: %v", in.Type, err)
	}
	if res.Outcome != workflows.OutcomeCompleted {
		w.t.Fatalf("%s sync ended %s: %+v", in.Type, res.Outcome, res.Applied.Failed)
	}
	return res
}

func (w *world) drift(opts importer.Options) []importer.Drift {
	w.t.Helper()
	var out []importer.Drift
	if _, err := importer.Verify(context.Background(), w.prim, w.sec, opts, func(d importer.Drift) error {
		out = append(out, d)
		return nil
	}); err != nil {
		w.t.Fatal(err)
	}
	return out
}

func (w *world) noDrift(opts importer.Options) {
	w.t.Helper()
	var d []importer.Drift
	for _, x := range w.drift(opts) {
		if x.IsDrift() { // a deletion pending the next FULL is not drift
			d = append(d, x)
		}
	}
	if len(d) > 0 {
		w.t.Fatalf("%d differences between primary and secondary, first: %v", len(d), d[:min(len(d), 5)])
	}
}

func small() sim.Params {
	p := sim.DefaultParams()
	p.Volumes, p.Days, p.BackupsPerDay = 120, 20, 6
	p.Retention = []sim.Retention{{Days: 3, Weight: 1}, {Days: 15, Weight: 2}}
	p.ParallelPercent, p.RerunPercent, p.BadPercent = 25, 15, 3
	return p
}

func TestSyncFullUpdateFull(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}

	full := w.mustSync(w.input(snapshot.Full, true))
	if full.Applied.Counts["tapefile.create"] == 0 || full.Applied.Counts["diskfile.create"] == 0 {
		t.Fatalf("FULL created nothing: %v", full.Applied.Counts)
	}
	w.noDrift(opts)

	w.advance(1)
	upd := w.mustSync(w.input(snapshot.Update, true))
	if upd.Snapshot.FromSeq != full.Snapshot.ToSeq || upd.Applied.Sets == 0 || upd.Applied.Sets >= full.Applied.Sets {
		t.Errorf("UPDATE covered (%d, %d] with %d sets; FULL ended at %d with %d sets",
			upd.Snapshot.FromSeq, upd.Snapshot.ToSeq, upd.Applied.Sets, full.Snapshot.ToSeq, full.Applied.Sets)
	}
	w.noDrift(opts)

	// Volumes deleted on the primary leave the secondary at the next FULL.
	deleted := deleteScratch(t, w.prim, 3)
	w.mustSync(w.input(snapshot.Update, true))
	if d := w.drift(opts); len(d) != len(deleted) || d[0].IsDrift() {
		t.Errorf("after UPDATE: %v, want the %d deleted volumes pending deletion", d, len(deleted))
	}
	full2 := w.mustSync(w.input(snapshot.Full, true))
	if full2.Applied.Counts["volume.delete"] != int64(len(deleted)) {
		t.Errorf("FULL deleted %d volumes, want %d", full2.Applied.Counts["volume.delete"], len(deleted))
	}
	w.noDrift(opts)

	// Every run is in the secondary's audit trail, and the chain holds.
	var outcomes []string
	n, err := audit.Verify(ctx, w.sec, func(_ store.AuditRecord, e audit.Entry) error {
		outcomes = append(outcomes, e.Type+" "+e.Outcome)
		return nil
	})
	if err != nil || n != 4 || strings.Join(outcomes, ", ") != "FULL Completed, UPDATE Completed, UPDATE Completed, FULL Completed" {
		t.Errorf("audit trail: %d records %v, %v", n, outcomes, err)
	}

	// The workflow code replays its own history: it is deterministic.
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflow(workflows.CatalogSync)
	if err := replayer.ReplayWorkflowExecution(ctx, w.c.WorkflowService(), nil, "default",
		workflow.Execution{ID: workflows.SyncID("DS_PROD"), RunID: full2.Snapshot.ID}); err != nil {
		t.Errorf("replay of the last FULL run: %v", err)
	}

	// A finished run still answers the progress query.
	resp, err := w.c.QueryWorkflow(ctx, workflows.SyncID("DS_PROD"), "", workflows.ProgressQuery)
	if err != nil {
		t.Fatal(err)
	}
	var prog workflows.Progress
	if err := resp.Get(&prog); err != nil || prog.Step != "done" || len(prog.Steps) != 11 {
		t.Errorf("progress of the last run: %+v, %v", prog, err)
	}

	// The Web UI can find the runs by their search attributes, and the
	// memo explains them.
	query := fmt.Sprintf(`WorkflowId = '%s' AND CatsyncStore = 'DS_PROD' AND CatsyncOutcome = 'Completed' AND CatsyncType = 'FULL'`,
		workflows.SyncID("DS_PROD"))
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := w.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Executions) >= 2 {
			memo := resp.Executions[0].GetMemo().GetFields()
			if memo["summary"] == nil || memo["keys"] == nil {
				t.Errorf("completed run's memo holds %d fields, want its summary and its key parity", len(memo))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("visibility shows %d FULL runs of DS_PROD, want 2", len(resp.Executions))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// deleteScratch deletes n SCRATCH volumes of the primary's store, as an
// operator would, and returns their labels.
func deleteScratch(t *testing.T, st store.Store, n int) []string {
	t.Helper()
	ctx := context.Background()
	var victims []catalog.TapeVolume
	if err := st.ScanTapeVolumes(ctx, store.Filter{Status: string(catalog.StatusScratch)}, func(tv *catalog.TapeVolume) error {
		if len(victims) < n && tv.Volser[0] == 'T' {
			victims = append(victims, *tv)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var labels []string
	err := st.Update(ctx, func(tx store.Tx) error {
		for i := range victims {
			if err := tx.DeleteTapeVolume(ctx, &victims[i]); err != nil {
				return err
			}
			if err := tx.DeleteVolume(ctx, catalog.VolumeKey{Label: victims[i].Volser, LabelType: catalog.Labeled}); err != nil {
				return err
			}
			labels = append(labels, victims[i].Volser)
		}
		return nil
	})
	if err != nil || len(labels) != n {
		t.Fatalf("deleted %v: %v", labels, err)
	}
	return labels
}

func countRows(t *testing.T, st store.Reader, table string) int64 {
	t.Helper()
	n, err := st.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n[table]
}

func TestDSMOnlyVolumesSurviveFull(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	// A tape cataloged by hand in the replication VOLCAT, unknown to BackPak.
	g, err := w.sec.VolumeGroup(ctx, "VG_PROD_1")
	if err != nil {
		t.Fatal(err)
	}
	manual := catalog.TapeVolume{Volcat: g.Volcat, Volser: "H00001", Pool: g.Pool, Label: "BACKUP", Type: "CART3480",
		Status: catalog.StatusScratch, EndOfDataLBA: -1}
	if err := w.sec.Update(ctx, func(tx store.Tx) error { return tx.PutTapeVolume(ctx, &manual) }); err != nil {
		t.Fatal(err)
	}
	before := countRows(t, w.sec, store.TableTapeVolume)
	w.mustSync(w.input(snapshot.Full, true))
	deleteScratch(t, w.prim, 2)
	w.mustSync(w.input(snapshot.Full, true))
	var found []string
	for _, volcat := range []string{g.Volcat, `\SECD.VCDEF`} {
		if err := w.sec.ScanTapeVolumes(ctx, store.Filter{Volcat: volcat}, func(tv *catalog.TapeVolume) error {
			if tv.Volser == "H00001" || strings.HasPrefix(tv.Volser, "ML") {
				found = append(found, tv.Volser)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if len(found) != 3 || before != 3 {
		t.Errorf("DSM/TC volumes unknown to BackPak after two FULL imports: %v (before: %d)", found, before)
	}
}

func TestCatalogFilesNo(t *testing.T) {
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	res := w.mustSync(w.input(snapshot.Full, false))
	if res.Applied.Counts["tapefile.create"] == 0 {
		t.Fatal("no tape files imported")
	}
	if n := countRows(t, w.sec, store.TableDiskFile) + countRows(t, w.sec, store.TableDFTOV); n != 0 {
		t.Errorf("CATALOGFILES NO imported %d DISKFILE/DFTOV rows", n)
	}
	w.noDrift(importer.Options{StoreID: "DS_PROD", CatalogFiles: false})
}

func TestNodeMapping(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	in := w.input(snapshot.Full, true)
	in.NodePairs = []importer.NodePair{{From: `\PRIM`, To: `\PRIMDR`}}
	w.mustSync(in)
	n := 0
	if err := w.sec.ScanDiskFiles(ctx, store.Filter{}, func(d *catalog.DiskFile) error {
		n++
		if catalog.DiskFileNode(d.Name) != `\PRIMDR` {
			return fmt.Errorf("DISKFILE %s kept its node", d.Name)
		}
		return nil
	}); err != nil || n == 0 {
		t.Fatalf("%d disk files: %v", n, err)
	}
	w.noDrift(importer.Options{StoreID: "DS_PROD", CatalogFiles: true, NodePairs: in.NodePairs})
}

func TestMediaDefsFilecatRefused(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	site, err := w.sec.Site(ctx)
	if err != nil {
		t.Fatal(err)
	}
	g, err := w.sec.VolumeGroup(ctx, "VG_PROD_2")
	if err != nil {
		t.Fatal(err)
	}
	g.Filecat = site.MediaDefs.DefaultFilecat
	if err := w.sec.Update(ctx, func(tx store.Tx) error { return tx.PutVolumeGroup(ctx, &g) }); err != nil {
		t.Fatal(err)
	}
	digest, _ := store.Digest(ctx, w.sec)
	in := w.input(snapshot.Full, true)
	in.NodePairs = []importer.NodePair{{From: `\PRIM`, To: `\PRIMDR`}}
	_, err = w.sync(in)
	if err == nil || !strings.Contains(err.Error(), "VG_PROD_2") || !strings.Contains(err.Error(), g.Filecat) {
		t.Fatalf("sync into the MEDIADEFS default FILECAT: %v; want a refusal naming the group and the FILECAT", err)
	}
	if after, _ := store.Digest(ctx, w.sec); after != digest {
		t.Error("the refused sync changed the secondary")
	}
	// Without node renaming it is still refused: local backups write to
	// the MEDIADEFS default FILECAT.
	_, err = w.sync(w.input(snapshot.Full, true))
	if err == nil || !strings.Contains(err.Error(), "CONFIG_SHARED_CATALOG") || !strings.Contains(err.Error(), "MEDIADEFS default FILECAT") {
		t.Fatalf("sync into the MEDIADEFS default FILECAT without node pairs: %v; want the shared catalog refusal", err)
	}
	if after, _ := store.Digest(ctx, w.sec); after != digest {
		t.Error("the refused sync changed the secondary")
	}
}

func TestOneSyncPerStore(t *testing.T) {
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	w.stop() // nothing serves the sites: the first sync stays running
	ctx := context.Background()
	first, err := workflows.StartSync(ctx, w.c, w.input(snapshot.Full, true))
	if err != nil {
		t.Fatal(err)
	}
	_, err = workflows.StartSync(ctx, w.c, w.input(snapshot.Update, true))
	if !errors.Is(err, workflows.ErrSyncRunning) || !strings.Contains(err.Error(), "DS_PROD") {
		t.Fatalf("second start: %v, want ErrSyncRunning naming the store", err)
	}
	w.start()
	var res workflows.SyncResult
	if err := first.Get(ctx, &res); err != nil || res.Outcome != workflows.OutcomeCompleted {
		t.Fatalf("first sync: %v %s", err, res.Outcome)
	}
}

func TestWorkerKilledDuringApply(t *testing.T) {
	ctx := context.Background()
	p := small()
	p.Volumes, p.Days, p.BackupsPerDay = 1500, 20, 40
	w := newWorld(t, p, sim.DefaultSecondaryParams())
	activities.SetsPerSegment = 50
	t.Cleanup(func() { activities.SetsPerSegment = 500 })
	run, err := workflows.StartSync(ctx, w.c, w.input(snapshot.Full, true))
	if err != nil {
		t.Fatal(err)
	}
	// Three times, wait until the apply has written more of the catalog,
	// then kill the workers and start new ones.
	var kills []int64
	for len(kills) < 3 {
		from := countRows(t, w.sec, store.TableVolume)
		deadline := time.Now().Add(2 * time.Minute)
		for countRows(t, w.sec, store.TableVolume) < from+100 {
			if time.Now().After(deadline) {
				var res workflows.SyncResult
				err := run.Get(ctx, &res)
				t.Fatalf("the apply stalled after %v: %v %+v", kills, err, res)
			}
			time.Sleep(10 * time.Millisecond)
		}
		w.stop()
		kills = append(kills, countRows(t, w.sec, store.TableVolume))
		time.Sleep(time.Second)
		w.start()
	}
	var res workflows.SyncResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	total := countRows(t, w.sec, store.TableVolume)
	if kills[2] >= total {
		t.Fatalf("the workers were stopped after the apply ended (%v of %d volumes)", kills, total)
	}
	t.Logf("killed with %v of %d volumes applied; resumed: %+v", kills, total, res.Applied.Counts)
	if res.Outcome != workflows.OutcomeCompleted || len(res.Applied.Failed) > 0 {
		t.Fatalf("outcome %s, failed %v", res.Outcome, res.Applied.Failed)
	}
	// Every write is counted once, however often the step resumed: the
	// result, the search attribute and the audit entry hold what an
	// uninterrupted apply does, which is what the plan counted.
	for _, d := range res.Plan.Counts.Differences(res.Applied.Counts) {
		t.Errorf("plan and resumed apply differ: %s", d)
	}
	if res.Applied.Counts["volume.create"] != total {
		t.Errorf("recorded %d volumes created, the secondary holds %d", res.Applied.Counts["volume.create"], total)
	}
	var last audit.Entry
	if _, err := audit.Verify(ctx, w.sec, func(_ store.AuditRecord, e audit.Entry) error { last = e; return nil }); err != nil ||
		len(importer.Counts(last.Counts).Differences(res.Applied.Counts)) > 0 {
		t.Errorf("audit entry counts %v, the run's %v (%v)", last.Counts, res.Applied.Counts, err)
	}
	w.noDrift(importer.Options{StoreID: "DS_PROD", CatalogFiles: true})
}

// corruptingPrimary damages the outbox copy of every snapshot it writes.
type corruptingPrimary struct{ *activities.Activities }

func (c corruptingPrimary) Snapshot(ctx context.Context, in activities.SnapshotInput) (snapshot.Ref, error) {
	ref, err := c.Activities.Snapshot(ctx, in)
	if err != nil {
		return ref, err
	}
	path := filepath.Join(c.Site.Staging.Dir(ref.Store, ref.ID), snapshot.SegmentName(1))
	b, err := os.ReadFile(path)
	if err != nil {
		return ref, err
	}
	b[len(b)/2] ^= 0xff
	return ref, os.WriteFile(path, b, 0o644)
}

func TestCorruptSegmentFailsTheRun(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, small(), sim.DefaultSecondaryParams())
	w.serveWith(config.RolePrimary, &corruptingPrimary{w.activities(config.RolePrimary)})
	digest, _ := store.Digest(ctx, w.sec)
	_, err := w.sync(w.input(snapshot.Full, true))
	if err == nil || !strings.Contains(err.Error(), snapshot.SegmentName(1)) {
		t.Fatalf("sync of a corrupt snapshot: %v; want a failure naming %s", err, snapshot.SegmentName(1))
	}
	if after, _ := store.Digest(ctx, w.sec); after != digest {
		t.Error("a corrupt snapshot changed the secondary")
	}
	var failures []audit.Entry
	if _, err := audit.Verify(ctx, w.sec, func(_ store.AuditRecord, e audit.Entry) error {
		failures = append(failures, e)
		return nil
	}); err != nil || len(failures) != 1 || failures[0].Outcome != workflows.OutcomeFailed ||
		!strings.Contains(failures[0].Error, snapshot.SegmentName(1)) {
		t.Errorf("audit of the failed run: %+v, %v", failures, err)
	}
}

// history reads the events of a finished run.
func (w *world) history(run client.WorkflowRun) *historypb.History {
	w.t.Helper()
	it := w.c.GetWorkflowHistory(context.Background(), run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			w.t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	return h
}

// TestHistoryDoesNotGrow runs a FULL sync of a small and of a ten times
// larger catalog: catalog rows never travel through Temporal, so both runs
// have the same number of history events.
func TestHistoryDoesNotGrow(t *testing.T) {
	var lengths []int
	for _, volumes := range []int{200, 2000} {
		p := small()
		p.Volumes, p.Days, p.BackupsPerDay = volumes, 5, volumes/50
		w := newWorld(t, p, sim.DefaultSecondaryParams())
		ctx := context.Background()
		run, err := workflows.StartSync(ctx, w.c, w.input(snapshot.Full, true))
		if err != nil {
			t.Fatal(err)
		}
		var res workflows.SyncResult
		if err := run.Get(ctx, &res); err != nil {
			t.Fatal(err)
		}
		n := len(w.history(run).Events)
		t.Logf("FULL of %d volumes (%d volume sets): %d history events", volumes, res.Applied.Sets, n)
		lengths = append(lengths, n)
		w.stop()
	}
	if lengths[0] != lengths[1] {
		t.Errorf("history grew with the catalog: %v events", lengths)
	}
}
