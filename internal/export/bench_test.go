package export_test

import (
	"context"
	"testing"

	"github.com/catsync/catsync/internal/export"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// BenchmarkWalk reads a FULL's volume sets from a primary of 1,000
// volumes (about 100,000 catalog rows), on SQLite and on PostgreSQL
// (CATSYNC_TEST_POSTGRES_DSN): the files of many sets read together,
// beside the files of each set read alone.
func BenchmarkWalk(b *testing.B) {
	p := sim.DefaultParams()
	p.Volumes, p.Days, p.BackupsPerDay = 1000, 30, 17
	p.FilesPerBackup, p.DiskFilesPerFile, p.MaxVolumesPerSet = 20, 5, 2
	p.Retention = []sim.Retention{{Days: 60, Weight: 1}}
	for _, site := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", sqltest.SQLiteDSN}, {"postgres", sqltest.PostgresDSN}} {
		b.Run(site.name, func(b *testing.B) {
			prim := simtest.New(b, p, simtest.Options{DSN: site.dsn}).Primary
			for _, mode := range []struct {
				name  string
				batch int
			}{{"naive-set-by-set", 1}, {"batched", *export.FilesBatch}} {
				b.Run(mode.name, func(b *testing.B) {
					defer func(n int) { *export.FilesBatch = n }(*export.FilesBatch)
					*export.FilesBatch = mode.batch
					ctx := context.Background()
					var sets, rows int
					for b.Loop() {
						sets = 0
						err := prim.View(ctx, func(r store.Reader) error {
							items, _, err := export.Plan(ctx, r, "DS_PROD", snapshot.Full, 0, 0)
							if err != nil {
								return err
							}
							x := &export.Reader{R: r, StoreID: "DS_PROD", CatalogFiles: true, Consistent: true}
							return x.Walk(ctx, items, nil, func(_ export.Item, s *snapshot.VolumeSet) error {
								sets++
								rows += s.Records()
								return nil
							})
						})
						if err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(sets), "sets")
					b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
				})
			}
		})
	}
}
