// Package sim simulates the catalogs of NonStop sites: a primary whose
// backups write BackPak volumes cataloged in DSM/TC, and a secondary that
// receives them. It behaves as DSM/TC does (mounts, generations, versions,
// parallel copies, multi-volume sets, expiration, operator actions), writes
// only through the store (so every change is tracked), and is deterministic:
// the same parameters and seed give the same site.
package sim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/catsync/catsync/internal/catalog"
)

// Retention is one share of the retention mix: backups kept Days days (or
// catalog.RetentionPermanent), chosen with weight Weight.
type Retention struct {
	Days   int
	Weight int
}

// ParseRetentionMix parses "7:3,31:5,permanent:1" (days:weight, ...).
func ParseRetentionMix(s string) ([]Retention, error) {
	var mix []Retention
	for _, part := range strings.Split(s, ",") {
		d, w, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, fmt.Errorf("retention mix %q: %q is not days:weight", s, part)
		}
		r := Retention{}
		var err error
		if strings.EqualFold(d, "permanent") {
			r.Days = catalog.RetentionPermanent
		} else if r.Days, err = strconv.Atoi(d); err != nil {
			return nil, fmt.Errorf("retention mix %q: days %q: %w", s, d, err)
		}
		if r.Weight, err = strconv.Atoi(w); err != nil {
			return nil, fmt.Errorf("retention mix %q: weight %q: %w", s, w, err)
		}
		mix = append(mix, r)
	}
	return mix, nil
}

// Params shape a simulated site and its backup activity.
type Params struct {
	Seed      uint64
	Node      string // \PRIM
	DomainID  string // BBOX
	BackPakID string
	Start     time.Time // first simulated day
	Days      int       // days of history to simulate at init

	Stores          []string // ids of the data stores this site owns (PRIMARY)
	GroupsPerStore  int
	EncryptedGroups int    // per store, how many of its groups encrypt
	Volumes         int    // BackPak volumes created at init, spread over the groups
	LabelPrefix     string // first letter of generated labels
	DSMOnlyVolumes  int    // DSM/TC volumes BackPak does not know (physical tapes)

	BackupsPerDay    int
	FilesPerBackup   int // tape files written by one backup run (a multi-file set)
	DiskFilesPerFile int // DISKFILE entries per tape file (CATALOGFILES)
	MaxVolumesPerSet int
	Retention        []Retention

	ParallelPercent int // share of jobs writing two parallel copies
	RerunPercent    int // share of runs rerun with VERSION NEW after a failure
	BadPercent      int // share of mounts that find the tape defective

	// DataRoot is the folder holding the images of the volumes the site
	// writes, one folder per data store ("" writes none). It is kept with
	// the site's parameters so that every later Advance writes there too.
	DataRoot string `json:",omitempty"`
}

// DefaultParams returns the parameters of a small primary site.
func DefaultParams() Params {
	return Params{
		Seed: 1, Node: `\PRIM`, DomainID: "BBOX", BackPakID: "BPPRIM01",
		Start: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), Days: 30,
		Stores: []string{"DS_PROD"}, GroupsPerStore: 2, EncryptedGroups: 1, Volumes: 300, LabelPrefix: "T",
		DSMOnlyVolumes: 4, BackupsPerDay: 6, FilesPerBackup: 2, DiskFilesPerFile: 5, MaxVolumesPerSet: 3,
		Retention:       []Retention{{7, 3}, {31, 5}, {90, 2}},
		ParallelPercent: 15, RerunPercent: 5, BadPercent: 1,
	}
}

// Validate names the first parameter that cannot make a site.
func (p *Params) Validate() error {
	bad := func(name string, v any, why string) error {
		return fmt.Errorf("simulator parameter %s = %v: %s", name, v, why)
	}
	switch {
	case !catalog.ValidNode(p.Node) || len(p.Node) > 7:
		return bad("node", p.Node, `must be \ and 1-6 letters or digits, the first a letter (7 would leave no room in disk file names)`)
	case p.Start.IsZero():
		return bad("start", p.Start, "must be set")
	case p.Days < 0:
		return bad("days", p.Days, "must not be negative")
	case p.GroupsPerStore < 1 || p.GroupsPerStore > 9:
		return bad("groups", p.GroupsPerStore, "must be 1-9")
	case p.EncryptedGroups < 0 || p.EncryptedGroups > p.GroupsPerStore:
		return bad("encrypted-groups", p.EncryptedGroups, "must be 0 to the number of groups")
	case p.Volumes < 0:
		return bad("volumes", p.Volumes, "must not be negative")
	case len(p.LabelPrefix) != 1 || p.LabelPrefix[0] < 'A' || p.LabelPrefix[0] > 'Z':
		return bad("label-prefix", p.LabelPrefix, "must be one letter A-Z")
	case p.BackupsPerDay < 0:
		return bad("backups-per-day", p.BackupsPerDay, "must not be negative")
	case p.FilesPerBackup < 1 || p.FilesPerBackup > 99:
		return bad("files-per-backup", p.FilesPerBackup, "must be 1-99")
	case p.DiskFilesPerFile < 0 || p.DiskFilesPerFile > 9999:
		return bad("diskfiles-per-file", p.DiskFilesPerFile, "must be 0-9999")
	case p.MaxVolumesPerSet < 1 || p.MaxVolumesPerSet > 9:
		return bad("max-volumes-per-set", p.MaxVolumesPerSet, "must be 1-9")
	case len(p.Retention) == 0:
		return bad("retention", p.Retention, "needs at least one days:weight share")
	case p.ParallelPercent < 0 || p.ParallelPercent > 100:
		return bad("parallel-percent", p.ParallelPercent, "must be 0-100")
	case p.RerunPercent < 0 || p.RerunPercent > 100:
		return bad("rerun-percent", p.RerunPercent, "must be 0-100")
	case p.BadPercent < 0 || p.BadPercent > 50:
		return bad("bad-percent", p.BadPercent, "must be 0-50")
	}
	for _, r := range p.Retention {
		if r.Weight < 1 || (r.Days != catalog.RetentionPermanent && (r.Days < 1 || r.Days > 9999)) {
			return bad("retention", fmt.Sprintf("%d:%d", r.Days, r.Weight), "days must be 1-9999 or permanent, weight at least 1")
		}
	}
	seen := map[string]bool{}
	for _, id := range p.Stores {
		ds := catalog.DataStore{ID: id, Access: catalog.AccessPrimary, Status: catalog.StoreActive}
		if err := ds.Validate(); err != nil {
			return bad("stores", id, err.Error())
		}
		if seen[catalogBase(id)] {
			return bad("stores", id, "two data stores would share catalog names")
		}
		seen[catalogBase(id)] = true
	}
	if p.Volumes > 0 && len(p.Stores) == 0 {
		return bad("stores", p.Stores, "volumes need at least one data store")
	}
	return nil
}

// catalogBase derives the catalog and pool name stem of a data store:
// DS_PROD -> PROD.
func catalogBase(storeID string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(strings.TrimPrefix(storeID, "DS_")) {
		if (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		}
	}
	s := b.String()
	if s == "" || s[0] < 'A' {
		s = "S" + s
	}
	return s[:min(len(s), 6)]
}
