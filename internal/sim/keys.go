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

// fileKey has the key manager generate the key of a write, as the drive
// does at mount, before anything is written (so before the day's
// transaction commits). A day replayed after its transaction failed draws
// the same names, the random source being seeded by the day: a key its
// first attempt left is taken over rather than refused, or the day could
// never be simulated again. It returns the key filed (none without a key
// manager), whose material encrypts the volume's image.
func (e *engine) fileKey(ctx context.Context, label, name string) (keys.Info, error) {
	if e.keys == nil {
		return keys.Info{}, nil
	}
	k, err := e.keys.Create(ctx, e.site.BackPakID, name)
	if err == nil {
		return k, nil
	}
	if k, ferr := keys.Find(ctx, e.keys, e.site.BackPakID, name); ferr == nil && e.keys.Activate(ctx, k.ID) == nil {
		return k, nil
	}
	return keys.Info{}, fmt.Errorf("volume %s: file its key %s under BackPak id %s: %w", label, name, e.site.BackPakID, err)
}

// KeyReplication shapes a simulated key-manager replication: what ESKM's
// own replication does, with the faults a parity check must catch.
type KeyReplication struct {
	Store      string   // only this data store's volumes ("" for all)
	As         string   // file the copies under this BackPak id, not the primary's
	Omit       []string // labels whose keys are left out
	Deactivate []string // labels whose copies are deactivated
	Alter      []string // labels whose copies get other material under the same name
}

// KeyReplicationResult counts what a replication did. Replicated counts
// every key registered at the secondary, deactivated and altered ones too.
type KeyReplicationResult struct {
	Replicated, Present, Omitted, Deactivated, Altered int
	MissingAtPrimary                                   []KeyedVolume // nothing to copy: a finding for the operator
}

// KeyedVolume is an encrypted volume and the media key name of its last write.
type KeyedVolume struct{ Label, Key string }

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
	// An unknown store would otherwise replicate nothing, silently.
	if opts.Store != "" {
		if _, err := primary.DataStore(ctx, opts.Store); err != nil {
			return res, fmt.Errorf("data store %s: %w", opts.Store, err)
		}
	}
	// The scan ends before the key managers are asked: collect first.
	var vols []KeyedVolume
	labels := map[string]bool{}
	if err := primary.ScanVolumes(ctx, store.Filter{StoreID: opts.Store}, func(v *catalog.Volume) error {
		if v.MediaKeyName != "" {
			vols = append(vols, KeyedVolume{v.Label, v.MediaKeyName})
			labels[v.Label] = true
		}
		return nil
	}); err != nil {
		return res, err
	}
	for _, l := range slices.Concat(opts.Omit, opts.Deactivate, opts.Alter) {
		if !labels[l] {
			return res, fmt.Errorf("label %s: not an encrypted volume of %s", l, cmp.Or(opts.Store, "the primary"))
		}
	}
	group, dest := site.BackPakID, cmp.Or(opts.As, site.BackPakID)
	for batch := range slices.Chunk(vols, replicateBatch) {
		names := make([]string, len(batch))
		for i, v := range batch {
			names[i] = v.Key
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
			key, atPrimary := found[v.Key]
			_, atSecondary := present[v.Key]
			switch {
			case slices.Contains(opts.Omit, v.Label):
				res.Omitted++
			case !atPrimary:
				res.MissingAtPrimary = append(res.MissingAtPrimary, v)
			case atSecondary:
				res.Present++
			default:
				if err := copyKey(ctx, from, to, dest, key, v.Label, opts, &res); err != nil {
					return res, fmt.Errorf("volume %s key %s: %w", v.Label, v.Key, err)
				}
			}
		}
	}
	return res, nil
}

// copyKey registers a primary key's material at the secondary, altered or
// then deactivated when opts ask it for the label.
func copyKey(ctx context.Context, from, to keys.Manager, dest string, key keys.Info, label string,
	opts KeyReplication, res *KeyReplicationResult) error {
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
