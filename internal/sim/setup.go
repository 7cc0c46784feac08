package sim

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
)

// Names a site's owned store gets: \PRIM.VCPROD, \PRIM.FCPROD, VG_PROD_1,
// PROD_POOL1 (the pool name also ties a group back to its store).
func groupName(storeID string, i int) string { return fmt.Sprintf("VG_%s_%d", catalogBase(storeID), i) }
func poolName(storeID string, i int) string  { return fmt.Sprintf("%s_POOL%d", catalogBase(storeID), i) }

func groupIndex(name string) int {
	if i := strings.LastIndexByte(name, '_'); i >= 0 && len(name) == i+2 {
		return int(name[i+1] - '0')
	}
	return 0
}

// label returns the n-th generated label: prefix letter, then 5 digits,
// moving to the next letter every 100,000 labels (T00000..T99999, U00000..).
func (e *engine) label(n int) string {
	return fmt.Sprintf("%c%05d", e.p.LabelPrefix[0]+byte(n/100000), n%100000)
}

func (e *engine) createStores(ctx context.Context, tx store.Tx) error {
	for _, id := range e.p.Stores {
		// A store replicated from a primary keeps its access: redefining
		// it PRIMARY would let local backups write the primary's volumes.
		if ds, err := tx.DataStore(ctx, id); err == nil && ds.Access != catalog.AccessPrimary {
			return fmt.Errorf("data store %s is %s on this site: its own backups need a data store of their own", id, ds.Access)
		} else if err != nil && !isNotFound(err) {
			return err
		}
		ds := catalog.DataStore{ID: id, Access: catalog.AccessPrimary, Status: catalog.StoreActive,
			CheckVolumeTimestamp: true, Location: `\\NAS` + e.site.Node[1:] + `\VTC\` + catalogBase(id)}
		if err := tx.PutDataStore(ctx, &ds); err != nil {
			return err
		}
		b := catalogBase(id)
		for i := 1; i <= e.p.GroupsPerStore; i++ {
			g := &group{store: ds, VolumeGroup: catalog.VolumeGroup{Name: groupName(id, i),
				Volcat: e.site.Node + ".VC" + b, Pool: poolName(id, i), Filecat: e.site.Node + ".FC" + b,
				// The last groups encrypt: a dedicated group and pool, as BackBox advises.
				Encrypted: i > e.p.GroupsPerStore-e.p.EncryptedGroups}}
			// Odd pools scratch expired volumes themselves; even ones leave
			// them RELEASED for the operator.
			g.pool = catalog.Pool{Volcat: g.Volcat, Name: g.Pool, Label: "BACKUP", Density: "ANY", Type: "CART3480",
				AutoScratch: i%2 == 1, SearchSpace: "IN"}
			if err := tx.PutVolumeGroup(ctx, &g.VolumeGroup); err != nil {
				return err
			}
			if err := tx.PutPool(ctx, &g.pool); err != nil {
				return err
			}
			e.groups = append(e.groups, g)
		}
	}
	return nil
}

// createDSMOnly catalogs physical tapes in the MEDIADEFS default VOLCAT that
// BackPak does not manage: imports must never touch them.
func (e *engine) createDSMOnly(ctx context.Context, tx store.Tx) error {
	if e.p.DSMOnlyVolumes == 0 {
		return nil
	}
	volcat := e.site.MediaDefs.DefaultVolcat
	p := catalog.Pool{Volcat: volcat, Name: "MEDIA_POOL", Label: "ANSI", Density: "ANY", Type: "LTO4",
		AutoScratch: true, SearchSpace: "IN"}
	if err := tx.PutPool(ctx, &p); err != nil {
		return err
	}
	for i := 0; i < e.p.DSMOnlyVolumes; i++ {
		tv := catalog.TapeVolume{Volcat: volcat, Volser: fmt.Sprintf("M%c%04d", e.p.LabelPrefix[0], i), Pool: p.Name,
			Label: "ANSI", Type: "LTO4", Status: catalog.StatusScratch, EndOfDataLBA: -1}
		if err := tx.PutTapeVolume(ctx, &tv); err != nil {
			return err
		}
	}
	return nil
}

// createVolume creates a volume as BackBox does in a PRIMARY data store: the
// BackPak entry, and a SCRATCH DSM/TC volume in the group's VOLCAT and POOL.
func (e *engine) createVolume(ctx context.Context, tx store.Tx, g *group, now time.Time) (*vol, error) {
	v := &vol{label: e.label(e.nextLabel), group: g, status: catalog.StatusScratch}
	e.nextLabel++
	entry := catalog.Volume{Label: v.label, LabelType: catalog.Labeled, StoreID: g.store.ID, Group: g.Name,
		Access: catalog.AccessPrimary, LastUpdate: now, CheckTimestamp: true, OwnerNode: e.site.Node,
		OwnerUser: "SUPER.OPER", Auth: "GGO", MaxSize: 4 << 30, Compression: catalog.CompressZlib}
	if err := tx.PutVolume(ctx, &entry); err != nil {
		return nil, err
	}
	if err := tx.PutTapeVolume(ctx, e.tapeVolume(v)); err != nil {
		return nil, err
	}
	e.vols[v.label] = v
	g.scratch = insertSorted(g.scratch, v.label)
	return v, nil
}

func (e *engine) tapeVolume(v *vol) *catalog.TapeVolume {
	return &catalog.TapeVolume{Volcat: v.group.Volcat, Volser: v.label, Pool: v.group.Pool, Label: "BACKUP",
		Type: v.group.pool.Type, Status: v.status, VolsetID: v.volset, VolIndex: v.index, EndOfDataLBA: -1}
}

func insertSorted(s []string, x string) []string {
	i, found := slices.BinarySearch(s, x)
	if found {
		return s
	}
	return slices.Insert(s, i, x)
}

func removeSorted(s []string, x string) []string {
	if i, found := slices.BinarySearch(s, x); found {
		return slices.Delete(s, i, i+1)
	}
	return s
}

// Sample FILEID stems, after the DSM/TC manuals' examples.
var jobStems = []string{"PAYROLL_BACKUP", "MASTER_ACCT", "CALIF_ACCOUNTS", "WEEKLY_BACKUP", "YEAR_END_REPORT",
	"SALES_REPORT_LOCAL", "FULL-BACKUP", "CAL_REPS", "MASTER_OUT", "TEST_DATA"}

var diskVolumes = []string{"$DATA", "$PAY", "$SYSTEM", "$AUDIT", "$DATA01", "$DATA02"}

// planJobs derives the site's recurring backups from the parameters alone,
// so that Init and every later Advance agree on them.
func (e *engine) planJobs() {
	e.jobs = nil
	if len(e.groups) == 0 || e.p.BackupsPerDay == 0 {
		return
	}
	rng := rand.New(rand.NewPCG(e.p.Seed, 1<<62))
	n := max(e.p.BackupsPerDay, len(e.groups))
	total := 0
	for _, r := range e.p.Retention {
		total += r.Weight
	}
	for i := 0; i < n; i++ {
		stem := jobStems[i%len(jobStems)]
		name := stem
		if i >= len(jobStems) {
			name = fmt.Sprintf("%s_%d", stem, i/len(jobStems))
		}
		j := job{name: name, group: e.groups[i%len(e.groups)], copies: 1,
			volumes: 1 + rng.IntN(e.p.MaxVolumesPerSet), user: "OPER." + userOf(stem),
			diskVol: diskVolumes[i%len(diskVolumes)]}
		if e.p.FilesPerBackup > 1 {
			// several files share the set, each on one volume: no empty volume
			j.volumes = min(j.volumes, e.p.FilesPerBackup)
		}
		if rng.IntN(100) < e.p.ParallelPercent {
			j.copies = 2
		}
		w := rng.IntN(total)
		for _, r := range e.p.Retention {
			if w -= r.Weight; w < 0 {
				j.retention = r.Days
				break
			}
		}
		for f := 1; f <= e.p.FilesPerBackup; f++ {
			id := name
			if e.p.FilesPerBackup > 1 {
				id = fmt.Sprintf("%s.F%02d", name, f)
			}
			j.fileIDs = append(j.fileIDs, id)
		}
		e.jobs = append(e.jobs, j)
	}
}

// userOf makes a Guardian user name from a job stem: PAYROLL_BACKUP -> PAYROLL.
func userOf(stem string) string {
	var b strings.Builder
	for _, c := range stem {
		if c < 'A' || c > 'Z' || b.Len() == 8 {
			break
		}
		b.WriteRune(c)
	}
	return b.String()
}

// mediaKeyName makes a KeyPerTape media key name for one write of a volume:
// an opaque id built, like BackBox's, from the node, the label, the BackPak
// id and the time of the write.
func (e *engine) mediaKeyName(label string, at time.Time, rng *rand.Rand) string {
	h := fnv.New32a()
	h.Write([]byte(e.site.Node))
	id := strings.Map(func(r rune) rune {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return -1
	}, strings.ToUpper(e.site.BackPakID))
	return fmt.Sprintf("N%08X%s%014X_%.8s_%s", h.Sum32(), label, rng.Uint64()>>8, id, at.Format("0601021504"))
}
