package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/store"
)

// Metadata keys under which a simulated site keeps its state.
const (
	metaParams    = "sim.params"
	metaClock     = "sim.clock"      // the next day to simulate
	metaNextLabel = "sim.next_label" // label counter
)

const day = 24 * time.Hour

// group is a volume group of a data store the site owns, with its pool.
type group struct {
	catalog.VolumeGroup
	store   catalog.DataStore
	pool    catalog.Pool
	scratch []string // SCRATCH volumes, sorted
}

// vol is what the simulator keeps in memory of one of its volumes.
type vol struct {
	label  string
	group  *group
	status catalog.VolumeStatus
	volset string
	index  int
}

// job is a recurring backup: the FILEIDs it writes, where and how.
type job struct {
	name      string
	group     *group
	fileIDs   []string
	retention int
	copies    int
	volumes   int
	user      string
	diskVol   string
}

type engine struct {
	st        store.Store
	p         Params
	site      catalog.Site
	groups    []*group
	vols      map[string]*vol
	jobs      []job
	nextLabel int
	clock     time.Time
	keys      keys.Manager // where writes file their KeyPerTape keys; nil: nowhere
	images    []imageOp    // the day's image changes, applied once it commits
}

// Init creates a primary site in an empty store from p and simulates
// p.Days days of backups. Each write of an encrypted volume files a new
// key in km under the site's BackPak id (KeyPerTape); km may be nil when
// the keys do not matter.
func Init(ctx context.Context, st store.Store, p Params, km keys.Manager) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if _, err := st.Site(ctx); err == nil {
		return errors.New("the catalog already holds a site: use advance, or an empty catalog")
	}
	site := catalog.Site{Node: p.Node, DomainID: p.DomainID, BackPakID: p.BackPakID,
		MediaDefs: catalog.MediaDefs{DefaultVolcat: p.Node + ".VCDEF", DefaultFilecat: p.Node + ".FCDEF",
			Retention: 30, AbendRetention: 1, SearchListSystem: p.Node}}
	site.SearchList = []string{site.MediaDefs.DefaultVolcat, site.MediaDefs.DefaultFilecat}
	for _, id := range p.Stores {
		b := catalogBase(id)
		site.SearchList = append(site.SearchList, p.Node+".VC"+b, p.Node+".FC"+b)
	}
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.PutSite(ctx, &site) }); err != nil {
		return err
	}
	return create(ctx, st, p, site, km)
}

// create sets up the data stores p owns on an existing site, then simulates.
func create(ctx context.Context, st store.Store, p Params, site catalog.Site, km keys.Manager) error {
	e := &engine{st: st, p: p, site: site, vols: map[string]*vol{}, clock: p.Start, keys: km}
	err := st.Update(ctx, func(tx store.Tx) error {
		if err := e.createStores(ctx, tx); err != nil {
			return err
		}
		if err := e.createDSMOnly(ctx, tx); err != nil {
			return err
		}
		for i := 0; i < p.Volumes; i++ {
			if _, err := e.createVolume(ctx, tx, e.groups[i%len(e.groups)], p.Start); err != nil {
				return err
			}
		}
		return e.saveState(ctx, tx, true)
	})
	if err != nil {
		return err
	}
	e.planJobs()
	return e.run(ctx, p.Days)
}

// Advance simulates n more days on a site made by Init or InitSecondary,
// filing the keys of encrypted writes in km (nil: nowhere), and the
// images of its writes under the data root the site's parameters keep.
func Advance(ctx context.Context, st store.Store, n int, km keys.Manager) error {
	return advance(ctx, st, n, km, nil)
}

// AdvanceImages is Advance writing the images of the days' writes under
// dataRoot ("" writes none) rather than the root the site's parameters
// keep, which stays as it is: the CLI takes the root from the site's
// configuration at every run, as an operator may move or unset it.
func AdvanceImages(ctx context.Context, st store.Store, n int, km keys.Manager, dataRoot string) error {
	return advance(ctx, st, n, km, &dataRoot)
}

func advance(ctx context.Context, st store.Store, n int, km keys.Manager, dataRoot *string) error {
	if n < 0 {
		return fmt.Errorf("days to advance = %d: must not be negative", n)
	}
	e, err := load(ctx, st)
	if err != nil {
		return err
	}
	e.keys = km
	if dataRoot != nil {
		e.p.DataRoot = *dataRoot
	}
	return e.run(ctx, n)
}

// Clock returns the next day a simulated site would simulate.
func Clock(ctx context.Context, st store.Reader) (time.Time, error) {
	v, err := st.Meta(ctx, metaClock)
	if err != nil {
		return time.Time{}, fmt.Errorf("not a simulated site: %w", err)
	}
	return time.Parse(time.DateOnly, v)
}

func (e *engine) saveState(ctx context.Context, tx store.Tx, withParams bool) error {
	if withParams {
		b, err := json.Marshal(e.p)
		if err != nil {
			return err
		}
		if err := tx.PutMeta(ctx, metaParams, string(b)); err != nil {
			return err
		}
	}
	if err := tx.PutMeta(ctx, metaClock, e.clock.Format(time.DateOnly)); err != nil {
		return err
	}
	return tx.PutMeta(ctx, metaNextLabel, strconv.Itoa(e.nextLabel))
}

// load rebuilds the simulator's memory from a site's catalog.
func load(ctx context.Context, st store.Store) (*engine, error) {
	e := &engine{st: st, vols: map[string]*vol{}}
	raw, err := st.Meta(ctx, metaParams)
	if err != nil {
		return nil, fmt.Errorf("not a simulated site: %w", err)
	}
	if err := json.Unmarshal([]byte(raw), &e.p); err != nil {
		return nil, fmt.Errorf("simulator state %s: %w", metaParams, err)
	}
	if e.clock, err = Clock(ctx, st); err != nil {
		return nil, err
	}
	n, err := st.Meta(ctx, metaNextLabel)
	if err != nil {
		return nil, err
	}
	if e.nextLabel, err = strconv.Atoi(n); err != nil {
		return nil, fmt.Errorf("simulator state %s: %w", metaNextLabel, err)
	}
	if e.site, err = st.Site(ctx); err != nil {
		return nil, err
	}
	owned := map[string]catalog.DataStore{}
	for _, id := range e.p.Stores {
		ds, err := st.DataStore(ctx, id)
		if err != nil {
			return nil, err
		}
		owned[id] = ds
	}
	pools := map[[2]string]catalog.Pool{}
	if err := st.ScanPools(ctx, store.Filter{}, func(p *catalog.Pool) error {
		pools[[2]string{p.Volcat, p.Name}] = *p
		return nil
	}); err != nil {
		return nil, err
	}
	byName := map[string]*group{}
	err = st.ScanVolumeGroups(ctx, func(g *catalog.VolumeGroup) error {
		// A group serves the store whose pool it names; groups of stores
		// this site does not own (SECONDARY) are left to imports.
		for id, ds := range owned {
			if g.Pool == poolName(id, groupIndex(g.Name)) {
				gr := &group{VolumeGroup: *g, store: ds, pool: pools[[2]string{g.Volcat, g.Pool}]}
				e.groups = append(e.groups, gr)
				byName[g.Name] = gr
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(e.groups, func(a, b *group) int { return compareStrings(a.Name, b.Name) })
	for _, id := range e.p.Stores {
		err := st.ScanVolumes(ctx, store.Filter{StoreID: id}, func(v *catalog.Volume) error {
			if g := byName[v.Group]; g != nil && v.LabelType == catalog.Labeled {
				e.vols[v.Label] = &vol{label: v.Label, group: g}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for _, g := range e.groups {
		err := st.ScanTapeVolumes(ctx, store.Filter{Volcat: g.Volcat, Pool: g.Pool}, func(tv *catalog.TapeVolume) error {
			if v := e.vols[tv.Volser]; v != nil {
				v.status, v.volset, v.index = tv.Status, tv.VolsetID, tv.VolIndex
				if tv.Status == catalog.StatusScratch {
					g.scratch = append(g.scratch, tv.Volser)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	e.planJobs()
	return e, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// run simulates n days, one transaction per day.
func (e *engine) run(ctx context.Context, n int) error {
	if err := e.prepareImages(); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		date := e.clock
		dayNo := uint64(date.Sub(e.p.Start) / day)
		rng := rand.New(rand.NewPCG(e.p.Seed, dayNo))
		err := e.st.Update(ctx, func(tx store.Tx) error {
			e.images = nil
			if err := e.cleanup(ctx, tx, date); err != nil {
				return err
			}
			if err := e.expire(ctx, tx, date); err != nil {
				return err
			}
			if err := e.operator(ctx, tx, rng, date); err != nil {
				return err
			}
			if len(e.jobs) > 0 {
				for r := 0; r < e.p.BackupsPerDay; r++ {
					j := &e.jobs[(int(dayNo)*e.p.BackupsPerDay+r)%len(e.jobs)]
					start := date.Add(20*time.Hour + time.Duration(r)*8*time.Hour/time.Duration(e.p.BackupsPerDay))
					if err := e.backup(ctx, tx, rng, j, start); err != nil {
						return fmt.Errorf("backup %s on %s: %w", j.name, date.Format(time.DateOnly), err)
					}
				}
			}
			for _, g := range e.groups {
				if err := tx.PutPool(ctx, &g.pool); err != nil {
					return err
				}
			}
			e.clock = date.Add(day)
			return e.saveState(ctx, tx, false)
		})
		if err != nil {
			e.clock = date
			return err
		}
		if err := e.flushImages(ctx); err != nil {
			return fmt.Errorf("images of %s: %w", date.Format(time.DateOnly), err)
		}
	}
	return nil
}
