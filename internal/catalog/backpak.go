package catalog

import (
	"strings"
	"time"
)

// DomainAccess is the access a BackPak domain has to a data store, and the
// per-volume ownership state.
type DomainAccess string

const (
	AccessPrimary    DomainAccess = "PRIMARY"
	AccessSecondary  DomainAccess = "SECONDARY"
	AccessRestricted DomainAccess = "RESTRICTED"
)

// DomainAccesses are the DOMAINACCESS values.
var DomainAccesses = []DomainAccess{AccessPrimary, AccessSecondary, AccessRestricted}

// StoreStatus is a data store's status.
type StoreStatus string

const (
	StoreActive   StoreStatus = "ACTIVE"
	StoreInactive StoreStatus = "INACTIVE"
)

// DataStore is a BackPak data store, the unit of replication. Its ID is the
// same in every domain that sees it.
type DataStore struct {
	ID                   string
	Access               DomainAccess
	Status               StoreStatus
	CheckVolumeTimestamp bool
	Location             string // where volume images live, e.g. \\NAS1\VTC\DS_PROD
}

// Validate checks the data store record.
// StoreIDRule is what a data store id must be.
const StoreIDRule = "must be 1-32 printable characters without leading or trailing spaces"

// ValidStoreID tells whether id can name a data store (and so a sync's
// workflow id).
func ValidStoreID(id string) bool {
	return id != "" && printable(id, 32) && strings.TrimSpace(id) == id
}

func (d *DataStore) Validate() error {
	c := newChecker("DATASTORE")
	check(c, ValidStoreID(d.ID), "STOREID", d.ID, StoreIDRule)
	check(c, oneOf(d.Access, DomainAccesses...), "DOMAINACCESS", d.Access, "must be PRIMARY, SECONDARY or RESTRICTED")
	check(c, oneOf(d.Status, StoreActive, StoreInactive), "STATUS", d.Status, "must be ACTIVE or INACTIVE")
	check(c, printable(d.Location, 200), "LOCATION", d.Location, "must be at most 200 printable characters")
	return c.result(func() string { return d.ID })
}

// VolumeGroup ties volumes to a DSM/TC VOLCAT, POOL and FILECAT. On a
// secondary, OriginalName names the primary's group it receives.
type VolumeGroup struct {
	Name         string
	OriginalName string
	Volcat       string
	Pool         string
	Filecat      string
	Encrypted    bool
}

// Validate checks the volume group record.
func (g *VolumeGroup) Validate() error {
	c := newChecker("VOLUMEGROUP")
	check(c, ValidPoolName(g.Name), "NAME", g.Name, "must be 1-30 letters, digits or underscores, the first a letter")
	check(c, g.OriginalName == "" || ValidPoolName(g.OriginalName), "ORIGINALNAME", g.OriginalName, "must be empty or a volume group name")
	check(c, ValidCatalogName(g.Volcat), "VOLCAT", g.Volcat, "must be a catalog name of at most 30 characters")
	check(c, ValidPoolName(g.Pool), "POOL", g.Pool, "must be 1-30 letters, digits or underscores, the first a letter")
	check(c, ValidCatalogName(g.Filecat), "FILECAT", g.Filecat, "must be a catalog name of at most 30 characters")
	return c.result(func() string { return g.Name })
}

// LabelType distinguishes labeled volumes from unlabeled ones, whose label
// is a pseudo-label. Both kinds may share a label.
type LabelType string

const (
	Labeled   LabelType = "LABELED"
	Unlabeled LabelType = "UNLABELED"
)

// FilePrefix is the prefix of the volume's image files (LB or NL).
func (t LabelType) FilePrefix() string {
	if t == Unlabeled {
		return "NL"
	}
	return "LB"
}

// Compression is the algorithm of a volume image.
type Compression string

const (
	CompressNone    Compression = "NONE"
	CompressZlib    Compression = "ZLIB"
	CompressMiniLZO Compression = "MINILZO"
)

// AuthCodes are the R/W/C authorization codes: N any node/any user, C any
// node/same group, U any node/same user, A same node/any user, G same
// node/same group, O same node/same user, and ? for "as stored with the image".
const AuthCodes = "NCUAGO?"

// Volume is a BackPak volume entry.
type Volume struct {
	Label          string
	LabelType      LabelType
	StoreID        string
	Group          string
	Access         DomainAccess // per-volume domain access
	Timestamp      time.Time    // volume timestamp: last load for output
	PrevUnload     time.Time
	LastUpdate     time.Time
	CheckTimestamp bool
	Locked         bool
	OwnerNode      string
	OwnerUser      string // GROUP.USER
	Auth           string // R, W and C codes, e.g. "GGO"
	Comment        string
	MaxSize        int64 // bytes
	IndexPath      string
	DataPath       string
	DataSize       int64
	StorageSize    int64
	Compression    Compression
	MediaKeyName   string // key of the last write, for encrypted volumes
}

// VolumeKey identifies a BackPak volume within a domain.
type VolumeKey struct {
	Label     string
	LabelType LabelType
}

func (k VolumeKey) String() string { return k.Label + "/" + string(k.LabelType) }

// Key returns the volume's key.
func (v *Volume) Key() VolumeKey { return VolumeKey{v.Label, v.LabelType} }

// Validate checks the volume entry.
func (v *Volume) Validate() error {
	c := newChecker("VOLUME")
	check(c, ValidLabel(v.Label), "LABEL", v.Label, "must be 1-6 upper-case letters or digits")
	check(c, oneOf(v.LabelType, Labeled, Unlabeled), "LABELTYPE", v.LabelType, "must be LABELED or UNLABELED")
	check(c, v.StoreID != "", "STOREID", v.StoreID, "must name the data store")
	check(c, ValidPoolName(v.Group), "VOLUMEGROUP", v.Group, "must be a volume group name")
	check(c, oneOf(v.Access, DomainAccesses...), "DOMAINACCESS", v.Access, "must be PRIMARY, SECONDARY or RESTRICTED")
	check(c, v.OwnerNode == "" || ValidNode(v.OwnerNode), "OWNERNODE", v.OwnerNode, "must be a node name")
	check(c, v.OwnerUser == "" || validUser(v.OwnerUser), "OWNERUSER", v.OwnerUser, "must be GROUP.USER, 1-8 letters or digits each")
	check(c, validAuth(v.Auth), "AUTH", v.Auth, "must be three codes (read, write, control) from "+AuthCodes)
	check(c, printable(v.Comment, 80), "COMMENT", v.Comment, "must be at most 80 printable characters")
	check(c, v.MaxSize >= 0, "MAXSIZE", v.MaxSize, "must not be negative")
	check(c, v.DataSize >= 0, "DATASIZE", v.DataSize, "must not be negative")
	check(c, v.StorageSize >= 0, "STORAGESIZE", v.StorageSize, "must not be negative")
	// EOT is raised when the compressed size reaches MAXSIZE (BackBox User
	// Manual, Compression), so only uncompressed user data is bounded by it.
	check(c, v.MaxSize == 0 || v.Compression != CompressNone || v.DataSize <= v.MaxSize, "DATASIZE", v.DataSize, "must not exceed MAXSIZE for an uncompressed volume")
	check(c, oneOf(v.Compression, CompressNone, CompressZlib, CompressMiniLZO), "COMPRESSION", v.Compression, "must be NONE, ZLIB or MINILZO")
	check(c, validImagePath(v.IndexPath, v.LabelType.FilePrefix()+v.Label+".IND"), "INDEXPATH", v.IndexPath, "must be empty or end with the volume's .IND file name")
	check(c, validImagePath(v.DataPath, v.LabelType.FilePrefix()+v.Label+".DAT"), "DATAPATH", v.DataPath, "must be empty or end with the volume's .DAT file name")
	check(c, v.MediaKeyName == "" || validKeyName(v.MediaKeyName), "MEDIAKEYNAME", v.MediaKeyName, "must be 1-64 letters, digits or underscores")
	check(c, v.PrevUnload.IsZero() || v.LastUpdate.IsZero() || !v.PrevUnload.After(v.LastUpdate),
		"PREVUNLOAD", v.PrevUnload, "must not be after LASTUPDATE")
	return c.result(func() string { return v.Key().String() })
}

func validUser(s string) bool {
	g, u, ok := strings.Cut(s, ".")
	return ok && guardianName(g, 8) && guardianName(u, 8)
}

func validAuth(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if !strings.ContainsRune(AuthCodes, rune(s[i])) {
			return false
		}
	}
	return true
}

func validImagePath(path, file string) bool {
	return path == "" || (printable(path, 260) && strings.HasSuffix(path, `\`+file))
}

func validKeyName(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '_' {
			return false
		}
	}
	return true
}
