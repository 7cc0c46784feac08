package snapshot

import (
	"errors"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys"
)

// Key is what the primary's key manager held, when the snapshot was taken,
// of the key of one encrypted volume: its media key name, state, algorithm,
// length and fingerprint under the primary's BackPak id. Never material.
// A key the primary's key manager did not hold has a name and nothing else.
type Key struct {
	Label       string            `json:"label"`
	LabelType   catalog.LabelType `json:"label_type"`
	Name        string            `json:"name"`
	State       keys.State        `json:"state,omitempty"`
	Algorithm   string            `json:"algorithm,omitempty"`
	Length      int               `json:"length,omitempty"`
	Fingerprint string            `json:"fingerprint,omitempty"`
	// Group is the BackPak id the key is filed under, when not the
	// producer's own: a volume written by another domain (before a
	// failover, say) keeps its key under that domain's id.
	Group string `json:"group,omitempty"`
}

// Volume is the key of the volume the key belongs to.
func (k *Key) Volume() catalog.VolumeKey {
	return catalog.VolumeKey{Label: k.Label, LabelType: k.LabelType}
}

// Validate checks the record and that it belongs to a volume of set with
// that media key name: a key list that disagrees with the volumes is a
// malformed snapshot.
func (k *Key) Validate(set *VolumeSet) error {
	v := set.volume(k.Volume())
	switch {
	case v == nil:
		return &catalog.FieldError{Record: "KEY", Key: k.Name, Field: "LABEL", Value: k.Volume().String(),
			Reason: "must be a volume of volume set " + set.ID}
	case v.MediaKeyName != k.Name:
		return &catalog.FieldError{Record: "KEY", Key: k.Volume().String(), Field: "NAME", Value: k.Name,
			Reason: "must be the volume's MEDIAKEYNAME " + v.MediaKeyName}
	}
	return nil
}

func (s *VolumeSet) volume(key catalog.VolumeKey) *catalog.Volume {
	for i := range s.Volumes {
		if s.Volumes[i].Key() == key {
			return &s.Volumes[i]
		}
	}
	return nil
}

// CheckKeys checks that every encrypted volume of the set has exactly one
// key record and every record belongs to one.
func (s *VolumeSet) CheckKeys() error {
	seen := make(map[catalog.VolumeKey]bool, len(s.Keys))
	for i := range s.Keys {
		k := &s.Keys[i]
		if err := k.Validate(s); err != nil {
			return err
		}
		if seen[k.Volume()] {
			return &catalog.FieldError{Record: "KEY", Key: k.Name, Field: "LABEL", Value: k.Volume().String(), Reason: "must not repeat"}
		}
		seen[k.Volume()] = true
	}
	for _, v := range s.Volumes {
		if v.MediaKeyName != "" && !seen[v.Key()] {
			return &catalog.FieldError{Record: "VOLUME", Key: v.Key().String(), Field: "MEDIAKEYNAME", Value: v.MediaKeyName,
				Reason: "an encrypted volume needs its key record in the snapshot"}
		}
	}
	return nil
}

// ReadKeys streams the key records of a segment's volume sets. Each line
// is decoded by the rules of Decode (member names matched the same way) into
// the set's id and keys only, so parity sees exactly the records the plan
// validated, without building the rest of the set. A segment that does not
// match its recorded size and SHA-256 is refused once read: act on the
// records only when ReadKeys returns nil.
func ReadKeys(dir string, s Segment, fn func(set string, k *Key) error) error {
	return scanSets(dir, s, func(off int64, set setHead) error {
		if set.ID == "" {
			return errors.New("volume set without id")
		}
		for i := range set.Keys {
			if err := fn(set.ID, &set.Keys[i]); err != nil {
				return &SetError{File: s.Name, Offset: off, Set: set.ID, Err: err}
			}
		}
		return nil
	})
}
