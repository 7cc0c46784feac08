package importer

import (
	"context"
	"errors"
	"fmt"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/export"
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
		drift(id, "VOLUME", want.Volumes, have.Volumes, func(v *catalog.Volume) catalog.VolumeKey { return v.Key() }, fn),
		drift(id, "TAPEVOLUME", want.TapeVolumes, have.TapeVolumes, func(v *catalog.TapeVolume) string { return v.Volser }, fn),
		drift(id, "VTOFC", want.VTOFC, have.VTOFC, func(v *catalog.VolumeFilecat) string { return v.Pool }, fn),
		drift(id, "CONFIG", want.Configs, have.Configs, func(v *catalog.FileConfig) string { return v.FileID }, fn),
		drift(id, "TAPEFILE", want.TapeFiles, have.TapeFiles, func(v *catalog.TapeFile) catalog.TapeFileKey { return v.Key() }, fn),
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
// import would transform it, with the secondary, and calls fn for each
// difference. It returns the number of volume sets checked.
func Verify(ctx context.Context, primary, secondary store.Reader, opts Options, fn func(Drift) error) (int, error) {
	target, err := LoadTarget(ctx, secondary, opts)
	if err != nil {
		return 0, err
	}
	items, _, err := export.Plan(ctx, primary, opts.StoreID, snapshot.Full, 0, 0)
	if err != nil {
		return 0, err
	}
	known := make(map[catalog.VolumeKey]bool, len(items))
	for _, it := range items {
		known[it.Key] = true
	}
	px := &export.Reader{R: primary, StoreID: opts.StoreID, CatalogFiles: opts.CatalogFiles}
	sx := &export.Reader{R: secondary, StoreID: opts.StoreID, CatalogFiles: opts.CatalogFiles}
	sets := 0
	err = px.Walk(ctx, items, nil, func(it export.Item, set *snapshot.VolumeSet) error {
		sets++
		want, err := target.Transform(set)
		if err != nil {
			return err
		}
		have, _, err := sx.Set(ctx, it.Key)
		if errors.Is(err, store.ErrNotFound) {
			have = &snapshot.VolumeSet{ID: set.ID}
		} else if err != nil {
			return err
		}
		return Compare(want, have, opts.CatalogFiles, fn)
	})
	if err != nil {
		return sets, err
	}
	deleted := map[catalog.VolumeKey]bool{}
	if err := primary.Changes(ctx, opts.StoreID, 0, func(c store.Change) error {
		if c.Deleted {
			deleted[c.Volume] = true
		}
		return nil
	}); err != nil {
		return sets, err
	}
	var extra []Drift
	err = secondary.ScanVolumes(ctx, store.Filter{StoreID: opts.StoreID}, func(v *catalog.Volume) error {
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
		return sets, err
	}
	for _, d := range extra {
		if err := fn(d); err != nil {
			return sets, err
		}
	}
	return sets, nil
}
