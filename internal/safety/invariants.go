package safety

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/snapshot"
)

// Invariants checks the DSM/TC invariants a volume set must hold as the
// primary exported it: its tape files in one FILECAT, one VALID version
// per generation, generations within their FILEID's LASTGENERATION. It
// reads nothing and never panics, whatever the set holds.
func Invariants(in *snapshot.VolumeSet, catalogFiles bool) []Conflict {
	var out []Conflict
	add := func(rule Rule, where Where, format string, args ...any) {
		out = append(out, conflict(in.ID, in.ID, rule, where, format, args...))
	}

	// All tape files of a volume set are in a single file catalog.
	filecats := map[string]string{} // filecat -> first entry naming it
	note := func(filecat, entry string) {
		if _, ok := filecats[filecat]; !ok {
			filecats[filecat] = entry
		}
	}
	for _, r := range in.VTOFC {
		note(r.Filecat, "VTOFC "+r.Volcat+" "+r.Pool+" "+r.VolsetID)
	}
	for _, r := range in.TapeFiles {
		note(r.Filecat, "TAPEFILE "+r.Key().String())
	}
	for _, r := range in.TFTOV {
		note(r.Filecat, "TFTOV "+tftovName(&r))
	}
	if catalogFiles {
		for _, r := range in.DiskFiles {
			note(r.Filecat, "DISKFILE "+r.Name)
		}
	}
	if len(filecats) > 1 {
		names := slices.Sorted(maps.Keys(filecats))
		var entries []string
		for _, n := range names {
			entries = append(entries, filecats[n])
		}
		add(OneFilecat, Where{Filecat: strings.Join(names, " "), Entry: strings.Join(entries, "; ")},
			"the set's entries are in %d file catalogs: %s", len(names), strings.Join(names, ", "))
	}

	// One VALID version per generation.
	type gen struct {
		filecat, fileID string
		gen             int
	}
	valid := map[gen][]int{}
	for _, f := range in.TapeFiles {
		if f.Status != catalog.FileValid {
			continue
		}
		k := gen{f.Filecat, f.FileID, f.Generation}
		if !slices.Contains(valid[k], f.Version) {
			valid[k] = append(valid[k], f.Version)
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(valid), func(a, b gen) int {
		return cmp.Or(cmp.Compare(a.filecat, b.filecat), cmp.Compare(a.fileID, b.fileID), cmp.Compare(a.gen, b.gen))
	}) {
		if vs := valid[k]; len(vs) > 1 {
			slices.Sort(vs)
			add(OneValidVersion, Where{Filecat: k.filecat, Entry: fmt.Sprintf("TAPEFILE %s %s GEN %d", k.filecat, k.fileID, k.gen)},
				"FILEID %s generation %d has %d VALID versions: %v", k.fileID, k.gen, len(vs), vs)
		}
	}

	// Generations never pass CONFIG.LASTGENERATION.
	last := map[[2]string]int{}
	for _, c := range in.Configs {
		last[[2]string{c.Filecat, c.FileID}] = c.LastGeneration
	}
	seen := map[[2]string]bool{}
	for _, f := range in.TapeFiles {
		k := [2]string{f.Filecat, f.FileID}
		lg, ok := last[k]
		switch {
		case seen[k]:
		case !ok:
			seen[k] = true
			add(DanglingEntry, Where{Filecat: f.Filecat, Entry: "TAPEFILE " + f.Key().String()},
				"FILEID %s has tape files but no CONFIG row", f.FileID)
		case f.Generation < 1 || f.Generation > min(lg, catalog.MaxGeneration):
			seen[k] = true
			add(GenerationRange, Where{Filecat: f.Filecat, Entry: "TAPEFILE " + f.Key().String()},
				"generation %d of FILEID %s is outside 1..%d (LASTGENERATION)", f.Generation, f.FileID, lg)
		}
	}
	return out
}

// Ref is an entry a set points to without holding it: it must already be
// on the secondary.
type Ref struct {
	From   string // the pointing entry, for the report
	Entity string // TAPEFILE, TAPEVOLUME or DISKFILE
	// TAPEFILE: Key; TAPEVOLUME: Volcat, Pool, Volser; DISKFILE: Filecat,
	// Name, TimeDumped.
	Key        catalog.TapeFileKey
	Volcat     string
	Pool       string
	Volser     string
	Filecat    string
	Name       string
	TimeDumped time.Time
}

func (r Ref) String() string {
	switch r.Entity {
	case "TAPEFILE":
		return "TAPEFILE " + r.Key.String()
	case "TAPEVOLUME":
		return "TAPEVOLUME " + r.Volcat + " " + r.Pool + " " + r.Volser
	}
	return "DISKFILE " + r.Filecat + " " + r.Name + " dumped " + r.TimeDumped.UTC().Format(time.RFC3339)
}

// References lists what the entries of a set point to and the set does not
// hold: the tape file of each TFTOV and DISKFILE, the disk file of each
// DFTOV, the tape volume of each TFTOV, DFTOV and TAPEFILE. A tape file of
// another volume set is reported as a conflict: importing the set would
// file it under the wrong one.
func References(want *snapshot.VolumeSet, catalogFiles bool) ([]Ref, []Conflict) {
	var refs []Ref
	var out []Conflict
	files := map[catalog.TapeFileKey]bool{}
	for _, f := range want.TapeFiles {
		files[f.Key()] = true
	}
	vols := map[[3]string]bool{}
	for _, v := range want.TapeVolumes {
		vols[[3]string{v.Volcat, v.Pool, v.Volser}] = true
	}
	needVolume := func(from, volcat, pool, volser string) {
		if !vols[[3]string{volcat, pool, volser}] {
			vols[[3]string{volcat, pool, volser}] = true // once per volume
			refs = append(refs, Ref{From: from, Entity: "TAPEVOLUME", Volcat: volcat, Pool: pool, Volser: volser})
		}
	}
	needFile := func(from string, k catalog.TapeFileKey) {
		if !files[k] {
			files[k] = true
			refs = append(refs, Ref{From: from, Entity: "TAPEFILE", Key: k})
		}
	}
	for _, f := range want.TapeFiles {
		if f.VolsetID != want.ID {
			out = append(out, conflict(want.ID, want.ID, DanglingEntry, Where{Filecat: f.Filecat, Entry: "TAPEFILE " + f.Key().String()},
				"the tape file belongs to volume set %s, not to this one", f.VolsetID))
			continue
		}
		needVolume("TAPEFILE "+f.Key().String(), f.Volcat, f.Pool, f.VolsetID)
	}
	for _, t := range want.TFTOV {
		from := "TFTOV " + tftovName(&t)
		needFile(from, catalog.TapeFileKey{Filecat: t.Filecat, FileID: t.FileID, Generation: t.Generation, Version: t.Version,
			PhysicalCopy: t.PhysicalCopy, LogicalCopy: t.LogicalCopy})
		needVolume(from, t.Volcat, t.Pool, t.Volser)
	}
	if !catalogFiles {
		return refs, out
	}
	disks := map[string]bool{}
	for _, d := range want.DiskFiles {
		disks[diskName(d.Filecat, d.Name, d.TimeDumped)] = true
		needFile("DISKFILE "+d.Name, catalog.TapeFileKey{Filecat: d.Filecat, FileID: d.FileID, Generation: d.Generation, Version: d.Version,
			PhysicalCopy: d.PhysicalCopy, LogicalCopy: d.LogicalCopy})
	}
	for _, d := range want.DFTOV {
		from := "DFTOV " + d.Name + " ON " + d.Volser
		if k := diskName(d.Filecat, d.Name, d.TimeDumped); !disks[k] {
			disks[k] = true
			refs = append(refs, Ref{From: from, Entity: "DISKFILE", Filecat: d.Filecat, Name: d.Name, TimeDumped: d.TimeDumped})
		}
		needVolume(from, d.Volcat, d.Pool, d.Volser)
	}
	return refs, out
}

func diskName(filecat, name string, dumped time.Time) string {
	return filecat + " " + name + " " + fmt.Sprint(dumped.UnixMicro())
}

func tftovName(t *catalog.TapeFileVolume) string {
	return fmt.Sprintf("%s %s GEN %d VERSION %d ON %s", t.Filecat, t.FileID, t.Generation, t.Version, t.Volser)
}
