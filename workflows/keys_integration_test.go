package workflows_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/workflows"
)

// Key parity through the workflow on the dev server, against the embedded
// keystores and against two real PyKMIP servers, one per site.

func TestKeyParityKeystore(t *testing.T) { keyParityScenarios(t, simtest.Keystores, small()) }

func TestKeyParityPyKMIP(t *testing.T) {
	// PyKMIP answers in milliseconds and scans its objects on Locate: a
	// smaller site keeps the run short.
	p := small()
	p.Volumes, p.Days, p.BackupsPerDay = 40, 6, 4
	keyParityScenarios(t, pykmipServers, p)
}

// mediaKeys lists the primary's encrypted volumes' media key names.
func mediaKeys(t *testing.T, r store.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err := r.ScanVolumes(context.Background(), store.Filter{StoreID: "DS_PROD"}, func(v *catalog.Volume) error {
		if v.MediaKeyName != "" {
			out[v.Label] = v.MediaKeyName
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func keyParityScenarios(t *testing.T, km func(testing.TB, string, *config.Config), p sim.Params) {
	ctx := context.Background()
	w := newWorldKeys(t, p, sim.DefaultSecondaryParams(), km)

	// All keys present: a FULL proves every encrypted volume.
	full := w.mustSync(w.input(snapshot.Full, true))
	encrypted := mediaKeys(t, w.prim)
	if full.Keys.Failed() || full.Keys.Volumes != len(encrypted) || full.Keys.OK != len(encrypted) || len(encrypted) == 0 {
		t.Fatalf("FULL parity %s, want all %d encrypted volumes", full.Keys.Summary(), len(encrypted))
	}

	// Days of backups rewrite volumes with new keys; the replication
	// leaves one out, deactivates one and registers other material for a
	// third.
	before := encrypted
	var rewritten []string
	for tries := 0; len(rewritten) < 4 && tries < 5; tries++ {
		if err := sim.Advance(ctx, w.prim, 1, w.primKeys); err != nil {
			t.Fatal(err)
		}
		rewritten = rewritten[:0]
		for label, name := range mediaKeys(t, w.prim) {
			if before[label] != name {
				rewritten = append(rewritten, label)
			}
		}
	}
	slices.Sort(rewritten)
	if len(rewritten) < 4 {
		t.Fatalf("only %d encrypted volumes rewritten", len(rewritten))
	}
	missing, inactive, altered := rewritten[0], rewritten[1], rewritten[2]
	w.replicateKeys(sim.KeyReplication{Omit: []string{missing}, Deactivate: []string{inactive}, Alter: []string{altered}})
	names := mediaKeys(t, w.prim)

	res, err := w.sync(w.input(snapshot.Update, true))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != workflows.OutcomeKeyParityFailed || res.Applied.Sets == 0 || !res.Watermark.Reimport {
		t.Fatalf("UPDATE ended %s, %d sets applied, watermark %+v: want %s with the catalogs applied and a re-import next",
			res.Outcome, res.Applied.Sets, res.Watermark, workflows.OutcomeKeyParityFailed)
	}
	got := map[string]parity.Finding{}
	for _, f := range res.Keys.Findings {
		got[f.Label] = f
	}
	want := map[string]parity.Problem{missing: parity.Missing, inactive: parity.Inactive, altered: parity.Mismatched}
	if len(got) != 3 || res.Keys.Total != 3 {
		t.Errorf("findings %v, want exactly %v", res.Keys.Findings, want)
	}
	for label, problem := range want {
		f := got[label]
		if f.Problem != problem || f.Key != names[label] || f.LabelType != catalog.Labeled || f.Set == "" {
			t.Errorf("%s: finding %+v, want %s of key %s", label, f, problem, names[label])
		}
	}
	if res.Keys.OK != res.Keys.Volumes-3 || res.Keys.Domain != "" {
		t.Errorf("counts: %s", res.Keys.Summary())
	}

	// The operator repairs the replication; a FULL with the fail policy
	// still fails on the two keys that stayed wrong, and says so in the
	// audit trail.
	w.replicateKeys(sim.KeyReplication{})
	in := w.input(snapshot.Full, true)
	in.KeyParity = workflows.ParityFail
	_, err = w.sync(in)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != workflows.TypeKeyParity || !strings.Contains(err.Error(), "INACTIVE 1, MISMATCHED 1") {
		t.Fatalf("fail policy: %v, want a %s error naming the two keys", err, workflows.TypeKeyParity)
	}
	var last audit.Entry
	if _, err := audit.Verify(ctx, w.sec, func(_ store.AuditRecord, e audit.Entry) error {
		last = e
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if last.Outcome != workflows.OutcomeFailed || last.Keys == nil || last.Keys.Total != 2 || !strings.HasPrefix(last.Error, "at keys: key parity:") {
		t.Errorf("audit entry of the failed run: outcome %s, keys %+v, error %q", last.Outcome, last.Keys, last.Error)
	}

	// Keys misfiled under the secondary's own BackPak id are found there
	// and reported as such.
	if err := sim.Advance(ctx, w.prim, 1, w.primKeys); err != nil {
		t.Fatal(err)
	}
	w.replicateKeys(sim.KeyReplication{As: "BPSECD01"})
	res, err = w.sync(w.input(snapshot.Update, true))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != workflows.OutcomeKeyParityFailed || res.Keys.ByProblem[parity.Misfiled] == 0 {
		t.Errorf("misfiled keys: %s ended %s", res.Keys.Summary(), res.Outcome)
	}
	for _, f := range res.Keys.Findings {
		if f.Problem == parity.Misfiled && f.Detail != "filed under BackPak id BPSECD01, not BPPRIM01" {
			t.Errorf("misfiled detail %q", f.Detail)
		}
	}

	// The secondary domain's key-manager entry carries the wrong BackPak
	// id: every key is there, but BackPak would not look for it.
	w.plant(w.sec, wrongKeyManagerEntry)
	res, err = w.sync(w.input(snapshot.Full, true))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != workflows.OutcomeKeyParityFailed || !strings.Contains(res.Keys.Domain, "no key-manager entry with the primary's BackPak id BPPRIM01") ||
		!strings.Contains(res.Keys.Domain, "BPWRONG=kms.secd:5696") {
		t.Errorf("wrong BackPak id: %s ended %s", res.Keys.Summary(), res.Outcome)
	}
	t.Logf("findings by problem at the end: %v", slices.Sorted(maps.Keys(res.Keys.ByProblem)))
}
