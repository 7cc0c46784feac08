package snapshot

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/catalog"
)

func testSet(i int) *VolumeSet {
	label := "T0000" + string(rune('0'+i))
	at := time.Date(2026, 1, 5, 20, i, 0, 0, time.UTC)
	return &VolumeSet{ID: label,
		Volumes:     []catalog.Volume{{Label: label, LabelType: catalog.Labeled, StoreID: "DS_PROD", Group: "VG_PROD_1", Timestamp: at}},
		TapeVolumes: []catalog.TapeVolume{{Volcat: `\PRIM.VCPROD`, Volser: label, Pool: "PROD_POOL1", Status: catalog.StatusAssigned, VolsetID: label, VolIndex: 1}},
		TapeFiles:   []catalog.TapeFile{{Filecat: `\PRIM.FCPROD`, FileID: "PAYROLL", Generation: i + 1, Created: at, Expiration: at.Truncate(24 * time.Hour)}},
	}
}

func write(t *testing.T, dir string, n, perSegment int) (Manifest, string) {
	t.Helper()
	w := NewWriter(dir, Manifest{ID: "s1", Store: "DS_PROD", Type: Full, ToSeq: 9}, perSegment)
	for i := 0; i < n; i++ {
		if _, err := w.Add(testSet(i)); err != nil {
			t.Fatal(err)
		}
	}
	m, digest, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return m, digest
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m, digest := write(t, dir, 7, 3)
	if len(m.Segments) != 3 || m.Counts["sets"] != 7 || m.Counts["tapefiles"] != 7 || m.Schema != SchemaVersion {
		t.Fatalf("manifest %+v", m)
	}
	got, d2, err := ReadManifest(dir, digest)
	if err != nil || d2 != digest || !reflect.DeepEqual(got.Segments, m.Segments) {
		t.Fatalf("read manifest: %v", err)
	}
	var sets []*VolumeSet
	for _, s := range m.Segments {
		if err := VerifySegment(dir, s); err != nil {
			t.Fatal(err)
		}
		if err := ReadSegment(dir, s, 0, func(_ int, v *VolumeSet) error { sets = append(sets, v); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range sets {
		if want := testSet(i); !reflect.DeepEqual(s, want) {
			t.Errorf("set %d:\n got %+v\nwant %+v", i, s, want)
		}
	}
	var keys []catalog.VolumeKey
	if err := ReadVolumeKeys(dir, m.Segments[1], func(k catalog.VolumeKey) { keys = append(keys, k) }); err != nil || len(keys) != 3 || keys[0].Label != "T00003" {
		t.Errorf("keys %v, %v", keys, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
	if _, _, err := ReadManifest(dir, strings.Repeat("0", 64)); err == nil {
		t.Error("a wrong manifest digest was accepted")
	}
}

func TestCorruptSegmentDetected(t *testing.T) {
	dir := t.TempDir()
	m, _ := write(t, dir, 4, 2)
	path := filepath.Join(dir, m.Segments[1].Name)
	b, _ := os.ReadFile(path)
	b[len(b)/2] ^= 0xff
	os.WriteFile(path, b, 0o644)
	var ce *CorruptError
	if err := VerifySegment(dir, m.Segments[1]); !errors.As(err, &ce) || ce.File != m.Segments[1].Name {
		t.Errorf("flipped byte: %v", err)
	}
	os.Remove(path)
	if err := VerifySegment(dir, m.Segments[1]); !errors.As(err, &ce) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing segment: %v", err)
	}
}

func TestDecodeHostileInput(t *testing.T) {
	header := "CATSYNC-SEGMENT 1\n"
	good := `{"id":"T00001"}` + "\n"
	for name, in := range map[string]string{
		"empty":        "",
		"other schema": "CATSYNC-SEGMENT 2\n" + good,
		"garbage":      "\x00\x01\x02",
		"truncated":    header + good + `{"id":"T00002"}`,
		"bad json":     header + good + "{not json\n",
		"unknown":      header + good + `{"id":"T1","surprise":1}` + "\n",
		"no id":        header + good + `{"volumes":[]}` + "\n",
	} {
		err := Decode(strings.NewReader(in), "seg-000001.jsonl", 0, func(int, *VolumeSet) error { return nil })
		var ce *CorruptError
		if !errors.As(err, &ce) || ce.File != "seg-000001.jsonl" {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if strings.HasPrefix(in, header+good) && ce.Offset != int64(len(header+good)) {
			t.Errorf("%s: offset %d, want %d", name, ce.Offset, len(header+good))
		}
	}
	// An oversized record is refused without being read whole.
	big := header + `{"id":"` + strings.Repeat("x", MaxSetBytes+10) + "\"}\n"
	err := Decode(bytes.NewReader([]byte(big)), "seg-000009.jsonl", 0, func(int, *VolumeSet) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "seg-000009.jsonl") {
		t.Errorf("oversized: %v", err)
	}
}

func TestResume(t *testing.T) {
	dir := t.TempDir()
	w := NewWriter(dir, Manifest{ID: "s1", Store: "DS_PROD", Type: Full}, 2)
	for i := 0; i < 4; i++ {
		w.Add(testSet(i))
	}
	done, counts := w.Done()
	w2 := NewWriter(dir, Manifest{ID: "s1", Store: "DS_PROD", Type: Full}, 2)
	if err := w2.Resume(done, counts); err != nil {
		t.Fatal(err)
	}
	w2.Add(testSet(4))
	m, _, err := w2.Close()
	if err != nil || len(m.Segments) != 3 || m.Counts["sets"] != 5 {
		t.Fatalf("resumed: %+v %v", m, err)
	}
	os.WriteFile(filepath.Join(dir, done[0].Name), []byte("damaged"), 0o644)
	if err := NewWriter(dir, Manifest{}, 2).Resume(done, counts); err == nil {
		t.Error("resumed over a damaged segment")
	}
}

func TestTransferAndChain(t *testing.T) {
	src, dst := Area{Root: t.TempDir()}, Area{Root: t.TempDir()}
	m, digest := write(t, src.Dir("DS PROD", "s1"), 4, 2)
	ref := Ref{Store: "DS PROD", ID: "s1", Digest: digest}
	if _, err := Transfer(src, dst, ref); err != nil {
		t.Fatal(err)
	}
	// A staged segment damaged later is copied again; the source stays.
	staged := filepath.Join(dst.Dir("DS PROD", "s1"), m.Segments[0].Name)
	os.WriteFile(staged, []byte("damaged"), 0o644)
	if _, err := Transfer(src, dst, ref); err != nil {
		t.Fatal(err)
	}
	if err := VerifySegment(dst.Dir("DS PROD", "s1"), m.Segments[0]); err != nil {
		t.Errorf("after a second transfer: %v", err)
	}
	// A damaged source fails, naming the segment, and stages no manifest.
	os.WriteFile(filepath.Join(src.Dir("DS PROD", "s1"), m.Segments[1].Name), []byte("damaged"), 0o644)
	dst2 := Area{Root: t.TempDir()}
	_, err := Transfer(src, dst2, ref)
	if err == nil || !strings.Contains(err.Error(), m.Segments[1].Name) {
		t.Errorf("corrupt source: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dst2.Dir("DS PROD", "s1"), ManifestFile)); err == nil {
		t.Error("a manifest was staged for an incomplete copy")
	}
	// The chain: FULL starts it, UPDATEs extend it, others are removed.
	for _, s := range []Manifest{{ID: "s1", Type: Full}, {ID: "u1", Type: Update}, {ID: "f2", Type: Full}, {ID: "u2", Type: Update}} {
		os.MkdirAll(dst.Dir("DS PROD", s.ID), 0o755)
		if err := dst.Record("DS PROD", s); err != nil {
			t.Fatal(err)
		}
	}
	chain, err := dst.Chain("DS PROD")
	if err != nil || strings.Join(chain, ",") != "f2,u2" {
		t.Errorf("chain %v, %v", chain, err)
	}
	for _, gone := range []string{"s1", "u1"} {
		if _, err := os.Stat(dst.Dir("DS PROD", gone)); err == nil {
			t.Errorf("snapshot %s kept after a newer FULL", gone)
		}
	}
	if d := dst.Dir("../x", "y/z"); filepath.Dir(filepath.Dir(d)) != dst.Root {
		t.Errorf("store and snapshot ids escape the staging area: %s", d)
	}
}
