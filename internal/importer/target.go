// Package importer applies snapshots to a secondary site with BackPak's
// import rules: BackPak entries are overwritten, DSM/TC entries created when
// missing and updated when different, VOLCAT/POOL/FILECAT rewritten to the
// secondary's volume groups, DISKFILE names rewritten by node pairs, and
// volumes deleted only by a FULL import and only when the secondary knew
// them as BackPak volumes of the store.
package importer

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// Target is the secondary's set-up for one data store's import.
type Target struct {
	Opts   Options
	Site   catalog.Site
	byOrig map[string]catalog.VolumeGroup // secondary groups by the primary group they receive
}

// LoadTarget reads the secondary's configuration for an import of opts.StoreID.
func LoadTarget(ctx context.Context, r store.Reader, opts Options) (*Target, error) {
	site, err := r.Site(ctx)
	if err != nil {
		return nil, err
	}
	ds, err := r.DataStore(ctx, opts.StoreID)
	if err != nil {
		return nil, catalog.ConfigErrorf("data store %s is not defined on the secondary %s: %v", opts.StoreID, site.Node, err)
	}
	if ds.Access != catalog.AccessSecondary {
		return nil, catalog.ConfigErrorf("data store %s on %s has domain access %s: imports need SECONDARY", ds.ID, site.Node, ds.Access)
	}
	t := &Target{Opts: opts, Site: site, byOrig: map[string]catalog.VolumeGroup{}}
	err = r.ScanVolumeGroups(ctx, func(g *catalog.VolumeGroup) error {
		orig := cmp.Or(g.OriginalName, g.Name)
		t.byOrig[orig] = *g
		return nil
	})
	return t, err
}

// Group returns the secondary group receiving primary group name.
func (t *Target) Group(name string) (catalog.VolumeGroup, error) {
	g, ok := t.byOrig[name]
	if !ok {
		return g, catalog.ConfigErrorf("primary volume group %s has no volume group on the secondary %s (none names it as its original)", name, t.Site.Node)
	}
	if len(t.Opts.NodePairs) > 0 && t.Opts.CatalogFiles && g.Filecat == t.Site.MediaDefs.DefaultFilecat {
		return g, catalog.ConfigErrorf("volume group %s sends replicated DISKFILEs with rewritten node names into %s, the MEDIADEFS default FILECAT of %s: refused, give the group a dedicated FILECAT",
			g.Name, g.Filecat, t.Site.Node)
	}
	return g, nil
}

// Groups returns the secondary groups of the primary groups names, in
// order, skipping names without one (Group reports those).
func (t *Target) Groups(names []string) []catalog.VolumeGroup {
	var gs []catalog.VolumeGroup
	for _, n := range names {
		if g, ok := t.byOrig[n]; ok {
			gs = append(gs, g)
		}
	}
	return gs
}

func (t *Target) renameNode(name string) string {
	node := catalog.DiskFileNode(name)
	for _, p := range t.Opts.NodePairs {
		if node == p.From {
			return p.To + name[len(node):]
		}
	}
	return name
}

// Transform rewrites a primary volume set for the secondary and validates
// every record. The input is not modified.
func (t *Target) Transform(in *snapshot.VolumeSet) (*snapshot.VolumeSet, error) {
	out := &snapshot.VolumeSet{ID: in.ID, Deleted: slices.Clone(in.Deleted)}
	if len(in.Volumes) == 0 {
		return out, nil
	}
	g, err := t.Group(in.Volumes[0].Group)
	if err != nil {
		return nil, err
	}
	for _, v := range in.Volumes {
		// A snapshot mixing stores or groups in one set is malformed:
		// retrying cannot mend it.
		if v.StoreID != t.Opts.StoreID {
			return nil, fmt.Errorf("volume set %s: %w", in.ID, &catalog.FieldError{Record: "VOLUME", Key: v.Key().String(),
				Field: "STOREID", Value: v.StoreID, Reason: "the snapshot is of data store " + t.Opts.StoreID})
		}
		if v.Group != in.Volumes[0].Group {
			return nil, fmt.Errorf("volume set %s: %w", in.ID, &catalog.FieldError{Record: "VOLUME", Key: v.Key().String(),
				Field: "VOLUMEGROUP", Value: v.Group, Reason: "the set's first volume is in " + in.Volumes[0].Group})
		}
		v.Group, v.Access = g.Name, catalog.AccessSecondary
		out.Volumes = append(out.Volumes, v)
	}
	for _, r := range in.TapeVolumes {
		r.Volcat, r.Pool = g.Volcat, g.Pool
		out.TapeVolumes = append(out.TapeVolumes, r)
	}
	for _, r := range in.VTOFC {
		r.Volcat, r.Pool, r.Filecat = g.Volcat, g.Pool, g.Filecat
		out.VTOFC = append(out.VTOFC, r)
	}
	for _, r := range in.Configs {
		r.Filecat = g.Filecat
		out.Configs = append(out.Configs, r)
	}
	for _, r := range in.TapeFiles {
		r.Filecat, r.Volcat, r.Pool = g.Filecat, g.Volcat, g.Pool
		out.TapeFiles = append(out.TapeFiles, r)
	}
	for _, r := range in.TFTOV {
		r.Filecat, r.Volcat, r.Pool = g.Filecat, g.Volcat, g.Pool
		out.TFTOV = append(out.TFTOV, r)
	}
	if t.Opts.CatalogFiles {
		for _, r := range in.DiskFiles {
			r.Filecat, r.Volcat, r.Pool, r.Name = g.Filecat, g.Volcat, g.Pool, t.renameNode(r.Name)
			out.DiskFiles = append(out.DiskFiles, r)
		}
		for _, r := range in.DFTOV {
			r.Filecat, r.Volcat, r.Pool, r.Name = g.Filecat, g.Volcat, g.Pool, t.renameNode(r.Name)
			out.DFTOV = append(out.DFTOV, r)
		}
	}
	Canonical(out)
	return out, Validate(out)
}

// Validate checks every record of a set; the error names the record.
func Validate(s *snapshot.VolumeSet) error {
	for _, err := range []error{
		validateAll(s.Volumes, (*catalog.Volume).Validate),
		validateAll(s.TapeVolumes, (*catalog.TapeVolume).Validate),
		validateAll(s.VTOFC, (*catalog.VolumeFilecat).Validate),
		validateAll(s.Configs, (*catalog.FileConfig).Validate),
		validateAll(s.TapeFiles, (*catalog.TapeFile).Validate),
		validateAll(s.TFTOV, (*catalog.TapeFileVolume).Validate),
		validateAll(s.DiskFiles, (*catalog.DiskFile).Validate),
		validateAll(s.DFTOV, (*catalog.DiskFileVolume).Validate),
	} {
		if err != nil {
			return fmt.Errorf("volume set %s: %w", s.ID, err)
		}
	}
	return nil
}

func validateAll[T any](recs []T, valid func(*T) error) error {
	for i := range recs {
		if err := valid(&recs[i]); err != nil {
			return err
		}
	}
	return nil
}
