package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
)

// asConfig asserts err is a *catalog.ConfigError whose message holds every
// want.
func asConfig(t *testing.T, what string, err error, want ...string) {
	t.Helper()
	var ce *catalog.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("%s: got %v (%T), want a configuration error", what, err, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: %q does not say %q", what, err, w)
		}
	}
}

// Every file a step reads from a staged snapshot, turned to garbage, is a
// *CorruptError naming it by its whole path, whichever reader meets it.
func TestStagedGarbageIsCorrupt(t *testing.T) {
	for _, file := range []string{ManifestFile, SegmentName(1), SegmentName(2)} {
		for name, content := range map[string]*string{"garbage": ptr("{\x00 not a snapshot file"), "empty": ptr(""), "missing": nil} {
			staging := Area{Root: t.TempDir(), Keys: testKeys}
			_, ref := exported(t, staging, "DS_PROD", "run-1", stagedSets(4), 2)
			path := filepath.Join(staging.Dir(ref.Store, ref.ID), file)
			if content == nil {
				os.Remove(path)
			} else if err := os.WriteFile(path, []byte(*content), 0o644); err != nil {
				t.Fatal(err)
			}
			what := name + " " + file
			st, err := staging.Open(ref)
			asCorrupt(t, what+", Open", err, file)
			if !strings.Contains(err.Error(), path) {
				t.Errorf("%s: %q does not name %s", what, err, path)
			}
			if name == "missing" && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s: %v does not wrap the missing file's error", what, err)
			}
			if file == ManifestFile {
				if st, err = staging.OpenManifest(ref); st != nil {
					t.Errorf("%s: OpenManifest succeeded", what)
				}
				asCorrupt(t, what+", OpenManifest", err, file)
				continue
			}
			if st, err = staging.OpenManifest(ref); err != nil {
				t.Fatalf("%s: OpenManifest: %v", what, err)
			}
			n := 0
			if file == SegmentName(2) {
				n = 1
			}
			for reader, err := range map[string]error{
				"ReadSegment": st.ReadSegment(n, 0, func(int, *VolumeSet) error { return nil }),
				"ReadKeys":    st.ReadKeys(n, func(string, *Key) error { return nil }),
				"VolumeKeys":  st.VolumeKeys(func(catalog.VolumeKey) {}),
			} {
				asCorrupt(t, what+", "+reader, err, file)
				if !strings.Contains(err.Error(), path) {
					t.Errorf("%s, %s: %q does not name %s", what, reader, err, path)
				}
			}
		}
	}
}

func ptr(s string) *string { return &s }

// A manifest without a schema version is corrupt; one of another version
// is a configuration error, which no copy can cure.
func TestManifestSchemaFaults(t *testing.T) {
	for _, c := range []struct {
		schema  int
		corrupt bool
	}{{0, true}, {-1, true}, {SchemaVersion + 1, false}} {
		dir := t.TempDir()
		m := fxManifest()
		m.Schema = c.schema
		_, _, err := ReadManifest(dir, writeManifest(t, dir, m))
		if c.corrupt {
			asCorrupt(t, "schema 0", err, ManifestFile)
		} else {
			asConfig(t, "a later schema", err, fmt.Sprintf("version %d", SchemaVersion+1), "run the same catsync release on both sites")
		}
	}
	dir := t.TempDir()
	m := fxManifest()
	m.Schema, m.Type = SchemaVersion, "WEEKLY"
	_, _, err := ReadManifest(dir, writeManifest(t, dir, m))
	asCorrupt(t, "type WEEKLY", err, ManifestFile)
}

// A source that is not the primary's outbox is a configuration error
// naming its variable, its path and what to do; a snapshot the outbox no
// longer holds is corruption that says so. Nothing is staged.
func TestTransferSourceFaults(t *testing.T) {
	for name, c := range map[string]struct {
		fault func(t *testing.T, src Area, ref Ref)
		want  []string // in a configuration error, or nil
		file  string   // the file of a *CorruptError
	}{
		"source missing": {func(t *testing.T, src Area, _ Ref) { os.RemoveAll(src.Root) },
			[]string{"does not exist", "mount the primary's outbox there, or set CATSYNC_SECONDARY_SOURCE to where it is mounted"}, ""},
		"source a file": {func(t *testing.T, src Area, _ Ref) {
			os.RemoveAll(src.Root)
			os.WriteFile(src.Root, nil, 0o644)
		}, []string{"is not a folder", "mount the primary's outbox there"}, ""},
		"source empty": {func(t *testing.T, src Area, _ Ref) {
			os.RemoveAll(src.Root)
			os.Mkdir(src.Root, 0o755)
		}, []string{"is empty, not the primary's outbox", "run-1 of DS_PROD"}, ""},
		"snapshot gone": {func(t *testing.T, src Area, ref Ref) { os.RemoveAll(src.Dir(ref.Store, ref.ID)) },
			[]string{"no longer holds snapshot run-1 of DS_PROD", "run the sync again"}, ManifestFile},
		"manifest gone": {func(t *testing.T, src Area, ref Ref) {
			os.Remove(filepath.Join(src.Dir(ref.Store, ref.ID), ManifestFile))
		},
			[]string{"missing: the primary's outbox", "no longer holds snapshot run-1"}, ManifestFile},
	} {
		src, dst := outboxAndStaging(t)
		src.Env, dst.Env = "CATSYNC_SECONDARY_SOURCE", "CATSYNC_SECONDARY_STAGING"
		_, ref := exported(t, src, "DS_PROD", "run-1", fxSets(0, 4), 2)
		exported(t, src, "DS_TEST", "other", fxSets(0, 1), 1) // the outbox is not empty without run-1
		c.fault(t, src, ref)
		_, err := Transfer(src, dst, ref, Applied{})
		if c.file != "" {
			asCorrupt(t, name, err, c.file)
			for _, w := range append(c.want, src.Dir(ref.Store, ref.ID)) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: %q does not say %q", name, err, w)
				}
			}
		} else {
			asConfig(t, name, err, append(c.want, "CATSYNC_SECONDARY_SOURCE="+src.Root)...)
		}
		if exists(dst.Dir(ref.Store, ref.ID)) {
			t.Errorf("%s: something was staged", name)
		}
	}
}

// A staging area that cannot hold files is a configuration error naming
// its variable; the first transfer once it is repaired succeeds.
func TestTransferStagingFaults(t *testing.T) {
	for name, blocked := range map[string]func(Area) string{
		"staging a file":         func(dst Area) string { return dst.Root },
		"store folder a file":    func(dst Area) string { return dst.storeDir("DS_PROD") },
		"parent of staging file": func(dst Area) string { return filepath.Dir(dst.Root) },
	} {
		src, dst := outboxAndStaging(t)
		dst.Root = filepath.Join(dst.Root, "area")
		dst.Env = "CATSYNC_SECONDARY_STAGING"
		_, ref := exported(t, src, "DS_PROD", "run-1", fxSets(0, 4), 2)
		file := blocked(dst)
		os.RemoveAll(file)
		os.MkdirAll(filepath.Dir(file), 0o755)
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Transfer(src, dst, ref, Applied{})
		asConfig(t, name, err, "CATSYNC_SECONDARY_STAGING="+dst.Root, "cannot be written", "not a directory", "point it at a writable folder")
		os.Remove(file)
		if _, err := Transfer(src, dst, ref, Applied{}); err != nil {
			t.Errorf("%s: transfer once repaired: %v", name, err)
		}
	}
	// Recording in such an area is refused the same way.
	a := Area{Root: filepath.Join(t.TempDir(), "staging"), Env: "CATSYNC_SECONDARY_STAGING", Keys: testKeys}
	os.WriteFile(a.Root, nil, 0o644)
	asConfig(t, "record", a.Record("DS_PROD", Manifest{ID: "f1", Type: Full}), "CATSYNC_SECONDARY_STAGING="+a.Root)
	asConfig(t, "keep", a.Keep("DS_PROD", "f1"), "CATSYNC_SECONDARY_STAGING="+a.Root)
}

// Permissions are for the operator to repair while the step retries: a
// source that cannot be read is neither corrupt nor misconfigured.
func TestTransferUnreadableSourceIsRetried(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("permissions do not bind root")
	}
	src, dst := outboxAndStaging(t)
	_, ref := exported(t, src, "DS_PROD", "run-1", fxSets(0, 4), 2)
	seg := filepath.Join(src.Dir(ref.Store, ref.ID), SegmentName(1))
	if err := os.Chmod(seg, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(seg, 0o644) })
	_, err := Transfer(src, dst, ref, Applied{})
	if err == nil || errors.As(err, new(*CorruptError)) || errors.As(err, new(*catalog.ConfigError)) ||
		!errors.Is(err, fs.ErrPermission) {
		t.Errorf("transfer of an unreadable segment: %v (%T), want the permission error itself", err, err)
	}
	os.Chmod(seg, 0o644)
	if _, err := Transfer(src, dst, ref, Applied{}); err != nil {
		t.Errorf("transfer once readable: %v", err)
	}
}
