package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/serve"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/temporaltest"
)

// sitePair simulates a primary and its secondary with the CLI, and picks
// the first volume set with tape files as the one to make collide.
func sitePair(t *testing.T) (prim, sec, set string) {
	t.Helper()
	prim = newPrimary(t)
	sec = filepath.Join(t.TempDir(), "secondary.db")
	mustRun(t, "sim", "init-secondary", "--catalog", sec, "--primary", prim)
	p := openStore(t, prim)
	defer p.Close()
	if err := p.ScanTapeFiles(context.Background(), store.Filter{}, func(tf *catalog.TapeFile) error {
		if set == "" {
			set = tf.VolsetID
		}
		return nil
	}); err != nil || set == "" {
		t.Fatalf("no volume set with tape files: %v", err)
	}
	return prim, sec, set
}

// takeLabel makes label a volume of a local data store of the secondary.
func takeLabel(t *testing.T, sec, label string) {
	t.Helper()
	st := openStore(t, sec)
	defer st.Close()
	ctx := context.Background()
	if err := st.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutDataStore(ctx, &catalog.DataStore{ID: "DS_LOCAL", Access: catalog.AccessPrimary, Status: catalog.StoreActive}); err != nil {
			return err
		}
		return tx.PutVolume(ctx, &catalog.Volume{Label: label, LabelType: catalog.Labeled, StoreID: "DS_LOCAL", Group: "VG_LOCAL",
			Access: catalog.AccessPrimary, Auth: "GGO", Compression: catalog.CompressNone})
	}); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	prim, sec, set := sitePair(t)
	args := []string{"check", "--store", "DS_PROD", "--primary", prim, "--secondary", sec}
	if out := mustRun(t, args...); !strings.Contains(out, "safe: configuration sound") {
		t.Errorf("check of a clean pair: %q", out)
	}

	takeLabel(t, sec, set)
	out, errs, code := catsync(t, args...)
	if code != 1 || !strings.Contains(errs, "1 conflicts in 1 of") {
		t.Errorf("check with a collision: exit %d, %q", code, errs)
	}
	for _, want := range []string{"volume set " + set + ", label " + set + ": LABEL_LOCAL", "where: store DS_LOCAL",
		"rule:  " + safety.Rules[safety.LabelLocal].Explain, "do:    " + safety.Rules[safety.LabelLocal].Action} {
		if !strings.Contains(out, want) {
			t.Errorf("check output does not say %q:\n%s", want, out)
		}
	}
	out, _, code = catsync(t, append(args, "--json")...)
	sc := bufio.NewScanner(strings.NewReader(out))
	n := 0
	for sc.Scan() {
		var c safety.Conflict
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil || c.Set != set || c.Rule != safety.LabelLocal || c.Where.Store != "DS_LOCAL" {
			t.Errorf("JSON line %q: %+v, %v", sc.Text(), c, err)
		}
		n++
	}
	if code != 1 || n != 1 {
		t.Errorf("--json: exit %d, %d lines", code, n)
	}

	// A configuration problem is reported alone: no set is checked.
	st := openStore(t, sec)
	ctx := context.Background()
	site, err := st.Site(ctx)
	if err != nil {
		t.Fatal(err)
	}
	site.SearchList = append(site.SearchList, `\PRIM.VCPROD`)
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.PutSite(ctx, &site) }); err != nil {
		t.Fatal(err)
	}
	st.Close()
	out, errs, code = catsync(t, args...)
	if code != 1 || !strings.Contains(out, "CONFIG_SEARCH_LIST") || strings.Contains(out, "volume set ") ||
		!strings.Contains(errs, "1 configuration problems") {
		t.Errorf("check of an unsafe configuration: exit %d\n%s\n%s", code, out, errs)
	}

	mustFail(t, []string{"--store"}, "check")
	t.Setenv("CATSYNC_PRIMARY_CATALOG", "")
	t.Setenv("CATSYNC_SECONDARY_CATALOG", "")
	mustFail(t, []string{"CATSYNC_PRIMARY_CATALOG"}, "check", "--store", "DS_PROD")
	mustFail(t, []string{"--primary", "no such catalog file"}, "check", "--store", "DS_PROD", "--primary", "nowhere.db", "--secondary", sec)
}

var (
	devOnce   sync.Once
	devServer *testsuite.DevServer
	devErr    error
)

// TestMain stops the dev server the tests started, if any: it shares the
// test binary's output.
func TestMain(m *testing.M) {
	code := m.Run()
	if devServer != nil {
		_ = devServer.Stop()
	}
	os.Exit(code)
}

// devClient starts one Temporal dev server for the package's tests.
func devClient(t *testing.T) client.Client {
	t.Helper()
	cli := temporaltest.CLI()
	if cli == "" {
		t.Skip("no Temporal CLI (run `make temporal` or set CATSYNC_TEMPORAL_CLI)")
	}
	devOnce.Do(func() { devServer, devErr = temporaltest.Start(context.Background(), cli) })
	if devErr != nil {
		t.Fatal(devErr)
	}
	return devServer.Client()
}

func TestConflictsCommand(t *testing.T) {
	c := devClient(t)
	prim, sec, set := sitePair(t)
	takeLabel(t, sec, set)
	dir := t.TempDir()
	cfg := &config.Config{
		Primary:   config.Site{Name: "cliprim", Catalog: prim, Staging: filepath.Join(dir, "outbox")},
		Secondary: config.Site{Name: "clisecd", Catalog: sec, Staging: filepath.Join(dir, "staging")},
		Serve:     []string{config.RolePrimary, config.RoleSecondary}, Workflows: true,
	}
	cfg.Source = cfg.Primary.Staging
	workers, err := serve.Start(context.Background(), c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer workers.Stop()
	for k, v := range map[string]string{"TEMPORAL_ADDRESS": devServer.FrontendHostPort(), "TEMPORAL_NAMESPACE": "default",
		"CATSYNC_PRIMARY_NAME": "cliprim", "CATSYNC_SECONDARY_NAME": "clisecd"} {
		t.Setenv(k, v)
	}

	out, errs, code := catsync(t, "sync", "--store", "DS_PROD", "--type", "full", "--wait")
	if code != 1 || !strings.Contains(out, "CONFLICTS: 1 volume sets, 1 conflicts, LABEL_LOCAL 1") ||
		!strings.Contains(errs, "ended CompletedWithConflicts") {
		t.Fatalf("sync: exit %d\n%s\n%s", code, out, errs)
	}
	out = mustRun(t, "conflicts", "catalogsync-DS_PROD")
	for _, want := range []string{"FULL of DS_PROD", "CompletedWithConflicts", "volume set " + set + ", label " + set + ": LABEL_LOCAL",
		"where: store DS_LOCAL"} {
		if !strings.Contains(out, want) {
			t.Errorf("conflicts does not say %q:\n%s", want, out)
		}
	}
	var rep conflictReport
	if err := json.Unmarshal([]byte(mustRun(t, "conflicts", "catalogsync-DS_PROD", "--json")), &rep); err != nil ||
		rep.WorkflowID != "catalogsync-DS_PROD" || rep.RunID == "" || rep.Store != "DS_PROD" || rep.Outcome != "CompletedWithConflicts" ||
		len(rep.Report.Conflicts) != 1 || rep.Report.Conflicts[0].Label != set {
		t.Errorf("conflicts --json: %+v, %v", rep, err)
	}

	out, _, code = catsync(t, "sync", "--store", "DS_PROD", "--type", "update", "--strict", "--wait")
	if code != 1 || !strings.HasPrefix(out, "workflow catalogsync-DS_PROD") || !strings.Contains(out, "AbortedWithConflicts") {
		t.Errorf("strict sync: exit %d\n%s", code, out)
	}
	if out := mustRun(t, "conflicts", "catalogsync-DS_PROD"); !strings.Contains(out, "UPDATE of DS_PROD") || !strings.Contains(out, "AbortedWithConflicts") {
		t.Errorf("conflicts of the strict run:\n%s", out)
	}
	mustFail(t, []string{"catalogsync-NOSUCH"}, "conflicts", "catalogsync-NOSUCH")
}
