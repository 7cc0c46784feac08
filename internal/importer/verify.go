package importer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// Drift is one difference between the primary, as the import would
// transform it, and the secondary.
type Drift struct {
	Set    string `json:"set"`
	Entity string `json:"entity"`
	Key    string `json:"key"`
	Kind   string `json:"kind"` // missing (on the secondary), different, extra (on the secondary), or PendingDelete
}

// PendingDelete marks a volume the primary deleted and the secondary still
// has: UPDATE imports never delete, the next FULL import will. It is not drift.
const PendingDelete = "deleted on the primary, removed by the next FULL import"

// IsDrift tells real differences from pending deletions.
func (d Drift) IsDrift() bool { return d.Kind != PendingDelete }

func (d Drift) String() string {
	return fmt.Sprintf("volume set %s: %s %s %s", d.Set, d.Entity, d.Key, d.Kind)
}

func drift[T any, K comparable](set, entity string, want, have []T, key func(*T) K, fn func(Drift) error) error {
	kinds := map[string]string{kindCreate: "missing", kindUpdate: "different", kindDelete: "extra"}
	return compare(have, want, key, func(kind string, k K, _ *T) error {
		if kind == kindUnchanged {
			return nil
		}
		return fn(Drift{Set: set, Entity: entity, Key: fmt.Sprint(k), Kind: kinds[kind]})
	})
}

// Compare reports every record where have differs from want.
func Compare(want, have *snapshot.VolumeSet, catalogFiles bool, fn func(Drift) error) error {
	Canonical(want)
	Canonical(have)
	id := want.ID
	errs := []error{
		drift(id, "VOLUME", want.Volumes, have.Volumes, volumeKey, fn),
		drift(id, "TAPEVOLUME", want.TapeVolumes, have.TapeVolumes, tapeVolumeKey, fn),
		drift(id, "VTOFC", want.VTOFC, have.VTOFC, vtofcKey, fn),
		drift(id, "CONFIG", want.Configs, have.Configs, configKey, fn),
		drift(id, "TAPEFILE", want.TapeFiles, have.TapeFiles, tapeFileKey, fn),
		drift(id, "TFTOV", want.TFTOV, have.TFTOV, tftovKey, fn),
	}
	if catalogFiles {
		errs = append(errs,
			drift(id, "DISKFILE", want.DiskFiles, have.DiskFiles, diskFileKey, fn),
			drift(id, "DFTOV", want.DFTOV, have.DFTOV, dftovKey, fn))
	}
	return errors.Join(errs...)
}

// Verify compares every volume set of a data store on the primary, as the
// import would transform it, with what the secondary holds where the
// import writes it, and calls fn for each difference; then it reports
// every label that is a tape volume of more than one pool of the
// secondary's search space, whoever put it there. It returns the number of
// volume sets checked.
func Verify(ctx context.Context, primary, secondary store.Reader, opts Options, fn func(Drift) error) (int, error) {
	p, err := safety.DescribePrimary(ctx, primary, opts.StoreID)
	if err != nil {
		return 0, err
	}
	known := map[catalog.VolumeKey]bool{}
	ids := map[string]bool{}
	var sc scope
	sets, err := eachSet(ctx, primary, secondary, opts, p.Groups, func(im *Import, set *Prepared) error {
		sc = im.scope
		ids[set.Want.ID] = true
		for _, v := range set.In.Volumes {
			known[v.Key()] = true
		}
		have, err := current(ctx, secondary, im.scope, set.Want, opts.CatalogFiles)
		if err != nil {
			return err
		}
		return Compare(set.Want, have, opts.CatalogFiles, fn)
	})
	if err != nil {
		return sets, err
	}
	if err := extraVolumes(ctx, primary, secondary, opts.StoreID, known, fn); err != nil {
		return sets, err
	}
	if err := orphans(ctx, secondary, sc, ids, opts.CatalogFiles, fn); err != nil {
		return sets, err
	}
	return sets, DuplicateLabels(ctx, secondary, fn)
}

// extraVolumes reports the secondary's BackPak volumes of the store that
// the primary does not have: deleted there (pending the next FULL import),
// or drift.
func extraVolumes(ctx context.Context, primary, secondary store.Reader, storeID string, known map[catalog.VolumeKey]bool, fn func(Drift) error) error {
	deleted := map[catalog.VolumeKey]bool{}
	if err := primary.Changes(ctx, storeID, 0, func(c store.Change) error {
		if c.Deleted {
			deleted[c.Volume] = true
		}
		return nil
	}); err != nil {
		return err
	}
	var extra []Drift
	err := secondary.ScanVolumes(ctx, store.Filter{StoreID: storeID}, func(v *catalog.Volume) error {
		if !known[v.Key()] {
			d := Drift{Set: v.Label, Entity: "VOLUME", Key: v.Key().String(), Kind: "extra"}
			if deleted[v.Key()] {
				d.Kind = PendingDelete
			}
			extra = append(extra, d)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, d := range extra {
		if err := fn(d); err != nil {
			return err
		}
	}
	return nil
}

// orphans reports the file-catalog entries of the store's pools on the
// secondary filed under a volume set the primary does not have (ids are
// the primary's): entries no set's comparison looks at, such as those of
// a set whose volumes the primary released and wrote into other sets.
func orphans(ctx context.Context, r store.Reader, sc scope, ids map[string]bool, catalogFiles bool, fn func(Drift) error) error {
	var out []Drift
	report := func(entity, volcat, pool, id, key string) {
		if sc.pools[[2]string{volcat, pool}] && !ids[id] {
			out = append(out, Drift{Set: id, Entity: entity, Key: key, Kind: Orphan})
		}
	}
	for _, volcat := range sc.volcats {
		f := store.Filter{Volcat: volcat}
		scans := []func() error{
			func() error {
				return r.ScanVolumeFilecats(ctx, f, func(e *catalog.VolumeFilecat) error {
					report("VTOFC", e.Volcat, e.Pool, e.VolsetID, vtofcKey(e).String())
					return nil
				})
			},
			func() error {
				return r.ScanTapeFiles(ctx, f, func(e *catalog.TapeFile) error {
					report("TAPEFILE", e.Volcat, e.Pool, e.VolsetID, e.Key().String())
					return nil
				})
			},
			func() error {
				return r.ScanTapeFileVolumes(ctx, f, func(e *catalog.TapeFileVolume) error {
					report("TFTOV", e.Volcat, e.Pool, e.VolsetID, tftovKey(e).String())
					return nil
				})
			},
		}
		if catalogFiles {
			scans = append(scans,
				func() error {
					return r.ScanDiskFiles(ctx, f, func(e *catalog.DiskFile) error {
						report("DISKFILE", e.Volcat, e.Pool, e.VolsetID, diskFileKey(e).String())
						return nil
					})
				},
				func() error {
					return r.ScanDiskFileVolumes(ctx, f, func(e *catalog.DiskFileVolume) error {
						report("DFTOV", e.Volcat, e.Pool, e.VolsetID, dftovKey(e).String())
						return nil
					})
				})
		}
		for _, scan := range scans {
			if err := scan(); err != nil {
				return err
			}
		}
	}
	for _, d := range out {
		if err := fn(d); err != nil {
			return err
		}
	}
	return nil
}

// Orphan is the kind of an entry filed under a volume set the primary
// does not have.
const Orphan = "extra, under a volume set the primary does not have"

// DuplicateLabels reports every label that is a tape volume of more than
// one pool of the site's search space (pools with SEARCHSPACE EX are
// outside it): DSM/TC would find either tape for the label, against the
// uniqueness rule. One Drift per label names every pool holding it.
func DuplicateLabels(ctx context.Context, r store.Reader, fn func(Drift) error) error {
	excluded := map[[2]string]bool{}
	if err := r.ScanPools(ctx, store.Filter{}, func(p *catalog.Pool) error {
		if p.SearchSpace == "EX" {
			excluded[[2]string{p.Volcat, p.Name}] = true
		}
		return nil
	}); err != nil {
		return err
	}
	pools := map[string][]string{} // label -> "VOLCAT POOL" where it is
	if err := r.ScanTapeVolumes(ctx, store.Filter{}, func(tv *catalog.TapeVolume) error {
		if !excluded[[2]string{tv.Volcat, tv.Pool}] {
			pools[tv.Volser] = append(pools[tv.Volser], tv.Volcat+" "+tv.Pool)
		}
		return nil
	}); err != nil {
		return err
	}
	labels := make([]string, 0, len(pools))
	for l, ps := range pools {
		if len(ps) > 1 {
			labels = append(labels, l)
		}
	}
	slices.Sort(labels)
	for _, l := range labels {
		if err := fn(Drift{Set: l, Entity: "TAPEVOLUME", Key: l, Kind: DuplicateLabel + ": " + strings.Join(pools[l], ", ")}); err != nil {
			return err
		}
	}
	return nil
}

// DuplicateLabel begins the kind of a label found in more than one pool of
// the search space.
const DuplicateLabel = "in more than one pool of the search space"
