package sim

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/keys/keystore"
	"github.com/catsync/catsync/internal/store"
)

func openKeys(t *testing.T) *keystore.Store {
	t.Helper()
	ks, err := keystore.Open(filepath.Join(t.TempDir(), "keys.log"), bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ks.Close() })
	return ks
}

// encrypted lists the media key names of a site's volumes by label.
func encrypted(t *testing.T, st store.Reader) (map[string]string, int) {
	t.Helper()
	names, all := map[string]string{}, 0
	must(t, st.ScanVolumes(context.Background(), store.Filter{}, func(v *catalog.Volume) error {
		all++
		if v.MediaKeyName != "" {
			names[v.Label] = v.MediaKeyName
		}
		return nil
	}))
	return names, all
}

// filing is a real keystore that also remembers every name it was asked
// to create, so that a test sees what the simulator filed.
type filing struct {
	*keystore.Store
	created []string
}

func (f *filing) Create(ctx context.Context, group, name string) (keys.Info, error) {
	f.created = append(f.created, name)
	return f.Store.Create(ctx, group, name)
}

// keyed simulates a primary whose encrypted writes file their keys.
// Without defective tapes no volume is deleted, so every key's label is
// still in the catalog.
func keyed(t *testing.T) (store.Store, *filing, map[string]string) {
	t.Helper()
	ctx := context.Background()
	km := &filing{Store: openKeys(t)}
	st := openSite(t, "primary.db")
	p := DefaultParams()
	p.Volumes, p.Days, p.BackupsPerDay, p.BadPercent = 60, 10, 6, 0
	must(t, Init(ctx, st, p, km))
	must(t, Advance(ctx, st, 2, km))
	names, all := encrypted(t, st)
	if len(names) == 0 || len(names) == all {
		t.Fatalf("%d encrypted volumes of %d: want some of each", len(names), all)
	}
	return st, km, names
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// Every encrypted volume's media key name, written by Init or Advance,
// names an active AES-256 key filed under the site's BackPak id; writes
// to unencrypted groups file none.
func TestWritesFileTheirKeys(t *testing.T) {
	ctx := context.Background()
	st, km, names := keyed(t)
	found, err := km.Lookup(ctx, "BPPRIM01", values(names))
	must(t, err)
	for label, name := range names {
		k, ok := found[name]
		if !ok || k.State != keys.Active || k.Algorithm != "AES" || k.Length != 256 || k.Group != "BPPRIM01" {
			t.Errorf("volume %s: key %s is %+v (found %v)", label, name, k, ok)
		}
	}
	// Each rewrite files a new key, so there are more keys than volumes,
	// each filed, each for a volume of an encrypted group.
	if all, err := km.Lookup(ctx, "BPPRIM01", km.created); err != nil || len(all) != len(km.created) || len(all) <= len(names) {
		t.Errorf("%d keys created, %d filed, for %d encrypted volumes (%v)", len(km.created), len(all), len(names), err)
	}
	encryptedGroup := map[string]bool{}
	must(t, st.ScanVolumeGroups(ctx, func(g *catalog.VolumeGroup) error {
		encryptedGroup[g.Name] = g.Encrypted
		return nil
	}))
	group, plainWrites := map[string]string{}, 0
	must(t, st.ScanVolumes(ctx, store.Filter{}, func(v *catalog.Volume) error {
		group[v.Label] = v.Group
		if !encryptedGroup[v.Group] && v.DataPath != "" {
			plainWrites++
		}
		return nil
	}))
	if plainWrites == 0 {
		t.Fatal("no volume of an unencrypted group was written")
	}
	for _, name := range km.created {
		// A media key name is N, the node's hash in 8 hex digits, the label.
		if label := name[9:15]; !encryptedGroup[group[label]] {
			t.Errorf("key %s filed for volume %s of group %q", name, label, group[label])
		}
	}
}

// A key manager that fails fails the day, naming the volume and its key;
// the day is not simulated.
func TestKeyManagerErrorFailsTheDay(t *testing.T) {
	ctx := context.Background()
	km := openKeys(t)
	st := openSite(t, "primary.db")
	p := DefaultParams()
	p.Volumes, p.Days = 30, 0
	must(t, Init(ctx, st, p, km))
	km.Close()
	err := Advance(ctx, st, 1, km)
	if err == nil || !regexp.MustCompile(`volume T\d{5}: file its key N\w+T\d{5}\w+ under BackPak id BPPRIM01: `).MatchString(err.Error()) {
		t.Fatalf("got %v", err)
	}
	if clock, err := Clock(ctx, st); err != nil || !clock.Equal(p.Start) {
		t.Errorf("clock %v (%v) after the failed day, want %v", clock, err, p.Start)
	}
	if names, _ := encrypted(t, st); len(names) != 0 {
		t.Errorf("%d volumes record a key after the failed day", len(names))
	}
}

func TestSecondaryKeyManagerEntry(t *testing.T) {
	ctx := context.Background()
	prim := newPrimary(t, DefaultParams())
	for _, tc := range []struct {
		id, server string
		want       []catalog.KeyManagerEntry
	}{
		{"", "", []catalog.KeyManagerEntry{{BackPakID: "BPPRIM01", Server: "kms.secd:5696"}}},
		{"BPWRONG", "eskm2:5696", []catalog.KeyManagerEntry{{BackPakID: "BPWRONG", Server: "eskm2:5696"}}},
		{NoKeyManager, "", nil},
	} {
		sec := openSite(t, "secondary-"+tc.id+".db")
		sp := DefaultSecondaryParams()
		sp.KeyManagerID, sp.KeyManagerServer = tc.id, tc.server
		must(t, InitSecondary(ctx, sec, prim, sp, nil))
		site, err := sec.Site(ctx)
		must(t, err)
		if !reflect.DeepEqual(site.KeyManagers, tc.want) {
			t.Errorf("id %q: entries %v, want %v", tc.id, site.KeyManagers, tc.want)
		}
	}
}

func TestReplicateKeys(t *testing.T) {
	ctx := context.Background()
	st, from, names := keyed(t)
	to := openKeys(t)
	labels := slices.Sorted(func(yield func(string) bool) {
		for l := range names {
			if !yield(l) {
				return
			}
		}
	})
	omit, deact, alter := labels[0], labels[1], labels[2]
	res, err := ReplicateKeys(ctx, st, from, to, KeyReplication{Omit: []string{omit}, Deactivate: []string{deact}, Alter: []string{alter}})
	must(t, err)
	n := len(names)
	if want := (KeyReplicationResult{Replicated: n - 1, Omitted: 1, Deactivated: 1, Altered: 1}); !reflect.DeepEqual(res, want) {
		t.Errorf("result %+v, want %+v", res, want)
	}
	src, err := from.Lookup(ctx, "BPPRIM01", values(names))
	must(t, err)
	dst, err := to.Lookup(ctx, "BPPRIM01", values(names))
	must(t, err)
	for label, name := range names {
		s, d := src[name], dst[name]
		switch label {
		case omit:
			if d.ID != "" {
				t.Errorf("%s: omitted key copied", label)
			}
		case deact:
			if d.State != keys.Deactivated || d.Fingerprint != s.Fingerprint {
				t.Errorf("%s: %+v, want the same key deactivated", label, d)
			}
		case alter:
			if d.State != keys.Active || d.Fingerprint == s.Fingerprint {
				t.Errorf("%s: %+v, want other material", label, d)
			}
		default:
			if d.State != keys.Active || d.Fingerprint != s.Fingerprint || d.Name != s.Name {
				t.Errorf("%s: copy %+v of %+v", label, d, s)
			}
		}
	}
	// A re-run copies only what is new: here the omitted key.
	res, err = ReplicateKeys(ctx, st, from, to, KeyReplication{})
	must(t, err)
	if want := (KeyReplicationResult{Replicated: 1, Present: n - 1}); !reflect.DeepEqual(res, want) {
		t.Errorf("re-run %+v, want %+v", res, want)
	}
	// Misfiled: the copies go under another BackPak id.
	other := openKeys(t)
	_, err = ReplicateKeys(ctx, st, from, other, KeyReplication{As: "BPSECD01"})
	must(t, err)
	if got, _ := other.Lookup(ctx, "BPPRIM01", values(names)); len(got) != 0 {
		t.Errorf("%d keys under the primary's id", len(got))
	}
	if got, _ := other.Lookup(ctx, "BPSECD01", values(names)); len(got) != n {
		t.Errorf("%d of %d keys under BPSECD01", len(got), n)
	}
}

// A label that is not an encrypted volume, or an unknown data store, is
// refused before anything is copied; a key the primary lost is reported,
// not fatal.
func TestReplicateKeysRefusesUnknownLabels(t *testing.T) {
	ctx := context.Background()
	st, from, names := keyed(t)
	to := openKeys(t)
	var plain string // a volume of an unencrypted group
	must(t, st.ScanVolumes(ctx, store.Filter{}, func(v *catalog.Volume) error {
		if v.MediaKeyName == "" {
			plain = v.Label
		}
		return nil
	}))
	for _, opts := range []KeyReplication{{Omit: []string{"ZZZ999"}}, {Deactivate: []string{plain}}, {Alter: []string{"ZZZ999"}},
		{Store: "DS_NONE"}} {
		_, err := ReplicateKeys(ctx, st, from, to, opts)
		want := "not an encrypted volume of the primary"
		if opts.Store != "" {
			want = "data store DS_NONE: "
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: got %v, want %q", opts, err, want)
		}
	}
	if got, _ := to.Lookup(ctx, "BPPRIM01", values(names)); len(got) != 0 {
		t.Fatalf("%d keys copied before the refusal", len(got))
	}
	empty := openKeys(t)
	res, err := ReplicateKeys(ctx, st, empty, to, KeyReplication{})
	if err != nil || len(res.MissingAtPrimary) != len(names) || res.Replicated != 0 {
		t.Fatalf("%+v, %v", res, err)
	}
	for _, m := range res.MissingAtPrimary {
		if names[m.Label] != m.Key {
			t.Errorf("missing at the primary: %+v, but the volume's key is %s", m, names[m.Label])
		}
	}
}

// A day replayed after its transaction failed draws the same key names
// (the day seeds the random source): the keys its first attempt filed are
// taken over, not refused. Two identical sites sharing a key manager
// replay each other's days.
func TestReplayedDayTakesOverItsKeys(t *testing.T) {
	ctx := context.Background()
	km := openKeys(t)
	p := DefaultParams()
	p.Volumes, p.Days = 30, 0
	a, b := openSite(t, "a"), openSite(t, "b")
	must(t, Init(ctx, a, p, km))
	must(t, Init(ctx, b, p, km))
	must(t, Advance(ctx, a, 2, km))
	must(t, Advance(ctx, b, 2, km))
	names, _ := encrypted(t, b)
	found, err := km.Lookup(ctx, "BPPRIM01", values(names))
	must(t, err)
	if len(names) == 0 || len(found) != len(names) {
		t.Errorf("%d of %d keys found", len(found), len(names))
	}
}
