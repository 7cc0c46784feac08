package snapshot

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ReadManifest reads dir's manifest and checks its digest (unless want is
// empty) and schema version.
func ReadManifest(dir, want string) (Manifest, string, error) {
	m, _, got, err := readManifest(dir, want)
	return m, got, err
}

// readManifest also returns the bytes it checked, so that a copy writes
// exactly those.
func readManifest(dir, want string) (Manifest, []byte, string, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return Manifest{}, nil, "", fmt.Errorf("read manifest: %w", err)
	}
	m, got, err := parseManifest(b, want)
	return m, b, got, err
}

// parseManifest checks the bytes of a manifest: their SHA-256 against want
// (unless want is empty), then that they decode, are of this schema
// version, and name each segment by a plain file name starting "seg-", so
// that no segment lies outside the snapshot's directory. It returns the
// digest it computed, with any error.
func parseManifest(b []byte, want string) (Manifest, string, error) {
	var m Manifest
	got := sum(b)
	if want != "" && got != want {
		return m, got, &CorruptError{File: ManifestFile, Reason: fmt.Sprintf("digest %s, want %s", got[:12], short(want))}
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, got, &CorruptError{File: ManifestFile, Reason: err.Error()}
	}
	if m.Schema != SchemaVersion {
		return m, got, fmt.Errorf("snapshot %s has schema version %d; this catsync reads version %d", m.ID, m.Schema, SchemaVersion)
	}
	for _, s := range m.Segments {
		if s.Name != filepath.Base(s.Name) || !strings.HasPrefix(s.Name, "seg-") {
			return m, got, &CorruptError{File: ManifestFile, Reason: fmt.Sprintf("segment name %q", s.Name)}
		}
	}
	return m, got, nil
}
