package safety

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
)

// Configuration rules, checked before any import.
const (
	// The data store is PRIMARY on the primary and SECONDARY, with the
	// same id, on the secondary.
	ConfigStoreAccess Rule = "CONFIG_STORE_ACCESS"
	// Primary and secondary are not in one system search list.
	ConfigSearchList Rule = "CONFIG_SEARCH_LIST"
	// Every primary volume group of the store has a secondary group.
	ConfigGroupMapping Rule = "CONFIG_GROUP_MAPPING"
	// Replicated entries do not go to a VOLCAT or FILECAT that local
	// backups of the secondary use.
	ConfigSharedCatalog Rule = "CONFIG_SHARED_CATALOG"
	// The data store was failed over to the secondary: it is PRIMARY
	// there, and nothing is imported into it until a failback.
	ConfigFailedOver Rule = "CONFIG_FAILED_OVER"
)

// FailedOver is the secondary's record of a failover of one of its data
// stores, kept in its metadata from the promotion on.
type FailedOver struct {
	Store      string    `json:"store"`
	WorkflowID string    `json:"workflow_id"`
	RunID      string    `json:"run_id"`
	At         time.Time `json:"at"`
	Operator   string    `json:"operator,omitempty"`
}

// FailedOverKey is the metadata key of a data store's FailedOver record.
func FailedOverKey(storeID string) string { return "failover." + storeID }

// ReadFailedOver returns the store's FailedOver record, if it has one.
func ReadFailedOver(ctx context.Context, r store.Reader, storeID string) (FailedOver, bool, error) {
	v, err := r.Meta(ctx, FailedOverKey(storeID))
	if errors.Is(err, store.ErrNotFound) || err == nil && v == "" { // "": cleared by a failback
		return FailedOver{}, false, nil
	}
	if err != nil {
		return FailedOver{}, false, err
	}
	var f FailedOver
	if err := json.Unmarshal([]byte(v), &f); err != nil {
		return FailedOver{}, false, fmt.Errorf("metadata %s: %w", FailedOverKey(storeID), err)
	}
	return f, true, nil
}

// Primary is what the configuration check needs to know of the primary
// site: small, and the same whatever the catalog's size.
type Primary struct {
	Node             string               `json:"node"`
	SearchList       []string             `json:"search_list,omitempty"`
	SearchListSystem string               `json:"search_list_system,omitempty"`
	StoreAccess      catalog.DomainAccess `json:"store_access"`
	Groups           []string             `json:"groups"` // volume groups of the store's volumes
}

// DescribePrimary reads what the configuration check needs of the primary.
func DescribePrimary(ctx context.Context, r store.Reader, storeID string) (Primary, error) {
	site, err := r.Site(ctx)
	if err != nil {
		return Primary{}, err
	}
	p := Primary{Node: site.Node, SearchList: site.SearchList, SearchListSystem: site.MediaDefs.SearchListSystem}
	ds, err := r.DataStore(ctx, storeID)
	if errors.Is(err, store.ErrNotFound) {
		return p, nil // StoreAccess "" is reported by the check
	}
	if err != nil {
		return p, err
	}
	p.StoreAccess = ds.Access
	err = r.ScanVolumes(ctx, store.Filter{StoreID: storeID}, func(v *catalog.Volume) error {
		if !slices.Contains(p.Groups, v.Group) {
			p.Groups = append(p.Groups, v.Group)
		}
		return nil
	})
	slices.Sort(p.Groups)
	return p, err
}

// Problem is one configuration rule broken.
type Problem struct {
	Rule   Rule   `json:"rule"`
	Detail string `json:"detail"`
}

func (p Problem) String() string {
	return fmt.Sprintf("%s: %s. %s", p.Rule, p.Detail, Rules[p.Rule].Action)
}

// ProblemsError is the configuration error of a failed check, listing every
// rule broken, or nil when there is none.
func ProblemsError(problems []Problem) error {
	if len(problems) == 0 {
		return nil
	}
	lines := make([]string, len(problems))
	for i, p := range problems {
		lines[i] = p.String()
	}
	return catalog.ConfigErrorf("unsafe configuration, nothing imported:\n%s", strings.Join(lines, "\n"))
}

// Setup is the secondary's side of an import, as the check needs it.
type Setup struct {
	StoreID      string
	CatalogFiles bool
	NodePairs    bool // DISKFILE names are rewritten
}

// CheckConfig checks that replicating the data store from p to the
// secondary r is safe, and returns every rule broken. It reads the
// secondary's configuration, its data stores' volume groups and the VTOFC
// rows of the FILECATs that would receive the import.
func CheckConfig(ctx context.Context, r store.Reader, p Primary, s Setup) ([]Problem, error) {
	var out []Problem
	add := func(rule Rule, format string, args ...any) {
		out = append(out, Problem{Rule: rule, Detail: fmt.Sprintf(format, args...)})
	}
	site, err := r.Site(ctx)
	if err != nil {
		return nil, err
	}

	// Data store access on both sides.
	switch p.StoreAccess {
	case catalog.AccessPrimary:
	case "":
		add(ConfigStoreAccess, "data store %s is not defined on the primary %s", s.StoreID, p.Node)
	default:
		add(ConfigStoreAccess, "data store %s on the primary %s has domain access %q: exports need PRIMARY", s.StoreID, p.Node, p.StoreAccess)
	}
	ds, err := r.DataStore(ctx, s.StoreID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		add(ConfigStoreAccess, "data store %s is not defined on the secondary %s", s.StoreID, site.Node)
	case err != nil:
		return nil, err
	case ds.Access != catalog.AccessSecondary:
		// A store failed over here is PRIMARY by design: say that, and
		// nothing else, as the other rules only restate it.
		f, ok, err := ReadFailedOver(ctx, r, s.StoreID)
		if err != nil {
			return nil, err
		}
		if ok && ds.Access == catalog.AccessPrimary {
			by := f.WorkflowID
			if f.Operator != "" {
				by += ", approved by " + f.Operator
			}
			add(ConfigFailedOver, "data store %s was failed over to %s at %s (%s): it is PRIMARY here and takes no import", s.StoreID, site.Node,
				f.At.UTC().Format(time.RFC3339), by)
			return out, nil
		}
		add(ConfigStoreAccess, "data store %s on the secondary %s has domain access %s: imports need SECONDARY", s.StoreID, site.Node, ds.Access)
	}

	// One system search list for both sites.
	switch {
	case strings.EqualFold(p.Node, site.Node):
		add(ConfigSearchList, "primary and secondary are the same node %s", p.Node)
	case slices.Contains(site.SearchListNodes(), p.Node):
		add(ConfigSearchList, "the system search list of the secondary %s includes catalogs of the primary %s", site.Node, p.Node)
	case slices.Contains((&catalog.Site{SearchList: p.SearchList}).SearchListNodes(), site.Node):
		add(ConfigSearchList, "the system search list of the primary %s includes catalogs of the secondary %s", p.Node, site.Node)
	case p.SearchListSystem != "" && p.SearchListSystem == site.MediaDefs.SearchListSystem:
		add(ConfigSearchList, "primary %s and secondary %s both use the system search list defined on %s", p.Node, site.Node, p.SearchListSystem)
	}

	// Every primary group mapped to a secondary group.
	byOrig := map[string]catalog.VolumeGroup{}
	if err := r.ScanVolumeGroups(ctx, func(g *catalog.VolumeGroup) error {
		byOrig[cmp.Or(g.OriginalName, g.Name)] = *g
		return nil
	}); err != nil {
		return nil, err
	}
	var targets []catalog.VolumeGroup
	for _, name := range p.Groups {
		g, ok := byOrig[name]
		if !ok {
			add(ConfigGroupMapping, "primary volume group %s has no volume group on the secondary %s (none names it as its original)", name, site.Node)
			continue
		}
		targets = append(targets, g)
	}

	// Catalogs of the secondary's own backups.
	local, err := localCatalogs(ctx, r, site, byOrig)
	if err != nil {
		return nil, err
	}
	owned := map[[2]string]bool{}
	for _, g := range targets {
		owned[[2]string{g.Volcat, g.Pool}] = true
	}
	filecats := map[string]string{} // filecat -> group
	for _, g := range targets {
		if why, ok := local[g.Volcat]; ok {
			add(ConfigSharedCatalog, "volume group %s sends replicated entries to VOLCAT %s, %s", g.Name, g.Volcat, why)
		}
		if why, ok := local[g.Filecat]; ok {
			add(ConfigSharedCatalog, "volume group %s sends replicated entries to FILECAT %s, %s", g.Name, g.Filecat, why)
		}
		if s.NodePairs && s.CatalogFiles && g.Filecat == site.MediaDefs.DefaultFilecat {
			add(ConfigSharedCatalog, "volume group %s would send DISKFILEs with rewritten node names into %s, the MEDIADEFS default FILECAT", g.Name, g.Filecat)
		}
		if _, ok := filecats[g.Filecat]; !ok {
			filecats[g.Filecat] = g.Name
		}
	}
	for _, fc := range slices.Sorted(maps.Keys(filecats)) {
		entry, err := localTapeFiles(ctx, r, fc, owned)
		if err != nil {
			return nil, err
		}
		if entry != "" {
			add(ConfigSharedCatalog, "FILECAT %s of volume group %s already holds tape files of local backups (%s)", fc, filecats[fc], entry)
		}
	}
	return out, nil
}

// localCatalogs lists the catalogs the secondary's own backups use: the
// MEDIADEFS defaults and those of volume groups holding volumes of its
// PRIMARY data stores, each with the reason.
func localCatalogs(ctx context.Context, r store.Reader, site catalog.Site, groups map[string]catalog.VolumeGroup) (map[string]string, error) {
	local := map[string]string{
		site.MediaDefs.DefaultVolcat:  "the MEDIADEFS default VOLCAT of " + site.Node,
		site.MediaDefs.DefaultFilecat: "the MEDIADEFS default FILECAT of " + site.Node,
	}
	var stores []string
	if err := r.ScanDataStores(ctx, func(d *catalog.DataStore) error {
		if d.Access == catalog.AccessPrimary {
			stores = append(stores, d.ID)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	byName := map[string]catalog.VolumeGroup{}
	for _, g := range groups {
		byName[g.Name] = g
	}
	for _, id := range stores {
		used := map[string]bool{}
		if err := r.ScanVolumes(ctx, store.Filter{StoreID: id}, func(v *catalog.Volume) error {
			used[v.Group] = true
			return nil
		}); err != nil {
			return nil, err
		}
		for _, name := range slices.Sorted(maps.Keys(used)) {
			if g, ok := byName[name]; ok {
				why := fmt.Sprintf("which volume group %s of the local data store %s also uses", g.Name, id)
				for _, c := range []string{g.Volcat, g.Filecat} {
					if _, seen := local[c]; !seen {
						local[c] = why
					}
				}
			}
		}
	}
	return local, nil
}

// localTapeFiles returns a VTOFC entry of filecat whose volume set is
// neither in a pool of the import nor a BackPak volume of a replicated
// data store, or "" if there is none.
func localTapeFiles(ctx context.Context, r store.Reader, filecat string, owned map[[2]string]bool) (string, error) {
	var foreign []catalog.VolumeFilecat
	if err := r.ScanVolumeFilecats(ctx, store.Filter{Filecat: filecat}, func(f *catalog.VolumeFilecat) error {
		if !owned[[2]string{f.Volcat, f.Pool}] {
			foreign = append(foreign, *f)
		}
		return nil
	}); err != nil {
		return "", err
	}
	for _, f := range foreign {
		v, err := r.Volume(ctx, catalog.VolumeKey{Label: f.VolsetID, LabelType: catalog.Labeled})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		if err == nil {
			ds, err := r.DataStore(ctx, v.StoreID)
			if err == nil && ds.Access == catalog.AccessSecondary {
				continue // replicated from elsewhere
			}
		}
		return fmt.Sprintf("volume set %s in %s pool %s", f.VolsetID, f.Volcat, f.Pool), nil
	}
	return "", nil
}
