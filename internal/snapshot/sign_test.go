package snapshot

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// newKeys is a keyring signing with a new key and trusting it, and the
// key's public half.
func newKeys(t testing.TB) (*Keyring, ed25519.PublicKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return NewKeyring(priv, pub), pub
}

// testKeys signs the test snapshots and trusts its own key.
var testKeys, _ = newKeys(&testing.T{})

// signedWriter is a writer signing with testKeys.
func signedWriter(dir string, m Manifest, perSegment int) *Writer {
	w := NewWriter(dir, m, perSegment)
	w.SignWith(testKeys)
	return w
}

// exportedBy writes a snapshot of sets into src as exported does, signed
// with keys (unsigned when nil).
func exportedBy(t *testing.T, keys *Keyring, src Area, store, id string, created time.Time) (Manifest, Ref) {
	t.Helper()
	w := NewWriter(src.Dir(store, id), Manifest{ID: id, Store: store, Type: Full, ToSeq: 42, Created: created}, 2)
	if keys != nil {
		w.SignWith(keys)
	}
	for _, s := range fxSets(0, 5) {
		if _, err := w.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	m, digest, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return m, Ref{Store: store, ID: id, Digest: digest, Type: m.Type, ToSeq: m.ToSeq}
}

// asRefused asserts err is a *RefusedError of refusal r whose message
// holds every want.
func asRefused(t *testing.T, what string, err error, r Refusal, want ...string) {
	t.Helper()
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("%s: got %v (%T), want a *RefusedError", what, err, err)
	}
	if re.Refusal != r {
		t.Errorf("%s: refused as %q, want %q: %v", what, re.Refusal, r, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: %q does not say %q", what, err, w)
		}
	}
}

// refusedEverywhere asserts that Open, OpenManifest and a Transfer out of
// src all refuse ref as r, and that the transfer staged nothing.
func refusedEverywhere(t *testing.T, src Area, ref Ref, r Refusal, want ...string) {
	t.Helper()
	for _, o := range openers {
		st, err := o.open(src, ref)
		if st != nil {
			t.Errorf("%s: opened", o.name)
		}
		asRefused(t, o.name, err, r, want...)
	}
	dst := Area{Root: filepath.Join(t.TempDir(), "staging"), Keys: src.Keys}
	_, err := Transfer(src, dst, ref, Applied{})
	asRefused(t, "Transfer", err, r, want...)
	if exists(dst.Dir(ref.Store, ref.ID)) {
		t.Error("the refused transfer staged something")
	}
}

func TestRefusesUnsigned(t *testing.T) {
	src := Area{Root: t.TempDir(), Keys: testKeys}
	_, ref := exportedBy(t, nil, src, "DS_PROD", "run-1", time.Now())
	refusedEverywhere(t, src, ref, Unsigned, "run-1", "unsigned", SignatureFile)
}

func TestRefusesUnknownSigner(t *testing.T) {
	src := Area{Root: t.TempDir(), Keys: testKeys}
	stranger, _ := newKeys(t)
	_, ref := exportedBy(t, stranger, src, "DS_PROD", "run-1", time.Now())
	refusedEverywhere(t, src, ref, UnknownSigner, "signed by unknown key "+stranger.SignerID(), testKeys.SignerID())

	// An area trusting no key names the variable to set.
	none := NewKeyring(nil)
	none.TrustEnv = "CATSYNC_SECONDARY_TRUSTED_KEYS"
	refusedEverywhere(t, Area{Root: src.Root, Keys: none}, ref, UnknownSigner, "no key is trusted", "CATSYNC_SECONDARY_TRUSTED_KEYS is not set")
	refusedEverywhere(t, Area{Root: src.Root}, ref, UnknownSigner, "no key is trusted")
}

// A snapshot whose manifest was altered after it was signed, its digest
// computed again, is refused: the signature is of the manifest it was.
func TestRefusesAlteredManifest(t *testing.T) {
	src := Area{Root: t.TempDir(), Keys: testKeys}
	_, ref := exportedBy(t, testKeys, src, "DS_PROD", "run-1", time.Now())
	path := filepath.Join(src.Dir(ref.Store, ref.ID), ManifestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), `"to_seq": 42`, `"to_seq": 43`, 1))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ref.Digest = sum(b)
	refusedEverywhere(t, src, ref, BadSignature, "bad signature", "forged or altered", testKeys.SignerID())

	// A signature file that is not one.
	if err := os.WriteFile(filepath.Join(src.Dir(ref.Store, ref.ID), SignatureFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	refusedEverywhere(t, src, ref, BadSignature, "is not a signature file")
}

// A signature file of another version is a release mismatch, not a forgery.
func TestSignatureVersion(t *testing.T) {
	src := Area{Root: t.TempDir(), Keys: testKeys}
	_, ref := exportedBy(t, testKeys, src, "DS_PROD", "run-1", time.Now())
	path := filepath.Join(src.Dir(ref.Store, ref.ID), SignatureFile)
	var s signatureFile
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.Version != SignatureVersion || s.KeyID != testKeys.SignerID() || s.Algorithm != "ed25519" {
		t.Errorf("signature file %+v", s)
	}
	s.Version = 2
	b, _ = json.Marshal(s)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := src.OpenManifest(ref)
	asConfig(t, "signature version 2", err, SignatureFile+" has version 2", "reads version 1")
}

// A forged snapshot, its segments and manifest consistent with their
// digests but without a valid signature, is refused before any segment is
// read: with its segments gone, the refusal is still the signature's (a
// reader that opened a segment first would report it missing).
func TestForgedSnapshotRefusedBeforeAnySegmentIsRead(t *testing.T) {
	src := Area{Root: t.TempDir(), Keys: testKeys}
	// A genuine snapshot, whose signature the forger copies.
	_, genuine := exportedBy(t, testKeys, src, "DS_PROD", "run-1", time.Now())
	stranger, _ := newKeys(t)
	for _, c := range []struct {
		name    string
		keys    *Keyring
		copySig bool
		refusal Refusal
	}{
		{"unsigned", nil, false, Unsigned},
		{"signed by the forger's key", stranger, false, UnknownSigner},
		{"a trusted signature copied from another snapshot", nil, true, BadSignature},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := "forged-" + strings.ReplaceAll(c.name, " ", "-")
			m, ref := exportedBy(t, c.keys, src, "DS_PROD", id, time.Now())
			dir := src.Dir(ref.Store, ref.ID)
			if c.copySig {
				sig, err := os.ReadFile(filepath.Join(src.Dir(genuine.Store, genuine.ID), SignatureFile))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, SignatureFile), sig, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// The digests hold: without the signature check it would open.
			if _, _, err := ReadManifest(dir, ref.Digest); err != nil {
				t.Fatal(err)
			}
			for _, s := range m.Segments {
				if err := VerifySegment(dir, s); err != nil {
					t.Fatal(err)
				}
				if err := os.Remove(filepath.Join(dir, s.Name)); err != nil {
					t.Fatal(err)
				}
			}
			refusedEverywhere(t, src, ref, c.refusal)
		})
	}
}

func TestRefusesAnotherStore(t *testing.T) {
	src := Area{Root: t.TempDir(), Keys: testKeys}
	// A signed snapshot of DS_TEST, filed in DS_PROD's folder.
	_, other := exportedBy(t, testKeys, src, "DS_TEST", "run-1", time.Now())
	if err := os.MkdirAll(src.storeDir("DS_PROD"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(src.Dir("DS_TEST", "run-1"), src.Dir("DS_PROD", "run-2")); err != nil {
		t.Fatal(err)
	}
	refusedEverywhere(t, src, Ref{Store: "DS_PROD", ID: "run-2", Digest: other.Digest}, OtherStore, "for store DS_TEST, not DS_PROD")
}

func TestCheckApplied(t *testing.T) {
	at := time.Date(2026, 3, 2, 22, 0, 0, 0, time.UTC)
	last := Applied{ID: "run-5", Created: at, ToSeq: 500}
	for _, c := range []struct {
		name string
		m    Manifest
		last Applied
		ok   bool
	}{
		{"nothing applied", Manifest{ID: "run-1", Created: at.Add(-time.Hour)}, Applied{}, true},
		{"the applied snapshot again (a retry)", Manifest{ID: "run-5", Created: at, ToSeq: 500}, last, true},
		{"newer", Manifest{ID: "run-6", Created: at.Add(time.Second), ToSeq: 500}, last, true},
		{"newer, after a reset of the primary's sequence", Manifest{ID: "run-6", Created: at.Add(time.Hour), ToSeq: 3}, last, true},
		{"older", Manifest{ID: "run-4", Created: at.Add(-time.Hour), ToSeq: 400}, last, false},
		{"as old, another snapshot", Manifest{ID: "run-x", Created: at, ToSeq: 500}, last, false},
		{"older, a higher sequence", Manifest{ID: "run-4", Created: at.Add(-time.Hour), ToSeq: 900}, last, false},
		{"watermark only, ending at it", Manifest{ID: "run-6", ToSeq: 500}, Applied{ToSeq: 500}, true},
		{"watermark only, ending before it", Manifest{ID: "run-4", ToSeq: 499}, Applied{ToSeq: 500}, false},
	} {
		err := CheckApplied("dir", c.m, c.last)
		if c.ok {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		asRefused(t, c.name, err, Replayed, "replayed: snapshot "+c.m.ID)
		if c.last.ID != "" && !strings.Contains(err.Error(), "older than applied "+c.last.ID) {
			t.Errorf("%s: %q does not name the applied snapshot", c.name, err)
		}
	}
}

// A transfer of a snapshot older than the one applied copies nothing; the
// applied one again, or a newer, is transferred.
func TestTransferRefusesAReplay(t *testing.T) {
	src, dst := outboxAndStaging(t)
	at := time.Date(2026, 3, 2, 22, 0, 0, 0, time.UTC)
	old, oldRef := exportedBy(t, testKeys, src, "DS_PROD", "run-1", at)
	applied, appliedRef := exportedBy(t, testKeys, src, "DS_PROD", "run-2", at.Add(time.Hour))
	last := Applied{ID: applied.ID, Created: applied.Created, ToSeq: applied.ToSeq}
	_, err := Transfer(src, dst, oldRef, last)
	asRefused(t, "older snapshot", err, Replayed, "replayed: snapshot run-1", "older than applied run-2")
	if exists(dst.Dir("DS_PROD", old.ID)) {
		t.Error("the replayed snapshot was staged")
	}
	if _, err := Transfer(src, dst, appliedRef, last); err != nil {
		t.Errorf("the applied snapshot again: %v", err)
	}
	_, newer := exportedBy(t, testKeys, src, "DS_PROD", "run-3", at.Add(2*time.Hour))
	if _, err := Transfer(src, dst, newer, last); err != nil {
		t.Errorf("a newer snapshot: %v", err)
	}
	if _, err := dst.Open(newer); err != nil {
		t.Errorf("the newer snapshot staged: %v", err)
	}
}

// Rotation: a site trusting the old key and the new one accepts the
// snapshots of both; once the old key is no longer trusted, its snapshots
// are refused, naming it.
func TestKeyRotation(t *testing.T) {
	oldKeys, oldPub := newKeys(t)
	newKeysRing, newPub := newKeys(t)
	root := t.TempDir()
	_, byOld := exportedBy(t, oldKeys, Area{Root: root}, "DS_PROD", "run-1", time.Now())
	_, byNew := exportedBy(t, newKeysRing, Area{Root: root}, "DS_PROD", "run-2", time.Now())

	both := Area{Root: root, Keys: NewKeyring(nil, oldPub, newPub)}
	for _, ref := range []Ref{byOld, byNew} {
		for _, o := range openers {
			if _, err := o.open(both, ref); err != nil {
				t.Errorf("%s of %s, both keys trusted: %v", o.name, ref.ID, err)
			}
		}
		if _, err := Transfer(both, Area{Root: t.TempDir(), Keys: both.Keys}, ref, Applied{}); err != nil {
			t.Errorf("transfer of %s, both keys trusted: %v", ref.ID, err)
		}
	}
	if got := both.Keys.TrustedIDs(); len(got) != 2 {
		t.Errorf("trusted ids %v", got)
	}

	newOnly := Area{Root: root, Keys: NewKeyring(nil, newPub)}
	if _, err := newOnly.Open(byNew); err != nil {
		t.Errorf("the new key's snapshot: %v", err)
	}
	refusedEverywhere(t, newOnly, byOld, UnknownSigner, "signed by unknown key "+oldKeys.SignerID())
}

// A writer told to sign without a signing key writes no manifest.
func TestWriterWithoutSigningKey(t *testing.T) {
	dir := t.TempDir()
	k := NewKeyring(nil)
	k.SignEnv = "CATSYNC_PRIMARY_SIGNING_KEY"
	w := NewWriter(dir, fxManifest(), 1)
	w.SignWith(k)
	_, _, err := w.Close()
	asConfig(t, "no signing key", err, "CATSYNC_PRIMARY_SIGNING_KEY is not set")
	if exists(filepath.Join(dir, ManifestFile)) {
		t.Error("a manifest was written unsigned")
	}
}

// Rebuilding a damaged chain counts only the snapshots the area trusts.
func TestRebuildLeavesOutUntrustedSnapshots(t *testing.T) {
	a := Area{Root: t.TempDir(), Keys: testKeys}
	stage(t, a, "f1", Full, 0, 10)
	// A FULL further on, not signed by a trusted key: the chain must not
	// start from it.
	stranger, _ := newKeys(t)
	w := NewWriter(a.Dir("DS_PROD", "f2"), Manifest{ID: "f2", Store: "DS_PROD", Type: Full, ToSeq: 20}, 1)
	w.SignWith(stranger)
	if _, _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	damage(t, a, "{")
	u := stage(t, a, "u1", Update, 10, 30)
	if err := a.Record("DS_PROD", u); err != nil {
		t.Fatal(err)
	}
	chain, err := a.Chain("DS_PROD")
	if err != nil || strings.Join(chain, ",") != "f1,u1" {
		t.Errorf("chain %v, %v; want f1,u1", chain, err)
	}
}
