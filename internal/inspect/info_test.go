package inspect

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

func TestFileCatalogs(t *testing.T) {
	sqltest.RunDSN(t, func(t *testing.T, dsn func(testing.TB) string) {
		ctx := context.Background()
		_, sec := sites(t, dsn, true)
		site, err := sec.Site(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// A search list naming a VOLCAT, a FILECAT of a group and another.
		site.SearchList = []string{`\SECD.VCREPL`, `\SECD.FCREPL`, `\SECD.FCOTHER`}
		if err := sec.Update(ctx, func(tx store.Tx) error { return tx.PutSite(ctx, &site) }); err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{site.MediaDefs.DefaultFilecat: true}
		for _, c := range site.SearchList {
			want[c] = true
		}
		var groups []catalog.VolumeGroup
		if err := sec.ScanVolumeGroups(ctx, collect(&groups)); err != nil {
			t.Fatal(err)
		}
		for _, g := range groups {
			want[g.Filecat] = true
		}
		got, err := FileCatalogs(ctx, sec)
		if err != nil {
			t.Fatal(err)
		}
		if w := slices.Sorted(maps.Keys(want)); !slices.Equal(got, w) {
			t.Errorf("file catalogs %v, want %v: each once, in name order", got, w)
		}
	})
}

func TestTapeVolume(t *testing.T) {
	sqltest.RunDSN(t, func(t *testing.T, dsn func(testing.TB) string) {
		ctx := context.Background()
		prim, _ := sites(t, dsn, false)
		var assigned []catalog.TapeVolume
		if err := prim.ScanTapeVolumes(ctx, store.Filter{Status: string(catalog.StatusAssigned)}, collect(&assigned)); err != nil {
			t.Fatal(err)
		}
		if len(assigned) == 0 {
			t.Fatal("no ASSIGNED tape volume")
		}
		tv := assigned[0]
		info, err := TapeVolume(ctx, prim, tv.Volser)
		if err != nil {
			t.Fatal(err)
		}
		if len(info.Tapes) != 1 || info.Tapes[0].TapeVolume != tv || len(info.BackPak) != 1 || info.BackPak[0].Label != tv.Volser {
			t.Fatalf("tape volume %s: %+v", tv.Volser, info)
		}
		tape := info.Tapes[0]
		if tape.VTOFC == nil || tape.VTOFC.VolsetID != tv.VolsetID || len(tape.Files) == 0 {
			t.Errorf("tape volume %s: VTOFC %+v, %d files", tv.Volser, tape.VTOFC, len(tape.Files))
		}
		if !slices.IsSortedFunc(tape.Files, func(a, b catalog.TapeFile) int { return a.Created.Compare(b.Created) }) {
			t.Errorf("files of %s not in write order", tv.Volser)
		}
		for _, f := range tape.Files {
			if f.VolsetID != tv.VolsetID || f.Pool != tv.Pool {
				t.Errorf("file %s is not on the volume set %s of pool %s", f.Key(), tv.VolsetID, tv.Pool)
			}
		}
		if _, err := TapeVolume(ctx, prim, "Q99999"); err == nil || !strings.Contains(err.Error(), "Q99999") {
			t.Errorf("an unknown label: %v", err)
		}
	})
}

func TestTapeFileAndDiskFile(t *testing.T) {
	sqltest.RunDSN(t, func(t *testing.T, dsn func(testing.TB) string) {
		ctx := context.Background()
		prim, _ := sites(t, dsn, false)
		var df catalog.DiskFile
		if err := prim.ScanDiskFiles(ctx, store.Filter{}, func(d *catalog.DiskFile) error {
			if df.Name == "" {
				df = *d
			}
			return nil
		}); err != nil || df.Name == "" {
			t.Fatalf("no disk file: %v", err)
		}

		tf, err := TapeFile(ctx, prim, df.FileID, df.Generation)
		if err != nil {
			t.Fatal(err)
		}
		if len(tf.Configs) == 0 || len(tf.Copies) == 0 {
			t.Fatalf("tape file %s: %+v", df.FileID, tf)
		}
		var withDisks int
		for _, c := range tf.Copies {
			if c.FileID != df.FileID || c.Generation != df.Generation || len(c.Volumes) == 0 {
				t.Errorf("copy %+v", c)
			}
			if !slices.IsSortedFunc(c.Volumes, func(a, b catalog.TapeFileVolume) int { return a.VolIndex - b.VolIndex }) {
				t.Errorf("copy %s: volumes not in VOLINDEX order", c.Key())
			}
			withDisks += c.DiskFiles
		}
		if withDisks == 0 {
			t.Errorf("tape file %s generation %d: no disk file counted", df.FileID, df.Generation)
		}
		all, err := TapeFile(ctx, prim, df.FileID, 0)
		if err != nil || len(all.Copies) < len(tf.Copies) {
			t.Errorf("every generation: %d copies, %v", len(all.Copies), err)
		}
		if _, err := TapeFile(ctx, prim, df.FileID, catalog.MaxGeneration); err == nil || !strings.Contains(err.Error(), "generation") {
			t.Errorf("an absent generation: %v", err)
		}

		d, err := DiskFile(ctx, prim, df.Name)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Dumps) == 0 || !slices.IsSortedFunc(d.Dumps, func(a, b DiskFileDump) int { return a.TimeDumped.Compare(b.TimeDumped) }) {
			t.Errorf("disk file %s: %d dumps, want them in dump order", df.Name, len(d.Dumps))
		}
		for _, dump := range d.Dumps {
			if dump.Name != df.Name || len(dump.Volumes) == 0 {
				t.Errorf("dump %+v", dump)
			}
		}
		if _, err := DiskFile(ctx, prim, `\PRIM.$NONE.NO.SUCH`); err == nil {
			t.Error("an unknown disk file was found")
		}
	})
}
