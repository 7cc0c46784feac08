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
	key   func() (fmt.Stringer, any) // the key as printed and as compared
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
		{"TAPEVOLUME", func() (fmt.Stringer, any) { k := tapeVolumeKey(&tv); return k, k },
			`T00001 in \SECD.VCREPL PROD_POOL1`,
			[]func(){func() { tv.Volser = "T00002" }, func() { tv.Volcat = `\SECD.VCX` }, func() { tv.Pool = "P2" }}},
		{"VTOFC", func() (fmt.Stringer, any) { k := vtofcKey(&vf); return k, k },
			`T00001 PROD_POOL1 in \SECD.VCREPL`,
			[]func(){func() { vf.VolsetID = "T00002" }, func() { vf.Pool = "P2" }, func() { vf.Volcat = `\SECD.VCX` }}},
		{"CONFIG", func() (fmt.Stringer, any) { k := configKey(&cf); return k, k },
			`DAILY in \SECD.FCREPL`,
			[]func(){func() { cf.FileID = "WEEKLY" }, func() { cf.Filecat = `\SECD.FCX` }}},
		{"TFTOV", func() (fmt.Stringer, any) { k := tftovKey(&tf); return k, k },
			`T00001 DAILY 3 1 in \SECD.FCREPL \SECD.VCREPL PROD_POOL1`,
			[]func(){func() { tf.Volser = "T00002" }, func() { tf.FileID = "WEEKLY" }, func() { tf.Generation = 4 },
				func() { tf.Version = 2 }, func() { tf.Filecat = `\SECD.FCX` }, func() { tf.Volcat = `\SECD.VCX` },
				func() { tf.Pool = "P2" }}},
		{"DISKFILE", func() (fmt.Stringer, any) { k := diskFileKey(&df); return k, k },
			`\PRIM.$DATA.SUB.F1 DAILY 3 T00001 in \SECD.FCREPL`,
			[]func(){func() { df.Name = `\PRIM.$DATA.SUB.F2` }, func() { df.FileID = "WEEKLY" }, func() { df.Generation = 4 },
				func() { df.VolsetID = "T00002" }, func() { df.Filecat = `\SECD.FCX` }}},
		{"DFTOV", func() (fmt.Stringer, any) { k := dftovKey(&dv); return k, k },
			fmt.Sprintf(`\PRIM.$DATA.SUB.F1 %d T00001 in \SECD.FCREPL \SECD.VCREPL PROD_POOL1`, dumped.UnixMicro()),
			[]func(){func() { dv.Name = `\PRIM.$DATA.SUB.F2` }, func() { dv.TimeDumped = dumped.Add(time.Microsecond) },
				func() { dv.Volser = "T00002" }, func() { dv.Filecat = `\SECD.FCX` }, func() { dv.Volcat = `\SECD.VCX` },
				func() { dv.Pool = "P2" }}},
	}
	for _, c := range cases {
		s, k := c.key()
		if s.String() != c.want {
			t.Errorf("%s key prints %q, want %q", c.name, s.String(), c.want)
		}
		seen := map[any]int{k: -1}
		for i, edit := range c.edits {
			edit()
			_, k := c.key()
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
