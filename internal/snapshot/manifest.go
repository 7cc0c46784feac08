package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/catsync/catsync/internal/catalog"
)

// ReadManifest reads dir's manifest and checks its digest (unless want is
// empty) and schema version.
func ReadManifest(dir, want string) (Manifest, string, error) {
	m, _, got, err := readManifest(dir, want)
	return m, got, err
}

// readManifest also returns the bytes it checked, so that a copy writes
// exactly those. A missing manifest is a *CorruptError (a copy without
// one is incomplete); one that cannot be read for another reason (its
// permissions, an I/O error) is not, so that a retry can read it once the
// fault is gone.
func readManifest(dir, want string) (Manifest, []byte, string, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, nil, "", &CorruptError{File: ManifestFile, Dir: dir, Reason: "missing", Err: err}
	}
	if err != nil {
		return Manifest{}, nil, "", fmt.Errorf("read manifest: %w", err)
	}
	m, got, err := parseManifest(b, want)
	return m, b, got, inDir(dir, err)
}

// parseManifest checks the bytes of a manifest: their SHA-256 against want
// (unless want is empty), then that they decode, are of a schema version
// this catsync reads and of a type it knows, and name each segment by a
// plain file name starting "seg-", so that no segment lies outside the
// snapshot's directory. It returns the digest it computed, with any error.
// Another schema version is a configuration error, not corruption: the
// sites run different catsync releases, and copying again cannot help.
func parseManifest(b []byte, want string) (Manifest, string, error) {
	var m Manifest
	got := sum(b)
	if want != "" && got != want {
		return m, got, &CorruptError{File: ManifestFile, Reason: fmt.Sprintf("digest %s, want %s", got[:12], short(want))}
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, got, &CorruptError{File: ManifestFile, Reason: err.Error()}
	}
	if m.Schema <= 0 {
		return m, got, &CorruptError{File: ManifestFile, Reason: fmt.Sprintf("schema version %d: not a catsync manifest", m.Schema)}
	}
	if m.Schema < MinSchemaVersion || m.Schema > SchemaVersion {
		return m, got, catalog.ConfigErrorf("snapshot %s has schema version %d; this catsync reads versions %s: run the same catsync release on both sites",
			m.ID, m.Schema, readVersions())
	}
	if m.Type != Full && m.Type != Update {
		return m, got, &CorruptError{File: ManifestFile, Reason: fmt.Sprintf("type %q, want %s or %s", m.Type, Full, Update)}
	}
	for _, s := range m.Segments {
		if s.Name != filepath.Base(s.Name) || !strings.HasPrefix(s.Name, "seg-") {
			return m, got, &CorruptError{File: ManifestFile, Reason: fmt.Sprintf("segment name %q", s.Name)}
		}
	}
	return m, got, nil
}
