package snapshot

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Area is a staging area (or a primary's outbox): one folder per data store,
// one folder per snapshot inside it, and a chain file listing the snapshots
// that rebuild the store from scratch: the last FULL and every UPDATE after
// it. Re-exporting overwrites; nothing else needs cleaning.
type Area struct{ Root string }

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
		return nil, &CorruptError{File: chainFile, Reason: err.Error()}
	}
	return ids, nil
}

// Record adds a complete snapshot to the chain (a FULL one starts a new
// chain) and removes the snapshots no longer needed.
func (a Area) Record(store string, m Manifest) error {
	chain, err := a.Chain(store)
	if err != nil {
		return err
	}
	if m.Type == Full {
		chain = nil
	}
	if !slices.Contains(chain, m.ID) {
		chain = append(chain, m.ID)
	}
	b, _ := json.Marshal(chain)
	if err := writeAtomic(filepath.Join(a.storeDir(store), chainFile), func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}); err != nil {
		return err
	}
	return a.Keep(store, chain...)
}

// Keep removes every snapshot of store but those named. A primary's outbox
// keeps only the snapshot being exported: the staging area holds the rest.
func (a Area) Keep(store string, ids ...string) error {
	entries, err := os.ReadDir(a.storeDir(store))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
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
				return err
			}
		}
	}
	return nil
}

// Transfer copies a complete snapshot from src to dst, checking every
// segment's SHA-256 at the destination. Segments already present and
// intact are kept, so a retried transfer resumes; the manifest is written
// last, so its presence means the copy is whole. It returns the manifest.
func Transfer(src, dst Area, ref Ref) (Manifest, error) {
	from, to := src.Dir(ref.Store, ref.ID), dst.Dir(ref.Store, ref.ID)
	m, checked, _, err := readManifest(from, ref.Digest)
	if err != nil {
		return m, fmt.Errorf("source %s: %w", ref.ID, err)
	}
	for _, s := range m.Segments {
		if VerifySegment(to, s) == nil {
			continue
		}
		if err := copyVerified(filepath.Join(from, s.Name), filepath.Join(to, s.Name), s); err != nil {
			return m, err
		}
	}
	// The bytes checked above, not the source file again: it may have
	// been rewritten meanwhile.
	err = writeAtomic(filepath.Join(to, ManifestFile), func(w io.Writer) error {
		_, err := w.Write(checked)
		return err
	})
	if err != nil {
		return m, err
	}
	if _, _, err := ReadManifest(to, ref.Digest); err != nil {
		return m, fmt.Errorf("staged %s: %w", ref.ID, err)
	}
	return m, nil
}

func copyVerified(src, dst string, s Segment) error {
	in, err := os.Open(src)
	if err != nil {
		return &CorruptError{File: s.Name, Reason: "missing at the source: " + err.Error()}
	}
	defer in.Close()
	h := sha256.New()
	var n int64
	err = writeAtomic(dst, func(w io.Writer) error {
		n, err = io.Copy(io.MultiWriter(w, h), in)
		if err != nil {
			return err
		}
		return s.check("corrupt at the source: ", n, h)
	})
	return err
}
