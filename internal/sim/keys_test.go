package sim

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
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

// keyed simulates a primary whose encrypted writes file their keys.
func keyed(t *testing.T) (store.Store, *keystore.Store, map[string]string) {
	t.Helper()
	ctx := context.Background()
	km := openKeys(t)
	st := openSite(t, "primary.db")
	p := DefaultParams()
	p.Volumes, p.Days, p.BackupsPerDay = 60, 10, 6
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
// names an active AES-256 key filed under the site's BackPak id.
func TestWritesFileTheirKeys(t *testing.T) {
	_, km, names := keyed(t)
	found, err := km.Lookup(context.Background(), "BPPRIM01", values(names))
	must(t, err)
	for label, name := range names {
		k, ok := found[name]
		if !ok || k.State != keys.Active || k.Algorithm != "AES" || k.Length != 256 || k.Group != "BPPRIM01" {
			t.Errorf("volume %s: key %s is %+v (found %v)", label, name, k, ok)
		}
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

// A label that is not an encrypted volume is refused before anything is
// copied; a key the primary lost is reported, not fatal.
func TestReplicateKeysRefusesUnknownLabels(t *testing.T) {
	ctx := context.Background()
	st, from, names := keyed(t)
	to := openKeys(t)
	_, err := ReplicateKeys(ctx, st, from, to, KeyReplication{Deactivate: []string{"ZZZ999"}})
	if err == nil || !strings.Contains(err.Error(), "label ZZZ999: not an encrypted volume") {
		t.Fatalf("got %v", err)
	}
	if got, _ := to.Lookup(ctx, "BPPRIM01", values(names)); len(got) != 0 {
		t.Fatalf("%d keys copied before the refusal", len(got))
	}
	empty := openKeys(t)
	res, err := ReplicateKeys(ctx, st, empty, to, KeyReplication{})
	if err != nil || len(res.MissingAtPrimary) != len(names) || res.Replicated != 0 {
		t.Fatalf("%+v, %v", res, err)
	}
}
