// Package safety holds the rules that keep a secondary's catalogs sound
// when they receive imports and local backups at once: tape labels unique
// per node, BackPak domain and DSM/TC search space; replicated entries in
// catalogs of their own; the DSM/TC invariants of every volume set. The
// configuration check runs before any import; the volume-set check runs on
// every set, at plan time and again in the transaction that would apply it.
package safety

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Rule names a rule a volume set can break.
type Rule string

// Rules checked on every volume set.
const (
	// The label is a volume the secondary owns: a volume of one of its
	// PRIMARY data stores, or one it registered itself.
	LabelLocal Rule = "LABEL_LOCAL"
	// The label is a BackPak volume of another data store.
	LabelOtherStore Rule = "LABEL_OTHER_STORE"
	// The label is a DSM/TC tape volume in the import's own pool without a
	// BackPak entry of the data store.
	LabelDSMOnly Rule = "LABEL_DSMTC_ONLY"
	// The label is a tape volume of another pool of the search space.
	LabelSearchSpace Rule = "LABEL_SEARCH_SPACE"
	// A FILEID and generation of the set exist in the target FILECAT as a
	// local entry.
	FileIDCollision Rule = "FILEID_COLLISION"
	// More than one VALID version of a generation.
	OneValidVersion Rule = "ONE_VALID_VERSION"
	// The tape files of the set are in more than one FILECAT.
	OneFilecat Rule = "ONE_FILECAT"
	// A generation is outside 1..32767 or above its FILEID's LASTGENERATION.
	GenerationRange Rule = "GENERATION_RANGE"
	// An entry points to one that neither the snapshot nor the secondary has.
	DanglingEntry Rule = "DANGLING_ENTRY"
)

// RuleInfo explains a rule and what the operator can do about a conflict.
type RuleInfo struct {
	Explain string `json:"explain"`
	Action  string `json:"action"`
}

// Rules explains every rule, configuration rules included.
var Rules = map[Rule]RuleInfo{
	LabelLocal: {
		Explain: "a volume label must be unique per node and per BackPak domain; the secondary already has a volume of its own with this label, so mount requests and restores could reach the wrong tape",
		Action:  "relabel or delete one of the two volumes (the label was created on both sides in the window before an import), then run the sync again",
	},
	LabelOtherStore: {
		Explain: "a volume label must be unique in a BackPak domain; the secondary knows this label as a volume of another data store",
		Action:  "find which data store really owns the volume; delete the stale entry, or relabel the volume on the primary, then run the sync again",
	},
	LabelDSMOnly: {
		Explain: "a label must be unique in the DSM/TC system search space; the import's pool already holds a tape volume with this label that BackPak does not know",
		Action:  "delete the DSM/TC entry on the secondary (MEDIACOM DELETE TAPEVOLUME) if it is stale, or relabel the volume on the primary, then run the sync again",
	},
	LabelSearchSpace: {
		Explain: "a label must be unique across the pools of the DSM/TC system search space (SEARCHSPACE IN); another pool of the secondary already holds a tape volume with this label",
		Action:  "relabel or delete one of the two tape volumes; excluding the other pool from the search space only moves the problem to DEFINEs that name a tape drive",
	},
	FileIDCollision: {
		Explain: "FILEIDs are not unique across systems; a local backup of the secondary wrote the same FILEID and generation into the FILECAT that receives the import, and DSM/TC cannot tell the two apart",
		Action:  "give replicated entries a FILECAT of their own (the secondary volume group's FILECAT), or rename the FILEID of the local backups, then run the sync again",
	},
	OneValidVersion: {
		Explain: "DSM/TC keeps one VALID version per generation of a FILEID; the snapshot has more than one",
		Action:  "make one version valid on the primary (MEDIACOM ALTER TAPEFILE ... STATUS VALID, VERSION v), then run the sync again",
	},
	OneFilecat: {
		Explain: "all tape files of a volume set live in one file catalog (VTOFC); the snapshot spreads this set over several",
		Action:  "repair the volume set's file catalog entries on the primary, then run the sync again",
	},
	GenerationRange: {
		Explain: "absolute generations run 1..32767 and never pass the FILEID's LASTGENERATION in CONFIG",
		Action:  "repair the FILEID's CONFIG or tape file entries on the primary, then run the sync again",
	},
	DanglingEntry: {
		Explain: "every TFTOV, DISKFILE and DFTOV entry points to a tape file, tape volume or disk file of the same snapshot or already on the secondary; this one points to nothing",
		Action:  "repair or delete the dangling entry on the primary, then run the sync again",
	},
	ConfigStoreAccess: {
		Explain: "a data store is replicated from the domain that has it PRIMARY to one that has it SECONDARY, under the same id; SECONDARY is what makes the secondary reject backups into it",
		Action:  "define the data store with the same id on the secondary with domain access SECONDARY (and PRIMARY on the primary)",
	},
	ConfigFailedOver: {
		Explain: "a failover promoted the secondary's data store to PRIMARY: this site owns it now, its backups write into it, and an import would overwrite them",
		Action:  "leave it: this is the failover working. To replicate again once the old primary is back, run catsync failback --store ID (catsync audit list --kind failover shows the failover)",
	},
	ConfigSearchList: {
		Explain: "a tape label must be unique in the DSM/TC system search space; when primary and secondary share a system search list every replicated label already exists there, so volumes cannot be duplicated",
		Action:  "give the secondary a system search list of its own that does not include the primary's catalogs (and the other way round)",
	},
	ConfigGroupMapping: {
		Explain: "the import writes a primary volume group's entries into the VOLCAT, POOL and FILECAT of the secondary volume group that names it as its original",
		Action:  "create on the secondary a volume group for it, with ORIGINALNAME set to the primary group's name, and a dedicated VOLCAT and FILECAT",
	},
	ConfigSharedCatalog: {
		Explain: "FILEIDs are not unique across systems: when local backups and imports write into one catalog, the same FILEID and generation can be created twice and DSM/TC corrupts the catalog",
		Action:  "send replicated entries to a VOLCAT and FILECAT of their own, used by no local backup and not the MEDIADEFS defaults",
	},
}

// Where locates what a set collides with on the secondary.
type Where struct {
	Store   string `json:"store,omitempty"`
	Volcat  string `json:"volcat,omitempty"`
	Pool    string `json:"pool,omitempty"`
	Filecat string `json:"filecat,omitempty"`
	Entry   string `json:"entry,omitempty"` // the colliding or offending entry
}

func (w Where) String() string {
	var parts []string
	for _, f := range [][2]string{{"store", w.Store}, {"volcat", w.Volcat}, {"pool", w.Pool}, {"filecat", w.Filecat}, {"entry", w.Entry}} {
		if f[1] != "" {
			parts = append(parts, f[0]+" "+f[1])
		}
	}
	return strings.Join(parts, ", ")
}

// Conflict is one broken rule of one volume set.
type Conflict struct {
	Set    string `json:"set"`
	Label  string `json:"label"`
	Rule   Rule   `json:"rule"`
	Where  Where  `json:"where"`
	Detail string `json:"detail"`
	Action string `json:"action"`
}

func (c Conflict) String() string {
	return fmt.Sprintf("volume set %s, label %s: %s: %s (%s)", c.Set, c.Label, c.Rule, c.Detail, c.Where)
}

func conflict(set, label string, rule Rule, where Where, format string, args ...any) Conflict {
	return Conflict{Set: set, Label: label, Rule: rule, Where: where, Detail: fmt.Sprintf(format, args...), Action: Rules[rule].Action}
}

// Report gathers the conflicts of a run: all of them are counted, the
// first MaxListed are kept, so that a report fits in a workflow result.
type Report struct {
	Conflicts []Conflict   `json:"conflicts,omitempty"`
	Total     int          `json:"total,omitempty"` // conflicts found
	Sets      int          `json:"sets,omitempty"`  // volume sets not applied
	ByRule    map[Rule]int `json:"by_rule,omitempty"`
}

// MaxListed bounds the conflicts a report lists; `catsync check` lists all.
const MaxListed = 500

// Add records the conflicts of one volume set.
func (r *Report) Add(cs []Conflict) {
	if len(cs) == 0 {
		return
	}
	r.Sets++
	r.Total += len(cs)
	if r.ByRule == nil {
		r.ByRule = map[Rule]int{}
	}
	for _, c := range cs {
		r.ByRule[c.Rule]++
		if len(r.Conflicts) < MaxListed {
			r.Conflicts = append(r.Conflicts, c)
		}
	}
}

// Clone returns a copy that Add can grow without touching r.
func (r Report) Clone() Report {
	r.Conflicts = slices.Clone(r.Conflicts)
	r.ByRule = maps.Clone(r.ByRule)
	return r
}

// Summary counts the conflicts by rule, e.g. "3 volume sets, 3
// conflicts, FILEID_COLLISION 1, LABEL_LOCAL 2".
func (r *Report) Summary() string {
	parts := []string{fmt.Sprintf("%d volume sets, %d conflicts", r.Sets, r.Total)}
	for _, rule := range slices.Sorted(maps.Keys(r.ByRule)) {
		parts = append(parts, fmt.Sprintf("%s %d", rule, r.ByRule[rule]))
	}
	if n := r.Unlisted(); n > 0 {
		parts = append(parts, fmt.Sprintf("%d not listed", n))
	}
	return strings.Join(parts, ", ")
}

// Unlisted is the number of conflicts counted but not listed.
func (r *Report) Unlisted() int { return r.Total - len(r.Conflicts) }

// ConflictError stops a strict import at the first volume set in conflict.
type ConflictError struct {
	Set       string
	Conflicts []Conflict
}

func (e *ConflictError) Error() string {
	msg := fmt.Sprintf("strict import stopped: volume set %s breaks %d safety rule(s)", e.Set, len(e.Conflicts))
	if len(e.Conflicts) > 0 {
		msg += ": " + e.Conflicts[0].String()
	}
	return msg
}
