package safety

import (
	"slices"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store/storetest"
)

// fixtureSet is the fixture's volume set T00001 as the primary exports it.
func fixtureSet() *snapshot.VolumeSet {
	f := storetest.NewFixture()
	return &snapshot.VolumeSet{ID: "T00001", Volumes: f.Volumes[:2], TapeVolumes: f.TapeVolumes[:2],
		VTOFC: []catalog.VolumeFilecat{f.VTOFC}, Configs: []catalog.FileConfig{f.Config},
		TapeFiles: []catalog.TapeFile{f.TapeFile}, TFTOV: f.TFTOV, DiskFiles: f.DiskFiles, DFTOV: f.DFTOV}
}

func rules(cs []Conflict) []Rule {
	var out []Rule
	for _, c := range cs {
		out = append(out, c.Rule)
	}
	return out
}

func TestInvariants(t *testing.T) {
	for _, tc := range []struct {
		name         string
		edit         func(s *snapshot.VolumeSet)
		catalogFiles bool
		want         []Rule
	}{
		{"sound set", func(*snapshot.VolumeSet) {}, true, nil},
		{"second VALID version of a generation", func(s *snapshot.VolumeSet) {
			rerun := s.TapeFiles[0]
			rerun.Version = 1
			s.TapeFiles = append(s.TapeFiles, rerun)
		}, true, []Rule{OneValidVersion}},
		{"an older version INVALID", func(s *snapshot.VolumeSet) {
			rerun := s.TapeFiles[0]
			rerun.Version = 1
			s.TapeFiles[0].Status = catalog.FileInvalid
			s.TapeFiles = append(s.TapeFiles, rerun)
		}, true, nil},
		{"parallel copies of one version", func(s *snapshot.VolumeSet) {
			copy2 := s.TapeFiles[0]
			copy2.LogicalCopy = 2
			s.TapeFiles = append(s.TapeFiles, copy2)
		}, true, nil},
		{"a tape file in another FILECAT", func(s *snapshot.VolumeSet) {
			other := s.TapeFiles[0]
			other.Filecat, other.FileID = `\PRIM.FCTEST`, "OTHER"
			s.TapeFiles = append(s.TapeFiles, other)
			s.Configs = append(s.Configs, catalog.FileConfig{Filecat: other.Filecat, FileID: "OTHER", LastGeneration: 12})
		}, true, []Rule{OneFilecat}},
		{"a DISKFILE in another FILECAT", func(s *snapshot.VolumeSet) { s.DiskFiles[1].Filecat = `\PRIM.FCTEST` }, true, []Rule{OneFilecat}},
		{"a DISKFILE in another FILECAT, without catalog files", func(s *snapshot.VolumeSet) { s.DiskFiles[1].Filecat = `\PRIM.FCTEST` }, false, nil},
		{"generation above LASTGENERATION", func(s *snapshot.VolumeSet) { s.Configs[0].LastGeneration = 11 }, true, []Rule{GenerationRange}},
		{"FILEID without CONFIG", func(s *snapshot.VolumeSet) { s.Configs = nil }, true, []Rule{DanglingEntry}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fixtureSet()
			tc.edit(s)
			got := Invariants(s, tc.catalogFiles)
			if !slices.Equal(rules(got), tc.want) {
				t.Fatalf("rules %v, want %v: %v", rules(got), tc.want, got)
			}
			for _, c := range got {
				if c.Set != "T00001" || c.Label != "T00001" || c.Detail == "" || c.Action != Rules[c.Rule].Action || c.Where.Entry == "" {
					t.Errorf("incomplete conflict %+v", c)
				}
			}
		})
	}
}

func TestReferences(t *testing.T) {
	for _, tc := range []struct {
		name         string
		edit         func(s *snapshot.VolumeSet)
		catalogFiles bool
		refs         []string
		conflicts    []Rule
	}{
		{"all in the set", func(*snapshot.VolumeSet) {}, true, nil, nil},
		{"TFTOV of a missing tape file", func(s *snapshot.VolumeSet) { s.TFTOV[1].Generation = 11 },
			true, []string{`TFTOV \PRIM.FCPROD PAYROLL_BACKUP GEN 11 VERSION 0 ON T00002: TAPEFILE \PRIM.FCPROD PAYROLL_BACKUP GEN 11 VERSION 0 COPY 1.1`}, nil},
		{"TFTOV on a volume outside the set", func(s *snapshot.VolumeSet) { s.TapeVolumes = s.TapeVolumes[:1] },
			true, []string{`TFTOV \PRIM.FCPROD PAYROLL_BACKUP GEN 12 VERSION 0 ON T00002: TAPEVOLUME \PRIM.VCPROD BBOX_BACKUP T00002`}, nil},
		{"DISKFILE of another copy", func(s *snapshot.VolumeSet) { s.DiskFiles[0].PhysicalCopy = 2 },
			true, []string{`DISKFILE \PRIM.$PAY.PAYAP.ACCTS: TAPEFILE \PRIM.FCPROD PAYROLL_BACKUP GEN 12 VERSION 0 COPY 2.1`}, nil},
		{"DFTOV of a missing disk file", func(s *snapshot.VolumeSet) { s.DiskFiles = s.DiskFiles[:1] },
			true, []string{`DFTOV \PRIM.$PAY.PAYAP.LEDGER ON T00002: DISKFILE \PRIM.FCPROD \PRIM.$PAY.PAYAP.LEDGER dumped 2026-03-02T22:00:00Z`}, nil},
		{"DFTOV of a missing disk file, without catalog files", func(s *snapshot.VolumeSet) { s.DiskFiles = s.DiskFiles[:1] },
			false, nil, nil},
		{"a tape file of another volume set", func(s *snapshot.VolumeSet) { s.TapeFiles[0].VolsetID = "T00009" },
			true, nil, []Rule{DanglingEntry}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fixtureSet()
			tc.edit(s)
			refs, cs := References(s, tc.catalogFiles)
			var got []string
			for _, r := range refs {
				got = append(got, r.From+": "+r.String())
			}
			if !slices.Equal(got, tc.refs) || !slices.Equal(rules(cs), tc.conflicts) {
				t.Errorf("refs %q and conflicts %v, want %q and %v", got, rules(cs), tc.refs, tc.conflicts)
			}
		})
	}
}

func TestReportBoundsItsList(t *testing.T) {
	var r Report
	for i := 0; i < MaxListed+10; i++ {
		r.Add([]Conflict{{Set: "T00001", Rule: LabelLocal}})
	}
	r.Add(nil) // a set without conflicts
	if r.Total != MaxListed+10 || r.Sets != MaxListed+10 || len(r.Conflicts) != MaxListed || r.Unlisted() != 10 || r.ByRule[LabelLocal] != MaxListed+10 {
		t.Errorf("report: total %d, sets %d, listed %d, by rule %v", r.Total, r.Sets, len(r.Conflicts), r.ByRule)
	}
	if want := "510 volume sets, 510 conflicts, LABEL_LOCAL 510, 10 not listed"; r.Summary() != want {
		t.Errorf("summary %q, want %q", r.Summary(), want)
	}
}

func TestEveryRuleExplained(t *testing.T) {
	for _, r := range []Rule{LabelLocal, LabelOtherStore, LabelDSMOnly, LabelSearchSpace, FileIDCollision, OneValidVersion,
		OneFilecat, GenerationRange, DanglingEntry, ConfigStoreAccess, ConfigSearchList, ConfigGroupMapping, ConfigSharedCatalog} {
		if info := Rules[r]; info.Explain == "" || info.Action == "" {
			t.Errorf("rule %s has no explanation or action", r)
		}
	}
}
