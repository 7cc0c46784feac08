package inspect

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
)

// TapeVolumeInfo is what the catalogs hold of one tape label.
type TapeVolumeInfo struct {
	Label   string
	Tapes   []Tape           // its TAPEVOLUMEs, one per VOLCAT and POOL
	BackPak []catalog.Volume // its BackPak volume entries
}

// Tape is one TAPEVOLUME with its volume set's VTOFC entry and files.
type Tape struct {
	catalog.TapeVolume
	VTOFC *catalog.VolumeFilecat // nil: no volume set, or no VTOFC entry for it
	// Files are every file of the volume set in the tape's pool, whatever
	// their FILECAT (a stray one shows), in write order as MEDIACOM lists
	// them.
	Files []catalog.TapeFile
}

// TapeVolume looks up a tape label (in upper case, as cataloged) in DSM/TC
// and BackPak; it is an error when neither knows it.
func TapeVolume(ctx context.Context, r store.Reader, label string) (*TapeVolumeInfo, error) {
	var tvs []catalog.TapeVolume
	if err := r.ScanTapeVolumes(ctx, store.Filter{Volser: label}, collect(&tvs)); err != nil {
		return nil, err
	}
	info := &TapeVolumeInfo{Label: label}
	if err := r.ScanVolumes(ctx, store.Filter{Label: label}, collect(&info.BackPak)); err != nil {
		return nil, err
	}
	if len(tvs) == 0 && len(info.BackPak) == 0 {
		return nil, fmt.Errorf("tape volume %s: no TAPEVOLUME and no BackPak entry in this catalog", label)
	}
	for _, tv := range tvs {
		t := Tape{TapeVolume: tv}
		if tv.VolsetID != "" {
			if err := r.ScanVolumeFilecats(ctx, store.Filter{Volcat: tv.Volcat, VolsetID: tv.VolsetID, Pool: tv.Pool},
				func(f *catalog.VolumeFilecat) error {
					vtofc := *f
					t.VTOFC = &vtofc
					return nil
				}); err != nil {
				return nil, err
			}
			if err := r.ScanTapeFiles(ctx, store.Filter{Volcat: tv.Volcat, VolsetID: tv.VolsetID}, func(f *catalog.TapeFile) error {
				if f.Pool == tv.Pool {
					t.Files = append(t.Files, *f)
				}
				return nil
			}); err != nil {
				return nil, err
			}
			slices.SortStableFunc(t.Files, func(a, b catalog.TapeFile) int { return a.Created.Compare(b.Created) })
		}
		info.Tapes = append(info.Tapes, t)
	}
	return info, nil
}

// TapeFileInfo is what the file catalogs hold of one FILEID.
type TapeFileInfo struct {
	FileID  string
	Configs []catalog.FileConfig // its CONFIG (LASTGENERATION) per FILECAT
	Copies  []TapeFileCopy       // every generation, version and copy
}

// TapeFileCopy is one TAPEFILE with the volumes it is on and the number of
// DISKFILE entries it holds.
type TapeFileCopy struct {
	catalog.TapeFile
	Volumes   []catalog.TapeFileVolume // TFTOV, in VOLINDEX order
	DiskFiles int
}

// TapeFile looks up a FILEID, every generation or only gen (0: all),
// along the file catalog search order (FileCatalogs).
func TapeFile(ctx context.Context, r store.Reader, fileID string, gen int) (*TapeFileInfo, error) {
	cats, err := FileCatalogs(ctx, r)
	if err != nil {
		return nil, err
	}
	info := &TapeFileInfo{FileID: fileID}
	var files []catalog.TapeFile
	for _, fc := range cats {
		if err := r.ScanFileConfigs(ctx, store.Filter{Filecat: fc, FileID: fileID}, collect(&info.Configs)); err != nil {
			return nil, err
		}
		if err := r.ScanTapeFiles(ctx, store.Filter{Filecat: fc, FileID: fileID, Generation: gen}, collect(&files)); err != nil {
			return nil, err
		}
	}
	if len(files) == 0 {
		if gen != 0 {
			return nil, fmt.Errorf("tape file %s generation %d: not in the catalog", fileID, gen)
		}
		return nil, fmt.Errorf("tape file %s: not in the catalog", fileID)
	}
	// Volumes (TFTOV) and disk-file counts of every copy, one scan per catalog.
	vols := map[catalog.TapeFileKey][]catalog.TapeFileVolume{}
	disks := map[catalog.TapeFileKey]int{}
	for _, fc := range distinct(files, func(f *catalog.TapeFile) string { return f.Filecat }) {
		f := store.Filter{Filecat: fc, FileID: fileID, Generation: gen}
		if err := r.ScanTapeFileVolumes(ctx, f, func(v *catalog.TapeFileVolume) error {
			k := catalog.TapeFileKey{Filecat: v.Filecat, FileID: v.FileID, Generation: v.Generation, Version: v.Version,
				PhysicalCopy: v.PhysicalCopy, LogicalCopy: v.LogicalCopy}
			vols[k] = append(vols[k], *v)
			return nil
		}); err != nil {
			return nil, err
		}
		if err := r.ScanDiskFiles(ctx, f, func(d *catalog.DiskFile) error {
			disks[catalog.TapeFileKey{Filecat: d.Filecat, FileID: d.FileID, Generation: d.Generation, Version: d.Version,
				PhysicalCopy: d.PhysicalCopy, LogicalCopy: d.LogicalCopy}]++
			return nil
		}); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		on := vols[f.Key()]
		slices.SortFunc(on, func(a, b catalog.TapeFileVolume) int { return cmp.Compare(a.VolIndex, b.VolIndex) })
		info.Copies = append(info.Copies, TapeFileCopy{TapeFile: f, Volumes: on, DiskFiles: disks[f.Key()]})
	}
	return info, nil
}

// DiskFileInfo is what the file catalogs hold of one disk file name.
type DiskFileInfo struct {
	Name  string
	Dumps []DiskFileDump // in the order they were dumped
}

// DiskFileDump is one DISKFILE entry with the volumes (DFTOV) it is on.
type DiskFileDump struct {
	catalog.DiskFile
	Volumes []catalog.DiskFileVolume // in VOLINDEX order
}

// DiskFile looks up a disk file name (in upper case, as cataloged) along
// the file catalog search order (FileCatalogs).
func DiskFile(ctx context.Context, r store.Reader, name string) (*DiskFileInfo, error) {
	cats, err := FileCatalogs(ctx, r)
	if err != nil {
		return nil, err
	}
	var dfs []catalog.DiskFile
	for _, fc := range cats {
		if err := r.ScanDiskFiles(ctx, store.Filter{Filecat: fc, Name: name}, collect(&dfs)); err != nil {
			return nil, err
		}
	}
	if len(dfs) == 0 {
		return nil, fmt.Errorf("disk file %s: not in the catalog", name)
	}
	// DFTOV rows belong to a DISKFILE by name, time dumped and volume set
	// (parallel copies share the time but not the set).
	type dump struct {
		filecat string
		dumped  int64
		volset  string
	}
	vols := map[dump][]catalog.DiskFileVolume{}
	for _, fc := range distinct(dfs, func(d *catalog.DiskFile) string { return d.Filecat }) {
		if err := r.ScanDiskFileVolumes(ctx, store.Filter{Filecat: fc, Name: name}, func(v *catalog.DiskFileVolume) error {
			k := dump{v.Filecat, v.TimeDumped.UnixMicro(), v.VolsetID}
			vols[k] = append(vols[k], *v)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(dfs, func(a, b catalog.DiskFile) int { return a.TimeDumped.Compare(b.TimeDumped) })
	info := &DiskFileInfo{Name: name}
	for _, d := range dfs {
		on := vols[dump{d.Filecat, d.TimeDumped.UnixMicro(), d.VolsetID}]
		slices.SortFunc(on, func(a, b catalog.DiskFileVolume) int { return cmp.Compare(a.VolIndex, b.VolIndex) })
		info.Dumps = append(info.Dumps, DiskFileDump{DiskFile: d, Volumes: on})
	}
	return info, nil
}

// FileCatalogs lists the file catalogs a lookup by FILEID or disk file name
// visits, in name order: the MEDIADEFS default, the system search list and
// every volume group's FILECAT. The file catalog tables are keyed by
// FILECAT first, so one indexed query per catalog beats a scan of a whole
// table. (Search list entries that are VOLCATs simply match nothing.)
func FileCatalogs(ctx context.Context, r store.Reader) ([]string, error) {
	site, err := r.Site(ctx)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{site.MediaDefs.DefaultFilecat: true}
	for _, c := range site.SearchList {
		set[c] = true
	}
	if err := r.ScanVolumeGroups(ctx, func(g *catalog.VolumeGroup) error {
		set[g.Filecat] = true
		return nil
	}); err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(set)), nil
}

// distinct returns the distinct values of key over recs, in first-seen order.
func distinct[T any](recs []T, key func(*T) string) []string {
	var out []string
	for i := range recs {
		if k := key(&recs[i]); !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}
