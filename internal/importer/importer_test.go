package importer

import (
	"errors"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/snapshot"
)

func target(pairs ...NodePair) *Target {
	return &Target{
		Opts: Options{StoreID: "DS_PROD", CatalogFiles: true, NodePairs: pairs},
		Site: catalog.Site{Node: `\SECD`, MediaDefs: catalog.MediaDefs{DefaultFilecat: `\SECD.FCDEF`}},
		byOrig: map[string]catalog.VolumeGroup{
			"VG_PROD_1": {Name: "VG_PROD_1", OriginalName: "VG_PROD_1", Volcat: `\SECD.VCREPL`, Pool: "PROD_POOL1", Filecat: `\SECD.FCREPL`},
			"VG_PROD_2": {Name: "VG_PROD_2", OriginalName: "VG_PROD_2", Volcat: `\SECD.VCREPL`, Pool: "PROD_POOL2", Filecat: `\SECD.FCDEF`},
		},
	}
}

func primarySet() *snapshot.VolumeSet {
	v := catalog.Volume{Label: "T00001", LabelType: catalog.Labeled, StoreID: "DS_PROD", Group: "VG_PROD_1",
		Access: catalog.AccessPrimary, Auth: "GGO", Compression: catalog.CompressNone}
	return &snapshot.VolumeSet{ID: "T00001", Volumes: []catalog.Volume{v},
		TapeVolumes: []catalog.TapeVolume{{Volcat: `\PRIM.VCPROD`, Volser: "T00001", Pool: "PROD_POOL1", Label: "BACKUP",
			Type: "CART3480", Status: catalog.StatusScratch, EndOfDataLBA: -1}}}
}

func TestTransformRewrites(t *testing.T) {
	out, err := target().Transform(primarySet())
	if err != nil {
		t.Fatal(err)
	}
	if v := out.Volumes[0]; v.Access != catalog.AccessSecondary || v.Group != "VG_PROD_1" {
		t.Errorf("volume %+v", v)
	}
	if tv := out.TapeVolumes[0]; tv.Volcat != `\SECD.VCREPL` || tv.Pool != "PROD_POOL1" {
		t.Errorf("tape volume %+v", tv)
	}
}

func TestTransformRefusals(t *testing.T) {
	unmapped := primarySet()
	unmapped.Volumes[0].Group = "VG_OTHER"
	var ce *catalog.ConfigError
	if _, err := target().Transform(unmapped); !errors.As(err, &ce) || !strings.Contains(err.Error(), "VG_OTHER") {
		t.Errorf("unmapped group: %v", err)
	}
	mediadefs := primarySet()
	mediadefs.Volumes[0].Group = "VG_PROD_2"
	if _, err := target(NodePair{From: `\PRIM`, To: `\PRIMDR`}).Transform(mediadefs); !errors.As(err, &ce) || !strings.Contains(err.Error(), `\SECD.FCDEF`) {
		t.Errorf("renamed DISKFILEs into the MEDIADEFS FILECAT: %v", err)
	}
	if _, err := target().Transform(mediadefs); err != nil {
		t.Errorf("the MEDIADEFS FILECAT without renaming: %v", err)
	}
	other := primarySet()
	other.Volumes[0].StoreID = "DS_TEST"
	var fe *catalog.FieldError
	if _, err := target().Transform(other); !errors.As(err, &fe) || fe.Field != "STOREID" {
		t.Errorf("volume of another store: %v", err)
	}
	bad := primarySet()
	bad.TapeVolumes[0].Volser = "T000001"
	if _, err := target().Transform(bad); !errors.As(err, &fe) || fe.Field != "VOLSER" || !strings.Contains(err.Error(), "T00001") {
		t.Errorf("invalid record: %v", err)
	}
}

func TestParseNodePairs(t *testing.T) {
	pairs, err := ParseNodePairs(`\PRIM=\PRIMDR, \OLD=\NEW`)
	if err != nil || len(pairs) != 2 || pairs[1].To != `\NEW` {
		t.Errorf("%v %v", pairs, err)
	}
	if _, err := ParseNodePairs(`PRIM=\X`); err == nil || !strings.Contains(err.Error(), "PRIM=") {
		t.Errorf("bad pair: %v", err)
	}
	if _, err := ParseNodePairs(`\PRIM=\A,\PRIM=\B`); err == nil || !strings.Contains(err.Error(), `rename \PRIM two ways`) {
		t.Errorf("contradictory pairs: %v", err)
	}
	if pairs, err := ParseNodePairs(`\PRIM=\A,\PRIM=\A`); err != nil || len(pairs) != 2 {
		t.Errorf("a pair given twice: %v %v", pairs, err)
	}
	if err := CheckNodePairs([]NodePair{{From: `\PRIM`, To: "SECD"}}); err == nil || !strings.Contains(err.Error(), "SECD") {
		t.Errorf("a pair that is no node name: %v", err)
	}
	if got := target(NodePair{From: `\PRIM`, To: `\PRIMDR`}).renameNode(`\PRIM.$DATA.OPER.RECDS`); got != `\PRIMDR.$DATA.OPER.RECDS` {
		t.Errorf("renamed to %s", got)
	}
	if got := target(NodePair{From: `\PRIM`, To: `\PRIMDR`}).renameNode(`\PRIMX.$DATA.OPER.RECDS`); got != `\PRIMX.$DATA.OPER.RECDS` {
		t.Errorf("a node sharing the prefix was renamed: %s", got)
	}
}
