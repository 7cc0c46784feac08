package sim

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/store"
)

// KeyReplication shapes a simulated key-manager replication: what ESKM's
// own replication does, with the faults a parity check must catch.
type KeyReplication struct {
	Store      string   // only this data store's volumes ("" for all)
	As         string   // file the copies under this BackPak id, not the primary's
	Omit       []string // labels whose keys are left out
	Deactivate []string // labels whose copies are deactivated
	Alter      []string // labels whose copies get other material under the same name
}

// KeyReplicationResult counts what a replication did.
type KeyReplicationResult struct {
	Replicated, Present, Omitted, Deactivated, Altered int
	MissingAtPrimary                                   []string // LABEL KEYNAME
}

func (r KeyReplicationResult) String() string {
	return fmt.Sprintf("%d keys replicated, %d already present, %d left out, %d deactivated, %d altered, %d missing at the primary",
		r.Replicated, r.Present, r.Omitted, r.Deactivated, r.Altered, len(r.MissingAtPrimary))
}

// replicateBatch is how many keys one lookup asks for.
const replicateBatch = 500

// ReplicateKeys copies the keys of the primary's encrypted volumes from
// the primary's key manager to the secondary's, under the primary's
// BackPak id (or opts.As), the way key-manager replication would. Keys
// already at the secondary are left alone, so a re-run copies only new
// ones. A label in opts that is not an encrypted volume is refused before
// anything is written.
func ReplicateKeys(ctx context.Context, primary store.Reader, from, to keys.Manager, opts KeyReplication) (KeyReplicationResult, error) {
	var res KeyReplicationResult
	site, err := primary.Site(ctx)
	if err != nil {
		return res, err
	}
	type vkey struct{ label, name string }
	var vols []vkey
	if err := primary.ScanVolumes(ctx, store.Filter{StoreID: opts.Store}, func(v *catalog.Volume) error {
		if v.MediaKeyName != "" {
			vols = append(vols, vkey{v.Label, v.MediaKeyName})
		}
		return nil
	}); err != nil {
		return res, err
	}
	for _, list := range [][]string{opts.Omit, opts.Deactivate, opts.Alter} {
		for _, l := range list {
			if !slices.ContainsFunc(vols, func(v vkey) bool { return v.label == l }) {
				return res, fmt.Errorf("label %s: not an encrypted volume of %s", l, cmp.Or(opts.Store, "the primary"))
			}
		}
	}
	group, dest := site.BackPakID, cmp.Or(opts.As, site.BackPakID)
	for batch := range slices.Chunk(vols, replicateBatch) {
		names := make([]string, len(batch))
		for i, v := range batch {
			names[i] = v.name
		}
		found, err := from.Lookup(ctx, group, names)
		if err != nil {
			return res, fmt.Errorf("primary key manager: %w", err)
		}
		present, err := to.Lookup(ctx, dest, names)
		if err != nil {
			return res, fmt.Errorf("secondary key manager: %w", err)
		}
		for _, v := range batch {
			if err := replicateOne(ctx, from, to, dest, v.label, found[v.name], present[v.name].ID != "", opts, &res); err != nil {
				return res, fmt.Errorf("volume %s key %s: %w", v.label, v.name, err)
			}
			if found[v.name].ID == "" && !slices.Contains(opts.Omit, v.label) {
				res.MissingAtPrimary = append(res.MissingAtPrimary, v.label+" "+v.name)
			}
		}
	}
	return res, nil
}

func replicateOne(ctx context.Context, from, to keys.Manager, dest, label string, key keys.Info, present bool,
	opts KeyReplication, res *KeyReplicationResult) error {
	switch {
	case slices.Contains(opts.Omit, label):
		res.Omitted++
		return nil
	case key.ID == "":
		return nil // counted by the caller
	case present:
		res.Present++
		return nil
	}
	material, err := from.Material(ctx, key.ID)
	if err != nil {
		return err
	}
	if slices.Contains(opts.Alter, label) {
		material = make([]byte, len(material))
		rand.Read(material)
		res.Altered++
	}
	copied, err := to.Register(ctx, dest, key.Name, material)
	if err != nil {
		return err
	}
	res.Replicated++
	if slices.Contains(opts.Deactivate, label) {
		if err := to.Deactivate(ctx, copied.ID); err != nil {
			return err
		}
		res.Deactivated++
	}
	return nil
}

// ParseLabels parses a comma list of labels.
func ParseLabels(s string) []string {
	var out []string
	for _, l := range strings.Split(s, ",") {
		if l = strings.ToUpper(strings.TrimSpace(l)); l != "" {
			out = append(out, l)
		}
	}
	return out
}
