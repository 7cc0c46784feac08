package sim

import (
	"cmp"
	"context"
	"errors"
	"strings"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/store"
)

// SecondaryParams shape a secondary (disaster-recovery) site. Local holds
// the site's identity and, when Local.Volumes > 0, its own local data stores
// and backups (the entries that replicated ones must never collide with).
type SecondaryParams struct {
	Local       Params
	ReplVolcat  string // dedicated VOLCAT for replicated entries; default \NODE.VCREPL
	ReplFilecat string // dedicated FILECAT; default \NODE.FCREPL
	// The domain's key-manager entry for reading the replicated keys: the
	// BackPak id it carries (default the primary's; NoKeyManager for none)
	// and its server (default kms.<node>:5696).
	KeyManagerID     string
	KeyManagerServer string
}

// NoKeyManager as SecondaryParams.KeyManagerID leaves the entry out.
const NoKeyManager = "none"

// DefaultSecondaryParams returns a secondary \SECD without local backups.
func DefaultSecondaryParams() SecondaryParams {
	p := DefaultParams()
	p.Seed, p.Node, p.DomainID, p.BackPakID = 2, `\SECD`, "BBOX", "BPSECD01"
	p.Stores, p.Volumes, p.Days, p.BackupsPerDay, p.LabelPrefix, p.DSMOnlyVolumes = []string{"DS_LOCAL"}, 0, 0, 0, "L", 2
	return SecondaryParams{Local: p}
}

// InitSecondary creates a secondary site for primary in an empty store: a
// SECONDARY data store with the same id for every PRIMARY store of the
// primary, and for every primary volume group one that names it as its
// original and sends its entries to the dedicated VOLCAT and FILECAT. Then,
// if asked, it creates and simulates the secondary's own local backups.
func InitSecondary(ctx context.Context, st store.Store, primary store.Reader, sp SecondaryParams, km keys.Manager) error {
	p := sp.Local
	if p.Volumes == 0 && p.BackupsPerDay == 0 {
		p.Stores = nil // no local backups: no local data store either
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if _, err := st.Site(ctx); err == nil {
		return errors.New("the catalog already holds a site: use advance, or an empty catalog")
	}
	if sp.ReplVolcat == "" {
		sp.ReplVolcat = p.Node + ".VCREPL"
	}
	if sp.ReplFilecat == "" {
		sp.ReplFilecat = p.Node + ".FCREPL"
	}
	prim, err := primary.Site(ctx)
	if err != nil {
		return err
	}
	if prim.Node == p.Node {
		return errors.New("secondary node " + p.Node + " is the primary's node: give the secondary its own")
	}
	site := catalog.Site{Node: p.Node, DomainID: p.DomainID, BackPakID: p.BackPakID,
		MediaDefs: catalog.MediaDefs{DefaultVolcat: p.Node + ".VCDEF", DefaultFilecat: p.Node + ".FCDEF",
			Retention: 30, AbendRetention: 1, SearchListSystem: p.Node},
		SearchList: []string{p.Node + ".VCDEF", p.Node + ".FCDEF", sp.ReplVolcat, sp.ReplFilecat}}
	for _, id := range p.Stores {
		b := catalogBase(id)
		site.SearchList = append(site.SearchList, p.Node+".VC"+b, p.Node+".FC"+b)
	}
	if id := cmp.Or(sp.KeyManagerID, prim.BackPakID); id != NoKeyManager {
		server := cmp.Or(sp.KeyManagerServer, "kms."+strings.ToLower(strings.TrimPrefix(p.Node, `\`))+":5696")
		site.KeyManagers = []catalog.KeyManagerEntry{{BackPakID: id, Server: server}}
	}

	var stores []catalog.DataStore
	if err := primary.ScanDataStores(ctx, func(d *catalog.DataStore) error {
		if d.Access == catalog.AccessPrimary {
			stores = append(stores, *d)
		}
		return nil
	}); err != nil {
		return err
	}
	var groups []catalog.VolumeGroup
	if err := primary.ScanVolumeGroups(ctx, func(g *catalog.VolumeGroup) error {
		groups = append(groups, *g)
		return nil
	}); err != nil {
		return err
	}
	pools := map[string]catalog.Pool{}
	if err := primary.ScanPools(ctx, store.Filter{}, func(p *catalog.Pool) error {
		pools[p.Volcat+" "+p.Name] = *p
		return nil
	}); err != nil {
		return err
	}

	err = st.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutSite(ctx, &site); err != nil {
			return err
		}
		for _, d := range stores {
			d.Access = catalog.AccessSecondary
			if err := tx.PutDataStore(ctx, &d); err != nil {
				return err
			}
		}
		for _, g := range groups {
			pool, ok := pools[g.Volcat+" "+g.Pool]
			if !ok {
				continue // a group without a DSM/TC pool is not cataloged
			}
			repl := catalog.VolumeGroup{Name: g.Name, OriginalName: g.Name, Volcat: sp.ReplVolcat, Pool: g.Pool,
				Filecat: sp.ReplFilecat, Encrypted: g.Encrypted}
			pool.Volcat, pool.LastScratchVol = sp.ReplVolcat, ""
			if err := tx.PutVolumeGroup(ctx, &repl); err != nil {
				return err
			}
			if err := tx.PutPool(ctx, &pool); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return create(ctx, st, p, site, km)
}
