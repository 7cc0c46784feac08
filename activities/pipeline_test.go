package activities

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
)

// pair is a simulated primary and secondary with their steps.
type pair struct {
	*simtest.Pair
	prim, sec *Activities
	steps     map[string]time.Duration // how long each step took (took)
}

func newPair(t *testing.T, p sim.Params) *pair {
	t.Helper()
	return newPairOn(t, nil, p)
}

// newPairOn builds the pair on catalogs that dsn names (SQLite files when
// nil, or PostgreSQL schemas), without key managers.
func newPairOn(t *testing.T, dsn func(testing.TB) string, p sim.Params) *pair {
	t.Helper()
	return pairOf(simtest.New(t, p, simtest.Options{DSN: dsn}))
}

// pairOf gives the sites of a simulated pair their steps.
func pairOf(sp *simtest.Pair) *pair {
	cfg := sp.Config
	return &pair{Pair: sp,
		prim: &Activities{Site: &Site{Name: cfg.Primary.Name, Catalog: sp.Primary, Staging: snapshot.Area{Root: cfg.Primary.Staging, Keys: cfg.Keyring(config.RolePrimary)},
			Keys: sp.PrimaryKeys}},
		sec: &Activities{Site: &Site{Name: cfg.Secondary.Name, Catalog: sp.Secondary, Staging: snapshot.Area{Root: cfg.Secondary.Staging, Keys: cfg.Keyring(config.RoleSecondary)},
			Source: snapshot.Area{Root: cfg.Source, Keys: cfg.Keyring(config.RoleSecondary)}, Keys: sp.SecondaryKeys}},
	}
}

func smallSite() sim.Params { return simtest.Small() }

// syncOnce stages the next snapshot and plans it (stageNext), applies it
// and finishes the import.
func (p *pair) syncOnce(t testing.TB, id string, typ snapshot.Type, opts importer.Options) ImportResult {
	t.Helper()
	ctx := context.Background()
	in, plan := p.stageNext(t, id, typ, opts)
	t0 := time.Now()
	res, err := p.sec.Apply(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	t0 = p.took("apply", t0)
	if len(res.Failed) > 0 {
		t.Fatalf("failed sets: %v", res.Failed)
	}
	sameCounts(t, string(typ)+" "+id, plan.Counts, res.Counts)
	if _, err := p.sec.Finish(ctx, FinishInput{Ref: in.Ref}); err != nil {
		t.Fatal(err)
	}
	p.took("finish", t0)
	return res
}

// took adds the time since t0 to the step's, and returns now.
func (p *pair) took(step string, t0 time.Time) time.Time {
	now := time.Now()
	if p.steps == nil {
		p.steps = map[string]time.Duration{}
	}
	p.steps[step] += now.Sub(t0)
	return now
}

// stepTimes says how long each step took since the last call, in the
// order the steps run, and starts the count again.
func (p *pair) stepTimes() string {
	var parts []string
	for _, s := range []string{"snapshot", "transfer", "plan", "apply", "finish"} {
		parts = append(parts, fmt.Sprintf("%s %s", s, p.steps[s].Round(time.Millisecond)))
	}
	p.steps = nil
	return strings.Join(parts, ", ")
}

// sameCounts fails unless the plan counted, for every entity and action,
// exactly what the apply did.
func sameCounts(t testing.TB, what string, plan, applied importer.Counts) {
	t.Helper()
	for _, d := range plan.Differences(applied) {
		t.Errorf("%s: plan and apply differ: %s", what, d)
	}
}
