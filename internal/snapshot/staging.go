package snapshot

import (
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/catsync/catsync/internal/catalog"
)

// Area is a staging area (or a primary's outbox): one folder per data store,
// one folder per snapshot inside it, and a chain file listing the snapshots
// that rebuild the store from scratch: the last FULL and every UPDATE after
// it. Re-exporting overwrites; nothing else needs cleaning.
type Area struct {
	Root string
	// Env is the variable Root was configured by (CATSYNC_SECONDARY_STAGING,
	// say): a folder that cannot be used is a configuration error naming it.
	Env string
	// Keys are the site's: the keys it trusts check every snapshot opened
	// or transferred into the area (nil trusts none, and refuses all).
	Keys *Keyring
}

const chainFile = "chain.json"

// Dir is the folder of a snapshot.
func (a Area) Dir(store, id string) string {
	return filepath.Join(a.storeDir(store), escape(id))
}

func (a Area) storeDir(store string) string { return filepath.Join(a.Root, escape(store)) }

// escape makes an id one path element: PathEscape keeps "." and "..",
// which would name the folder itself or its parent.
func escape(id string) string {
	e := url.PathEscape(id)
	if strings.Trim(e, ".") == "" {
		e = strings.ReplaceAll(e, ".", "%2E") + "%00"
	}
	return e
}

// name is how errors name the area: by its variable when known.
func (a Area) name() string {
	if a.Env != "" {
		return a.Env + "=" + a.Root
	}
	return "folder " + a.Root
}

// Unusable makes err, met writing into the area, a configuration error
// when the area cannot hold files at all: a file where a folder should
// be, or a read-only file system. Other faults (permissions, a full disk,
// I/O) are returned as they are: a retry succeeds once they are repaired.
func (a Area) Unusable(err error) error {
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EROFS) {
		return catalog.ConfigErrorf("%s cannot be written: %v: point it at a writable folder", a.name(), err)
	}
	return err
}

// Reset removes what an earlier export left of snapshot id of store: a
// re-export overwrites it.
func (a Area) Reset(store, id string) error {
	return a.Unusable(os.RemoveAll(a.Dir(store, id)))
}

// Chain returns the snapshots that rebuild store, oldest first.
func (a Area) Chain(store string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(a.storeDir(store), chainFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	if err := json.Unmarshal(b, &ids); err != nil {
		return nil, &CorruptError{File: chainFile, Dir: a.storeDir(store), Reason: err.Error()}
	}
	return ids, nil
}

// Record adds a complete snapshot to the chain (a FULL one starts a new
// chain) and removes the snapshots no longer needed. A FULL does not read
// the chain it replaces; an UPDATE over a damaged chain file rebuilds the
// chain from the manifests staged (rebuild).
func (a Area) Record(store string, m Manifest) error {
	var chain []string
	if m.Type != Full {
		var err error
		chain, err = a.Chain(store)
		var damaged *CorruptError
		if errors.As(err, &damaged) {
			chain, err = a.rebuild(store, m, damaged)
		}
		if err != nil {
			return err
		}
	}
	if !slices.Contains(chain, m.ID) {
		chain = append(chain, m.ID)
	}
	b, _ := json.Marshal(chain)
	if err := writeAtomic(filepath.Join(a.storeDir(store), chainFile), func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}); err != nil {
		return a.Unusable(err)
	}
	return a.Keep(store, chain...)
}

// rebuild returns, in place of a chain file found damaged, the chain the
// manifests staged for store give for the UPDATE m to follow: the last
// FULL (none if only UPDATEs from the start are staged), then, while the
// chain ends before m's FromSeq, the UPDATE that leaves no gap after it
// (its FromSeq at or before the chain's end) and reaches furthest. An
// UPDATE from the start (a re-import) follows anything; reaching furthest
// passes over a snapshot staged by a run that failed before its apply,
// whose changes the next run's snapshot covers again.
//
// When the snapshots staged cannot reach m (m does not start from the
// beginning and no FULL is staged, or there is a gap), Record is refused,
// not given a guess: a chain of m alone would let Keep delete the
// snapshots staged before it, the last copies a recovery could use. The
// refusal is a *CorruptError naming the file and leaves everything as it
// is; the run meeting it fails after its apply, so the next UPDATE
// re-imports from the start, which any staging area can follow.
func (a Area) rebuild(store string, m Manifest, damaged *CorruptError) ([]string, error) {
	have, err := a.staged(store, m.ID)
	if err != nil {
		return nil, err
	}
	var chain []string
	var end int64 // the chain holds every change up to end
	var full *Manifest
	for i := range have {
		s := &have[i]
		if s.Type == Full && (full == nil || s.ToSeq > full.ToSeq || s.ToSeq == full.ToSeq && s.Created.After(full.Created)) {
			full = s
		}
	}
	if full != nil {
		chain, end = []string{full.ID}, full.ToSeq
	}
	for end < m.FromSeq {
		var next *Manifest
		for i := range have {
			s := &have[i]
			if s.Type == Update && s.FromSeq <= end && s.ToSeq > end && (next == nil || s.ToSeq > next.ToSeq) {
				next = s
			}
		}
		if next == nil {
			reach := "no FULL snapshot is staged"
			if full != nil {
				reach = fmt.Sprintf("the snapshots staged reach change %d only", end)
			}
			return nil, &CorruptError{File: chainFile, Dir: a.storeDir(store), Err: damaged, Reason: fmt.Sprintf(
				"%s; it cannot be rebuilt for snapshot %s, which follows change %d: %s. "+
					"Nothing is changed in the staging area; this run fails, so the next UPDATE of %s re-imports every volume and starts the chain again "+
					"(or remove the file and run a FULL sync of %s)", damaged.Reason, m.ID, m.FromSeq, reach, store, store)}
		}
		chain, end = append(chain, next.ID), next.ToSeq
	}
	return chain, nil
}

// staged reads the manifests of the snapshots staged for store, but the
// one with id except. A folder whose manifest is missing, damaged, not
// signed by a trusted key, or of another snapshot is not one to count on,
// and is left out.
func (a Area) staged(store, except string) ([]Manifest, error) {
	entries, err := os.ReadDir(a.storeDir(store))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var out []Manifest
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(a.storeDir(store), e.Name())
		m, b, _, err := readManifest(dir, "")
		if err == nil {
			err = a.Keys.verifyDir(dir, m, b)
		}
		if err == nil && m.Store == store && m.ID != except && escape(m.ID) == e.Name() {
			out = append(out, m)
		}
	}
	return out, nil
}

// Keep removes every snapshot of store but those named. A primary's outbox
// keeps only the snapshot being exported: the staging area holds the rest.
func (a Area) Keep(store string, ids ...string) error {
	entries, err := os.ReadDir(a.storeDir(store))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return a.Unusable(err)
	}
	// Compared as folder names: escape is not undone by unescaping for the
	// ids it has to mangle ("", ".", "..").
	keep := make([]string, len(ids))
	for i, id := range ids {
		keep[i] = escape(id)
	}
	for _, e := range entries {
		_, err := url.PathUnescape(e.Name())
		if e.IsDir() && err == nil && !slices.Contains(keep, e.Name()) {
			if err := os.RemoveAll(filepath.Join(a.storeDir(store), e.Name())); err != nil {
				return a.Unusable(err)
			}
		}
	}
	return nil
}

// Transfer copies a complete snapshot from src, the primary's outbox, to
// dst, checking every segment's SHA-256 at the destination. Before it
// copies anything it checks the source manifest: its digest, its
// signature against the keys dst trusts, its data store, and that it is
// not older than last, the snapshot of the store the destination's site
// applied last (CheckApplied). Segments already present and intact are
// kept, so a retried transfer resumes; the signature and then the
// manifest are written last, so the manifest's presence means the copy is
// whole. It returns the manifest.
//
// A source that is not the primary's outbox (missing, not a folder, or
// empty: a share not mounted) and a destination that cannot be written are
// configuration errors naming their variables; a snapshot the outbox no
// longer holds, or holds damaged, is a *CorruptError naming the file; one
// that is unsigned, not signed by a trusted key, of another store or
// replayed is a *RefusedError saying which.
func Transfer(src, dst Area, ref Ref, last Applied) (Manifest, error) {
	from, to := src.Dir(ref.Store, ref.ID), dst.Dir(ref.Store, ref.ID)
	if err := src.holds(from, ref); err != nil {
		return Manifest{}, err
	}
	m, checked, _, err := readManifest(from, ref.Digest)
	if err != nil {
		return m, fmt.Errorf("source %s: %w", ref.ID, err)
	}
	// Read once: the bytes checked are the bytes staged.
	sig, err := readSignature(from)
	if err != nil {
		return m, fmt.Errorf("source %s: %w", ref.ID, err)
	}
	if err := dst.Keys.verify(from, m, checked, sig); err != nil {
		return m, err
	}
	if err := checkStore(from, m, ref.Store); err != nil {
		return m, err
	}
	if err := CheckApplied(from, m, last); err != nil {
		return m, err
	}
	for _, s := range m.Segments {
		if VerifySegment(to, s) == nil {
			continue
		}
		if err := copyVerified(from, to, s); err != nil {
			return m, dst.Unusable(err)
		}
	}
	// The bytes checked above, not the source files again: they may have
	// been rewritten meanwhile.
	for _, f := range []struct {
		name string
		b    []byte
	}{{SignatureFile, sig}, {ManifestFile, checked}} {
		err = writeAtomic(filepath.Join(to, f.name), func(w io.Writer) error {
			_, err := w.Write(f.b)
			return err
		})
		if err != nil {
			return m, dst.Unusable(err)
		}
	}
	if _, _, err := ReadManifest(to, ref.Digest); err != nil {
		return m, fmt.Errorf("staged %s: %w", ref.ID, err)
	}
	return m, nil
}

// holds checks that the outbox a is there and holds, in folder dir, the
// snapshot ref names. Faults a retry may overcome (permissions, I/O) are
// returned as they are.
func (a Area) holds(dir string, ref Ref) error {
	remedy := "mount the primary's outbox there, or set " + cmp.Or(a.Env, "it") + " to where it is mounted"
	entries, err := os.ReadDir(a.Root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return catalog.ConfigErrorf("%s does not exist: %s", a.name(), remedy)
	case errors.Is(err, syscall.ENOTDIR):
		return catalog.ConfigErrorf("%s is not a folder: %s", a.name(), remedy)
	case err != nil:
		return err
	case len(entries) == 0:
		return catalog.ConfigErrorf("%s is empty, not the primary's outbox, which holds snapshot %s of %s: %s", a.name(), ref.ID, ref.Store, remedy)
	}
	// The primary writes the manifest last, and the snapshot step returned:
	// without it the outbox lost the snapshot after the export.
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); errors.Is(err, fs.ErrNotExist) {
		return &CorruptError{File: ManifestFile, Dir: dir, Err: err, Reason: fmt.Sprintf(
			"missing: the primary's outbox (%s) no longer holds snapshot %s of %s, which the primary wrote: "+
				"a newer export of the store or a clean-up of the outbox removed it; run the sync again", a.name(), ref.ID, ref.Store)}
	}
	return nil
}

// copyVerified copies segment s from folder from to folder to. A source
// segment that is missing or does not match its record is a
// *CorruptError: the outbox lost or damaged it, and copying again cannot
// help.
func copyVerified(from, to string, s Segment) error {
	f, err := os.Open(filepath.Join(from, s.Name))
	if errors.Is(err, fs.ErrNotExist) {
		return &CorruptError{File: s.Name, Dir: from, Reason: "missing at the source", Err: err}
	}
	if err != nil {
		return fmt.Errorf("source segment %s: %w", s.Name, err)
	}
	defer f.Close()
	h := sha256.New()
	var n int64
	err = writeAtomic(filepath.Join(to, s.Name), func(w io.Writer) error {
		n, err = io.Copy(io.MultiWriter(w, h), f)
		if err != nil {
			return err
		}
		return inDir(from, s.check("corrupt at the source: ", n, h))
	})
	return err
}
