// Package keytest is the test suite every keys.Manager must pass: the
// embedded keystore and the KMIP adapter run the same one.
package keytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/catsync/catsync/internal/keys"
)

// Run runs the suite; open returns a new, empty key manager for each test
// (two calls give two independent key managers).
func Run(t *testing.T, open func(t *testing.T) keys.Manager) {
	ctx := context.Background()
	t.Run("create and look up", func(t *testing.T) {
		m := open(t)
		info, err := m.Create(ctx, "BPPRIM01", "N7566B3CCT00001_BPPRIM01_2603022200")
		if err != nil {
			t.Fatal(err)
		}
		got, err := keys.Find(ctx, m, "BPPRIM01", info.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != info.ID || got.State != keys.Active || got.Algorithm != "AES" || got.Length != 256 || got.Group != "BPPRIM01" {
			t.Errorf("found %+v, created %+v", got, info)
		}
		material, err := m.Material(ctx, info.ID)
		if err != nil || len(material) != 32 {
			t.Fatalf("material: %d bytes, %v", len(material), err)
		}
		if kcv, _ := keys.CheckValue(material); got.Fingerprint != kcv {
			t.Errorf("fingerprint %s, want the check value of the material %s", got.Fingerprint, kcv)
		}
	})
	t.Run("names live within their BackPak id", func(t *testing.T) {
		m := open(t)
		if _, err := m.Create(ctx, "BPPRIM01", "K1"); err != nil {
			t.Fatal(err)
		}
		if _, err := keys.Find(ctx, m, "BPOTHER1", "K1"); !errors.Is(err, keys.ErrNotFound) {
			t.Errorf("K1 found under another BackPak id: %v", err)
		}
		if _, err := m.Create(ctx, "BPOTHER1", "K1"); err != nil {
			t.Errorf("the same name under another BackPak id: %v", err)
		}
		if _, err := m.Create(ctx, "BPPRIM01", "K1"); err == nil {
			t.Error("a second K1 under BPPRIM01 was accepted")
		}
	})
	t.Run("lookup in one batch", func(t *testing.T) {
		m := open(t)
		var names []string
		for i := 0; i < 50; i++ {
			names = append(names, fmt.Sprintf("K%03d", i))
			if i%5 != 0 {
				if _, err := m.Create(ctx, "BPPRIM01", names[i]); err != nil {
					t.Fatal(err)
				}
			}
		}
		found, err := m.Lookup(ctx, "BPPRIM01", names)
		if err != nil {
			t.Fatal(err)
		}
		if len(found) != 40 {
			t.Errorf("found %d keys, want 40", len(found))
		}
		for i, n := range names {
			if _, ok := found[n]; ok != (i%5 != 0) {
				t.Errorf("%s found %v", n, ok)
			}
		}
		if found, err := m.Lookup(ctx, "BPPRIM01", nil); err != nil || len(found) != 0 {
			t.Errorf("empty lookup: %v %v", found, err)
		}
	})
	t.Run("same material, same fingerprint", func(t *testing.T) {
		a, b := open(t), open(t)
		material := bytes.Repeat([]byte{0x5a}, 32)
		ka, err := a.Register(ctx, "BPPRIM01", "K1", material)
		if err != nil {
			t.Fatal(err)
		}
		kb, err := b.Register(ctx, "BPPRIM01", "K1", material)
		if err != nil {
			t.Fatal(err)
		}
		other, err := b.Register(ctx, "BPPRIM01", "K2", bytes.Repeat([]byte{0xa5}, 32))
		if err != nil {
			t.Fatal(err)
		}
		if ka.Fingerprint == "" || ka.Fingerprint != kb.Fingerprint || other.Fingerprint == ka.Fingerprint {
			t.Errorf("fingerprints %s %s %s", ka.Fingerprint, kb.Fingerprint, other.Fingerprint)
		}
		if got, err := b.Material(ctx, kb.ID); err != nil || !bytes.Equal(got, material) {
			t.Errorf("material back: %x, %v", got, err)
		}
	})
	t.Run("deactivate", func(t *testing.T) {
		m := open(t)
		k, err := m.Create(ctx, "BPPRIM01", "K1")
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Activate(ctx, k.ID); err != nil {
			t.Errorf("activating an active key: %v", err)
		}
		if err := m.Deactivate(ctx, k.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := keys.Find(ctx, m, "BPPRIM01", "K1"); got.State != keys.Deactivated {
			t.Errorf("after deactivation: %s", got.State)
		}
		if err := m.Deactivate(ctx, k.ID); err != nil {
			t.Errorf("deactivating a deactivated key: %v", err)
		}
		// KMIP's lifecycle has no way back from Deactivated.
		if err := m.Activate(ctx, k.ID); err == nil {
			t.Error("a deactivated key was activated again")
		}
		if got, _ := keys.Find(ctx, m, "BPPRIM01", "K1"); got.State != keys.Deactivated {
			t.Errorf("after a refused activation: %s", got.State)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		m := open(t)
		if _, err := m.Material(ctx, "no-such-key"); !errors.Is(err, keys.ErrNotFound) {
			t.Errorf("material of an unknown key: %v", err)
		}
		if err := m.Deactivate(ctx, "no-such-key"); !errors.Is(err, keys.ErrNotFound) {
			t.Errorf("deactivating an unknown key: %v", err)
		}
	})
}
