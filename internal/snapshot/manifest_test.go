package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeManifest writes m as dir's manifest.json and returns its digest.
func writeManifest(t *testing.T, dir string, m any) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return sum(b)
}

func TestReadManifestWrongDigest(t *testing.T) {
	dir := t.TempDir()
	_, digest := writeSets(t, dir, fxSets(0, 2), 2)
	for _, want := range []string{strings.Repeat("0", 64), digest[:63] + "x", "short", strings.ToUpper(digest) + "0"} {
		_, got, err := ReadManifest(dir, want)
		asCorrupt(t, "digest "+want, err, ManifestFile)
		if got != digest {
			t.Errorf("digest returned with the error %s, want the actual %s", got, digest)
		}
	}
	// A manifest changed by one byte no longer matches its digest.
	path := filepath.Join(dir, ManifestFile)
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(b, []byte(`"to_seq": 4711`), []byte(`"to_seq": 4712`), 1), 0o644)
	_, _, err := ReadManifest(dir, digest)
	asCorrupt(t, "edited manifest", err, ManifestFile)
}

func TestReadManifestSchemaVersion(t *testing.T) {
	for v := MinSchemaVersion; v <= SchemaVersion; v++ {
		dir := t.TempDir()
		m := fxManifest()
		m.Schema = v
		if _, _, err := ReadManifest(dir, writeManifest(t, dir, m)); err != nil {
			t.Errorf("schema %d: %v", v, err)
		}
	}
	for _, v := range []int{0, SchemaVersion + 1, 17, -1} {
		dir := t.TempDir()
		m := fxManifest()
		m.Schema = v
		digest := writeManifest(t, dir, m)
		for _, want := range []string{digest, ""} {
			_, _, err := ReadManifest(dir, want)
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("version %d", v)) {
				t.Errorf("schema %d: %v", v, err)
			}
		}
	}
}

func TestReadManifestRefusesBadSegmentNames(t *testing.T) {
	for _, name := range []string{"../x", "../seg-000001.jsonl", "seg-1/../../x", "sub/seg-000001.jsonl",
		"/etc/seg-000001.jsonl", "..", "", "x.jsonl", "manifest.json", "./seg-000001.jsonl"} {
		dir := t.TempDir()
		m := fxManifest()
		m.Schema = SchemaVersion
		m.Segments = []Segment{{Name: SegmentName(1), SHA256: strings.Repeat("a", 64), Bytes: 1, Sets: 1}, {Name: name, Sets: 1}}
		digest := writeManifest(t, dir, m)
		_, _, err := ReadManifest(dir, digest)
		asCorrupt(t, fmt.Sprintf("segment name %q", name), err, ManifestFile)
	}
}

func TestReadManifestMissingOrMalformed(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := ReadManifest(dir, ""); err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing manifest: %v", err)
	}
	for _, content := range []string{"", "{", "[]", `{"schema":"1"}`, "\x00\xff"} {
		os.WriteFile(filepath.Join(dir, ManifestFile), []byte(content), 0o644)
		_, _, err := ReadManifest(dir, sum([]byte(content)))
		asCorrupt(t, fmt.Sprintf("manifest %q", content), err, ManifestFile)
	}
}
