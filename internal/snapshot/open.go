package snapshot

import (
	"fmt"

	"github.com/catsync/catsync/internal/catalog"
)

// Staged is a snapshot in a staging area, opened by Area.Open or
// Area.OpenManifest: its folder and its checked manifest.
type Staged struct {
	Dir      string
	Manifest Manifest
}

// Open opens the staged snapshot ref names. It reads the manifest of ref's
// folder and checks it as OpenManifest does, then checks every segment's
// size and SHA-256, so that nothing is read from a segment before the
// whole snapshot is known intact. A damaged or missing segment is a
// *CorruptError naming its file.
func (a Area) Open(ref Ref) (*Staged, error) {
	st, err := a.OpenManifest(ref)
	if err != nil {
		return nil, err
	}
	for _, s := range st.Manifest.Segments {
		if err := VerifySegment(st.Dir, s); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// OpenManifest opens the staged snapshot ref names, checking its manifest
// only: that it has the digest ref carries (a reference without a digest
// is refused), is of this schema version, is signed by a key the area
// trusts, and is a snapshot of ref's data store (a *RefusedError
// otherwise). It reads no segment. It is for readers that check each segment's
// SHA-256 in the same pass as they read it (ReadKeys, VolumeKeys), and for
// those that need only the manifest; any other reader uses Open.
func (a Area) OpenManifest(ref Ref) (*Staged, error) {
	if ref.Digest == "" {
		return nil, fmt.Errorf("snapshot %s of data store %s: the reference carries no manifest digest", ref.ID, ref.Store)
	}
	dir := a.Dir(ref.Store, ref.ID)
	m, b, _, err := readManifest(dir, ref.Digest)
	if err != nil {
		return nil, err
	}
	if err := a.Keys.verifyDir(dir, m, b); err != nil {
		return nil, err
	}
	if err := checkStore(dir, m, ref.Store); err != nil {
		return nil, err
	}
	return &Staged{Dir: dir, Manifest: m}, nil
}

// segment is the i-th segment of the manifest, from 0.
func (st *Staged) segment(i int) (Segment, error) {
	if i < 0 || i >= len(st.Manifest.Segments) {
		return Segment{}, fmt.Errorf("snapshot %s has %d segments: no segment %d", st.Manifest.ID, len(st.Manifest.Segments), i)
	}
	return st.Manifest.Segments[i], nil
}

// ReadSegment decodes the i-th segment (from 0) from its set index from on,
// calling fn with each set and its index in the segment, as the package
// function ReadSegment does.
func (st *Staged) ReadSegment(i, from int, fn func(int, *VolumeSet) error) error {
	s, err := st.segment(i)
	if err != nil {
		return err
	}
	return ReadSegment(st.Dir, s, from, fn)
}

// ReadSets reads the i-th segment (from 0) from its set from on, as the
// package function ReadSets does.
func (st *Staged) ReadSets(i, from int) ([]SetAt, []*VolumeSet, error) {
	s, err := st.segment(i)
	if err != nil {
		return nil, nil, err
	}
	return ReadSets(st.Dir, s, from)
}

// ReadKeys streams the key records of the i-th segment (from 0), as the
// package function ReadKeys does: the segment's size and SHA-256 are
// checked once it is read, so act on the records only when ReadKeys
// returns nil. One call per segment lets the caller record its progress
// between them.
func (st *Staged) ReadKeys(i int, fn func(set string, k *Key) error) error {
	s, err := st.segment(i)
	if err != nil {
		return err
	}
	return ReadKeys(st.Dir, s, fn)
}

// VolumeKeys streams the keys of the BackPak volumes of every segment, in
// order, as ReadVolumeKeys does: each segment's size and SHA-256 are
// checked once it is read, so use the keys only when VolumeKeys returns
// nil.
func (st *Staged) VolumeKeys(fn func(catalog.VolumeKey)) error {
	for i := range st.Manifest.Segments {
		if err := st.SegmentVolumeKeys(i, fn); err != nil {
			return err
		}
	}
	return nil
}

// SegmentVolumeKeys is VolumeKeys of the i-th segment (from 0) alone.
func (st *Staged) SegmentVolumeKeys(i int, fn func(catalog.VolumeKey)) error {
	s, err := st.segment(i)
	if err != nil {
		return err
	}
	return ReadVolumeKeys(st.Dir, s, fn)
}
