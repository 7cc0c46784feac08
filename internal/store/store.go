// Package store defines how catsync reads and writes one site's catalogs.
//
// A Store holds the site record, the BackPak catalog (data stores, volume
// groups, volume entries) and the DSM/TC catalogs of one site, plus the change
// tracking that BackPak's export UPDATE needs: every change to a volume set
// marks the BackPak volumes concerned with a new, per-data-store sequence
// number, and a deleted volume leaves a tombstone.
//
// Reads stream: Scan methods call fn once per row, in key order, and never
// hold a whole table in memory. The record passed to fn is reused for the
// next row: copy it to keep it. fn must not use the Store or Tx it was called
// from (a PostgreSQL connection cannot run a second statement while a result
// is streaming); collect keys and act after the scan returns.
package store

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/catsync/catsync/internal/catalog"
)

// ErrNotFound is returned by Get methods when no record has the key.
var ErrNotFound = errors.New("not found")

// ErrConcurrent marks a write that another transaction's committed first
// made impossible (an audit record's sequence number taken): the whole
// transaction may be run again, reading anew.
var ErrConcurrent = errors.New("another transaction wrote first")

// ErrTxLost marks an error after which a transaction cannot go on: only
// rolling it back remains.
var ErrTxLost = errors.New("the transaction cannot go on")

// Filter restricts a scan. Empty fields match everything. A field that the
// scanned table does not have is an error, not silently ignored.
type Filter struct {
	StoreID  string // VOLUME
	Volcat   string // TAPEVOLUME, VTOFC, TAPEFILE, TFTOV, DISKFILE, DFTOV, POOL
	Pool     string
	Filecat  string // VTOFC, CONFIG, TAPEFILE, TFTOV, DISKFILE, DFTOV
	VolsetID string
	Volser   string // TAPEVOLUME, TFTOV, DFTOV
	Label    string // VOLUME
	FileID   string // CONFIG, TAPEFILE, TFTOV, DISKFILE
	// A list, when given, holds the values its field's column is one of
	// (FileIDs the FILEID, Labels the label, Volsers the VOLSER, VolsetIDs
	// the VOLSETID, each where the scalar field applies); Gens is a list
	// its FILEID and generation are one of (TAPEFILE, DISKFILE): one read
	// for many where the store can.
	FileIDs       []string
	Labels        []string
	Volsers       []string
	VolsetIDs     []string
	Gens          []FileGen
	Generation    int    // with FileID
	Name          string // DISKFILE, DFTOV: DISKFILENAME
	Status        string // TAPEVOLUME VOLUMESTATUS, TAPEFILE TAPEFILESTATUS
	ExpiresBefore time.Time
}

// FileGen is one generation of a FILEID.
type FileGen struct {
	FileID     string
	Generation int
}

// FileGens gathers generations by FILECAT, each once, the FILECATs in the
// order first added: the Gens filters of a volume set's reads, one a
// FILECAT.
type FileGens struct {
	Filecats []string
	Gens     map[string][]FileGen
}

// Add adds a generation of a FILEID of filecat.
func (g *FileGens) Add(filecat, fileID string, generation int) {
	if g.Gens == nil {
		g.Gens = map[string][]FileGen{}
	}
	fg := FileGen{FileID: fileID, Generation: generation}
	gens, ok := g.Gens[filecat]
	if !ok {
		g.Filecats = append(g.Filecats, filecat)
	}
	if !slices.Contains(gens, fg) {
		g.Gens[filecat] = append(gens, fg)
	}
}

// AuditRecord is one entry of the append-only, hash-chained audit trail:
// Hash covers Seq, Prev (the previous record's hash) and Entry.
type AuditRecord struct {
	Seq int64
	// Key is the record's identity: the trail holds one record per key, so
	// that a retried activity does not record twice (audit.Key derives it
	// from the entry: a run's id for its own record).
	Key   string
	Entry string // JSON
	Prev  string
	Hash  string
}

// MetaAuditHead is the metadata key of the audit trail's anchor, "SEQ HASH"
// of the newest record, set in the transaction of each append: the chain
// alone cannot show that its newest records were deleted, the anchor can.
const MetaAuditHead = "audit.head"

// UndoRecord is one entry of an import's undo journal: what the secondary
// held, before a strict import wrote over it, of one volume set (JSON that
// the importer reads back). Seq orders the entries of a data store.
type UndoRecord struct {
	StoreID string
	RunID   string
	Seq     int64
	Entry   string
}

// Change marks one BackPak volume whose volume set changed.
type Change struct {
	StoreID string
	Volume  catalog.VolumeKey
	Seq     int64
	Deleted bool // tombstone: the BackPak entry was deleted
}

// Reader is the read side of a site's catalogs.
type Reader interface {
	Site(ctx context.Context) (catalog.Site, error)
	DataStore(ctx context.Context, id string) (catalog.DataStore, error)
	ScanDataStores(ctx context.Context, fn func(*catalog.DataStore) error) error
	VolumeGroup(ctx context.Context, name string) (catalog.VolumeGroup, error)
	ScanVolumeGroups(ctx context.Context, fn func(*catalog.VolumeGroup) error) error
	Volume(ctx context.Context, key catalog.VolumeKey) (catalog.Volume, error)
	ScanVolumes(ctx context.Context, f Filter, fn func(*catalog.Volume) error) error

	ScanPools(ctx context.Context, f Filter, fn func(*catalog.Pool) error) error
	ScanTapeVolumes(ctx context.Context, f Filter, fn func(*catalog.TapeVolume) error) error
	ScanVolumeFilecats(ctx context.Context, f Filter, fn func(*catalog.VolumeFilecat) error) error
	ScanFileConfigs(ctx context.Context, f Filter, fn func(*catalog.FileConfig) error) error
	ScanTapeFiles(ctx context.Context, f Filter, fn func(*catalog.TapeFile) error) error
	ScanTapeFileVolumes(ctx context.Context, f Filter, fn func(*catalog.TapeFileVolume) error) error
	ScanDiskFiles(ctx context.Context, f Filter, fn func(*catalog.DiskFile) error) error
	ScanDiskFileVolumes(ctx context.Context, f Filter, fn func(*catalog.DiskFileVolume) error) error

	// Changes calls fn for every volume of storeID marked after seq, in
	// sequence order. Its cost follows the number of changes, not the catalog.
	Changes(ctx context.Context, storeID string, after int64, fn func(Change) error) error
	// LastSeq is the highest sequence given out for storeID (0 if none).
	LastSeq(ctx context.Context, storeID string) (int64, error)
	// Count returns the number of rows of each table, by table name.
	Count(ctx context.Context) (map[string]int64, error)
	// Meta returns a site metadata value (watermarks, simulator state), or
	// ErrNotFound.
	Meta(ctx context.Context, key string) (string, error)
	// ScanAudit streams the audit trail in sequence order.
	ScanAudit(ctx context.Context, fn func(*AuditRecord) error) error
	// LastAudit returns the newest audit record, or ErrNotFound.
	LastAudit(ctx context.Context) (AuditRecord, error)
	// LastUndo returns the newest undo journal entry of storeID, or
	// ErrNotFound when its journal is empty.
	LastUndo(ctx context.Context, storeID string) (UndoRecord, error)
	// ScanVerified calls fn with every volume of storeID whose restore was
	// verified, and when it last was, in label order.
	ScanVerified(ctx context.Context, storeID string, fn func(catalog.VolumeKey, time.Time) error) error
}

// Writer is the write side. Put creates or replaces a record (validated
// first); Delete removes the record with the key of its argument.
type Writer interface {
	PutSite(ctx context.Context, s *catalog.Site) error
	PutMeta(ctx context.Context, key, value string) error
	// AppendAudit adds a record to the audit trail, and sets the trail's
	// anchor (MetaAuditHead) to it; there is no update or delete. It
	// reports false, writing nothing, when a record has the same key.
	AppendAudit(ctx context.Context, r *AuditRecord) (bool, error)
	// AppendUndo adds an entry to the store's undo journal, numbering it
	// after the last; DeleteUndo removes one entry, ClearUndo all of the
	// store's. Like metadata, the journal is bookkeeping: it marks no change.
	AppendUndo(ctx context.Context, r *UndoRecord) error
	DeleteUndo(ctx context.Context, storeID string, seq int64) error
	ClearUndo(ctx context.Context, storeID string) error
	// PutVerified records when a restore test last verified a volume of
	// storeID. Bookkeeping, like metadata: it marks no change.
	PutVerified(ctx context.Context, storeID string, key catalog.VolumeKey, at time.Time) error
	PutDataStore(ctx context.Context, d *catalog.DataStore) error
	PutVolumeGroup(ctx context.Context, g *catalog.VolumeGroup) error
	PutVolume(ctx context.Context, v *catalog.Volume) error
	DeleteVolume(ctx context.Context, key catalog.VolumeKey) error

	PutPool(ctx context.Context, p *catalog.Pool) error
	PutTapeVolume(ctx context.Context, v *catalog.TapeVolume) error
	DeleteTapeVolume(ctx context.Context, v *catalog.TapeVolume) error
	PutVolumeFilecat(ctx context.Context, f *catalog.VolumeFilecat) error
	DeleteVolumeFilecat(ctx context.Context, f *catalog.VolumeFilecat) error
	PutFileConfig(ctx context.Context, f *catalog.FileConfig) error
	DeleteFileConfig(ctx context.Context, f *catalog.FileConfig) error
	PutTapeFile(ctx context.Context, f *catalog.TapeFile) error
	// DeleteTapeFile removes a tape file with its TFTOV, DISKFILE and DFTOV rows.
	DeleteTapeFile(ctx context.Context, key catalog.TapeFileKey) error
	PutTapeFileVolume(ctx context.Context, t *catalog.TapeFileVolume) error
	DeleteTapeFileVolume(ctx context.Context, t *catalog.TapeFileVolume) error
	PutDiskFile(ctx context.Context, d *catalog.DiskFile) error
	DeleteDiskFile(ctx context.Context, d *catalog.DiskFile) error
	PutDiskFileVolume(ctx context.Context, d *catalog.DiskFileVolume) error
	DeleteDiskFileVolume(ctx context.Context, d *catalog.DiskFileVolume) error
}

// Tx is a transaction: all of its writes, and the change marks they cause,
// commit together or not at all.
type Tx interface {
	Reader
	Writer
	// Savepoint runs fn so that, when fn fails, what fn wrote is undone
	// and the transaction goes on as before it: one volume set of many
	// in a transaction can fail alone. Savepoints do not nest. An error
	// wrapping ErrTxLost means the transaction cannot go on.
	Savepoint(ctx context.Context, fn func() error) error
	// HoldCatalog keeps every other writer out of the DSM/TC and BackPak
	// tables until the transaction ends, readers still let in: what the
	// transaction found absent stays absent but for its own writes. On
	// SQLite a writer already holds the whole database.
	HoldCatalog(ctx context.Context) error
}

// Store is one site's catalog database.
type Store interface {
	Reader
	// Update runs fn in a transaction, committing if fn returns nil and
	// rolling back otherwise.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn on a read-only view of the catalogs as of the moment
	// View began: every transaction committed before then, none committed
	// after, however long fn runs. Writers are not blocked meanwhile. fn
	// reads through the Reader it is given; the view holds one connection
	// until fn returns.
	View(ctx context.Context, fn func(Reader) error) error
	Close() error
}

// Table names, as used by Count.
const (
	TableSite         = "site"
	TableDataStore    = "datastore"
	TableVolumeGroup  = "volumegroup"
	TableVolume       = "volume"
	TablePool         = "pool"
	TableTapeVolume   = "tapevolume"
	TableVTOFC        = "vtofc"
	TableConfig       = "config"
	TableTapeFile     = "tapefile"
	TableTFTOV        = "tftov"
	TableDiskFile     = "diskfile"
	TableDFTOV        = "dftov"
	TableVolumeChange = "volume_change"
)

// Tables lists the catalog tables in dependency order.
var Tables = []string{TableSite, TableDataStore, TableVolumeGroup, TableVolume, TablePool, TableTapeVolume,
	TableVTOFC, TableConfig, TableTapeFile, TableTFTOV, TableDiskFile, TableDFTOV, TableVolumeChange}
