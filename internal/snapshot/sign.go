package snapshot

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/catsync/catsync/internal/catalog"
)

// SignatureFile is the detached signature of a snapshot's manifest, in the
// snapshot's folder beside it.
const SignatureFile = "manifest.sig"

// SignatureVersion is the version of the signature file's format.
const SignatureVersion = 1

// signedPrefix comes before the manifest's bytes in what is signed, so
// that a site key's signature over anything else is never a manifest's.
const signedPrefix = "catsync snapshot manifest v1\n"

// signatureFile is the content of SignatureFile.
type signatureFile struct {
	Version   int    `json:"version"`
	Algorithm string `json:"algorithm"`
	KeyID     string `json:"key_id"`
	Signature []byte `json:"signature"` // base64 in JSON
}

const algorithm = "ed25519"

// KeyID names a public key: the first 8 bytes of its SHA-256, in hex. A
// signature file names its key by it, so that a site trusting several
// keys (a rotation) knows which one to check against.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// Keyring is what one site signs its snapshots with and which keys it
// accepts snapshots from. Several trusted keys make a rotation: the new
// key is trusted beside the old one until the old one's snapshots are no
// longer needed.
type Keyring struct {
	key     ed25519.PrivateKey
	trusted map[string]ed25519.PublicKey
	// SignEnv and TrustEnv are the variables that configured the keys,
	// for errors that say what to change; empty when not configured so.
	SignEnv, TrustEnv string
}

// NewKeyring is the keyring signing with key (nil: this site signs
// nothing) and trusting the trusted keys.
func NewKeyring(key ed25519.PrivateKey, trusted ...ed25519.PublicKey) *Keyring {
	k := &Keyring{key: key, trusted: map[string]ed25519.PublicKey{}}
	for _, p := range trusted {
		k.trusted[KeyID(p)] = p
	}
	return k
}

// SignerID is the id of the key the site signs with, "" when it has none.
func (k *Keyring) SignerID() string {
	if k == nil || k.key == nil {
		return ""
	}
	return KeyID(k.key.Public().(ed25519.PublicKey))
}

// TrustedIDs are the ids of the trusted keys, sorted.
func (k *Keyring) TrustedIDs() []string {
	if k == nil {
		return nil
	}
	ids := make([]string, 0, len(k.trusted))
	for id := range k.trusted {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// CanSign is nil when the site has a key to sign snapshots with, and a
// configuration error naming the variable otherwise.
func (k *Keyring) CanSign() error {
	if k.SignerID() != "" {
		return nil
	}
	env := "the site's signing key"
	if k != nil && k.SignEnv != "" {
		env = k.SignEnv
	}
	return catalog.ConfigErrorf("%s is not set: snapshots are signed; give the file of this site's private key (catsync keygen writes one)", env)
}

// CanVerify is nil when the site trusts a key to check the other site's
// snapshots with, and a configuration error naming the variable
// otherwise.
func (k *Keyring) CanVerify() error {
	if len(k.TrustedIDs()) > 0 {
		return nil
	}
	return catalog.ConfigErrorf("%s; give the file of the other site's public key", k.trustHint())
}

// sign returns the signature file of a manifest's bytes.
func (k *Keyring) sign(manifest []byte) ([]byte, error) {
	if err := k.CanSign(); err != nil {
		return nil, err
	}
	s := signatureFile{Version: SignatureVersion, Algorithm: algorithm, KeyID: k.SignerID(),
		Signature: ed25519.Sign(k.key, signed(manifest))}
	b, err := json.MarshalIndent(s, "", "  ")
	return append(b, '\n'), err
}

func signed(manifest []byte) []byte { return append([]byte(signedPrefix), manifest...) }

// Refusal is why a signed snapshot is refused.
type Refusal string

const (
	Unsigned      Refusal = "unsigned"
	UnknownSigner Refusal = "unknown signer"
	BadSignature  Refusal = "bad signature"
	Replayed      Refusal = "replayed"
	OtherStore    Refusal = "other store"
)

// RefusedError is a snapshot a site does not accept, whatever its digests
// say: unsigned, signed by a key the site does not trust or not by the
// key it names, older than what the site applied, or of another data
// store. Copying it again cannot help: it is not retried.
type RefusedError struct {
	Refusal Refusal
	ID      string // the snapshot's id
	Dir     string // its folder
	Reason  string // what the message says after "refused: "
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("snapshot %s (%s) refused: %s", e.ID, e.Dir, e.Reason)
}

// verify checks the signature file sig (nil when there is none) of the
// manifest bytes b, whose manifest is m, in folder dir.
func (k *Keyring) verify(dir string, m Manifest, b, sig []byte) error {
	refuse := func(r Refusal, format string, args ...any) error {
		return &RefusedError{Refusal: r, ID: m.ID, Dir: dir, Reason: fmt.Sprintf(format, args...)}
	}
	if sig == nil {
		return refuse(Unsigned, "unsigned: the folder holds no %s; every snapshot is signed by the site that wrote it", SignatureFile)
	}
	var s signatureFile
	if err := json.Unmarshal(sig, &s); err != nil {
		return refuse(BadSignature, "bad signature: %s is not a signature file: %v", SignatureFile, err)
	}
	if s.Version != SignatureVersion {
		return catalog.ConfigErrorf("snapshot %s (%s): %s has version %d; this catsync reads version %d: run the same catsync release on both sites",
			m.ID, dir, SignatureFile, s.Version, SignatureVersion)
	}
	if s.Algorithm != algorithm || len(s.Signature) != ed25519.SignatureSize {
		return refuse(BadSignature, "bad signature: %s holds no %s signature", SignatureFile, algorithm)
	}
	pub, ok := k.trustedKey(s.KeyID)
	if !ok {
		return refuse(UnknownSigner, "signed by unknown key %s: %s", shownID(s.KeyID), k.trustHint())
	}
	if !ed25519.Verify(pub, signed(b), s.Signature) {
		return refuse(BadSignature, "bad signature: the signature by key %s is not of this manifest: it was forged or altered", s.KeyID)
	}
	return nil
}

// shownID is a key id as a message shows it: it comes from the file, so
// anything but a key id is quoted, and cut short.
func shownID(id string) string {
	if _, err := hex.DecodeString(id); err == nil && len(id) == 16 {
		return id
	}
	return fmt.Sprintf("%q", id[:min(len(id), 32)])
}

func (k *Keyring) trustedKey(id string) (ed25519.PublicKey, bool) {
	if k == nil {
		return nil, false
	}
	p, ok := k.trusted[id]
	return p, ok
}

// trustHint says which keys are trusted and where to add one.
func (k *Keyring) trustHint() string {
	env := "the site's trusted keys"
	if k != nil && k.TrustEnv != "" {
		env = k.TrustEnv
	}
	ids := k.TrustedIDs()
	if len(ids) == 0 {
		return fmt.Sprintf("no key is trusted: %s is not set", env)
	}
	return fmt.Sprintf("the trusted keys are %s: if the key is the other site's, add its public key file to %s", strings.Join(ids, ", "), env)
}

// readSignature reads dir's signature file, nil when there is none. One
// that cannot be read for another reason (permissions, I/O) is an error a
// retry may overcome.
func readSignature(dir string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, SignatureFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest signature: %w", err)
	}
	return b, nil
}

// verifyDir checks the signature of the manifest bytes b, read from dir.
func (k *Keyring) verifyDir(dir string, m Manifest, b []byte) error {
	sig, err := readSignature(dir)
	if err != nil {
		return err
	}
	return k.verify(dir, m, b, sig)
}

// Applied is the snapshot of a data store a site applied last: a snapshot
// of the store is accepted only when it is that one again (a retry) or
// newer. A site that recorded only a watermark (an import by an earlier
// release) gives ToSeq alone.
type Applied struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	ToSeq   int64     `json:"to_seq"`
}

// CheckApplied refuses m, found in dir, as replayed when last was applied
// and m is another snapshot no newer than it: created at or before it (the
// producer's clock, which its signature vouches for), or, when only a
// watermark is known, ending before it.
func CheckApplied(dir string, m Manifest, last Applied) error {
	if m.ID == last.ID && last.ID != "" {
		return nil
	}
	var older bool
	var applied string
	if last.ID == "" {
		older = m.ToSeq < last.ToSeq
		applied = fmt.Sprintf("the applied watermark, change %d", last.ToSeq)
	} else {
		older = !m.Created.After(last.Created)
		applied = fmt.Sprintf("applied %s (created %s, changes to %d)", last.ID, last.Created.Format(time.RFC3339Nano), last.ToSeq)
	}
	if !older {
		return nil
	}
	return &RefusedError{Refusal: Replayed, ID: m.ID, Dir: dir, Reason: fmt.Sprintf(
		"replayed: snapshot %s (created %s, changes to %d) is older than %s: an old snapshot presented again is not applied",
		m.ID, m.Created.Format(time.RFC3339Nano), m.ToSeq, applied)}
}

// checkStore refuses m, found in dir, unless it is a snapshot of store.
func checkStore(dir string, m Manifest, store string) error {
	if m.Store == store {
		return nil
	}
	return &RefusedError{Refusal: OtherStore, ID: m.ID, Dir: dir, Reason: fmt.Sprintf("for store %s, not %s", m.Store, store)}
}
