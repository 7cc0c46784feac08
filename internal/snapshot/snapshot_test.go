package snapshot

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/catalog"
)

// Fixtures: volume sets as a BackPak/DSM/TC primary exports them. Every
// record passes its catalog validation (checked by checkFixture), so the
// round trip is exercised with realistic values: node-qualified catalogs,
// image paths with backslashes, nanosecond timestamps, 64-bit EOFs.

const (
	fxVolcat  = `\PRIM.VCPROD`
	fxFilecat = `\PRIM.FCPROD`
	fxPool    = "PROD_POOL1"
	fxStore   = "DS_PROD"
)

// fxSet returns the i-th volume set of the fixture: two volumes of one set,
// their DSM/TC entries, one tape file spanning both, and a disk file it
// holds. Every third set also carries a tombstone, and every fifth is a lone
// unlabeled volume in no set (only BackPak entries).
func fxSet(i int) *VolumeSet {
	at := time.Date(2026, 3, 2, 21, 15, i%60, 123456789+i, time.UTC)
	if i%5 == 4 {
		label := fmt.Sprintf("U%05d", i)
		return &VolumeSet{ID: label, Volumes: []catalog.Volume{{
			Label: label, LabelType: catalog.Unlabeled, StoreID: fxStore, Group: "VG_SCRATCH",
			Access: catalog.AccessPrimary, Timestamp: at, Auth: "NNN", Compression: catalog.CompressNone,
		}}}
	}
	first, second := fmt.Sprintf("P%05d", 100+2*i), fmt.Sprintf("P%05d", 101+2*i)
	vol := func(label string) catalog.Volume {
		return catalog.Volume{
			Label: label, LabelType: catalog.Labeled, StoreID: fxStore, Group: "VG_PROD_1",
			Access: catalog.AccessPrimary, Timestamp: at, PrevUnload: at.Add(-24 * time.Hour), LastUpdate: at.Add(time.Minute),
			CheckTimestamp: true, Locked: i%2 == 0, OwnerNode: `\PRIM`, OwnerUser: "SUPER.OPER", Auth: "GGO",
			Comment: `payroll <Q1> & "weekly" \ backup`, MaxSize: 200 << 30,
			IndexPath: `\\NAS1\VTC\DS_PROD\LB` + label + ".IND", DataPath: `\\NAS1\VTC\DS_PROD\LB` + label + ".DAT",
			DataSize: 3<<30 + int64(i), StorageSize: 1<<30 + int64(i), Compression: catalog.CompressZlib,
			MediaKeyName: "KEY_2026_Q1",
		}
	}
	tv := func(label string, idx int, status catalog.VolumeStatus, eod int64) catalog.TapeVolume {
		return catalog.TapeVolume{Volcat: fxVolcat, Volser: label, Pool: fxPool, Label: "BACKUP", Type: "LTO5",
			Status: status, VolsetID: first, VolIndex: idx, EndOfDataLBA: eod}
	}
	tftov := func(label string, idx int, lba int64) catalog.TapeFileVolume {
		return catalog.TapeFileVolume{Filecat: fxFilecat, Volcat: fxVolcat, Volser: label, Pool: fxPool,
			FileID: "PAYROLL-DAILY", Generation: i + 1, PhysicalCopy: 1, LogicalCopy: 1, VolsetID: first,
			VolIndex: idx, FileSection: idx, FileSequence: 1, LabelLBA: lba}
	}
	disk := fmt.Sprintf(`\PRIM.$DATA01.PAYROLL.EMPF%04d`, i)
	s := &VolumeSet{
		ID:          first,
		Volumes:     []catalog.Volume{vol(first), vol(second)},
		TapeVolumes: []catalog.TapeVolume{tv(first, 1, catalog.StatusFull, catalog.MaxEndOfDataLBA), tv(second, 2, catalog.StatusAssigned, 1234567)},
		VTOFC:       []catalog.VolumeFilecat{{Volcat: fxVolcat, VolsetID: first, Pool: fxPool, Filecat: fxFilecat, TapeFormat: catalog.FormatLongName}},
		Configs:     []catalog.FileConfig{{Filecat: fxFilecat, FileID: "PAYROLL-DAILY", LastGeneration: i + 1}},
		TapeFiles: []catalog.TapeFile{{
			Filecat: fxFilecat, FileID: "PAYROLL-DAILY", Generation: i + 1, PhysicalCopy: 1, LogicalCopy: 1,
			Created: at, Expiration: at.AddDate(0, 0, 35).Truncate(24 * time.Hour), RecordFormat: "FI",
			RecordLength: 4096, BlockLength: 28, Mode: "BKVO", CatalogFiles: true, Status: catalog.FileValid,
			Volcat: fxVolcat, Pool: fxPool, VolsetID: first, Comment: "DS_PROD nightly",
		}},
		TFTOV: []catalog.TapeFileVolume{tftov(first, 1, 0), tftov(second, 2, -1)},
		DiskFiles: []catalog.DiskFile{{
			Filecat: fxFilecat, Name: disk, TimeDumped: at, PhysicalCopy: 1, LogicalCopy: 1, FileID: "PAYROLL-DAILY",
			Generation: i + 1, Status: catalog.DiskValid, Audited: true, FileCode: 100, FileType: "EN",
			EOF: 5<<32 + int64(i), LastModified: at.Add(-2 * time.Hour), VolsetID: first, Pool: fxPool, Volcat: fxVolcat,
		}},
		DFTOV: []catalog.DiskFileVolume{{Filecat: fxFilecat, Name: disk, TimeDumped: at, Volser: first,
			Volcat: fxVolcat, Pool: fxPool, VolsetID: first, VolIndex: 1, PositionLBA: -1}},
	}
	if i%3 == 0 {
		s.Deleted = []catalog.VolumeKey{{Label: fmt.Sprintf("X%05d", i), LabelType: catalog.Labeled}}
	}
	return s
}

func fxSets(from, n int) []*VolumeSet {
	var sets []*VolumeSet
	for i := from; i < from+n; i++ {
		sets = append(sets, fxSet(i))
	}
	return sets
}

// checkFixture makes sure the fixture is what a real catalog holds.
func checkFixture(t *testing.T, s *VolumeSet) {
	t.Helper()
	var errs []error
	for i := range s.Volumes {
		errs = append(errs, s.Volumes[i].Validate())
	}
	for i := range s.TapeVolumes {
		errs = append(errs, s.TapeVolumes[i].Validate())
	}
	for i := range s.VTOFC {
		errs = append(errs, s.VTOFC[i].Validate())
	}
	for i := range s.Configs {
		errs = append(errs, s.Configs[i].Validate())
	}
	for i := range s.TapeFiles {
		errs = append(errs, s.TapeFiles[i].Validate())
	}
	for i := range s.TFTOV {
		errs = append(errs, s.TFTOV[i].Validate())
	}
	for i := range s.DiskFiles {
		errs = append(errs, s.DiskFiles[i].Validate())
	}
	for i := range s.DFTOV {
		errs = append(errs, s.DFTOV[i].Validate())
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("fixture set %s is not valid: %v", s.ID, err)
	}
}

// countSets counts records independently of Counts.Add.
func countSets(sets []*VolumeSet) Counts {
	c := Counts{}
	for _, s := range sets {
		c["sets"]++
		c["volumes"] += int64(len(s.Volumes))
		c["tombstones"] += int64(len(s.Deleted))
		c["tapevolumes"] += int64(len(s.TapeVolumes))
		c["vtofc"] += int64(len(s.VTOFC))
		c["configs"] += int64(len(s.Configs))
		c["tapefiles"] += int64(len(s.TapeFiles))
		c["tftov"] += int64(len(s.TFTOV))
		c["diskfiles"] += int64(len(s.DiskFiles))
		c["dftov"] += int64(len(s.DFTOV))
	}
	return c
}

func fxManifest() Manifest {
	return Manifest{ID: "0b1c2d3e-run", Store: fxStore, Type: Full, CatalogFiles: true,
		Producer: Producer{Node: `\PRIM`, DomainID: "DOM1", BackPakID: "BP01"},
		FromSeq:  0, ToSeq: 4711, Created: time.Date(2026, 3, 2, 22, 0, 0, 5, time.UTC)}
}

func TestFixtureIsValid(t *testing.T) {
	for _, s := range fxSets(0, 12) {
		checkFixture(t, s)
	}
}
