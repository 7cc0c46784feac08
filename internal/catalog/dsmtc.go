package catalog

import (
	"fmt"
	"time"
)

// DSM/TC value sets (DSM/TC User's Guide and Management Programming Manual).
var (
	LabelTypes    = []string{"ANSI", "IBM", "BACKUP"}
	MediaTypes    = []string{"CART3480", "CART5120", "CARTDAT", "OPEN", "DDS3", "DLTIII", "DLTIV", "LTO1", "LTO2", "LTO3", "LTO4", "LTO5", "SDLT"}
	Densities     = []string{"1600", "6250"}
	TapeFileModes = []string{"BKVO", "BKFI", "BIFI", "BIVO", "USER"}
	FileTypes     = []string{"EN", "TA", "IN", "PG", "PV", "SV"}
)

// VolumeStatus is a TAPEVOLUME's VOLUMESTATUS.
type VolumeStatus string

const (
	StatusScratch  VolumeStatus = "SCRATCH"
	StatusSelected VolumeStatus = "SELECTED"
	StatusInUse    VolumeStatus = "INUSE"
	StatusAssigned VolumeStatus = "ASSIGNED"
	StatusFull     VolumeStatus = "FULL"
	StatusReleased VolumeStatus = "RELEASED"
	StatusBad      VolumeStatus = "BAD"
)

// VolumeStatuses are the VOLUMESTATUS values, in the order DSM/TC moves a
// tape through them.
var VolumeStatuses = []VolumeStatus{StatusScratch, StatusSelected, StatusInUse, StatusAssigned, StatusFull, StatusReleased, StatusBad}

// transitions lists the status changes DSM/TC makes or allows: mounts
// (SCRATCH→SELECTED→INUSE→ASSIGNED, a premounted SCRATCH→INUSE, a proposed
// tape not mounted SELECTED→SCRATCH), a failed write INUSE→SCRATCH, expiry
// (ASSIGNED/FULL→SCRATCH or RELEASED), appends (ASSIGNED→INUSE), pool APPEND
// changes (ASSIGNED↔FULL), a defect (any→BAD, as parity errors show) and the
// operator's ALTER within {BAD, RELEASED, SCRATCH}.
var transitions = map[VolumeStatus][]VolumeStatus{
	StatusScratch:  {StatusSelected, StatusInUse, StatusBad, StatusReleased},
	StatusSelected: {StatusInUse, StatusScratch, StatusBad},
	StatusInUse:    {StatusAssigned, StatusFull, StatusScratch, StatusBad},
	StatusAssigned: {StatusInUse, StatusFull, StatusScratch, StatusReleased, StatusBad},
	StatusFull:     {StatusAssigned, StatusScratch, StatusReleased, StatusBad},
	StatusReleased: {StatusScratch, StatusBad},
	StatusBad:      {StatusScratch, StatusReleased},
}

// Transition checks that a volume may go from status from to status to.
func Transition(volser string, from, to VolumeStatus) error {
	if from == to || oneOf(to, transitions[from]...) {
		return nil
	}
	return &FieldError{Record: "TAPEVOLUME", Key: volser, Field: "VOLUMESTATUS", Value: to,
		Reason: fmt.Sprintf("DSM/TC does not change a %s volume to %s", from, to)}
}

// Pool is a DSM/TC POOL of a volume catalog.
type Pool struct {
	Volcat         string
	Name           string
	Label          string // ANY, ANSI, IBM, BACKUP
	Density        string // ANY, 1600, 6250
	Type           string // media type or ANY
	AutoScratch    bool   // expired volumes become SCRATCH (else RELEASED)
	SearchSpace    string // IN or EX
	LastScratchVol string
	CanAppend      bool
}

// Validate checks the pool record.
func (p *Pool) Validate() error {
	c := newChecker("POOL")
	check(c, ValidCatalogName(p.Volcat), "VOLCAT", p.Volcat, "must be a catalog name of at most 30 characters")
	check(c, ValidPoolName(p.Name), "POOLNAME", p.Name, "must be 1-30 letters, digits or underscores, the first a letter")
	check(c, p.Label == "ANY" || oneOf(p.Label, LabelTypes...), "LABEL", p.Label, "must be ANY, ANSI, IBM or BACKUP")
	check(c, p.Density == "ANY" || oneOf(p.Density, Densities...), "DENSITY", p.Density, "must be ANY, 1600 or 6250")
	check(c, p.Type == "ANY" || oneOf(p.Type, MediaTypes...), "TYPE", p.Type, "must be ANY or a media type")
	check(c, oneOf(p.SearchSpace, "IN", "EX"), "SEARCHSPACE", p.SearchSpace, "must be IN or EX")
	check(c, p.LastScratchVol == "" || ValidLabel(p.LastScratchVol), "LASTSCRATCHVOL", p.LastScratchVol, "must be empty or a volume name")
	check(c, !p.CanAppend || p.Type != "OPEN", "CANAPPEND", p.CanAppend, "open-reel pools cannot append")
	return c.result(func() string { return p.Volcat + " " + p.Name })
}

// MaxEndOfDataLBA marks a full appendable tape.
const MaxEndOfDataLBA = 1<<31 - 1

// TapeVolume is a DSM/TC TAPEVOLUME (the VOLUME table).
type TapeVolume struct {
	Volcat       string
	Volser       string
	Pool         string
	Label        string // ANSI, IBM, BACKUP
	Type         string // media type
	Status       VolumeStatus
	VolsetID     string // VOLSER of the first volume of its set, "" if none
	VolIndex     int    // position in the set from 1, 0 if none
	OwnerID      string // process handle using the tape, "" if none
	Density      string // 1600, 6250, "" for cartridges
	EndOfDataLBA int64  // next free LBA of an appendable BACKUP tape, MaxEndOfDataLBA when full, -1 otherwise
}

// Validate checks the tape volume record.
func (v *TapeVolume) Validate() error {
	c := newChecker("TAPEVOLUME")
	check(c, ValidCatalogName(v.Volcat), "VOLCAT", v.Volcat, "must be a catalog name of at most 30 characters")
	check(c, ValidLabel(v.Volser), "VOLSER", v.Volser, "must be 1-6 upper-case letters or digits")
	check(c, ValidPoolName(v.Pool), "POOLNAME", v.Pool, "must be 1-30 letters, digits or underscores, the first a letter")
	check(c, oneOf(v.Label, LabelTypes...), "LABEL", v.Label, "must be ANSI, IBM or BACKUP")
	check(c, oneOf(v.Type, MediaTypes...), "TYPE", v.Type, "must be a media type")
	check(c, oneOf(v.Status, VolumeStatuses...), "VOLUMESTATUS", v.Status, "must be SCRATCH, SELECTED, INUSE, ASSIGNED, FULL, RELEASED or BAD")
	check(c, v.VolsetID == "" || ValidLabel(v.VolsetID), "VOLSETID", v.VolsetID, "must be empty or a volume name")
	check(c, (v.VolsetID == "") == (v.VolIndex == 0), "VOLINDEX", v.VolIndex, "must be set (from 1) exactly when VOLSETID is")
	check(c, v.VolIndex >= 0 && v.VolIndex <= 32767, "VOLINDEX", v.VolIndex, "must be 1-32767")
	check(c, v.VolIndex != 1 || v.VolsetID == v.Volser, "VOLSETID", v.VolsetID, "the first volume of a set must carry its own name")
	check(c, v.VolsetID != "" || !oneOf(v.Status, StatusAssigned, StatusFull), "VOLSETID", v.VolsetID, "an ASSIGNED or FULL volume belongs to a volume set")
	check(c, v.VolsetID == "" || !oneOf(v.Status, StatusScratch, StatusSelected), "VOLSETID", v.VolsetID, "a SCRATCH or SELECTED volume belongs to no volume set")
	check(c, len(v.OwnerID) <= 47, "OWNERID", v.OwnerID, "must be at most 47 bytes")
	check(c, v.Density == "" || oneOf(v.Density, Densities...), "DENSITY", v.Density, "must be empty, 1600 or 6250")
	check(c, v.EndOfDataLBA >= -1 && v.EndOfDataLBA <= MaxEndOfDataLBA, "ENDOFDATALBA", v.EndOfDataLBA, "must be -1 or 0-2147483647")
	return c.result(func() string { return v.Volcat + " " + v.Pool + " " + v.Volser })
}

// VolumeFilecat is a VTOFC row: the one FILECAT holding the tape files of a
// volume set.
type VolumeFilecat struct {
	Volcat     string
	VolsetID   string
	Pool       string
	Filecat    string
	TapeFormat int // 0 NONBACKUP, 1 ARCHIVE, 2 LONGNAME
}

// Tape formats of BACKUP-label volumes.
const (
	FormatNonBackup = 0
	FormatArchive   = 1
	FormatLongName  = 2
)

// Validate checks the VTOFC record.
func (f *VolumeFilecat) Validate() error {
	c := newChecker("VTOFC")
	check(c, ValidCatalogName(f.Volcat), "VOLCAT", f.Volcat, "must be a catalog name of at most 30 characters")
	check(c, ValidLabel(f.VolsetID), "VOLSETID", f.VolsetID, "must be a volume name")
	check(c, ValidPoolName(f.Pool), "POOLNAME", f.Pool, "must be 1-30 letters, digits or underscores, the first a letter")
	check(c, ValidCatalogName(f.Filecat), "FILECATALOG", f.Filecat, "must be a catalog name of at most 30 characters")
	check(c, f.TapeFormat >= FormatNonBackup && f.TapeFormat <= FormatLongName, "TAPEFORMAT", f.TapeFormat, "must be 0 (NONBACKUP), 1 (ARCHIVE) or 2 (LONGNAME)")
	return c.result(func() string { return f.Volcat + " " + f.Pool + " " + f.VolsetID })
}

// Generation and version bounds.
const (
	MaxGeneration = 32767
	MaxVersion    = 100
)

// FileConfig is a CONFIG row: the highest absolute generation ever assigned
// to a FILEID in a file catalog.
type FileConfig struct {
	Filecat        string
	FileID         string
	LastGeneration int
}

// Validate checks the CONFIG record.
func (f *FileConfig) Validate() error {
	c := newChecker("CONFIG")
	check(c, ValidCatalogName(f.Filecat), "FILECAT", f.Filecat, "must be a catalog name of at most 30 characters")
	check(c, ValidFileID(f.FileID), "FILEID", f.FileID, "must be 1-60 printable characters without spaces")
	check(c, f.LastGeneration >= 1 && f.LastGeneration <= MaxGeneration, "LASTGENERATION", f.LastGeneration, "must be 1-32767")
	return c.result(func() string { return f.Filecat + " " + f.FileID })
}

// Tape file statuses.
const (
	FileValid   = "VALID"
	FileInvalid = "INVALID"
)

// TapeFile is a TAPEFILE row: one generation, version and copy of a FILEID.
type TapeFile struct {
	Filecat      string
	FileID       string
	Generation   int
	Version      int
	PhysicalCopy int
	LogicalCopy  int
	Created      time.Time
	Expiration   time.Time // zero: permanent
	RecordFormat string    // FI or UN
	RecordLength int
	BlockLength  int // in K
	Mode         string
	CatalogFiles bool
	Status       string // VALID or INVALID
	Volcat       string
	Pool         string
	VolsetID     string
	Comment      string
}

// TapeFileKey identifies a tape file copy within a file catalog.
type TapeFileKey struct {
	Filecat                                        string
	FileID                                         string
	Generation, Version, PhysicalCopy, LogicalCopy int
}

func (k TapeFileKey) String() string {
	return fmt.Sprintf("%s %s GEN %d VERSION %d COPY %d.%d", k.Filecat, k.FileID, k.Generation, k.Version, k.PhysicalCopy, k.LogicalCopy)
}

// Key returns the tape file's key.
func (f *TapeFile) Key() TapeFileKey {
	return TapeFileKey{f.Filecat, f.FileID, f.Generation, f.Version, f.PhysicalCopy, f.LogicalCopy}
}

// Validate checks the tape file record.
func (f *TapeFile) Validate() error {
	c := newChecker("TAPEFILE")
	check(c, ValidCatalogName(f.Filecat), "FILECAT", f.Filecat, "must be a catalog name of at most 30 characters")
	checkFileRef(c, f.FileID, f.Generation, f.Version)
	checkCopies(c, f.PhysicalCopy, f.LogicalCopy)
	check(c, !f.Created.IsZero(), "CREATIONDATE", f.Created, "must be set")
	if !f.Expiration.IsZero() && dateBefore(f.Expiration, f.Created) {
		c.fail("EXPIRATIONDATE", f.Expiration.Format(time.DateOnly), "must not precede CREATIONDATE")
	}
	check(c, oneOf(f.RecordFormat, "FI", "UN"), "RECORDFORMAT", f.RecordFormat, "must be FI or UN")
	check(c, f.RecordLength >= 0 && f.RecordLength <= 56*1024, "RECORDLENGTH", f.RecordLength, "must be 0-57344")
	check(c, f.BlockLength >= 0 && f.BlockLength <= 52, "BLOCKLENGTH", f.BlockLength, "must be 0-52 (K)")
	check(c, oneOf(f.Mode, TapeFileModes...), "TAPEFILEMODE", f.Mode, "must be BKVO, BKFI, BIFI, BIVO or USER")
	check(c, oneOf(f.Status, FileValid, FileInvalid), "TAPEFILESTATUS", f.Status, "must be VALID or INVALID")
	check(c, ValidCatalogName(f.Volcat), "VOLUMECATALOG", f.Volcat, "must be a catalog name of at most 30 characters")
	check(c, ValidPoolName(f.Pool), "POOLNAME", f.Pool, "must be 1-30 letters, digits or underscores, the first a letter")
	check(c, ValidLabel(f.VolsetID), "VOLSETID", f.VolsetID, "must be a volume name")
	check(c, printable(f.Comment, 80), "COMMENT", f.Comment, "must be at most 80 printable characters")
	return c.result(func() string { return f.Key().String() })
}

// dateBefore reports whether the calendar date of a precedes that of b, each
// read in its own location: EXPIRATIONDATE is a DATE, CREATIONDATE a DATETIME.
func dateBefore(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	if ay != by {
		return ay < by
	}
	if am != bm {
		return am < bm
	}
	return ad < bd
}

func checkFileRef(c *checker, fileID string, gen, version int) {
	check(c, ValidFileID(fileID), "FILEID", fileID, "must be 1-60 printable characters without spaces")
	check(c, gen >= 1 && gen <= MaxGeneration, "GENERATION", gen, "must be 1-32767")
	check(c, version >= 0 && version <= MaxVersion, "VERSION", version, "must be 0-100")
}

func checkCopies(c *checker, physical, logical int) {
	check(c, physical >= 1 && physical <= 32767, "PHYSICALCOPY", physical, "must be 1-32767")
	check(c, logical == 1 || logical == 2, "LOGICALCOPY", logical, "must be 1 or 2")
}

// TapeFileVolume is a TFTOV row: one tape volume a tape file spans.
type TapeFileVolume struct {
	Filecat      string
	Volcat       string
	Volser       string
	Pool         string
	FileID       string
	Generation   int
	Version      int
	PhysicalCopy int
	LogicalCopy  int
	VolsetID     string
	VolIndex     int
	FileSection  int   // which volume of a multi-volume file, from 1
	FileSequence int   // position of the file in a multi-file set, from 1
	LabelLBA     int64 // FILESEQLABELLBA
}

// Validate checks the TFTOV record.
func (t *TapeFileVolume) Validate() error {
	c := newChecker("TFTOV")
	check(c, ValidCatalogName(t.Filecat), "FILECAT", t.Filecat, "must be a catalog name of at most 30 characters")
	check(c, ValidCatalogName(t.Volcat), "VOLUMECATALOG", t.Volcat, "must be a catalog name of at most 30 characters")
	check(c, ValidLabel(t.Volser), "VOLSER", t.Volser, "must be 1-6 upper-case letters or digits")
	check(c, ValidPoolName(t.Pool), "POOLNAME", t.Pool, "must be 1-30 letters, digits or underscores, the first a letter")
	checkFileRef(c, t.FileID, t.Generation, t.Version)
	checkCopies(c, t.PhysicalCopy, t.LogicalCopy)
	check(c, ValidLabel(t.VolsetID), "VOLSETID", t.VolsetID, "must be a volume name")
	check(c, t.VolIndex >= 1 && t.VolIndex <= 32767, "VOLINDEX", t.VolIndex, "must be 1-32767")
	check(c, t.FileSection >= 1 && t.FileSection <= 9999, "FILESECTION", t.FileSection, "must be 1-9999")
	check(c, t.FileSequence >= 1 && t.FileSequence <= 9999, "FILESEQUENCE", t.FileSequence, "must be 1-9999")
	check(c, t.LabelLBA >= -1, "FILESEQLABELLBA", t.LabelLBA, "must be -1 or more")
	return c.result(func() string {
		return fmt.Sprintf("%s %s GEN %d VERSION %d ON %s", t.Filecat, t.FileID, t.Generation, t.Version, t.Volser)
	})
}

// Disk file statuses.
const (
	DiskValid   = "VA"
	DiskInvalid = "IN"
)

// DiskFile is a DISKFILE row: one disk file written by BACKUP with
// CATALOGFILES, and the tape file holding it.
type DiskFile struct {
	Filecat      string
	Name         string // \NODE.$VOL.SUBVOL.FILE
	TimeDumped   time.Time
	PhysicalCopy int
	LogicalCopy  int
	FileID       string
	Generation   int
	Version      int
	Status       string // VA or IN
	Opened       bool
	Broken       bool
	RFNeeded     bool
	Corrupt      bool
	Audited      bool
	FileCode     int
	FileType     string
	EOF          int64 // DISKFILEEOF64; DISKFILEEOF is derived
	LastModified time.Time
	VolsetID     string
	Pool         string
	Volcat       string
}

// EOF32 is the 32-bit DISKFILEEOF column, saturating at 2^32-1.
func (d *DiskFile) EOF32() int64 { return min(d.EOF, 1<<32-1) }

// Validate checks the disk file record.
func (d *DiskFile) Validate() error {
	c := newChecker("DISKFILE")
	check(c, ValidCatalogName(d.Filecat), "FILECAT", d.Filecat, "must be a catalog name of at most 30 characters")
	check(c, ValidDiskFileName(d.Name), "DISKFILENAME", d.Name, `must be \NODE.$VOL.SUBVOL.FILE, at most 35 characters`)
	check(c, !d.TimeDumped.IsZero(), "TIMEDUMPED", d.TimeDumped, "must be set")
	checkCopies(c, d.PhysicalCopy, d.LogicalCopy)
	checkFileRef(c, d.FileID, d.Generation, d.Version)
	check(c, oneOf(d.Status, DiskValid, DiskInvalid), "DISKFILESTATUS", d.Status, "must be VA or IN")
	check(c, d.FileCode >= 0 && d.FileCode <= 65535, "FILECODE", d.FileCode, "must be 0-65535")
	check(c, oneOf(d.FileType, FileTypes...), "FILETYPE", d.FileType, "must be EN, TA, IN, PG, PV or SV")
	check(c, d.EOF >= 0, "DISKFILEEOF64", d.EOF, "must not be negative")
	check(c, ValidLabel(d.VolsetID), "VOLSETID", d.VolsetID, "must be a volume name")
	check(c, ValidPoolName(d.Pool), "POOLNAME", d.Pool, "must be 1-30 letters, digits or underscores, the first a letter")
	check(c, ValidCatalogName(d.Volcat), "VOLUMECATALOG", d.Volcat, "must be a catalog name of at most 30 characters")
	return c.result(func() string { return fmt.Sprintf("%s %s IN %s GEN %d", d.Filecat, d.Name, d.FileID, d.Generation) })
}

// DiskFileVolume is a DFTOV row: one tape volume a disk file spans.
type DiskFileVolume struct {
	Filecat     string
	Name        string
	TimeDumped  time.Time
	Volser      string
	Volcat      string
	Pool        string
	VolsetID    string
	VolIndex    int
	PositionLBA int64 // FILEPOSITIONLBA, reserved: -1
}

// Validate checks the DFTOV record.
func (d *DiskFileVolume) Validate() error {
	c := newChecker("DFTOV")
	check(c, ValidCatalogName(d.Filecat), "FILECAT", d.Filecat, "must be a catalog name of at most 30 characters")
	check(c, ValidDiskFileName(d.Name), "DISKFILENAME", d.Name, `must be \NODE.$VOL.SUBVOL.FILE, at most 35 characters`)
	check(c, !d.TimeDumped.IsZero(), "TIMEDUMPED", d.TimeDumped, "must be set")
	check(c, ValidLabel(d.Volser), "VOLSER", d.Volser, "must be 1-6 upper-case letters or digits")
	check(c, ValidCatalogName(d.Volcat), "VOLUMECATALOG", d.Volcat, "must be a catalog name of at most 30 characters")
	check(c, ValidPoolName(d.Pool), "POOLNAME", d.Pool, "must be 1-30 letters, digits or underscores, the first a letter")
	check(c, ValidLabel(d.VolsetID), "VOLSETID", d.VolsetID, "must be a volume name")
	check(c, d.VolIndex >= 1 && d.VolIndex <= 32767, "VOLINDEX", d.VolIndex, "must be 1-32767")
	check(c, d.PositionLBA >= -1, "FILEPOSITIONLBA", d.PositionLBA, "must be -1 or more")
	return c.result(func() string { return d.Filecat + " " + d.Name + " ON " + d.Volser })
}
