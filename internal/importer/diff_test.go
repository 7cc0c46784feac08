package importer

import (
	"fmt"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/catalog"
)

// keyCase is one record kind's key: the text the plan and the reports name
// a record by, and an edit of each field the key is made of, each of which
// must give the record another key.
type keyCase struct {
	name  string
	key   func() fmt.Stringer // compared as the diff compares it, printed as reports name it
	want  string
	edits []func()
}

func TestRecordKeys(t *testing.T) {
	dumped := time.Date(2026, 3, 4, 5, 6, 7, 8000, time.UTC)
	tv := catalog.TapeVolume{Volser: "T00001", Volcat: `\SECD.VCREPL`, Pool: "PROD_POOL1", Status: catalog.StatusScratch}
	vf := catalog.VolumeFilecat{VolsetID: "T00001", Pool: "PROD_POOL1", Volcat: `\SECD.VCREPL`, Filecat: `\SECD.FCREPL`}
	cf := catalog.FileConfig{FileID: "DAILY", Filecat: `\SECD.FCREPL`, LastGeneration: 7}
	tf := catalog.TapeFileVolume{Volser: "T00001", FileID: "DAILY", Generation: 3, Version: 1,
		Filecat: `\SECD.FCREPL`, Volcat: `\SECD.VCREPL`, Pool: "PROD_POOL1", VolIndex: 1}
	df := catalog.DiskFile{Name: `\PRIM.$DATA.SUB.F1`, FileID: "DAILY", Generation: 3, VolsetID: "T00001",
		Filecat: `\SECD.FCREPL`, TimeDumped: dumped, Status: "VA"}
	dv := catalog.DiskFileVolume{Name: `\PRIM.$DATA.SUB.F1`, TimeDumped: dumped, Volser: "T00001",
		Filecat: `\SECD.FCREPL`, Volcat: `\SECD.VCREPL`, Pool: "PROD_POOL1", VolIndex: 1}
	cases := []keyCase{
		{"TAPEVOLUME", func() fmt.Stringer { return tapeVolumeKey(&tv) },
			`T00001 in \SECD.VCREPL PROD_POOL1`,
			[]func(){func() { tv.Volser = "T00002" }, func() { tv.Volcat = `\SECD.VCX` }, func() { tv.Pool = "P2" }}},
		{"VTOFC", func() fmt.Stringer { return vtofcKey(&vf) },
			`T00001 PROD_POOL1 in \SECD.VCREPL`,
			[]func(){func() { vf.VolsetID = "T00002" }, func() { vf.Pool = "P2" }, func() { vf.Volcat = `\SECD.VCX` }}},
		{"CONFIG", func() fmt.Stringer { return configKey(&cf) },
			`DAILY in \SECD.FCREPL`,
			[]func(){func() { cf.FileID = "WEEKLY" }, func() { cf.Filecat = `\SECD.FCX` }}},
		{"TFTOV", func() fmt.Stringer { return tftovKey(&tf) },
			`T00001 DAILY 3 1 in \SECD.FCREPL \SECD.VCREPL PROD_POOL1`,
			[]func(){func() { tf.Volser = "T00002" }, func() { tf.FileID = "WEEKLY" }, func() { tf.Generation = 4 },
				func() { tf.Version = 2 }, func() { tf.Filecat = `\SECD.FCX` }, func() { tf.Volcat = `\SECD.VCX` },
				func() { tf.Pool = "P2" }}},
		{"DISKFILE", func() fmt.Stringer { return diskFileKey(&df) },
			`\PRIM.$DATA.SUB.F1 DAILY 3 T00001 in \SECD.FCREPL`,
			[]func(){func() { df.Name = `\PRIM.$DATA.SUB.F2` }, func() { df.FileID = "WEEKLY" }, func() { df.Generation = 4 },
				func() { df.VolsetID = "T00002" }, func() { df.Filecat = `\SECD.FCX` }}},
		{"DFTOV", func() fmt.Stringer { return dftovKey(&dv) },
			fmt.Sprintf(`\PRIM.$DATA.SUB.F1 %d T00001 in \SECD.FCREPL \SECD.VCREPL PROD_POOL1`, dumped.UnixMicro()),
			[]func(){func() { dv.Name = `\PRIM.$DATA.SUB.F2` }, func() { dv.TimeDumped = dumped.Add(time.Microsecond) },
				func() { dv.Volser = "T00002" }, func() { dv.Filecat = `\SECD.FCX` }, func() { dv.Volcat = `\SECD.VCX` },
				func() { dv.Pool = "P2" }}},
	}
	for _, c := range cases {
		k := c.key()
		if k.String() != c.want {
			t.Errorf("%s key prints %q, want %q", c.name, k.String(), c.want)
		}
		seen := map[fmt.Stringer]int{k: -1}
		for i, edit := range c.edits {
			edit()
			k := c.key()
			if j, ok := seen[k]; ok {
				t.Errorf("%s: after edit %d the key %v is the one seen after edit %d", c.name, i, k, j)
			}
			seen[k] = i
		}
	}

	// A field outside the key leaves it alone: an edit of it is an update
	// of the same record, not a delete and a create.
	before := tapeVolumeKey(&tv)
	tv.Status = catalog.StatusFull
	if tapeVolumeKey(&tv) != before {
		t.Errorf("TAPEVOLUME key changed with its STATUS")
	}
}
