package main

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

func TestInfoTapeVolume(t *testing.T) {
	ctx := context.Background()
	path := newPrimary(t)
	st := sqltest.Open(t, path)
	// An ASSIGNED BackPak volume, and a tape BackPak does not know.
	var assigned, dsmOnly []catalog.TapeVolume
	must(t, st.ScanTapeVolumes(ctx, store.Filter{Status: string(catalog.StatusAssigned)}, collect(&assigned)))
	must(t, st.ScanTapeVolumes(ctx, store.Filter{Pool: "MEDIA_POOL"}, collect(&dsmOnly)))
	if len(assigned) == 0 || len(dsmOnly) == 0 {
		t.Fatalf("no ASSIGNED (%d) or DSM/TC-only (%d) tape volume to show", len(assigned), len(dsmOnly))
	}
	tv := assigned[len(assigned)-1]
	entry, err := st.Volume(ctx, catalog.VolumeKey{Label: tv.Volser, LabelType: catalog.Labeled})
	must(t, err)
	var files []catalog.TapeFile
	must(t, st.ScanTapeFiles(ctx, store.Filter{Volcat: tv.Volcat, VolsetID: tv.VolsetID}, collect(&files)))
	if len(files) == 0 {
		t.Fatalf("no file on the volume set of %s", tv.Volser)
	}

	out := mustRun(t, "info", "tapevolume", strings.ToLower(tv.Volser), "--catalog", path)
	for _, want := range [][]string{
		{"TAPEVOLUME", tv.Volser}, {"VOLCAT", tv.Volcat}, {"POOL", tv.Pool}, {"STATUS", "ASSIGNED"},
		{"VOLSETID", tv.VolsetID}, {"VOLINDEX", strconv.Itoa(tv.VolIndex)}, {"TAPE", "FORMAT", "ARCHIVE"},
		{"FILECAT", files[0].Filecat}, {"BACKPAK", "VOLUME", tv.Volser, "(LABELED)"}, {"DATA", "STORE", "DS_PROD"},
		{"VOLUME", "GROUP", entry.Group}, {"IND", entry.IndexPath}, {"DAT", entry.DataPath},
	} {
		if r := rows(out, want[0]); !hasRow(r, want) {
			t.Errorf("info tapevolume: no line %q in\n%s", want, out)
		}
	}
	for _, f := range files {
		if r := rows(out, f.Filecat); !hasRow(r, []string{f.Filecat, f.FileID, strconv.Itoa(f.Generation)}) {
			t.Errorf("info tapevolume: file %s not listed", f.Key())
		}
	}

	out = mustRun(t, "info", "tapevolume", dsmOnly[0].Volser, "--catalog", path)
	if !strings.Contains(out, "MEDIA_POOL") || strings.Contains(out, "BACKPAK") {
		t.Errorf("info tapevolume of a DSM/TC-only tape:\n%s", out)
	}
	mustFail(t, []string{"Q99999"}, "info", "tapevolume", "Q99999", "--catalog", path)
	mustFail(t, []string{"LABEL"}, "info", "tapevolume", "--catalog", path)
}

func TestInfoTapeFile(t *testing.T) {
	ctx := context.Background()
	path := newPrimary(t)
	st := sqltest.Open(t, path)
	var all []catalog.TapeFile
	must(t, st.ScanTapeFiles(ctx, store.Filter{}, collect(&all)))
	tf := all[len(all)/2]
	var same []catalog.TapeFile
	must(t, st.ScanTapeFiles(ctx, store.Filter{FileID: tf.FileID}, collect(&same)))
	var tftov []catalog.TapeFileVolume
	must(t, st.ScanTapeFileVolumes(ctx, store.Filter{Filecat: tf.Filecat, FileID: tf.FileID, Generation: tf.Generation}, collect(&tftov)))
	disks := 0
	must(t, st.ScanDiskFiles(ctx, store.Filter{Filecat: tf.Filecat, FileID: tf.FileID, Generation: tf.Generation}, func(d *catalog.DiskFile) error {
		if d.Version == tf.Version && d.PhysicalCopy == tf.PhysicalCopy && d.LogicalCopy == tf.LogicalCopy {
			disks++
		}
		return nil
	}))

	out := mustRun(t, "info", "tapefile", tf.FileID, "--catalog", path)
	if r := rows(out, tf.Filecat); len(r) != len(same) {
		t.Errorf("info tapefile %s: %d rows, want %d:\n%s", tf.FileID, len(r), len(same), out)
	}
	out = mustRun(t, "info", "tapefile", tf.FileID, "--gen", strconv.Itoa(tf.Generation), "--catalog", path)
	copyNo := strconv.Itoa(tf.PhysicalCopy) + "." + strconv.Itoa(tf.LogicalCopy)
	var row []string
	for _, r := range rows(out, tf.Filecat) {
		if r[1] != strconv.Itoa(tf.Generation) {
			t.Errorf("info tapefile --gen %d shows generation %s", tf.Generation, r[1])
		}
		if r[2] == strconv.Itoa(tf.Version) && r[3] == copyNo {
			row = r
		}
	}
	if row == nil {
		t.Fatalf("info tapefile: %s not listed:\n%s", tf.Key(), out)
	}
	if row[4] != tf.Status || row[len(row)-1] != strconv.Itoa(disks) {
		t.Errorf("info tapefile: row %v, want status %s and %d disk files", row, tf.Status, disks)
	}
	for _, v := range tftov {
		if v.Version == tf.Version && v.LogicalCopy == tf.LogicalCopy && !strings.Contains(row[len(row)-2], v.Volser) {
			t.Errorf("info tapefile: volumes %s lack %s", row[len(row)-2], v.Volser)
		}
	}
	mustFail(t, []string{"NO_SUCH_FILE"}, "info", "tapefile", "NO_SUCH_FILE", "--catalog", path)
	mustFail(t, []string{tf.FileID, "generation 32000"}, "info", "tapefile", tf.FileID, "--gen", "32000", "--catalog", path)
	mustFail(t, []string{"--gen"}, "info", "tapefile", tf.FileID, "--gen", "-1", "--catalog", path)
}

func TestInfoDiskFile(t *testing.T) {
	ctx := context.Background()
	path := newPrimary(t)
	st := sqltest.Open(t, path)
	var first catalog.DiskFile
	found := false
	must(t, st.ScanDiskFiles(ctx, store.Filter{}, func(d *catalog.DiskFile) error {
		if !found {
			first, found = *d, true
		}
		return nil
	}))
	if !found {
		t.Fatal("no disk file")
	}
	var entries []catalog.DiskFile
	must(t, st.ScanDiskFiles(ctx, store.Filter{Filecat: first.Filecat, Name: first.Name}, collect(&entries)))
	var dftov []catalog.DiskFileVolume
	must(t, st.ScanDiskFileVolumes(ctx, store.Filter{Filecat: first.Filecat, Name: first.Name}, collect(&dftov)))

	out := mustRun(t, "info", "diskfile", first.Name, "--catalog", path)
	r := rows(out, first.Filecat)
	if len(r) != len(entries) {
		t.Errorf("info diskfile: %d rows, want %d:\n%s", len(r), len(entries), out)
	}
	if !hasRow(r, []string{first.Filecat, first.FileID, strconv.Itoa(first.Generation), strconv.Itoa(first.Version)}) {
		t.Errorf("info diskfile: %s generation %d not listed:\n%s", first.FileID, first.Generation, out)
	}
	for _, v := range dftov {
		if !strings.Contains(out, v.Volser) {
			t.Errorf("info diskfile: volume %s not listed", v.Volser)
		}
	}
	mustFail(t, []string{`\PRIM.$NONE.NO.SUCH`}, "info", "diskfile", `\PRIM.$NONE.NO.SUCH`, "--catalog", path)
}
