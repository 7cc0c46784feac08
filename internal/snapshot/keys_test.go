package snapshot

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
)

// A staged segment edited after it was written is refused by the key
// readers once read, even when every line still decodes.
func TestKeyReadersCheckTheDigest(t *testing.T) {
	sets := fxSets(0, 4)
	sets[0].Keys = []Key{{Label: sets[0].Volumes[0].Label, LabelType: catalog.Labeled, Name: "KEYAAAA", Fingerprint: "kcv:00"}}
	dir, seg := stageSegment(t, sets)
	if err := ReadKeys(dir, seg, func(string, *Key) error { return nil }); err != nil {
		t.Fatalf("intact segment: %v", err)
	}
	path := filepath.Join(dir, seg.Name)
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(b, []byte("KEYAAAA"), []byte("KEYBBBB"), 1), 0o644)
	var ce *CorruptError
	err := ReadKeys(dir, seg, func(string, *Key) error { return nil })
	if !errors.As(err, &ce) || ce.File != seg.Name || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("ReadKeys of an edited segment: %v", err)
	}
	err = ReadVolumeKeys(dir, seg, func(catalog.VolumeKey) {})
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("ReadVolumeKeys of an edited segment: %v", err)
	}
}
