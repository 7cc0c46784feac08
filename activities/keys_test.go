package activities

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/keys/keystore"
	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

func openKeystore(t *testing.T, path string) *keystore.Store {
	t.Helper()
	ks, err := keystore.Open(path, bytes.Repeat([]byte{5}, 32))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ks.Close() })
	return ks
}

// withKeys gives both sites a keystore: the primary's holds the key of
// every encrypted volume, as its drives filed them, and the secondary's
// the same material under the same names, as key replication copies them.
// It returns the encrypted volumes' key names by label.
func withKeys(t *testing.T, p *pair) map[string]string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	prim, sec := openKeystore(t, filepath.Join(dir, "prim.keys")), openKeystore(t, filepath.Join(dir, "secd.keys"))
	p.prim.Site.Keys, p.sec.Site.Keys = prim, sec
	names := map[string]string{}
	err := p.prim.Site.Catalog.ScanVolumes(ctx, store.Filter{StoreID: "DS_PROD"}, func(v *catalog.Volume) error {
		if v.MediaKeyName != "" {
			names[v.Label] = v.MediaKeyName
		}
		return nil
	})
	if err != nil || len(names) == 0 {
		t.Fatalf("%d encrypted volumes, %v", len(names), err)
	}
	for _, name := range names {
		info, err := prim.Create(ctx, "BPPRIM01", name)
		if err != nil {
			t.Fatal(err)
		}
		material, _ := prim.Material(ctx, info.ID)
		if _, err := sec.Register(ctx, "BPPRIM01", name, material); err != nil {
			t.Fatal(err)
		}
	}
	return names
}

// snapshotKeys reads the key records of a staged snapshot, by label.
func snapshotKeys(t *testing.T, p *pair, ref snapshot.Ref) (snapshot.Manifest, map[string]snapshot.Key) {
	t.Helper()
	staged, err := p.sec.Site.Staging.Open(ref)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]snapshot.Key{}
	for i := range staged.Manifest.Segments {
		if err := staged.ReadKeys(i, func(_ string, k *snapshot.Key) error {
			got[k.Label] = *k
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return staged.Manifest, got
}

func TestSnapshotRecordsKeysAndParityHolds(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, smallSite())
	names := withKeys(t, p)
	opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
	p.syncOnce(t, "full", snapshot.Full, opts)
	ref := snapshot.Ref{Store: "DS_PROD", ID: "full"}
	ref.Digest = manifestDigest(t, p, ref)
	m, got := snapshotKeys(t, p, ref)
	if !m.KeysRecorded || m.Counts["keys"] != int64(len(names)) || len(got) != len(names) {
		t.Fatalf("recorded %v, %d key records for %d encrypted volumes", m.KeysRecorded, m.Counts["keys"], len(names))
	}
	for label, name := range names {
		info, err := keys.Find(ctx, p.prim.Site.Keys, "BPPRIM01", name)
		if err != nil {
			t.Fatal(err)
		}
		want := snapshot.Key{Label: label, LabelType: catalog.Labeled, Name: name, State: keys.Active, Algorithm: "AES",
			Length: 256, Fingerprint: info.Fingerprint}
		if got[label] != want {
			t.Errorf("%s: recorded %+v, want %+v", label, got[label], want)
		}
	}
	r, err := p.sec.KeyParity(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed() || r.Volumes != len(names) || r.OK != len(names) || r.BackPakID != "BPPRIM01" {
		t.Errorf("parity %+v", r)
	}
}

func manifestDigest(t *testing.T, p *pair, ref snapshot.Ref) string {
	t.Helper()
	_, digest, err := snapshot.ReadManifest(p.sec.Site.Staging.Dir(ref.Store, ref.ID), "")
	if err != nil {
		t.Fatal(err)
	}
	return digest
}

// The parity activity reports a key deactivated at the secondary by its
// label and name; a secondary without a key manager is a configuration
// error naming the variable; a primary without one records names only.
func TestKeyParityActivity(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, smallSite())
	names := withKeys(t, p)
	var label string
	for l := range names {
		label = max(label, l)
	}
	info, _ := keys.Find(ctx, p.sec.Site.Keys, "BPPRIM01", names[label])
	if err := p.sec.Site.Keys.Deactivate(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	p.syncOnce(t, "full", snapshot.Full, importer.Options{StoreID: "DS_PROD", CatalogFiles: true})
	ref := snapshot.Ref{Store: "DS_PROD", ID: "full"}
	ref.Digest = manifestDigest(t, p, ref)
	r, err := p.sec.KeyParity(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 1 || r.ByProblem[parity.Inactive] != 1 || r.Findings[0].Label != label || r.Findings[0].Key != names[label] {
		t.Fatalf("parity %+v", r)
	}

	keysAtSecondary := p.sec.Site.Keys
	p.sec.Site.Keys = nil
	_, err = p.sec.KeyParity(ctx, ref)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != TypeConfig || !appErr.NonRetryable() || !strings.Contains(err.Error(), "CATSYNC_SECONDARY_KEYS") {
		t.Fatalf("without a key manager: %v", err)
	}

	p.sec.Site.Keys, p.prim.Site.Keys = keysAtSecondary, nil
	p.syncOnce(t, "names-only", snapshot.Full, importer.Options{StoreID: "DS_PROD", CatalogFiles: true})
	ref = snapshot.Ref{Store: "DS_PROD", ID: "names-only"}
	ref.Digest = manifestDigest(t, p, ref)
	if r, err = p.sec.KeyParity(ctx, ref); err != nil || r.ByProblem[parity.Unrecorded] != len(names)-1 {
		t.Fatalf("names only: %+v, %v", r, err)
	}
}

// Key records that disagree with the volumes make the snapshot malformed:
// the plan refuses it naming the record, before anything is written.
func TestKeyRecordsMustMatchVolumes(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, smallSite())
	var sets []*snapshot.VolumeSet
	for _, s := range primarySets(t, p, 20) {
		if len(s.Keys) > 0 {
			sets = append(sets, s)
		}
	}
	if len(sets) < 2 {
		t.Fatalf("%d sets with encrypted volumes", len(sets))
	}
	for _, tc := range []struct {
		name string
		edit func(s *snapshot.VolumeSet)
		want string
	}{
		{"other name", func(s *snapshot.VolumeSet) { s.Keys[0].Name = "K_OTHER" }, `KEY ` + sets[0].Keys[0].Label + `/LABELED: NAME "K_OTHER": must be the volume's MEDIAKEYNAME`},
		{"no record", func(s *snapshot.VolumeSet) { s.Keys = nil }, "MEDIAKEYNAME"},
		{"foreign label", func(s *snapshot.VolumeSet) { s.Keys[0].Label = "ZZZZZ9" }, "must be a volume of volume set " + sets[0].ID},
		{"twice", func(s *snapshot.VolumeSet) { s.Keys = append(s.Keys, s.Keys[0]) }, "must not repeat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := *sets[0]
			bad.Keys = append([]snapshot.Key(nil), sets[0].Keys...)
			tc.edit(&bad)
			ref := stage(t, p, strings.ReplaceAll(tc.name, " ", "-"), []*snapshot.VolumeSet{sets[1], &bad})
			_, err := p.sec.Plan(ctx, ImportInput{Ref: ref, Options: importer.Options{StoreID: "DS_PROD", CatalogFiles: true}, Groups: groups(t, p)})
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != TypeValidation || !strings.Contains(err.Error(), tc.want) ||
				!strings.Contains(err.Error(), "volume set "+sets[0].ID) {
				t.Fatalf("got %v, want a validation error saying %q", err, tc.want)
			}
		})
	}
}

// A staged segment edited after the transfer fails parity as corrupt,
// naming the file, rather than proving keys from altered records.
func TestKeyParityRefusesAnEditedSnapshot(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, smallSite())
	names := withKeys(t, p)
	p.syncOnce(t, "full", snapshot.Full, importer.Options{StoreID: "DS_PROD", CatalogFiles: true})
	ref := snapshot.Ref{Store: "DS_PROD", ID: "full"}
	ref.Digest = manifestDigest(t, p, ref)
	staged, err := p.sec.Site.Staging.OpenManifest(ref)
	if err != nil {
		t.Fatal(err)
	}
	var name string
	for _, n := range names {
		name = n
		break
	}
	edited := false
	for _, seg := range staged.Manifest.Segments {
		path := filepath.Join(staged.Dir, seg.Name)
		b, _ := os.ReadFile(path)
		if i := bytes.Index(b, []byte(name)); i >= 0 {
			b[i] ^= 1 // another key name of the same length
			os.WriteFile(path, b, 0o644)
			edited = true
		}
	}
	if !edited {
		t.Fatalf("key %s not found in the staged segments", name)
	}
	_, err = p.sec.KeyParity(ctx, ref)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != TypeCorrupt || !strings.Contains(err.Error(), "SHA-256") {
		t.Fatalf("got %v, want a corrupt-snapshot error", err)
	}
}
