package main

import (
	"context"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
	"github.com/catsync/catsync/workflows"
)

// The drill and the failover from the CLI, on simulated sites without
// volume images: the drill reports the restore test it could not run; a
// failover refused changes nothing; one approved at the prompt promotes.
func TestDrillAndFailoverCommands(t *testing.T) {
	c := devClient(t)
	prim, sec, cfg := smallPair(t)
	mustRun(t, "sim", "replicate-keys", "--catalog", prim)
	serveSites(t, c, cfg)
	t.Setenv("CATSYNC_SECONDARY_CATALOG", sec)
	t.Setenv("USER", "tester")
	syncedRun(t, 0, workflows.OutcomeCompleted, "--type", "full")

	out, errs, code := catsync(t, "drill", "--store", "DS_PROD", "--wait")
	if code != 1 || !strings.Contains(out, "DrillFailed of DS_PROD") || !strings.Contains(out, "FINDING: restore test skipped") ||
		!strings.Contains(out, "verification: verification of DS_PROD: Verified") || !strings.Contains(errs, "drill of DS_PROD: 1 findings") {
		t.Fatalf("drill: exit %d\n%s\n%s", code, out, errs)
	}

	mustFail(t, []string{"--approve and --refuse"}, "failover", "--store", "DS_PROD", "--approve", "--refuse", "--reason", "x")
	mustFail(t, []string{"--reason is required"}, "failover", "--store", "DS_PROD", "--approve")
	mustFail(t, []string{`--running "later"`}, "failover", "--store", "DS_PROD", "--running", "later")
	mustFail(t, []string{"--store is required"}, "failover")

	out, errs, code = catsync(t, "failover", "--store", "DS_PROD", "--refuse", "--reason", "a test", "--primary-timeout", "5s")
	if code != 1 || !strings.Contains(out, "Refused failover of DS_PROD") || !strings.Contains(errs, "ended Refused: nothing was changed") {
		t.Fatalf("refused failover: exit %d\n%s\n%s", code, out, errs)
	}
	// At the prompt: an answer that is neither the store nor no sends
	// nothing; the store's id approves, the reason asked for.
	stdin = strings.NewReader("yes\n")
	_, errs, code = catsync(t, "failover", "--store", "DS_PROD", "--approval-timeout", "1m")
	if code != 1 || !strings.Contains(errs, `answer "yes" is neither DS_PROD nor no: nothing sent`) {
		t.Fatalf("bad answer: exit %d\n%s", code, errs)
	}
	stdin = strings.NewReader("DS_PROD\nsite A is down\n")
	t.Cleanup(func() { stdin = nil })
	out, errs, code = catsync(t, "failover", "--store", "DS_PROD")
	if code != 0 || !strings.Contains(errs, "joined the running failover") || !strings.Contains(errs, "Type DS_PROD to approve") ||
		!strings.Contains(out, "FailedOver failover of DS_PROD") || !strings.Contains(out, "approved by tester: site A is down") ||
		!strings.Contains(out, "promoted:     data store DS_PROD and") {
		t.Fatalf("approved failover: exit %d\n%s\n%s", code, out, errs)
	}
	rows := mustRun(t, "audit", "list", "--catalog", sec, "--kind", "approval")
	if !strings.Contains(rows, "Approved") || !strings.Contains(rows, "tester") {
		t.Fatalf("audit of the approval:\n%s", rows)
	}

	// The primary is back, and knows the DR domain's keys: fail back.
	drSite, err := sqltest.Open(t, sec).Site(context.Background())
	must(t, err)
	editSite(t, prim, func(ctx context.Context, tx store.Tx) error {
		s, err := tx.Site(ctx)
		if err != nil {
			return err
		}
		s.KeyManagers = append(s.KeyManagers, catalog.KeyManagerEntry{BackPakID: drSite.BackPakID, Server: "kms.dr:5696"})
		return tx.PutSite(ctx, &s)
	})
	mustFail(t, []string{"--reason is required"}, "failback", "--store", "DS_PROD", "--approve")
	out, errs, code = catsync(t, "failback", "--store", "DS_PROD", "--approve", "--reason", "primary repaired")
	if code != 0 || !strings.Contains(out, "FailedBack failback of DS_PROD") || !strings.Contains(out, "sync back:    Completed FULL of DS_PROD") ||
		!strings.Contains(out, "first direction: verification of DS_PROD: Verified") {
		t.Fatalf("failback: exit %d\n%s\n%s", code, out, errs)
	}
	syncedRun(t, 0, workflows.OutcomeCompleted, "--type", "update")
}
