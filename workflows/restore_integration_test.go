package workflows_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/restore"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/workflows"
)

// imageWorld is a pair whose primary writes volume images; keys and images
// are left for the test to replicate, with its faults.
func imageWorld(t *testing.T) *world {
	return newWorldWith(t, small(), simtest.Options{Keys: simtest.Keystores, Images: true, Unreplicated: true})
}

// written are the primary's volumes of the store that were written, plain
// ones and encrypted ones (whose timestamp is checked), in label order.
func (w *world) written() (plain, encrypted []string) {
	w.t.Helper()
	if err := w.prim.ScanVolumes(context.Background(), store.Filter{StoreID: w.storeID}, func(v *catalog.Volume) error {
		switch {
		case v.Timestamp.IsZero() || !v.CheckTimestamp:
		case v.MediaKeyName != "":
			encrypted = append(encrypted, v.Label)
		default:
			plain = append(plain, v.Label)
		}
		return nil
	}); err != nil {
		w.t.Fatal(err)
	}
	return plain, encrypted
}

// verdicts are a report's verdicts by label.
func verdicts(rep restore.Report) map[string]restore.Verdict {
	out := map[string]restore.Verdict{}
	for _, v := range rep.Verdicts {
		out[v.Label] = v
	}
	return out
}

// The restore test of a sync samples every volume here: each fault planted
// at the secondary (an image missing, a stale copy, a corrupted block, a
// truncated image, an image under another label, a key missing) is told
// with its own problem on its volume only; every other volume passes, and
// the catalogs are applied.
func TestRestoreTestFindsEachFault(t *testing.T) {
	w := imageWorld(t)
	plain, encrypted := w.written()
	if len(plain) < 8 || len(encrypted) < 3 {
		t.Fatalf("%d plain and %d encrypted volumes written: too few for the faults", len(plain), len(encrypted))
	}
	keyless := encrypted[0]
	w.replicateKeys(sim.KeyReplication{Omit: []string{keyless}, Alter: []string{encrypted[2]}})
	want := map[string]string{plain[0]: restore.ImageMissing, plain[1]: restore.TimestampMismatch, encrypted[1]: restore.ImageDamaged,
		plain[2]: restore.ImageTruncated, plain[4]: restore.LabelMismatch, keyless: restore.KeyMissing, encrypted[2]: restore.DecryptFailed}
	w.pair.ReplicateData(t, sim.DataReplication{Store: w.storeID, Missing: []string{plain[0]}, Stale: []string{plain[1]},
		Corrupt: []string{encrypted[1]}, Truncated: []string{plain[2]}, Misfiled: []sim.LabelPair{{From: plain[3], To: plain[4]}}})

	in := w.input(snapshot.Full, true)
	in.RestoreSample = 10_000
	res, err := w.sync(in)
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Restore
	// The key missing fails key parity too: the outcome says the graver.
	if res.Outcome != workflows.OutcomeKeyParityFailed || int64(rep.Sampled) != rep.Volumes {
		t.Fatalf("outcome %s, restore test %s", res.Outcome, rep.Summary())
	}
	byLabel := verdicts(rep)
	for label, problem := range want {
		if v := byLabel[label]; v.Problem != problem || v.Detail == "" {
			t.Errorf("volume %s: %s, want %s", label, v, problem)
		}
	}
	if rep.Failed != len(want) || rep.Passed != rep.Sampled-len(want) {
		t.Errorf("%d failed, %d passed of %d: want only the %d faults failing (%s)", rep.Failed, rep.Passed, rep.Sampled, len(want), rep.Summary())
		for _, v := range rep.Verdicts {
			if _, planted := want[v.Label]; v.Problem != "" && !planted {
				t.Errorf("unplanted failure: %s", v)
			}
		}
	}
	w.noDrift(importer.Options{StoreID: w.storeID, CatalogFiles: true})

	// The catalog can be wrong where the image is right: a tape file moved
	// to another file sequence or another LBA, a DISKFILE entry of another
	// size.
	moved, relocated, resized := w.plantCatalogFaults(plain[5:])
	ctx := context.Background()
	site, err := w.prim.Site(ctx)
	if err != nil {
		t.Fatal(err)
	}
	again, err := restore.Run(ctx, restore.Site{Catalog: w.sec, Keys: w.secKeys, Data: w.cfg.Secondary.Data, Group: site.BackPakID},
		restore.Options{Store: w.storeID, Labels: []string{moved, relocated, resized}}, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	byLabel = verdicts(again)
	if v := byLabel[moved]; v.Problem != restore.FileNotFound || v.File == "" || !strings.Contains(v.Detail, "file sequence") {
		t.Errorf("volume %s with a tape file moved in the catalog: %s", moved, v)
	}
	if v := byLabel[relocated]; v.Problem != restore.FileNotFound || v.File == "" || !strings.Contains(v.Detail, "no HDR1 at LBA") {
		t.Errorf("volume %s with a tape file's FILESEQLABELLBA off by one: %s", relocated, v)
	}
	if v := byLabel[resized]; v.Problem != restore.DiskFileMissing || v.File == "" {
		t.Errorf("volume %s with a DISKFILE resized in the catalog: %s", resized, v)
	}
}

// plantCatalogFaults edits the secondary's catalog of three of labels: one
// tape file of the first moves to another file sequence, one of the second
// to the next LBA (its HDR2), and a DISKFILE entry of a tape file starting
// on another one gains a byte.
func (w *world) plantCatalogFaults(labels []string) (moved, relocated, resized string) {
	w.t.Helper()
	ctx := context.Background()
	onVolume := func(label string) []catalog.TapeFileVolume {
		var out []catalog.TapeFileVolume
		if err := w.sec.ScanTapeFileVolumes(ctx, store.Filter{Volser: label}, func(t *catalog.TapeFileVolume) error {
			out = append(out, *t)
			return nil
		}); err != nil {
			w.t.Fatal(err)
		}
		return out
	}
	for _, l := range labels {
		files := onVolume(l)
		switch {
		case moved == "" && len(files) > 0:
			moved = l
			t := files[0]
			w.plant(w.sec, func(ctx context.Context, tx store.Tx) error {
				if err := tx.DeleteTapeFileVolume(ctx, &t); err != nil {
					return err
				}
				t.FileSequence += 50
				return tx.PutTapeFileVolume(ctx, &t)
			})
		case relocated == "" && len(files) > 0:
			relocated = l
			t := files[0]
			t.LabelLBA++
			w.plant(w.sec, func(ctx context.Context, tx store.Tx) error { return tx.PutTapeFileVolume(ctx, &t) })
		case resized == "":
			for _, t := range files {
				var disk []catalog.DiskFile
				if err := w.sec.ScanDiskFiles(ctx, store.Filter{Filecat: t.Filecat, FileID: t.FileID, Generation: t.Generation}, func(d *catalog.DiskFile) error {
					if t.FileSection == 1 && d.Version == t.Version && d.PhysicalCopy == t.PhysicalCopy && d.LogicalCopy == t.LogicalCopy {
						disk = append(disk, *d)
					}
					return nil
				}); err != nil {
					w.t.Fatal(err)
				}
				if len(disk) > 0 {
					resized, disk[0].EOF = l, disk[0].EOF+1
					w.plant(w.sec, func(ctx context.Context, tx store.Tx) error { return tx.PutDiskFile(ctx, &disk[0]) })
					break
				}
			}
		}
	}
	if moved == "" || relocated == "" || resized == "" {
		w.t.Fatalf("no volume among %v to move a tape file (%q, %q) or resize a disk file (%q) of", labels, moved, relocated, resized)
	}
	return moved, relocated, resized
}

// The least recently verified rotate: a store is covered whole within
// ceil(volumes / sample) runs, the verified-restorable fraction reaching
// 100 %; a budget ends the step early, the volumes done reported.
func TestRestoreTestRotatesAndKeepsItsBudget(t *testing.T) {
	w := imageWorld(t)
	w.replicateKeys(sim.KeyReplication{})
	w.pair.ReplicateData(t, sim.DataReplication{})
	in := w.input(snapshot.Full, true)
	in.RestoreSample = 10
	res := w.mustRestore(in)
	runs := (int(res.Restore.Volumes) + in.RestoreSample - 1) / in.RestoreSample
	fractions := []float64{res.Restore.Fraction}
	in.Type = snapshot.Update
	for range runs - 1 {
		fractions = append(fractions, w.mustRestore(in).Restore.Fraction)
	}
	if !slices.IsSorted(fractions) || fractions[len(fractions)-1] != 1 {
		t.Fatalf("fractions over %d runs: %v, want rising to 1", runs, fractions)
	}

	in.RestoreBudget = 1 // a nanosecond: one volume, then the budget is spent
	rep := w.mustRestore(in).Restore
	if !rep.BudgetSpent || rep.Sampled != 1 || rep.Passed != 1 || rep.Left != in.RestoreSample-1 {
		t.Errorf("with a spent budget: %s (%+v)", rep.Summary(), rep)
	}
}

// mustRestore runs a sync that must complete with every sampled volume
// restorable.
func (w *world) mustRestore(in workflows.SyncInput) *workflows.SyncResult {
	w.t.Helper()
	res, err := w.sync(in)
	if err != nil || res.Outcome != workflows.OutcomeCompleted || res.Restore.Failed > 0 || res.Restore.Sampled == 0 {
		w.t.Fatalf("%s sync: %v %s; %s", in.Type, err, res.Outcome, res.Restore.Summary())
	}
	return res
}
