package snapshot

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/catsync/catsync/internal/catalog"
)

// SchemaVersion is the version of the snapshot format written here: its
// segments hold sets in the binary encoding. A reader reads it and every
// version from MinSchemaVersion on (version 1: sets as lines of JSON), and
// refuses any other.
const (
	SchemaVersion    = 2
	MinSchemaVersion = 1
)

// readVersions says which schema versions this catsync reads.
func readVersions() string { return fmt.Sprintf("%d to %d", MinSchemaVersion, SchemaVersion) }

// ManifestFile is the manifest's file name inside a snapshot directory.
const ManifestFile = "manifest.json"

// segmentMagic opens a segment's header line, before the schema version.
const segmentMagic = "CATSYNC-SEGMENT"

// MaxSetBytes bounds one encoded volume set; a longer record is refused as
// malformed rather than read into memory.
const MaxSetBytes = 64 << 20

// SegmentName is the file name of the n-th segment, from 1, as this
// version writes it (version 1 named them seg-000001.jsonl).
func SegmentName(n int) string { return fmt.Sprintf("seg-%06d.bin", n) }

// Type is the kind of export.
type Type string

const (
	Update Type = "UPDATE" // volume sets changed after a watermark
	Full   Type = "FULL"   // every volume of the data store
)

// VolumeSet is the unit of export and import: the BackPak entries of the
// volumes of one volume set and every DSM/TC entry about them.
type VolumeSet struct {
	ID string `json:"id"` // VOLSETID, or the label of a volume in no set
	// Keys are what the primary recorded of its encrypted volumes' keys.
	Keys        []Key                    `json:"keys,omitempty"`
	Volumes     []catalog.Volume         `json:"volumes,omitempty"`
	Deleted     []catalog.VolumeKey      `json:"deleted,omitempty"` // tombstones, in UPDATE snapshots
	TapeVolumes []catalog.TapeVolume     `json:"tapevolumes,omitempty"`
	VTOFC       []catalog.VolumeFilecat  `json:"vtofc,omitempty"`
	Configs     []catalog.FileConfig     `json:"configs,omitempty"`
	TapeFiles   []catalog.TapeFile       `json:"tapefiles,omitempty"`
	TFTOV       []catalog.TapeFileVolume `json:"tftov,omitempty"`
	DiskFiles   []catalog.DiskFile       `json:"diskfiles,omitempty"`
	DFTOV       []catalog.DiskFileVolume `json:"dftov,omitempty"`
}

// Records is how many catalog records the set holds: its volumes, their
// tombstones and their DSM/TC records.
func (s *VolumeSet) Records() int {
	return len(s.Volumes) + len(s.Deleted) + len(s.TapeVolumes) + len(s.VTOFC) + len(s.Configs) +
		len(s.TapeFiles) + len(s.TFTOV) + len(s.DiskFiles) + len(s.DFTOV)
}

// Counts are numbers of records by entity name.
type Counts map[string]int64

// Add adds the records of a set.
func (c Counts) Add(s *VolumeSet) {
	c["sets"]++
	c["volumes"] += int64(len(s.Volumes))
	if len(s.Keys) > 0 {
		c["keys"] += int64(len(s.Keys))
	}
	c["tombstones"] += int64(len(s.Deleted))
	c["tapevolumes"] += int64(len(s.TapeVolumes))
	c["vtofc"] += int64(len(s.VTOFC))
	c["configs"] += int64(len(s.Configs))
	c["tapefiles"] += int64(len(s.TapeFiles))
	c["tftov"] += int64(len(s.TFTOV))
	c["diskfiles"] += int64(len(s.DiskFiles))
	c["dftov"] += int64(len(s.DFTOV))
}

// Producer identifies the site that wrote a snapshot.
type Producer struct {
	Node      string `json:"node"`
	DomainID  string `json:"domain_id"`
	BackPakID string `json:"backpak_id"`
}

// Segment describes one segment file.
type Segment struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
	Sets   int    `json:"sets"`
}

// Manifest describes a whole snapshot.
type Manifest struct {
	Schema       int    `json:"schema"`
	ID           string `json:"id"`
	Store        string `json:"store"`
	Type         Type   `json:"type"`
	CatalogFiles bool   `json:"catalog_files"`
	// KeysRecorded says the primary looked up the keys of the encrypted
	// volumes in its key manager; without one, Keys carry names only.
	KeysRecorded bool      `json:"keys_recorded"`
	Producer     Producer  `json:"producer"`
	FromSeq      int64     `json:"from_seq"` // changes after FromSeq ...
	ToSeq        int64     `json:"to_seq"`   // ... up to and including ToSeq
	Created      time.Time `json:"created"`
	Segments     []Segment `json:"segments"`
	Counts       Counts    `json:"counts"`
}

// Ref is what travels through Temporal: where a snapshot's manifest is and
// the digest it must have, with the counts for display.
type Ref struct {
	Store   string `json:"store"`
	ID      string `json:"id"`
	Digest  string `json:"digest"` // SHA-256 of manifest.json
	Type    Type   `json:"type"`
	FromSeq int64  `json:"from_seq"`
	ToSeq   int64  `json:"to_seq"`
	Sets    int64  `json:"sets"`
	// Taken is when the primary was read: the point in time the snapshot
	// holds, what a recovery point is measured from.
	Taken time.Time `json:"taken,omitzero"`
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
