package safety

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// Checker checks volume sets of one data store against the secondary.
type Checker struct {
	storeID      string
	catalogFiles bool
	owned        map[[2]string]bool              // VOLCAT and POOL of the import's volume groups
	pools        map[[2]string]catalog.Pool      // the secondary's pools
	access       map[string]catalog.DomainAccess // the secondary's data stores
	ours         map[string]bool                 // volume sets known to be the store's
}

// NewChecker prepares the checks of an import of storeID into the
// secondary r, whose volume groups receiving it are groups.
func NewChecker(ctx context.Context, r store.Reader, storeID string, catalogFiles bool, groups []catalog.VolumeGroup) (*Checker, error) {
	c := &Checker{storeID: storeID, catalogFiles: catalogFiles, owned: map[[2]string]bool{}, pools: map[[2]string]catalog.Pool{},
		access: map[string]catalog.DomainAccess{}, ours: map[string]bool{}}
	for _, g := range groups {
		c.owned[[2]string{g.Volcat, g.Pool}] = true
	}
	if err := r.ScanPools(ctx, store.Filter{}, func(p *catalog.Pool) error {
		c.pools[[2]string{p.Volcat, p.Name}] = *p
		return nil
	}); err != nil {
		return nil, err
	}
	err := r.ScanDataStores(ctx, func(d *catalog.DataStore) error {
		c.access[d.ID] = d.Access
		return nil
	})
	return c, err
}

// Check returns every rule the volume set breaks: in is the set as the
// primary exported it, want as the import would write it. r is the
// secondary as it is now (in the apply, the transaction that would write
// the set).
func (c *Checker) Check(ctx context.Context, r store.Reader, in, want *snapshot.VolumeSet) ([]Conflict, error) {
	out := Invariants(in, c.catalogFiles)
	refs, bad := References(want, c.catalogFiles)
	out = append(out, bad...)
	for _, step := range []func(context.Context, store.Reader, *snapshot.VolumeSet) ([]Conflict, error){
		c.labels, c.fileIDs,
	} {
		cs, err := step(ctx, r, want)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	for _, ref := range refs {
		ok, err := c.resolve(ctx, r, want.ID, ref)
		if err != nil {
			return nil, err
		}
		if !ok {
			out = append(out, conflict(want.ID, want.ID, DanglingEntry, Where{Volcat: ref.Volcat, Pool: ref.Pool, Filecat: cmp.Or(ref.Filecat, ref.Key.Filecat), Entry: ref.From},
				"%s points to %s, which neither the snapshot nor the secondary holds", ref.From, ref))
		}
	}
	return out, nil
}

// labels finds the set's labels already used on the secondary by anything
// the import does not own.
func (c *Checker) labels(ctx context.Context, r store.Reader, want *snapshot.VolumeSet) ([]Conflict, error) {
	var out []Conflict
	reported := map[[2]string]bool{}
	add := func(label string, rule Rule, where Where, format string, args ...any) {
		if k := [2]string{label, string(rule)}; !reported[k] {
			reported[k] = true
			out = append(out, conflict(want.ID, label, rule, where, format, args...))
		}
	}
	// A BackPak entry with the same label and label type: a labeled and an
	// unlabeled volume may share a label, so the key includes the type.
	backpak := func(key catalog.VolumeKey) (catalog.Volume, bool, error) {
		v, err := r.Volume(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return v, false, nil
		}
		return v, err == nil, err
	}
	other := func(label string, old catalog.Volume) {
		where := Where{Store: old.StoreID, Entry: fmt.Sprintf("VOLUME %s in volume group %s, domain access %s", old.Key(), old.Group, old.Access)}
		if a := c.access[old.StoreID]; a == catalog.AccessPrimary || old.Access == catalog.AccessPrimary {
			add(label, LabelLocal, where, "label %s is a local volume of data store %s on the secondary", label, old.StoreID)
		} else {
			add(label, LabelOtherStore, where, "label %s is a volume of data store %s (%s) on the secondary", label, old.StoreID, cmp.Or(string(a), "not defined"))
		}
	}
	for _, v := range want.Volumes {
		old, ok, err := backpak(v.Key())
		if err != nil {
			return nil, err
		}
		if ok && old.StoreID != c.storeID {
			other(v.Label, old)
		}
	}
	for _, tv := range want.TapeVolumes {
		target := [2]string{tv.Volcat, tv.Pool}
		var found []catalog.TapeVolume
		if err := r.ScanTapeVolumes(ctx, store.Filter{Volser: tv.Volser}, func(e *catalog.TapeVolume) error {
			found = append(found, *e)
			return nil
		}); err != nil {
			return nil, err
		}
		for _, e := range found {
			where := Where{Volcat: e.Volcat, Pool: e.Pool, Entry: fmt.Sprintf("TAPEVOLUME %s %s %s, %s", e.Volcat, e.Pool, e.Volser, e.Status)}
			if c.owned[[2]string{e.Volcat, e.Pool}] || [2]string{e.Volcat, e.Pool} == target {
				old, ok, err := backpak(catalog.VolumeKey{Label: e.Volser, LabelType: catalog.Labeled})
				switch {
				case err != nil:
					return nil, err
				case !ok:
					add(tv.Volser, LabelDSMOnly, where, "label %s is a DSM/TC tape volume of the import's pool %s that BackPak does not know", tv.Volser, e.Pool)
				case old.StoreID != c.storeID:
					other(tv.Volser, old)
				}
				continue
			}
			// Excluded pools are outside the search space: labels there
			// may repeat, at the cost of naming the drive in DEFINEs.
			if c.inSearchSpace(e.Volcat, e.Pool) && c.inSearchSpace(target[0], target[1]) {
				where.Store = ""
				add(tv.Volser, LabelSearchSpace, where, "label %s is already a tape volume of pool %s in %s, in the search space", tv.Volser, e.Pool, e.Volcat)
			}
		}
	}
	return out, nil
}

// inSearchSpace tells whether a pool's tape names count in the system
// search space; a pool the secondary does not define is taken to count.
func (c *Checker) inSearchSpace(volcat, pool string) bool {
	p, ok := c.pools[[2]string{volcat, pool}]
	return !ok || p.SearchSpace != "EX"
}

// fileIDs finds generations of the set's FILEIDs that local entries of the
// target FILECAT already hold.
func (c *Checker) fileIDs(ctx context.Context, r store.Reader, want *snapshot.VolumeSet) ([]Conflict, error) {
	var out []Conflict
	type gen struct {
		filecat, fileID string
		gen             int
	}
	var gens []gen
	for _, f := range want.TapeFiles {
		if g := (gen{f.Filecat, f.FileID, f.Generation}); !slices.Contains(gens, g) {
			gens = append(gens, g)
		}
	}
	// One read per FILECAT for all the set's generations.
	found := map[gen][]catalog.TapeFile{}
	var byFilecat store.FileGens
	for _, g := range gens {
		byFilecat.Add(g.filecat, g.fileID, g.gen)
	}
	for _, fc := range byFilecat.Filecats {
		if err := r.ScanTapeFiles(ctx, store.Filter{Filecat: fc, Gens: byFilecat.Gens[fc]}, func(e *catalog.TapeFile) error {
			if e.VolsetID != want.ID {
				k := gen{e.Filecat, e.FileID, e.Generation}
				found[k] = append(found[k], *e)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	for _, g := range gens {
		for _, e := range found[g] {
			ours, err := c.isOurs(ctx, r, e.VolsetID)
			if err != nil {
				return nil, err
			}
			if !ours {
				out = append(out, conflict(want.ID, want.ID, FileIDCollision,
					Where{Volcat: e.Volcat, Pool: e.Pool, Filecat: e.Filecat, Entry: fmt.Sprintf("TAPEFILE %s on volume set %s, %s", e.Key(), e.VolsetID, e.Status)},
					"FILEID %s generation %d is already in %s as a local entry of volume set %s", g.fileID, g.gen, g.filecat, e.VolsetID))
				break // one report per generation
			}
		}
	}
	return out, nil
}

// isOurs tells whether a volume set on the secondary was imported for the
// data store: its first volume is a BackPak volume of the store. Only
// positive answers are cached: an apply may make a set ours later on.
func (c *Checker) isOurs(ctx context.Context, r store.Reader, volsetID string) (bool, error) {
	if c.ours[volsetID] {
		return true, nil
	}
	v, err := r.Volume(ctx, catalog.VolumeKey{Label: volsetID, LabelType: catalog.Labeled})
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if v.StoreID == c.storeID {
		c.ours[volsetID] = true
	}
	return v.StoreID == c.storeID, nil
}

// resolve looks for a referenced entry on the secondary, outside the set
// being imported (whose entries the import replaces).
func (c *Checker) resolve(ctx context.Context, r store.Reader, setID string, ref Ref) (bool, error) {
	found := false
	var err error
	switch ref.Entity {
	case "TAPEVOLUME":
		err = r.ScanTapeVolumes(ctx, store.Filter{Volcat: ref.Volcat, Pool: ref.Pool, Volser: ref.Volser}, func(*catalog.TapeVolume) error {
			found = true
			return nil
		})
	case "TAPEFILE":
		k := ref.Key
		err = r.ScanTapeFiles(ctx, store.Filter{Filecat: k.Filecat, FileID: k.FileID, Generation: k.Generation}, func(e *catalog.TapeFile) error {
			found = found || (e.Key() == k && e.VolsetID != setID)
			return nil
		})
	case "DISKFILE":
		err = r.ScanDiskFiles(ctx, store.Filter{Filecat: ref.Filecat, Name: ref.Name}, func(e *catalog.DiskFile) error {
			found = found || (e.TimeDumped.Equal(ref.TimeDumped) && e.VolsetID != setID)
			return nil
		})
	}
	return found, err
}
