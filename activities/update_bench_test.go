package activities

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// BenchmarkUpdateScaling measures an UPDATE after 1% of the store's
// volumes changed, beside the FULL of the same catalog, at two catalog
// sizes (CATSYNC_BENCH_SCALE and a fifth of it): its cost should follow the
// change, not the catalog. The change rewrites the BackPak entries of every
// hundredth volume (its comment), so the UPDATE carries their whole volume
// sets, as it does after a backup wrote them.
func BenchmarkUpdateScaling(b *testing.B) {
	big := benchScale(b)
	for _, scale := range []float64{big / 5, big} {
		b.Run(fmt.Sprintf("scale-%g", scale), func(b *testing.B) {
			dir := b.TempDir()
			prim, _, _ := benchPrimary(b, scale, dir)
			p := benchPair(b, prim, sqltest.Open(b, filepath.Join(dir, "secondary.db")), dir)
			opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				full := p.syncOnce(b, fmt.Sprint("full", i), snapshot.Full, opts)
				fullTime := time.Since(t0)
				changed := touchEveryHundredth(b, prim, fmt.Sprint("run ", i))
				t0 = time.Now()
				upd := p.syncOnce(b, fmt.Sprint("update", i), snapshot.Update, opts)
				updTime := time.Since(t0)
				b.ReportMetric(fullTime.Seconds(), "full_s")
				b.ReportMetric(updTime.Seconds(), "update_s")
				b.ReportMetric(fullTime.Seconds()/updTime.Seconds(), "full_per_update")
				b.ReportMetric(float64(updTime.Microseconds())/float64(changed)/1000, "update_ms_per_changed_volume")
				b.Logf("scale %g: FULL of %d sets %s; UPDATE of %d changed volumes (%d sets) %s: %.0fx faster",
					scale, full.Sets, fullTime.Round(time.Millisecond), changed, upd.Sets, updTime.Round(time.Millisecond),
					fullTime.Seconds()/updTime.Seconds())
			}
		})
	}
}

// touchEveryHundredth rewrites the comment of every hundredth BackPak
// volume of the store, and returns how many it changed.
func touchEveryHundredth(b *testing.B, st store.Store, note string) int {
	b.Helper()
	ctx := context.Background()
	var vols []catalog.Volume
	if err := st.ScanVolumes(ctx, store.Filter{StoreID: "DS_PROD"}, func(v *catalog.Volume) error {
		vols = append(vols, *v)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	n := 0
	if err := st.Update(ctx, func(tx store.Tx) error {
		for i := 0; i < len(vols); i += 100 {
			v := vols[i]
			v.Comment = "changed in " + note
			if err := tx.PutVolume(ctx, &v); err != nil {
				return err
			}
			n++
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return n
}
