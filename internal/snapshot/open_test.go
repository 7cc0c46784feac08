package snapshot

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys"
)

// stagedSets are fixture sets whose encrypted volumes carry their key
// records, as a primary with a key manager exports them.
func stagedSets(n int) []*VolumeSet {
	sets := fxSets(0, n)
	for _, s := range sets {
		for _, v := range s.Volumes {
			if v.MediaKeyName != "" {
				s.Keys = append(s.Keys, Key{Label: v.Label, LabelType: v.LabelType, Name: v.MediaKeyName,
					State: keys.Active, Algorithm: "AES", Length: 256, Fingerprint: "kcv:" + v.Label})
			}
		}
	}
	return sets
}

// opener is Area.Open or Area.OpenManifest.
type opener struct {
	name string
	open func(Area, Ref) (*Staged, error)
}

var openers = []opener{{"Open", Area.Open}, {"OpenManifest", Area.OpenManifest}}

func TestOpenGoodSnapshot(t *testing.T) {
	staging := Area{Root: t.TempDir(), Keys: testKeys}
	sets := stagedSets(7)
	m, ref := exported(t, staging, "DS PROD/1", "run-1", sets, 3)
	for _, o := range openers {
		st, err := o.open(staging, ref)
		if err != nil {
			t.Fatalf("%s: %v", o.name, err)
		}
		if st.Dir != staging.Dir(ref.Store, ref.ID) || !reflect.DeepEqual(st.Manifest, m) {
			t.Errorf("%s: %+v, want the manifest %+v in %s", o.name, st, m, staging.Dir(ref.Store, ref.ID))
		}
	}
	st, err := staging.Open(ref)
	if err != nil {
		t.Fatal(err)
	}

	// ReadSegment, from a set index on: indices stay those of the segment.
	var ids []string
	var idx []int
	if err := st.ReadSegment(1, 1, func(i int, s *VolumeSet) error {
		idx, ids = append(idx, i), append(ids, s.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{sets[4].ID, sets[5].ID}; !reflect.DeepEqual(ids, want) || !reflect.DeepEqual(idx, []int{1, 2}) {
		t.Errorf("segment 1 from set 1: %v at %v, want %v at [1 2]", ids, idx, want)
	}

	// The key records, segment by segment, and the volume keys of all.
	var records, wantRecords []Key
	var vols, wantVols []catalog.VolumeKey
	for _, s := range sets {
		wantRecords = append(wantRecords, s.Keys...)
		for i := range s.Volumes {
			wantVols = append(wantVols, s.Volumes[i].Key())
		}
	}
	for i := range m.Segments {
		if err := st.ReadKeys(i, func(set string, k *Key) error {
			records = append(records, *k)
			return nil
		}); err != nil {
			t.Fatalf("key records of segment %d: %v", i, err)
		}
	}
	if len(wantRecords) == 0 || !reflect.DeepEqual(records, wantRecords) {
		t.Errorf("key records\n got %v\nwant %v", records, wantRecords)
	}
	if err := st.VolumeKeys(func(k catalog.VolumeKey) { vols = append(vols, k) }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(vols, wantVols) {
		t.Errorf("volume keys\n got %v\nwant %v", vols, wantVols)
	}

	// A segment index outside the manifest is an error, not a panic.
	for _, i := range []int{-1, len(m.Segments)} {
		if err := st.ReadSegment(i, 0, func(int, *VolumeSet) error { return nil }); err == nil {
			t.Errorf("ReadSegment(%d) of %d segments succeeded", i, len(m.Segments))
		}
		if err := st.ReadKeys(i, func(string, *Key) error { return nil }); err == nil {
			t.Errorf("ReadKeys(%d) of %d segments succeeded", i, len(m.Segments))
		}
	}
}

// Both refuse a manifest that is not the one the reference names, before
// anything else is read.
func TestOpenRefusesTheWrongManifest(t *testing.T) {
	staging := Area{Root: t.TempDir(), Keys: testKeys}
	_, ref := exported(t, staging, "DS_PROD", "run-1", fxSets(0, 4), 2)
	_, other := exported(t, staging, "DS_TEST", "run-1", fxSets(0, 4), 2)
	for _, c := range []struct {
		name   string
		ref    Ref
		reason string
	}{
		{"wrong digest", Ref{Store: ref.Store, ID: ref.ID, Digest: strings.Repeat("0", 64)}, "digest " + ref.Digest[:12]},
		{"digest of another snapshot", Ref{Store: ref.Store, ID: ref.ID, Digest: other.Digest}, "want " + other.Digest[:12]},
	} {
		for _, o := range openers {
			st, err := o.open(staging, c.ref)
			ce := asCorrupt(t, o.name+", "+c.name, err, ManifestFile)
			if st != nil || !strings.Contains(ce.Reason, c.reason) {
				t.Errorf("%s, %s: %v, %v; want a reason with %q", o.name, c.name, st, err, c.reason)
			}
		}
	}
	for _, o := range openers {
		bad := ref
		bad.Digest = ""
		if st, err := o.open(staging, bad); st != nil || err == nil || !strings.Contains(err.Error(), "no manifest digest") {
			t.Errorf("%s of a reference without a digest: %v, %v", o.name, st, err)
		}
		bad = ref
		bad.ID = "run-9"
		if st, err := o.open(staging, bad); st != nil || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s of a snapshot not staged: %v, %v", o.name, st, err)
		}
	}
}

// Open refuses a damaged or missing segment, naming it; OpenManifest reads
// no segment, and its readers refuse the damage in their own pass.
func TestOpenChecksEverySegment(t *testing.T) {
	for name, damage := range map[string]func(string) error{
		"corrupted":       func(p string) error { return flipByte(p, 200) },
		"missing":         os.Remove,
		"replaced by dir": func(p string) error { os.Remove(p); return os.Mkdir(p, 0o755) },
	} {
		t.Run(name, func(t *testing.T) {
			staging := Area{Root: t.TempDir(), Keys: testKeys}
			m, ref := exported(t, staging, "DS_PROD", "run-1", stagedSets(6), 2)
			bad := m.Segments[2].Name
			if err := damage(filepath.Join(staging.Dir(ref.Store, ref.ID), bad)); err != nil {
				t.Fatal(err)
			}
			st, err := staging.Open(ref)
			asCorrupt(t, "Open", err, bad)
			if st != nil {
				t.Errorf("Open returned %+v with its error", st)
			}
			if name == "missing" && !strings.Contains(err.Error(), "missing") {
				t.Errorf("Open of a missing segment: %v", err)
			}

			st, err = staging.OpenManifest(ref)
			if err != nil {
				t.Fatalf("OpenManifest: %v", err)
			}
			for i := range 2 {
				if err := st.ReadKeys(i, func(string, *Key) error { return nil }); err != nil {
					t.Errorf("key records of intact segment %d: %v", i, err)
				}
			}
			asCorrupt(t, "ReadKeys", st.ReadKeys(2, func(string, *Key) error { return nil }), bad)
			asCorrupt(t, "VolumeKeys", st.VolumeKeys(func(catalog.VolumeKey) {}), bad)
		})
	}
}
