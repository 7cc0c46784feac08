// Package storetest is the test suite every store.Store implementation must
// pass, with the small catalog fixture it uses.
package storetest

import (
	"fmt"
	"time"

	"github.com/catsync/catsync/internal/catalog"
)

var day0 = time.Date(2026, 3, 2, 22, 0, 0, 0, time.UTC)

// Fixture is a small, valid primary site: one data store, one volume group,
// a two-volume set holding one tape file with disk files, and a scratch volume.
type Fixture struct {
	Site        catalog.Site
	Store       catalog.DataStore
	Group       catalog.VolumeGroup
	Volumes     []catalog.Volume
	Pool        catalog.Pool
	TapeVolumes []catalog.TapeVolume
	VTOFC       catalog.VolumeFilecat
	Config      catalog.FileConfig
	TapeFile    catalog.TapeFile
	TFTOV       []catalog.TapeFileVolume
	DiskFiles   []catalog.DiskFile
	DFTOV       []catalog.DiskFileVolume
}

// NewFixture returns the fixture; every record in it validates.
func NewFixture() *Fixture {
	const volcat, pool, filecat = `\PRIM.VCPROD`, "BBOX_BACKUP", `\PRIM.FCPROD`
	f := &Fixture{
		Site: catalog.Site{Node: `\PRIM`, DomainID: "BBOX", BackPakID: "BPPRIM01",
			MediaDefs: catalog.MediaDefs{DefaultVolcat: `\PRIM.VCDEF`, DefaultFilecat: `\PRIM.FCDEF`, Retention: 30,
				AbendRetention: 1, SearchListSystem: `\PRIM`},
			SearchList:  []string{`\PRIM.VCPROD`, `\PRIM.FCPROD`},
			KeyManagers: []catalog.KeyManagerEntry{{BackPakID: "BPOLD001", Server: "eskm1.example:5696"}}},
		Store: catalog.DataStore{ID: "DS_PROD", Access: catalog.AccessPrimary, Status: catalog.StoreActive,
			CheckVolumeTimestamp: true, Location: `\\NAS1\VTC\DS_PROD`},
		Group: catalog.VolumeGroup{Name: "VG_PROD", Volcat: volcat, Pool: pool, Filecat: filecat, Encrypted: true},
		Pool: catalog.Pool{Volcat: volcat, Name: pool, Label: "BACKUP", Density: "ANY", Type: "CART3480",
			AutoScratch: true, SearchSpace: "IN"},
		VTOFC:  catalog.VolumeFilecat{Volcat: volcat, VolsetID: "T00001", Pool: pool, Filecat: filecat, TapeFormat: catalog.FormatArchive},
		Config: catalog.FileConfig{Filecat: filecat, FileID: "PAYROLL_BACKUP", LastGeneration: 12},
		TapeFile: catalog.TapeFile{Filecat: filecat, FileID: "PAYROLL_BACKUP", Generation: 12, Version: 0, PhysicalCopy: 1,
			LogicalCopy: 1, Created: day0, Expiration: day0.Add(31 * 24 * time.Hour).Truncate(24 * time.Hour),
			RecordFormat: "UN", BlockLength: 28, Mode: "BKVO", CatalogFiles: true, Status: catalog.FileValid,
			Volcat: volcat, Pool: pool, VolsetID: "T00001", Comment: "nightly payroll"},
	}
	for i, label := range []string{"T00001", "T00002", "T00003"} {
		v := catalog.Volume{Label: label, LabelType: catalog.Labeled, StoreID: "DS_PROD", Group: "VG_PROD",
			Access: catalog.AccessPrimary, CheckTimestamp: true, OwnerNode: `\PRIM`, OwnerUser: "SUPER.OPER",
			Auth: "GGO", MaxSize: 4 << 30, Compression: catalog.CompressZlib, LastUpdate: day0}
		tv := catalog.TapeVolume{Volcat: volcat, Volser: label, Pool: pool, Label: "BACKUP", Type: "CART3480",
			Status: catalog.StatusScratch, EndOfDataLBA: -1}
		if i < 2 {
			v.Timestamp = day0.Add(time.Duration(i) * time.Minute)
			v.PrevUnload = v.Timestamp.Add(20 * time.Minute)
			v.LastUpdate = v.PrevUnload
			v.IndexPath = fmt.Sprintf(`\\NAS1\VTC\DS_PROD\LB%s.IND`, label)
			v.DataPath = fmt.Sprintf(`\\NAS1\VTC\DS_PROD\LB%s.DAT`, label)
			v.DataSize, v.StorageSize = 3<<30, 1<<30
			v.MediaKeyName = "N7566B3CC" + label + "_BPPRIM01_2603022200"
			tv.Status, tv.VolsetID, tv.VolIndex = catalog.StatusAssigned, "T00001", i+1
			f.TFTOV = append(f.TFTOV, catalog.TapeFileVolume{Filecat: filecat, Volcat: volcat, Volser: label, Pool: pool,
				FileID: "PAYROLL_BACKUP", Generation: 12, Version: 0, PhysicalCopy: 1, LogicalCopy: 1, VolsetID: "T00001",
				VolIndex: i + 1, FileSection: i + 1, FileSequence: 1, LabelLBA: 0})
		}
		f.Volumes = append(f.Volumes, v)
		f.TapeVolumes = append(f.TapeVolumes, tv)
	}
	for i, name := range []string{`\PRIM.$PAY.PAYAP.ACCTS`, `\PRIM.$PAY.PAYAP.LEDGER`} {
		f.DiskFiles = append(f.DiskFiles, catalog.DiskFile{Filecat: filecat, Name: name, TimeDumped: day0, PhysicalCopy: 1,
			LogicalCopy: 1, FileID: "PAYROLL_BACKUP", Generation: 12, Version: 0, Status: catalog.DiskValid, Audited: i == 0,
			FileCode: 101, FileType: "EN", EOF: int64(i+1) << 32, LastModified: day0.Add(-time.Hour), VolsetID: "T00001",
			Pool: pool, Volcat: volcat})
		f.DFTOV = append(f.DFTOV, catalog.DiskFileVolume{Filecat: filecat, Name: name, TimeDumped: day0, Volser: "T0000" + fmt.Sprint(i+1),
			Volcat: volcat, Pool: pool, VolsetID: "T00001", VolIndex: i + 1, PositionLBA: -1})
	}
	return f
}
