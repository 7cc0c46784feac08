// Package volimage writes and reads BackBox-style volume images: the
// LB<label>.IND index and LB<label>.DAT blocks of one tape volume in a data
// store. The data of an image is a tape as DSM/TC writes it (ANSI labels,
// tape marks, data blocks), cut into blocks that are each checksummed,
// compressed and, for encrypted volumes, sealed with AES-256-GCM, and a
// locate table gives where each tape file's labels are. A restore test on
// the secondary proves an image without loading a tape: Check verifies
// every block as stored, FileAt reads a tape file's labels and directory
// at the logical block address the catalog gives; Files reads it all.
package volimage

import (
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	"github.com/catsync/catsync/internal/catalog"
)

// Header is what the index says about the volume write.
type Header struct {
	Label        string
	LabelType    catalog.LabelType
	Timestamp    time.Time // the BackPak volume timestamp of the write
	MediaKeyName string    // "" for a volume that is not encrypted
	Compression  catalog.Compression
}

// DiskEntry is one disk file in a tape file's directory.
type DiskEntry struct {
	Name   string
	Size   int64
	Digest string // hex SHA-256 of the content
}

// TapeFile is one file of the tape, as its labels and directory describe it.
type TapeFile struct {
	FileID     string // the full DSM/TC FILEID; HDR1 carries its rightmost 17 characters
	FileSetID  string // the volume set / file set id of HDR1
	Section    int    // file section number (multi-volume files)
	Sequence   int    // file sequence number on the set
	Generation int
	Version    int
	Created    time.Time
	Expires    time.Time // zero: no expiration date
	Disk       []DiskEntry
	// LBA is the logical block address of the HDR1, as read back (Write
	// places files itself; NextLabelLBA says where).
	LBA int64
}

// Block sizes of the image (plain bytes per block).
const (
	DefaultBlockSize = 32 << 10
	MinBlockSize     = 512
	MaxBlockSize     = 16 << 20
)

// KeySize is the length of a volume key (AES-256).
const KeySize = 32

// File names the two files of an image in an Error.
const (
	FileIndex = "IND"
	FileData  = "DAT"
)

// StoreDir is the folder of a data store's images under root, the data
// stores' folder of a site: one folder per data store id.
func StoreDir(root, storeID string) string { return filepath.Join(root, url.PathEscape(storeID)) }

// IndexName is the file name of label's index: LB<label>.IND.
func IndexName(label string) string { return catalog.Labeled.FilePrefix() + label + ".IND" }

// DataName is the file name of label's data: LB<label>.DAT.
func DataName(label string) string { return catalog.Labeled.FilePrefix() + label + ".DAT" }

// Kind classifies a fault of an image.
type Kind string

const (
	Missing   Kind = "missing"   // a file of the image does not exist
	Truncated Kind = "truncated" // a file is shorter than its index says
	Corrupt   Kind = "corrupt"   // checksum failure, or bytes that cannot be decoded
	Decrypt   Kind = "decrypt"   // GCM tag failure: wrong or missing key, moved block
	Malformed Kind = "malformed" // the index, labels or directory break the format
	Mismatch  Kind = "mismatch"  // consistent bytes that disagree with what was asked
	NotFound  Kind = "not found" // no tape file at the logical block address asked
)

// Error is one fault of an image, precise enough for an operator.
type Error struct {
	Label  string
	File   string // FileIndex or FileData
	Block  int    // block index, -1 when the fault is not in one block
	Kind   Kind
	Reason string
}

func (e *Error) Error() string {
	name := e.File
	switch e.File {
	case FileIndex:
		name = IndexName(e.Label)
	case FileData:
		name = DataName(e.Label)
	}
	if e.Block >= 0 {
		return fmt.Sprintf("volume image %s block %d: %s: %s", name, e.Block, e.Kind, e.Reason)
	}
	return fmt.Sprintf("volume image %s: %s: %s", name, e.Kind, e.Reason)
}

func fault(label, file string, block int, kind Kind, format string, args ...any) *Error {
	return &Error{Label: label, File: file, Block: block, Kind: kind, Reason: fmt.Sprintf(format, args...)}
}
