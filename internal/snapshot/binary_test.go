package snapshot

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
)

// binaryLayout is the layout of schema version 2, as docs/snapshot-format.md
// specifies it.
const binaryLayout = `VolumeSet: ID string, Keys list of Key, Volumes list of Volume, Deleted list of VolumeKey, TapeVolumes list of TapeVolume, VTOFC list of VolumeFilecat, Configs list of FileConfig, TapeFiles list of TapeFile, TFTOV list of TapeFileVolume, DiskFiles list of DiskFile, DFTOV list of DiskFileVolume
Key: Label string, LabelType string, Name string, State string, Algorithm string, Length int, Fingerprint string, Group string
Volume: Label string, LabelType string, StoreID string, Group string, Access string, Timestamp time, PrevUnload time, LastUpdate time, CheckTimestamp bool, Locked bool, OwnerNode string, OwnerUser string, Auth string, Comment string, MaxSize int, IndexPath string, DataPath string, DataSize int, StorageSize int, Compression string, MediaKeyName string
VolumeKey: Label string, LabelType string
TapeVolume: Volcat string, Volser string, Pool string, Label string, Type string, Status string, VolsetID string, VolIndex int, OwnerID string, Density string, EndOfDataLBA int
VolumeFilecat: Volcat string, VolsetID string, Pool string, Filecat string, TapeFormat int
FileConfig: Filecat string, FileID string, LastGeneration int
TapeFile: Filecat string, FileID string, Generation int, Version int, PhysicalCopy int, LogicalCopy int, Created time, Expiration time, RecordFormat string, RecordLength int, BlockLength int, Mode string, CatalogFiles bool, Status string, Volcat string, Pool string, VolsetID string, Comment string
TapeFileVolume: Filecat string, Volcat string, Volser string, Pool string, FileID string, Generation int, Version int, PhysicalCopy int, LogicalCopy int, VolsetID string, VolIndex int, FileSection int, FileSequence int, LabelLBA int
DiskFile: Filecat string, Name string, TimeDumped time, PhysicalCopy int, LogicalCopy int, FileID string, Generation int, Version int, Status string, Opened bool, Broken bool, RFNeeded bool, Corrupt bool, Audited bool, FileCode int, FileType string, EOF int, LastModified time, VolsetID string, Pool string, Volcat string
DiskFileVolume: Filecat string, Name string, TimeDumped time, Volser string, Volcat string, Pool string, VolsetID string, VolIndex int, PositionLBA int
`

// TestBinaryLayout: the binary encoding follows the Go types, so a field
// added to, removed from or moved in a catalog record changes the format.
// This fails until the change is a new schema version, documented, with
// the old layout still read.
func TestBinaryLayout(t *testing.T) {
	var got strings.Builder
	setLayout().describe(&got)
	if got.String() != binaryLayout {
		t.Errorf("the binary layout of volume sets changed; a new layout is a new SchemaVersion, "+
			"with the old one still read and docs/snapshot-format.md updated. Now:\n%s", got.String())
	}
	doc, err := os.ReadFile("../../docs/snapshot-format.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```\n"+binaryLayout+"```\n") {
		t.Error("docs/snapshot-format.md does not list the binary layout of version 2 as it is")
	}
	if f := setLayout().fields[:headFields]; f[0].name != "ID" || f[1].name != "Keys" || f[2].name != "Volumes" {
		t.Errorf("the head of a set is %v, want ID, Keys and Volumes", f)
	}
}

// TestReadsVersion1Snapshots: a snapshot of schema version 1 (a primary
// not yet upgraded, or one staged before the upgrade) reads as the same
// sets through every reader: the manifest, the set decoder, and the
// readers of volume keys and key records, with the digests checked.
func TestReadsVersion1Snapshots(t *testing.T) {
	sets := fxSets(0, 7)
	for _, s := range sets {
		for _, v := range s.Volumes {
			s.Keys = append(s.Keys, Key{Label: v.Label, LabelType: v.LabelType, Name: "K" + v.Label, Fingerprint: "kcv:00"})
		}
	}
	m := fxManifest()
	m.Schema = 1
	dir := t.TempDir()
	for i := 0; i < len(sets); i += 3 {
		part := sets[i:min(i+3, len(sets))]
		data := encodeSegmentV1(t, part)
		seg := Segment{Name: fmt.Sprintf("seg-%06d.jsonl", len(m.Segments)+1), Sets: len(part), Bytes: int64(len(data)), SHA256: sum(data)}
		if err := os.WriteFile(filepath.Join(dir, seg.Name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		m.Segments = append(m.Segments, seg)
	}
	read, _, err := ReadManifest(dir, writeManifest(t, dir, m))
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, dir, read); !reflect.DeepEqual(got, sets) {
		t.Errorf("version 1 sets read as\n%+v\nwant\n%+v", got, sets)
	}
	var keys []catalog.VolumeKey
	var records []Key
	for _, s := range read.Segments {
		if err := ReadVolumeKeys(dir, s, func(k catalog.VolumeKey) { keys = append(keys, k) }); err != nil {
			t.Fatal(err)
		}
		if err := ReadKeys(dir, s, func(_ string, k *Key) error { records = append(records, *k); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	var wantKeys []catalog.VolumeKey
	var wantRecords []Key
	for _, s := range sets {
		for _, v := range s.Volumes {
			wantKeys = append(wantKeys, v.Key())
		}
		wantRecords = append(wantRecords, s.Keys...)
	}
	if !reflect.DeepEqual(keys, wantKeys) || !reflect.DeepEqual(records, wantRecords) {
		t.Errorf("version 1 keys read as %v and %v, want %v and %v", keys, records, wantKeys, wantRecords)
	}
}
