// Package parity proves, volume by volume, that a secondary site can read
// what its primary encrypted: for each encrypted volume of a snapshot, the
// secondary's key manager holds the key of the volume's media key name,
// under the primary's BackPak id, active, with the fingerprint the primary
// recorded when the snapshot was taken; and the secondary BackPak domain
// has a key-manager entry carrying that BackPak id. Only names, states and
// fingerprints are compared: key material never leaves a key manager.
package parity

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/snapshot"
)

// Problem is what is wrong with one volume's key at the secondary.
type Problem string

const (
	// No key of that name under the primary's BackPak id, nor under any
	// other BackPak id the secondary domain presents.
	Missing Problem = "MISSING"
	// The key is there, but under another BackPak id: the secondary
	// domain's entry for the primary's id will not find it.
	Misfiled Problem = "MISFILED"
	// The key is there but not active (deactivated, compromised, ...).
	Inactive Problem = "INACTIVE"
	// The key is there and active, but its fingerprint, algorithm or
	// length differ from what the primary recorded: other material.
	Mismatched Problem = "MISMATCHED"
	// The primary recorded no fingerprint to compare with.
	Unrecorded Problem = "UNRECORDED"
)

// Actions say what the operator can do about each problem.
var Actions = map[Problem]string{
	Missing:    "check the key manager's replication to the secondary (it must copy every key of the primary's BackPak id), then run the sync again",
	Misfiled:   "re-file the key under the primary's BackPak id in the secondary key manager, or fix the replication's owner mapping",
	Inactive:   "reactivate or re-replicate the key at the secondary: a key that is not active cannot decrypt a restore",
	Mismatched: "the secondary holds other material under this name: replicate the primary's key again, replacing the wrong one",
	Unrecorded: "give the primary's worker its key manager (CATSYNC_PRIMARY_KEYS) and make sure the key exists there; without it the volume cannot be restored anywhere",
}

// Finding is one encrypted volume whose key is not in parity.
type Finding struct {
	Set       string            `json:"set"`
	Label     string            `json:"label"`
	LabelType catalog.LabelType `json:"label_type"`
	Key       string            `json:"key"` // media key name
	Problem   Problem           `json:"problem"`
	Detail    string            `json:"detail"`
}

func (f Finding) String() string {
	return fmt.Sprintf("%s %s/%s key %s: %s", f.Problem, f.Label, f.LabelType, f.Key, f.Detail)
}

// MaxListed bounds the findings a report lists, so that it fits in a
// workflow result; all are counted. `catsync parity` lists them all.
const MaxListed = 500

// Report is the result of a parity check.
type Report struct {
	BackPakID string `json:"backpak_id"` // the primary's: keys are looked up under it
	// Domain says what is wrong with the secondary domain's key-manager
	// entries; empty when one carries the primary's BackPak id.
	Domain    string          `json:"domain,omitempty"`
	Volumes   int             `json:"volumes"` // encrypted volumes checked
	OK        int             `json:"ok"`
	Total     int             `json:"total,omitempty"` // findings
	ByProblem map[Problem]int `json:"by_problem,omitempty"`
	Findings  []Finding       `json:"findings,omitempty"` // the first MaxListed
}

// Failed reports whether the secondary could not decrypt some volume. A
// domain without the primary's BackPak id fails only with encrypted
// volumes to read.
func (r *Report) Failed() bool { return r.Total > 0 || (r.Domain != "" && r.Volumes > 0) }

// Summary is one line, e.g. "120 encrypted volumes under BPPRIM01: 118 in
// parity, INACTIVE 1, MISSING 1".
func (r *Report) Summary() string {
	parts := []string{fmt.Sprintf("%d encrypted volumes under %s: %d in parity", r.Volumes, r.BackPakID, r.OK)}
	for _, p := range slices.Sorted(maps.Keys(r.ByProblem)) {
		parts = append(parts, fmt.Sprintf("%s %d", p, r.ByProblem[p]))
	}
	if n := r.Unlisted(); n > 0 {
		parts = append(parts, fmt.Sprintf("%d not listed", n))
	}
	if r.Domain != "" {
		parts = append(parts, "domain: "+r.Domain)
	}
	return strings.Join(parts, ", ")
}

// Unlisted is the number of findings counted but not listed.
func (r *Report) Unlisted() int { return r.Total - len(r.Findings) }

// ErrNoKeyManager is returned when encrypted volumes are to be checked and
// the secondary has no key manager.
var ErrNoKeyManager = errors.New("the secondary has encrypted volumes to check but no key manager configured (CATSYNC_SECONDARY_KEYS)")

// Checker checks keys in batches: Add buffers, every Batch keys cost one
// Lookup (and one more per other BackPak id for the keys not found).
type Checker struct {
	m        keys.Manager
	sec      catalog.Site
	unknown  []string // BackPak ids of keys the domain has no entry for, reported
	group    string   // the primary's BackPak id
	others   []string // where a misfiled key may be
	recorded bool     // the primary had a key manager
	batch    int
	listed   int // findings kept in the report
	pending  []pending
	r        Report
}

type pending struct {
	set string
	key snapshot.Key
}

// DefaultBatch is how many keys one lookup asks for.
const DefaultBatch = 1000

// New returns a checker of keys recorded by the primary under primaryID
// (recorded false: the primary had no key manager), against m, the key
// manager of the secondary site sec. batch <= 0 means DefaultBatch.
func New(m keys.Manager, sec catalog.Site, primaryID string, recorded bool, batch int) *Checker {
	c := &Checker{m: m, sec: sec, group: primaryID, recorded: recorded, batch: cmp.Or(max(batch, 0), DefaultBatch),
		listed: MaxListed, r: Report{BackPakID: primaryID}}
	ids, entries := []string{sec.BackPakID}, []string{}
	for _, e := range sec.KeyManagers {
		ids, entries = append(ids, e.BackPakID), append(entries, e.String())
	}
	for _, id := range ids {
		if id != primaryID && !slices.Contains(c.others, id) {
			c.others = append(c.others, id)
		}
	}
	if !sec.KnowsBackPakID(primaryID) {
		c.r.Domain = fmt.Sprintf("the secondary domain %s of %s has no key-manager entry with the primary's BackPak id %s (own id %s, entries: %s): BackPak there cannot find the replicated keys",
			sec.DomainID, sec.Node, primaryID, sec.BackPakID, cmp.Or(strings.Join(entries, " "), "none"))
	}
	return c
}

// ListAll keeps every finding in the report, not only the first MaxListed.
func (c *Checker) ListAll() { c.listed = math.MaxInt }

// Add checks the key of one encrypted volume of set, now or with the
// next batch.
func (c *Checker) Add(ctx context.Context, set string, k snapshot.Key) error {
	if c.m == nil {
		return ErrNoKeyManager
	}
	c.pending = append(c.pending, pending{set, k})
	if len(c.pending) < c.batch {
		return nil
	}
	return c.flush(ctx)
}

// Report checks what is pending and returns the report.
func (c *Checker) Report(ctx context.Context) (Report, error) {
	err := c.flush(ctx)
	return c.r, err
}

func (c *Checker) flush(ctx context.Context) error {
	if len(c.pending) == 0 {
		return nil
	}
	// One lookup per BackPak id the keys are filed under: the primary's,
	// or another domain's for volumes it wrote.
	byGroup := map[string][]pending{}
	var groups []string
	for _, p := range c.pending {
		g := c.groupOf(p.key)
		if _, ok := byGroup[g]; !ok {
			groups = append(groups, g)
		}
		byGroup[g] = append(byGroup[g], p)
	}
	for _, g := range groups {
		if err := c.flushGroup(ctx, g, byGroup[g]); err != nil {
			return err
		}
	}
	c.pending = c.pending[:0]
	return nil
}

// groupOf is the BackPak id a key is filed under.
func (c *Checker) groupOf(k snapshot.Key) string { return cmp.Or(k.Group, c.group) }

func (c *Checker) flushGroup(ctx context.Context, group string, ps []pending) error {
	if group != c.group && !c.sec.KnowsBackPakID(group) && !slices.Contains(c.unknown, group) {
		c.unknown = append(c.unknown, group)
		c.r.Domain = strings.TrimPrefix(c.r.Domain+"; ", "; ") + fmt.Sprintf("the secondary domain %s of %s has no key-manager entry with BackPak id %s, under which the keys of volumes written by that domain are filed",
			c.sec.DomainID, c.sec.Node, group)
	}
	names := make([]string, 0, len(ps))
	for _, p := range ps {
		names = append(names, p.key.Name)
	}
	found, err := c.m.Lookup(ctx, group, names)
	if err != nil {
		return fmt.Errorf("look up keys under %s: %w", group, err)
	}
	elsewhere := map[string]keys.Info{}
	missing := slices.DeleteFunc(names, func(n string) bool { _, ok := found[n]; return ok })
	for _, g := range append([]string{c.group}, c.others...) {
		if len(missing) == 0 {
			break
		}
		if g == group {
			continue
		}
		there, err := c.m.Lookup(ctx, g, missing)
		if err != nil {
			return fmt.Errorf("look up keys under %s: %w", g, err)
		}
		maps.Copy(elsewhere, there)
		missing = slices.DeleteFunc(missing, func(n string) bool { _, ok := there[n]; return ok })
	}
	for _, p := range ps {
		c.judge(p, found, elsewhere)
	}
	return nil
}

// judge records the first problem of one key, in the order an operator
// fixes them: the key must be found, active, and the same material.
func (c *Checker) judge(p pending, found, elsewhere map[string]keys.Info) {
	k := p.key
	group := c.groupOf(k)
	c.r.Volumes++
	info, ok := found[k.Name]
	var problem Problem
	var detail string
	switch {
	case !ok && elsewhere[k.Name].ID != "":
		problem, detail = Misfiled, fmt.Sprintf("filed under BackPak id %s, not %s", elsewhere[k.Name].Group, group)
	case !ok:
		problem, detail = Missing, "no key of this name under BackPak id "+group
	case info.State != keys.Active:
		problem, detail = Inactive, fmt.Sprintf("state %s at the secondary", info.State)
	case !c.recorded:
		problem, detail = Unrecorded, "the primary recorded no fingerprints: its worker has no key manager"
	case k.State == "":
		problem, detail = Unrecorded, "the primary's key manager had no key of this name under "+group+" when the snapshot was taken"
	case k.Fingerprint == "":
		problem, detail = Unrecorded, fmt.Sprintf("the key was %s at the primary and gave no fingerprint", k.State)
	case info.Fingerprint != k.Fingerprint:
		problem, detail = Mismatched, fmt.Sprintf("fingerprint %s at the secondary, %s at the primary", cmp.Or(info.Fingerprint, "none"), k.Fingerprint)
	case info.Algorithm != k.Algorithm || info.Length != k.Length:
		problem, detail = Mismatched, fmt.Sprintf("%s-%d at the secondary, %s-%d at the primary", info.Algorithm, info.Length, k.Algorithm, k.Length)
	default:
		c.r.OK++
		return
	}
	c.r.Total++
	if c.r.ByProblem == nil {
		c.r.ByProblem = map[Problem]int{}
	}
	c.r.ByProblem[problem]++
	if len(c.r.Findings) < c.listed {
		c.r.Findings = append(c.r.Findings, Finding{Set: p.set, Label: k.Label, LabelType: k.LabelType, Key: k.Name,
			Problem: problem, Detail: detail})
	}
}

// Readable are the BackPak ids of the other domains whose keys a site
// reads, those of its key-manager entries: where Record looks for the key
// of a volume another domain wrote.
func Readable(site catalog.Site) []string {
	var out []string
	for _, e := range site.KeyManagers {
		if e.BackPakID != site.BackPakID && !slices.Contains(out, e.BackPakID) {
			out = append(out, e.BackPakID)
		}
	}
	return out
}

// Record returns what m holds, under the primary's BackPak id group, of the
// keys of the encrypted volumes among vols: one record per volume with a
// media key name, found in one Lookup. A key not there is looked for under
// each id of others in turn (the BackPak ids of the domains whose tapes the
// site reads: those of its key-manager entries), and its record names the
// id it was found under. With m nil the records carry names only.
func Record(ctx context.Context, m keys.Manager, group string, others []string, vols []catalog.Volume) ([]snapshot.Key, error) {
	var names []string
	for _, v := range vols {
		if v.MediaKeyName != "" {
			names = append(names, v.MediaKeyName)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	found := map[string]keys.Info{}
	if m != nil {
		var err error
		if found, err = m.Lookup(ctx, group, names); err != nil {
			return nil, fmt.Errorf("record the keys of encrypted volumes: %w", err)
		}
		missing := slices.DeleteFunc(slices.Clone(names), func(n string) bool { _, ok := found[n]; return ok })
		for _, g := range others {
			if len(missing) == 0 || g == group {
				continue
			}
			there, err := m.Lookup(ctx, g, missing)
			if err != nil {
				return nil, fmt.Errorf("record the keys of encrypted volumes under %s: %w", g, err)
			}
			maps.Copy(found, there)
			missing = slices.DeleteFunc(missing, func(n string) bool { _, ok := there[n]; return ok })
		}
	}
	out := make([]snapshot.Key, 0, len(names))
	for _, v := range vols {
		if v.MediaKeyName == "" {
			continue
		}
		k := snapshot.Key{Label: v.Label, LabelType: v.LabelType, Name: v.MediaKeyName}
		if info, ok := found[v.MediaKeyName]; ok {
			k.State, k.Algorithm, k.Length, k.Fingerprint = info.State, info.Algorithm, info.Length, info.Fingerprint
			if info.Group != group {
				k.Group = info.Group
			}
		}
		out = append(out, k)
	}
	return out, nil
}
