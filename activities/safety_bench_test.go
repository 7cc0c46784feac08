package activities

import (
	"context"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// BenchmarkSafetyChecks measures the per-set safety checks of a FULL plan
// against a secondary that already holds the store (every label and FILEID
// is found, the usual case), beside the diff the plan makes anyway and a
// naive label check that scans every tape volume of the secondary per set.
func BenchmarkSafetyChecks(b *testing.B) {
	ctx := context.Background()
	scale := benchScale(b)
	p := pairOf(simtest.New(b, referenceSite(scale), simtest.Options{}))
	sec := p.sec.Site.Catalog
	opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
	p.syncOnce(b, "full", snapshot.Full, opts)
	ref, err := p.prim.Snapshot(ctx, SnapshotInput{ID: "again", Store: "DS_PROD", Type: snapshot.Full, CatalogFiles: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := p.sec.Transfer(ctx, ref); err != nil {
		b.Fatal(err)
	}
	in := ImportInput{Ref: ref, Options: opts, Groups: groups(b, p)}

	// each runs fn on every staged set, as the secondary receives it.
	each := func(b *testing.B, fn func(im *importer.Import, p *importer.Prepared) error) {
		staged, err := p.sec.Site.Staging.Open(ref)
		if err != nil {
			b.Fatal(err)
		}
		im, err := importer.New(ctx, sec, in.Options, in.Groups)
		if err != nil {
			b.Fatal(err)
		}
		sets := 0
		t0 := time.Now()
		for i := range staged.Manifest.Segments {
			if err := staged.ReadSegment(i, 0, func(_ int, set *snapshot.VolumeSet) error {
				p, err := im.Prepare(set)
				if err != nil {
					return err
				}
				sets++
				return fn(im, p)
			}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(sets)/time.Since(t0).Seconds(), "sets/s")
	}
	for i := 0; i < b.N; i++ {
		b.Run("decode-and-transform", func(b *testing.B) {
			each(b, func(*importer.Import, *importer.Prepared) error { return nil })
		})
		b.Run("checks", func(b *testing.B) {
			each(b, func(im *importer.Import, p *importer.Prepared) error {
				cs, err := im.Check(ctx, sec, p)
				if len(cs) > 0 {
					b.Fatalf("conflicts on a clean secondary: %v", cs)
				}
				return err
			})
		})
		// The plan is the checks and the diff.
		b.Run("plan", func(b *testing.B) {
			each(b, func(im *importer.Import, p *importer.Prepared) error {
				_, cs, err := im.Plan(ctx, sec, p)
				if len(cs) > 0 {
					b.Fatalf("conflicts on a clean secondary: %v", cs)
				}
				return err
			})
		})
		b.Run("naive-label-scan", func(b *testing.B) {
			each(b, func(_ *importer.Import, p *importer.Prepared) error {
				want := p.Want
				labels := map[string]bool{}
				for _, tv := range want.TapeVolumes {
					labels[tv.Volser] = true
				}
				found := 0
				err := sec.ScanTapeVolumes(ctx, store.Filter{}, func(tv *catalog.TapeVolume) error {
					if labels[tv.Volser] {
						found++
					}
					return nil
				})
				if found < len(labels) {
					b.Fatalf("set %s: found %d of %d labels", want.ID, found, len(labels))
				}
				return err
			})
		})
	}
}
