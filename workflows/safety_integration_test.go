package workflows_test

// The safety rules end to end: one hazard per rule planted on the secondary
// or the primary, then a real CatalogSync. The report must name the set,
// label, rule and colliding entry; the set must stay as it was on the
// secondary and every other set must be applied.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/export"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/workflows"
)

// safetyScene is a world with the primary's volume sets as exported.
type safetyScene struct {
	*world
	order []string
	sets  map[string]*snapshot.VolumeSet
	gens  map[string]int // "FILEID GEN" -> number of sets holding it
	used  map[string]bool
}

// safetyLocalSecondary is a secondary with local data store DS_LOCAL
// (PRIMARY), its volumes and a few days of local backups.
func safetyLocalSecondary() sim.SecondaryParams {
	sp := sim.DefaultSecondaryParams()
	sp.Local.Volumes, sp.Local.Days, sp.Local.BackupsPerDay = 12, 3, 2
	return sp
}

func newSafetyScene(t *testing.T, sp sim.SecondaryParams) *safetyScene {
	t.Helper()
	w := newWorld(t, small(), sp)
	s := &safetyScene{world: w, sets: map[string]*snapshot.VolumeSet{}, gens: map[string]int{}, used: map[string]bool{}}
	ctx := context.Background()
	items, _, err := export.Plan(ctx, w.prim, w.storeID, snapshot.Full, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	x := &export.Reader{R: w.prim, StoreID: w.storeID, CatalogFiles: true}
	if err := x.Walk(ctx, items, nil, func(_ export.Item, set *snapshot.VolumeSet) error {
		s.order = append(s.order, set.ID)
		s.sets[set.ID] = set
		seen := map[string]bool{}
		for _, f := range set.TapeFiles {
			if k := safetyGen(f); !seen[k] {
				seen[k] = true
				s.gens[k]++
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

func safetyGen(f catalog.TapeFile) string { return fmt.Sprintf("%s %d", f.FileID, f.Generation) }

// pick returns a volume set not picked before whose FILEID generations no
// other set holds (parallel copies and reruns spread a generation over
// several sets, which would all collide), and that also satisfies ok.
func (s *safetyScene) pick(ok func(*snapshot.VolumeSet) bool) *snapshot.VolumeSet {
	s.t.Helper()
	for _, id := range s.order {
		set := s.sets[id]
		if s.used[id] || len(set.TapeFiles) == 0 || len(set.VTOFC) != 1 || len(set.TFTOV) == 0 {
			continue
		}
		unique := true
		for _, f := range set.TapeFiles {
			unique = unique && s.gens[safetyGen(f)] == 1
		}
		if unique && (ok == nil || ok(set)) {
			s.used[id] = true
			return set
		}
	}
	s.t.Fatal("no volume set of the primary fits the scenario")
	return nil
}

func safetyTwoVolumes(set *snapshot.VolumeSet) bool { return len(set.Volumes) >= 2 }

// safetyMember is a volume of the set other than its first.
func safetyMember(set *snapshot.VolumeSet) string {
	for _, v := range set.Volumes {
		if v.Label != set.ID {
			return v.Label
		}
	}
	return set.ID
}

func (s *safetyScene) group(name string) catalog.VolumeGroup {
	s.t.Helper()
	g, err := s.sec.VolumeGroup(context.Background(), name)
	if err != nil {
		s.t.Fatal(err)
	}
	return g
}

// rows is everything the secondary holds under the set's labels, volume
// set id and FILEID generations, whoever wrote it.
func (s *safetyScene) rows(set *snapshot.VolumeSet) string {
	s.t.Helper()
	ctx := context.Background()
	var out []any
	var labels []string
	for _, v := range set.Volumes {
		labels = append(labels, v.Label)
	}
	for _, tv := range set.TapeVolumes {
		if !slices.Contains(labels, tv.Volser) {
			labels = append(labels, tv.Volser)
		}
	}
	byID := store.Filter{VolsetID: set.ID}
	errs := []error{
		s.sec.ScanVolumeFilecats(ctx, byID, safetyCollect[catalog.VolumeFilecat](&out)),
		s.sec.ScanTapeFiles(ctx, byID, safetyCollect[catalog.TapeFile](&out)),
		s.sec.ScanTapeFileVolumes(ctx, byID, safetyCollect[catalog.TapeFileVolume](&out)),
		s.sec.ScanDiskFiles(ctx, byID, safetyCollect[catalog.DiskFile](&out)),
		s.sec.ScanDiskFileVolumes(ctx, byID, safetyCollect[catalog.DiskFileVolume](&out)),
	}
	for _, l := range labels {
		for _, typ := range []catalog.LabelType{catalog.Labeled, catalog.Unlabeled} {
			if v, err := s.sec.Volume(ctx, catalog.VolumeKey{Label: l, LabelType: typ}); err == nil {
				out = append(out, v)
			}
		}
		errs = append(errs, s.sec.ScanTapeVolumes(ctx, store.Filter{Volser: l}, safetyCollect[catalog.TapeVolume](&out)))
	}
	for _, f := range set.TapeFiles {
		errs = append(errs, s.sec.ScanTapeFiles(ctx, store.Filter{FileID: f.FileID, Generation: f.Generation}, safetyCollect[catalog.TapeFile](&out)))
	}
	if err := errors.Join(errs...); err != nil {
		s.t.Fatal(err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		s.t.Fatal(err)
	}
	return string(b)
}

// safetyCollect appends copies of scanned records to out.
func safetyCollect[T any](out *[]any) func(*T) error {
	return func(r *T) error {
		*out = append(*out, *r)
		return nil
	}
}

// untouched checks that the sync left the set's rows on the secondary as
// they were, and wrote none of its tape files into the replicated FILECAT.
func (s *safetyScene) untouched(set *snapshot.VolumeSet, before string) {
	s.t.Helper()
	if after := s.rows(set); after != before {
		s.t.Errorf("volume set %s in conflict changed on the secondary:\nbefore %s\nafter  %s", set.ID, before, after)
	}
	g := s.group(set.Volumes[0].Group)
	n := 0
	if err := s.sec.ScanTapeFiles(context.Background(), store.Filter{Filecat: g.Filecat, VolsetID: set.ID}, func(*catalog.TapeFile) error {
		n++
		return nil
	}); err != nil {
		s.t.Fatal(err)
	}
	if n > 0 {
		s.t.Errorf("%d tape files of volume set %s in conflict were written into %s", n, set.ID, g.Filecat)
	}
}

// driftOnly checks that every difference left between the sites is about
// one of the sets in conflict, and that each of them differs: the rest was
// applied, they were not.
func (s *safetyScene) driftOnly(sets ...string) {
	s.t.Helper()
	differs := map[string]bool{}
	for _, d := range s.drift(importer.Options{StoreID: s.storeID, CatalogFiles: true}) {
		if !d.IsDrift() {
			continue
		}
		if !slices.Contains(sets, d.Set) {
			s.t.Fatalf("drift outside the sets in conflict %v: %s", sets, d)
		}
		differs[d.Set] = true
	}
	for _, id := range sets {
		if !differs[id] {
			s.t.Errorf("volume set %s in conflict matches the primary: it was applied", id)
		}
	}
}

// fullWithConflicts runs a FULL sync that must leave sets out with exactly
// the conflicts want (Detail holds a substring of the expected detail).
func (s *safetyScene) fullWithConflicts(want ...safety.Conflict) *workflows.SyncResult {
	s.t.Helper()
	res, err := s.sync(s.input(snapshot.Full, true))
	if err != nil {
		s.t.Fatal(err)
	}
	if res.Outcome != workflows.OutcomeCompletedWithConflicts || !res.Watermark.Reimport || len(res.Applied.Failed) > 0 {
		s.t.Fatalf("outcome %s, watermark %+v, failed %v; want %s with re-import", res.Outcome, res.Watermark, res.Applied.Failed,
			workflows.OutcomeCompletedWithConflicts)
	}
	if res.Applied.Counts["tapefile.create"] == 0 {
		s.t.Errorf("no tape file applied: %v", res.Applied.Counts)
	}
	s.expectReport(res.Conflicts, want...)
	// The plan foresaw what the apply found.
	if !reflect.DeepEqual(res.Plan.Conflicts, res.Conflicts) {
		s.t.Errorf("plan found %+v, apply %+v", res.Plan.Conflicts, res.Conflicts)
	}
	return res
}

func (s *safetyScene) expectReport(rep safety.Report, want ...safety.Conflict) {
	s.t.Helper()
	sets, byRule := map[string]bool{}, map[safety.Rule]int{}
	for _, c := range want {
		sets[c.Set] = true
		byRule[c.Rule]++
	}
	if rep.Total != len(want) || rep.Sets != len(sets) || !reflect.DeepEqual(rep.ByRule, byRule) || len(rep.Conflicts) != len(want) {
		s.t.Fatalf("report: %d conflicts in %d sets %v, want %d in %d %v: %v", rep.Total, rep.Sets, rep.ByRule, len(want), len(sets), byRule, rep.Conflicts)
	}
	for i, c := range rep.Conflicts {
		w := want[i]
		if c.Set != w.Set || c.Label != w.Label || c.Rule != w.Rule || c.Where != w.Where {
			s.t.Errorf("conflict %d:\n got  set %s label %s %s where %+v\n want set %s label %s %s where %+v",
				i, c.Set, c.Label, c.Rule, c.Where, w.Set, w.Label, w.Rule, w.Where)
		}
		if !strings.Contains(c.Detail, w.Detail) || c.Action != safety.Rules[w.Rule].Action {
			s.t.Errorf("conflict %d: detail %q (want %q in it), action %q", i, c.Detail, w.Detail, c.Action)
		}
	}
}

// refused runs a FULL sync that the configuration check must refuse,
// naming rule and every one of details, before the secondary changes.
func (s *safetyScene) refused(rule safety.Rule, details ...string) {
	s.t.Helper()
	ctx := context.Background()
	before, err := store.Digest(ctx, s.sec)
	if err != nil {
		s.t.Fatal(err)
	}
	_, err = s.sync(s.input(snapshot.Full, true))
	if err == nil {
		s.t.Fatalf("the sync ran; want a refusal naming %s", rule)
	}
	for _, want := range append([]string{string(rule), "nothing imported"}, details...) {
		if !strings.Contains(err.Error(), want) {
			s.t.Errorf("refusal %q does not name %q", err, want)
		}
	}
	if after, _ := store.Digest(ctx, s.sec); after != before {
		s.t.Error("the refused sync changed the secondary")
	}
	// It stopped at the first step: no snapshot was taken.
	var entries []audit.Entry
	if _, err := audit.Verify(ctx, s.sec, func(_ store.AuditRecord, e audit.Entry) error {
		entries = append(entries, e)
		return nil
	}); err != nil || len(entries) != 1 || entries[0].Outcome != workflows.OutcomeFailed || entries[0].Snapshot != "" ||
		!strings.HasPrefix(entries[0].Error, "at check: ") {
		s.t.Errorf("audit of the refused run: %+v, %v", entries, err)
	}
}

func TestSafetyLabelLocal(t *testing.T) {
	ctx := context.Background()
	s := newSafetyScene(t, safetyLocalSecondary())
	set := s.pick(safetyTwoVolumes)
	label := safetyMember(set)
	// A local backup labelled a tape of its own like a volume of the set.
	g := s.group("VG_LOCAL_1")
	vol := catalog.Volume{Label: label, LabelType: catalog.Labeled, StoreID: "DS_LOCAL", Group: g.Name, Access: catalog.AccessPrimary,
		OwnerNode: `\SECD`, OwnerUser: "SUPER.OPER", Auth: "GGO", Compression: catalog.CompressZlib}
	tv := catalog.TapeVolume{Volcat: g.Volcat, Volser: label, Pool: g.Pool, Label: "BACKUP", Type: "CART3480",
		Status: catalog.StatusScratch, EndOfDataLBA: -1}
	s.plant(s.sec, func(ctx context.Context, tx store.Tx) error {
		if err := tx.PutVolume(ctx, &vol); err != nil {
			return err
		}
		return tx.PutTapeVolume(ctx, &tv)
	})
	before := s.rows(set)

	// Its DSM/TC entry is in a local pool of the search space: both rules.
	s.fullWithConflicts(
		safety.Conflict{Set: set.ID, Label: label, Rule: safety.LabelLocal,
			Where:  safety.Where{Store: "DS_LOCAL", Entry: fmt.Sprintf("VOLUME %s/LABELED in volume group %s, domain access PRIMARY", label, g.Name)},
			Detail: "label " + label + " is a local volume of data store DS_LOCAL"},
		safety.Conflict{Set: set.ID, Label: label, Rule: safety.LabelSearchSpace,
			Where:  safety.Where{Volcat: g.Volcat, Pool: g.Pool, Entry: fmt.Sprintf("TAPEVOLUME %s %s %s, SCRATCH", g.Volcat, g.Pool, label)},
			Detail: "label " + label + " is already a tape volume of pool " + g.Pool})
	s.untouched(set, before)
	s.driftOnly(set.ID)

	// The operator removes the local entries: the next UPDATE re-imports
	// every volume and the sites agree.
	s.plant(s.sec, func(ctx context.Context, tx store.Tx) error {
		if err := tx.DeleteVolume(ctx, vol.Key()); err != nil {
			return err
		}
		return tx.DeleteTapeVolume(ctx, &tv)
	})
	upd := s.mustSync(s.input(snapshot.Update, true))
	if upd.Snapshot.FromSeq != 0 || upd.Conflicts.Total != 0 || upd.Watermark.Reimport || upd.Watermark.Seq != upd.Snapshot.ToSeq {
		t.Errorf("UPDATE after the fix: from %d, %d conflicts, watermark %+v", upd.Snapshot.FromSeq, upd.Conflicts.Total, upd.Watermark)
	}
	s.noDrift(importer.Options{StoreID: s.storeID, CatalogFiles: true})
	if v, err := s.sec.Volume(ctx, vol.Key()); err != nil || v.StoreID != s.storeID || v.Access != catalog.AccessSecondary {
		t.Errorf("volume %s after the fix: %+v, %v", label, v, err)
	}
}

func TestSafetyLabelOtherStore(t *testing.T) {
	s := newSafetyScene(t, sim.DefaultSecondaryParams())
	set := s.pick(nil)
	// Another replicated data store has a volume with the set's label.
	vol := catalog.Volume{Label: set.ID, LabelType: catalog.Labeled, StoreID: "DS_OTHER", Group: "VG_OTHER", Access: catalog.AccessSecondary,
		OwnerNode: `\OTHER`, Auth: "GGO", Compression: catalog.CompressZlib}
	s.plant(s.sec, func(ctx context.Context, tx store.Tx) error {
		for _, err := range []error{
			tx.PutDataStore(ctx, &catalog.DataStore{ID: "DS_OTHER", Access: catalog.AccessSecondary, Status: catalog.StoreActive}),
			tx.PutVolumeGroup(ctx, &catalog.VolumeGroup{Name: "VG_OTHER", OriginalName: "VG_OTHER", Volcat: `\SECD.VCOTHER`,
				Pool: "OTHER_POOL", Filecat: `\SECD.FCOTHER`}),
			tx.PutVolume(ctx, &vol),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	before := s.rows(set)
	s.fullWithConflicts(safety.Conflict{Set: set.ID, Label: set.ID, Rule: safety.LabelOtherStore,
		Where:  safety.Where{Store: "DS_OTHER", Entry: fmt.Sprintf("VOLUME %s/LABELED in volume group VG_OTHER, domain access SECONDARY", set.ID)},
		Detail: "label " + set.ID + " is a volume of data store DS_OTHER (SECONDARY)"})
	s.untouched(set, before)
	s.driftOnly(set.ID)
}

func TestSafetyLabelDSMOnly(t *testing.T) {
	s := newSafetyScene(t, sim.DefaultSecondaryParams())
	set := s.pick(safetyTwoVolumes)
	label := safetyMember(set)
	// A tape cataloged by hand in the import's own pool, unknown to BackPak.
	g := s.group(set.Volumes[0].Group)
	s.plant(s.sec, func(ctx context.Context, tx store.Tx) error {
		return tx.PutTapeVolume(ctx, &catalog.TapeVolume{Volcat: g.Volcat, Volser: label, Pool: g.Pool, Label: "BACKUP", Type: "CART3480",
			Status: catalog.StatusScratch, EndOfDataLBA: -1})
	})
	before := s.rows(set)
	s.fullWithConflicts(safety.Conflict{Set: set.ID, Label: label, Rule: safety.LabelDSMOnly,
		Where:  safety.Where{Volcat: g.Volcat, Pool: g.Pool, Entry: fmt.Sprintf("TAPEVOLUME %s %s %s, SCRATCH", g.Volcat, g.Pool, label)},
		Detail: "label " + label + " is a DSM/TC tape volume of the import's pool " + g.Pool})
	s.untouched(set, before)
	s.driftOnly(set.ID)
}

func TestSafetyLabelSearchSpace(t *testing.T) {
	ctx := context.Background()
	s := newSafetyScene(t, sim.DefaultSecondaryParams())
	in, ex := s.pick(nil), s.pick(nil)
	site, err := s.sec.Site(ctx)
	if err != nil {
		t.Fatal(err)
	}
	volcat := site.MediaDefs.DefaultVolcat
	var media catalog.Pool // the secondary's own DSM/TC pool, in the search space
	if err := s.sec.ScanPools(ctx, store.Filter{Volcat: volcat}, func(p *catalog.Pool) error {
		media = *p
		return nil
	}); err != nil || media.SearchSpace != "IN" {
		t.Fatalf("pool of %s: %+v, %v", volcat, media, err)
	}
	vault := catalog.Pool{Volcat: volcat, Name: "VAULT_POOL", Label: "ANSI", Density: "ANY", Type: "LTO4", AutoScratch: true, SearchSpace: "EX"}
	tape := func(pool, volser string) catalog.TapeVolume {
		return catalog.TapeVolume{Volcat: volcat, Volser: volser, Pool: pool, Label: "ANSI", Type: "LTO4", Status: catalog.StatusScratch, EndOfDataLBA: -1}
	}
	inTape, exTape := tape(media.Name, in.ID), tape(vault.Name, ex.ID)
	s.plant(s.sec, func(ctx context.Context, tx store.Tx) error {
		for _, err := range []error{tx.PutTapeVolume(ctx, &inTape), tx.PutPool(ctx, &vault), tx.PutTapeVolume(ctx, &exTape)} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	before := s.rows(in)

	// Only the label in the search space collides; an excluded pool may
	// repeat a label.
	s.fullWithConflicts(safety.Conflict{Set: in.ID, Label: in.ID, Rule: safety.LabelSearchSpace,
		Where:  safety.Where{Volcat: volcat, Pool: media.Name, Entry: fmt.Sprintf("TAPEVOLUME %s %s %s, SCRATCH", volcat, media.Name, in.ID)},
		Detail: fmt.Sprintf("label %s is already a tape volume of pool %s in %s, in the search space", in.ID, media.Name, volcat)})
	s.untouched(in, before)
	s.driftOnly(in.ID)

	// Once the colliding tape is gone the run completes, with the label
	// still repeated in the excluded pool.
	s.plant(s.sec, func(ctx context.Context, tx store.Tx) error { return tx.DeleteTapeVolume(ctx, &inTape) })
	s.mustSync(s.input(snapshot.Update, true))
	s.noDrift(importer.Options{StoreID: s.storeID, CatalogFiles: true})
	var kept []catalog.TapeVolume
	if err := s.sec.ScanTapeVolumes(ctx, store.Filter{Volcat: volcat, Pool: vault.Name}, func(tv *catalog.TapeVolume) error {
		kept = append(kept, *tv)
		return nil
	}); err != nil || len(kept) != 1 || kept[0] != exTape {
		t.Errorf("tape volumes of the excluded pool: %+v, %v", kept, err)
	}
}

func TestSafetyUnlabeledSharesLabel(t *testing.T) {
	ctx := context.Background()
	s := newSafetyScene(t, safetyLocalSecondary())
	set := s.pick(nil)
	g := s.group("VG_LOCAL_1")
	nl := catalog.Volume{Label: set.ID, LabelType: catalog.Unlabeled, StoreID: "DS_LOCAL", Group: g.Name, Access: catalog.AccessPrimary,
		OwnerNode: `\SECD`, Auth: "GGO", Compression: catalog.CompressNone}
	s.plant(s.sec, func(ctx context.Context, tx store.Tx) error { return tx.PutVolume(ctx, &nl) })
	planted, err := s.sec.Volume(ctx, nl.Key())
	if err != nil {
		t.Fatal(err)
	}
	res := s.mustSync(s.input(snapshot.Full, true))
	if res.Conflicts.Total != 0 {
		t.Fatalf("conflicts: %v", res.Conflicts.Conflicts)
	}
	s.noDrift(importer.Options{StoreID: s.storeID, CatalogFiles: true})
	if got, err := s.sec.Volume(ctx, nl.Key()); err != nil || !reflect.DeepEqual(got, planted) {
		t.Errorf("the unlabeled local volume is now %+v, %v", got, err)
	}
}

func TestSafetyFileIDCollision(t *testing.T) {
	s := newSafetyScene(t, sim.DefaultSecondaryParams())
	set := s.pick(nil)
	g := s.group(set.Volumes[0].Group)
	// A local backup on a DSM/TC tape of the secondary wrote the same
	// FILEID and generation into the replicated FILECAT. Without a VTOFC
	// row it passes the configuration check; the set still collides.
	ml := safetyDSMTape(t, s.sec)
	ml.Status, ml.VolsetID, ml.VolIndex = catalog.StatusAssigned, ml.Volser, 1
	local := set.TapeFiles[0]
	local.Filecat, local.Volcat, local.Pool, local.VolsetID, local.Comment = g.Filecat, ml.Volcat, ml.Pool, ml.Volser, "LOCAL BACKUP"
	s.plant(s.sec, func(ctx context.Context, tx store.Tx) error {
		if err := tx.PutTapeVolume(ctx, &ml); err != nil {
			return err
		}
		return tx.PutTapeFile(ctx, &local)
	})
	before := s.rows(set)
	s.fullWithConflicts(safety.Conflict{Set: set.ID, Label: set.ID, Rule: safety.FileIDCollision,
		Where: safety.Where{Volcat: ml.Volcat, Pool: ml.Pool, Filecat: g.Filecat,
			Entry: fmt.Sprintf("TAPEFILE %s on volume set %s, %s", local.Key(), ml.Volser, local.Status)},
		Detail: fmt.Sprintf("FILEID %s generation %d is already in %s as a local entry of volume set %s", local.FileID, local.Generation, g.Filecat, ml.Volser)})
	s.untouched(set, before)
	s.driftOnly(set.ID)
	if got := s.rows(set); !strings.Contains(got, `"Comment":"LOCAL BACKUP"`) {
		t.Errorf("the local tape file is gone: %s", got)
	}
}

// safetyDSMTape returns a DSM/TC-only tape of the secondary's MEDIADEFS
// VOLCAT, which BackPak does not know.
func safetyDSMTape(t *testing.T, st store.Reader) catalog.TapeVolume {
	t.Helper()
	ctx := context.Background()
	site, err := st.Site(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var tv catalog.TapeVolume
	if err := st.ScanTapeVolumes(ctx, store.Filter{Volcat: site.MediaDefs.DefaultVolcat}, func(r *catalog.TapeVolume) error {
		if tv.Volser == "" {
			tv = *r
		}
		return nil
	}); err != nil || tv.Volser == "" {
		t.Fatalf("no DSM/TC tape in %s: %v", site.MediaDefs.DefaultVolcat, err)
	}
	return tv
}

func TestSafetySharedCatalogRefused(t *testing.T) {
	s := newSafetyScene(t, sim.DefaultSecondaryParams())
	set := s.pick(nil)
	g := s.group(set.Volumes[0].Group)
	// The same local backup, now filed in the replicated FILECAT by a VTOFC
	// row of a local pool: the whole import is refused.
	ml := safetyDSMTape(t, s.sec)
	ml.Status, ml.VolsetID, ml.VolIndex = catalog.StatusAssigned, ml.Volser, 1
	local := set.TapeFiles[0]
	local.Filecat, local.Volcat, local.Pool, local.VolsetID = g.Filecat, ml.Volcat, ml.Pool, ml.Volser
	s.plant(s.sec, func(ctx context.Context, tx store.Tx) error {
		for _, err := range []error{
			tx.PutTapeVolume(ctx, &ml),
			tx.PutVolumeFilecat(ctx, &catalog.VolumeFilecat{Volcat: ml.Volcat, VolsetID: ml.Volser, Pool: ml.Pool, Filecat: g.Filecat,
				TapeFormat: catalog.FormatArchive}),
			tx.PutTapeFile(ctx, &local),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	s.refused(safety.ConfigSharedCatalog, fmt.Sprintf("FILECAT %s of volume group", g.Filecat),
		fmt.Sprintf("volume set %s in %s pool %s", ml.Volser, ml.Volcat, ml.Pool))
}

// The primary exports a broken volume set: it is left out, the rest applied.
func TestSafetyPrimaryInvariants(t *testing.T) {
	t.Run(string(safety.OneValidVersion), func(t *testing.T) {
		s := newSafetyScene(t, sim.DefaultSecondaryParams())
		var f catalog.TapeFile
		set := s.pick(func(set *snapshot.VolumeSet) bool {
			for _, tf := range set.TapeFiles {
				if tf.Status == catalog.FileValid && tf.Version < catalog.MaxVersion {
					f = tf
					return true
				}
			}
			return false
		})
		// A rerun's version left VALID beside the first one.
		rerun := f
		rerun.Version++
		s.plant(s.prim, func(ctx context.Context, tx store.Tx) error { return tx.PutTapeFile(ctx, &rerun) })
		s.fullWithConflicts(safety.Conflict{Set: set.ID, Label: set.ID, Rule: safety.OneValidVersion,
			Where:  safety.Where{Filecat: f.Filecat, Entry: fmt.Sprintf("TAPEFILE %s %s GEN %d", f.Filecat, f.FileID, f.Generation)},
			Detail: fmt.Sprintf("FILEID %s generation %d has 2 VALID versions: [%d %d]", f.FileID, f.Generation, f.Version, rerun.Version)})
		s.untouched(set, "null")
		s.driftOnly(set.ID)
	})

	t.Run(string(safety.OneFilecat), func(t *testing.T) {
		s := newSafetyScene(t, sim.DefaultSecondaryParams())
		set := s.pick(nil)
		// One tape file moved to another FILECAT, with a CONFIG there so
		// that nothing else is wrong with it.
		f := set.TapeFiles[0]
		moved := f
		moved.Filecat = `\PRIM.FCMOVED`
		s.plant(s.prim, func(ctx context.Context, tx store.Tx) error {
			if err := tx.DeleteTapeFile(ctx, f.Key()); err != nil {
				return err
			}
			if err := tx.PutFileConfig(ctx, &catalog.FileConfig{Filecat: moved.Filecat, FileID: moved.FileID, LastGeneration: moved.Generation}); err != nil {
				return err
			}
			return tx.PutTapeFile(ctx, &moved)
		})
		vtofc := set.VTOFC[0]
		entries := map[string]string{
			moved.Filecat: "TAPEFILE " + moved.Key().String(),
			vtofc.Filecat: fmt.Sprintf("VTOFC %s %s %s", vtofc.Volcat, vtofc.Pool, vtofc.VolsetID),
		}
		names := []string{moved.Filecat, vtofc.Filecat}
		slices.Sort(names)
		s.fullWithConflicts(safety.Conflict{Set: set.ID, Label: set.ID, Rule: safety.OneFilecat,
			Where:  safety.Where{Filecat: strings.Join(names, " "), Entry: entries[names[0]] + "; " + entries[names[1]]},
			Detail: "the set's entries are in 2 file catalogs: " + strings.Join(names, ", ")})
		s.untouched(set, "null")
		s.driftOnly(set.ID)
	})

	t.Run(string(safety.GenerationRange), func(t *testing.T) {
		s := newSafetyScene(t, sim.DefaultSecondaryParams())
		var f catalog.TapeFile
		set := s.pick(func(set *snapshot.VolumeSet) bool {
			for _, tf := range set.TapeFiles {
				for _, c := range set.Configs {
					if c.FileID == tf.FileID && c.LastGeneration == tf.Generation && tf.Generation > 1 {
						f = tf
						return true
					}
				}
			}
			return false
		})
		// CONFIG says the FILEID's newest generation was never assigned;
		// only this set holds that generation.
		s.plant(s.prim, func(ctx context.Context, tx store.Tx) error {
			return tx.PutFileConfig(ctx, &catalog.FileConfig{Filecat: f.Filecat, FileID: f.FileID, LastGeneration: f.Generation - 1})
		})
		s.fullWithConflicts(safety.Conflict{Set: set.ID, Label: set.ID, Rule: safety.GenerationRange,
			Where:  safety.Where{Filecat: f.Filecat, Entry: "TAPEFILE " + f.Key().String()},
			Detail: fmt.Sprintf("generation %d of FILEID %s is outside 1..%d (LASTGENERATION)", f.Generation, f.FileID, f.Generation-1)})
		s.untouched(set, "null")
		s.driftOnly(set.ID)
	})

	t.Run(string(safety.DanglingEntry), func(t *testing.T) {
		s := newSafetyScene(t, sim.DefaultSecondaryParams())
		set := s.pick(nil)
		f := set.TapeFiles[0]
		var kept []catalog.TapeFileVolume
		for _, r := range set.TFTOV {
			if r.FileID == f.FileID && r.Generation == f.Generation && r.Version == f.Version {
				kept = append(kept, r)
			}
		}
		if len(kept) != 1 {
			t.Fatalf("tape file %s spans %d volumes, want one", f.Key(), len(kept))
		}
		// The tape file is deleted, its TFTOV stays behind.
		s.plant(s.prim, func(ctx context.Context, tx store.Tx) error {
			if err := tx.DeleteTapeFile(ctx, f.Key()); err != nil {
				return err
			}
			return tx.PutTapeFileVolume(ctx, &kept[0])
		})
		g := s.group(set.Volumes[0].Group)
		ref := f.Key()
		ref.Filecat = g.Filecat
		s.fullWithConflicts(safety.Conflict{Set: set.ID, Label: set.ID, Rule: safety.DanglingEntry,
			Where: safety.Where{Filecat: g.Filecat,
				Entry: fmt.Sprintf("TFTOV %s %s GEN %d VERSION %d ON %s", g.Filecat, f.FileID, f.Generation, f.Version, kept[0].Volser)},
			Detail: "points to TAPEFILE " + ref.String() + ", which neither the snapshot nor the secondary holds"})
		s.untouched(set, "null")
		s.driftOnly(set.ID)
	})
}

func TestSafetyStrict(t *testing.T) {
	ctx := context.Background()
	s := newSafetyScene(t, sim.DefaultSecondaryParams())
	set := s.pick(nil)
	s.plant(s.sec, otherStoreVolume(set.ID))
	before, err := store.Digest(ctx, s.sec)
	if err != nil {
		t.Fatal(err)
	}
	in := s.input(snapshot.Full, true)
	in.Strict = true
	res, err := s.sync(in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != workflows.OutcomeAbortedWithConflicts || res.Applied.Sets != 0 || res.Watermark != (workflows.SyncResult{}).Watermark {
		t.Fatalf("strict run: %s, applied %+v, watermark %+v", res.Outcome, res.Applied, res.Watermark)
	}
	s.expectReport(res.Conflicts, safety.Conflict{Set: set.ID, Label: set.ID, Rule: safety.LabelOtherStore,
		Where:  safety.Where{Store: "DS_OTHER", Entry: fmt.Sprintf("VOLUME %s/LABELED in volume group VG_OTHER, domain access SECONDARY", set.ID)},
		Detail: "label " + set.ID + " is a volume of data store DS_OTHER"})
	if after, _ := store.Digest(ctx, s.sec); after != before {
		t.Error("a strict run with conflicts changed the secondary")
	}
	var entries []audit.Entry
	if _, err := audit.Verify(ctx, s.sec, func(_ store.AuditRecord, e audit.Entry) error {
		entries = append(entries, e)
		return nil
	}); err != nil || len(entries) != 1 || entries[0].Outcome != workflows.OutcomeAbortedWithConflicts ||
		entries[0].Conflicts == nil || entries[0].Conflicts.Total != 1 || entries[0].Conflicts.Conflicts[0].Set != set.ID {
		t.Errorf("audit of the strict run: %+v, %v", entries, err)
	}
}

// Configuration rules refuse the run before it reads or writes a catalog.
func TestSafetyConfigRules(t *testing.T) {
	for _, tc := range []struct {
		rule    safety.Rule
		details []string
		edit    func(context.Context, store.Tx) error
	}{
		{safety.ConfigSearchList, []string{`includes catalogs of the primary \PRIM`}, func(ctx context.Context, tx store.Tx) error {
			site, err := tx.Site(ctx)
			if err != nil {
				return err
			}
			site.SearchList = append(site.SearchList, `\PRIM.VCPROD`)
			return tx.PutSite(ctx, &site)
		}},
		// The store has no way to delete a volume group: the group stops
		// naming the primary's as its original, which unmaps it the same.
		{safety.ConfigGroupMapping, []string{"primary volume group VG_PROD_2 has no volume group"}, func(ctx context.Context, tx store.Tx) error {
			g, err := tx.VolumeGroup(ctx, "VG_PROD_2")
			if err != nil {
				return err
			}
			g.OriginalName = "VG_RETIRED"
			return tx.PutVolumeGroup(ctx, &g)
		}},
		{safety.ConfigStoreAccess, []string{"data store DS_PROD on the secondary", "has domain access PRIMARY"}, func(ctx context.Context, tx store.Tx) error {
			ds, err := tx.DataStore(ctx, "DS_PROD")
			if err != nil {
				return err
			}
			ds.Access = catalog.AccessPrimary
			return tx.PutDataStore(ctx, &ds)
		}},
	} {
		t.Run(string(tc.rule), func(t *testing.T) {
			s := newSafetyScene(t, sim.DefaultSecondaryParams())
			s.plant(s.sec, tc.edit)
			s.refused(tc.rule, tc.details...)
		})
	}
}
