package activities

import (
	"context"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
)

// BenchmarkStrictApply measures what all-or-nothing costs: the same staged
// snapshot applied plainly and under --strict (every write saved first in
// the undo journal), into an empty secondary (FULL) and over one holding
// the store after a day of activity (UPDATE), and the rollback of a strict
// UPDATE whose last set meets a conflict.
func BenchmarkStrictApply(b *testing.B) {
	scale := benchScale(b)
	opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
	for i := 0; i < b.N; i++ {
		for _, typ := range []snapshot.Type{snapshot.Full, snapshot.Update} {
			for _, strict := range []bool{false, true} {
				name := string(typ) + "/plain"
				if strict {
					name = string(typ) + "/strict"
				}
				b.Run(name, func(b *testing.B) {
					p := pairOf(simtest.New(b, referenceSite(scale), simtest.Options{}))
					if typ == snapshot.Update {
						p.syncOnce(b, "full", snapshot.Full, opts)
						if err := sim.Advance(context.Background(), p.prim.Site.Catalog, 1, nil); err != nil {
							b.Fatal(err)
						}
					}
					in, plan := p.stageNext(b, "run", typ, opts)
					in.Strict = strict
					t0 := time.Now()
					res, err := p.sec.Apply(context.Background(), in)
					if err != nil || res.Counts.Changed() != plan.Counts.Changed() {
						b.Fatalf("apply: %v (%d changes, plan %d)", err, res.Counts.Changed(), plan.Counts.Changed())
					}
					b.ReportMetric(float64(res.Sets)/time.Since(t0).Seconds(), "sets/s")
					b.ReportMetric(float64(res.Counts.Changed())/time.Since(t0).Seconds(), "changes/s")
				})
			}
		}
		b.Run("UPDATE/strict-rollback", func(b *testing.B) {
			p := pairOf(simtest.New(b, referenceSite(scale), simtest.Options{}))
			p.syncOnce(b, "full", snapshot.Full, opts)
			if err := sim.Advance(context.Background(), p.prim.Site.Catalog, 1, nil); err != nil {
				b.Fatal(err)
			}
			in, _ := p.stageNext(b, "run", snapshot.Update, opts)
			in.Strict = true
			takeLabel(b, p.sec.Site.Catalog, p.lastSet(b, in.Ref))
			t0 := time.Now()
			res, err := p.sec.Apply(context.Background(), in)
			if err == nil || res.RolledBack == 0 {
				b.Fatalf("strict apply with a conflict: %v, %d rolled back", err, res.RolledBack)
			}
			b.ReportMetric(float64(res.RolledBack)/time.Since(t0).Seconds(), "undone-sets/s")
		})
	}
}
