package activities

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/export"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// stage writes sets as a FULL snapshot straight into the secondary's
// staging area, the way a hostile or broken primary could.
func stage(t *testing.T, p *pair, id string, sets []*snapshot.VolumeSet) snapshot.Ref {
	t.Helper()
	w := snapshot.NewWriter(p.sec.Site.Staging.Dir("DS_PROD", id), snapshot.Manifest{ID: id, Store: "DS_PROD", Type: snapshot.Full, CatalogFiles: true}, 2)
	w.SignWith(p.prim.Site.Staging.Keys)
	for _, s := range sets {
		if _, err := w.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	_, digest, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return snapshot.Ref{Store: "DS_PROD", ID: id, Digest: digest, Type: snapshot.Full, Sets: int64(len(sets))}
}

// primarySets reads the first n volume sets of the primary's store.
func primarySets(t *testing.T, p *pair, n int) []*snapshot.VolumeSet {
	t.Helper()
	ctx := context.Background()
	items, _, err := export.Plan(ctx, p.prim.Site.Catalog, "DS_PROD", snapshot.Full, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var sets []*snapshot.VolumeSet
	x := &export.Reader{R: p.prim.Site.Catalog, StoreID: "DS_PROD", CatalogFiles: true}
	errStop := errors.New("enough")
	err = x.Walk(ctx, items, nil, func(_ export.Item, s *snapshot.VolumeSet) error {
		if len(s.TapeFiles) > 0 {
			sets = append(sets, s)
		}
		if len(sets) == n {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("want %d volume sets with tape files: %v", n, err)
	}
	if err := recordKeys(ctx, p.prim.Site.Keys, catalog.Site{BackPakID: "BPPRIM01"}, sets); err != nil {
		t.Fatal(err)
	}
	return sets
}

func groups(t testing.TB, p *pair) []string {
	t.Helper()
	prim, err := safety.DescribePrimary(context.Background(), p.prim.Site.Catalog, "DS_PROD")
	if err != nil {
		t.Fatal(err)
	}
	return prim.Groups
}

func TestInvalidRecordNamesSegmentAndOffset(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, smallSite())
	sets := primarySets(t, p, 3)
	sets[2].TapeFiles[0].Mode = "TAPE" // not a DSM/TC tape file mode
	ref := stage(t, p, "hostile", sets)
	before, _ := store.Digest(ctx, p.sec.Site.Catalog)
	in := ImportInput{Ref: ref, Options: importer.Options{StoreID: "DS_PROD", CatalogFiles: true}, Groups: groups(t, p)}
	for _, name := range []string{"plan", "apply"} {
		step := map[string]func(context.Context, ImportInput) (ImportResult, error){"plan": p.sec.Plan, "apply": p.sec.Apply}[name]
		_, err := step(ctx, in)
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != TypeValidation || !appErr.NonRetryable() {
			t.Fatalf("%s: %v, want a non-retryable validation error", name, err)
		}
		// The third set starts the second segment, after its header line.
		for _, want := range []string{"seg-000002.bin at offset 18", "volume set " + sets[2].ID, "TAPEFILEMODE", `"TAPE"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q does not say %q", name, err, want)
			}
		}
		// The workflow plans before it applies: the plan's refusal leaves
		// the secondary as it was.
		if after, _ := store.Digest(ctx, p.sec.Site.Catalog); name == "plan" && after != before {
			t.Error("the refused plan changed the secondary")
		}
	}
}

func TestApplyChecksEachSetAgain(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, smallSite())
	sets := primarySets(t, p, 4)
	ref := stage(t, p, "s1", sets)
	opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
	in := ImportInput{Ref: ref, Options: opts, Groups: groups(t, p)}
	plan, err := p.sec.Plan(ctx, in)
	if err != nil || plan.Conflicts.Total != 0 {
		t.Fatalf("plan: %+v, %v", plan.Conflicts, err)
	}

	// Between plan and apply a local backup takes the label of the third
	// set: apply leaves that set out and applies the rest.
	taken := sets[2].ID
	err = p.sec.Site.Catalog.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutDataStore(ctx, &catalog.DataStore{ID: "DS_LOCAL", Access: catalog.AccessPrimary, Status: catalog.StoreActive}); err != nil {
			return err
		}
		return tx.PutVolume(ctx, &catalog.Volume{Label: taken, LabelType: catalog.Labeled, StoreID: "DS_LOCAL", Group: "VG_LOCAL",
			Access: catalog.AccessPrimary, Auth: "GGO", Compression: catalog.CompressNone})
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.sec.Apply(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Conflicts.Total != 1 || res.Conflicts.Sets != 1 || res.Conflicts.Conflicts[0].Set != taken ||
		res.Conflicts.Conflicts[0].Rule != safety.LabelLocal || res.Sets != 4 {
		t.Fatalf("apply: %+v", res)
	}
	var tfs int
	if err := p.sec.Site.Catalog.ScanTapeFiles(ctx, store.Filter{Filecat: `\SECD.FCREPL`}, func(tf *catalog.TapeFile) error {
		if tf.VolsetID == taken {
			t.Errorf("the set in conflict was written: %s", tf.Key())
		}
		tfs++
		return nil
	}); err != nil || tfs == 0 {
		t.Fatalf("%d tape files imported, %v", tfs, err)
	}

	// Strict: a run applying the same sets stops at that one with a
	// conflict error. (The same run again would resume after its last set.)
	in.Ref, in.Strict = stage(t, p, "s2", sets), true
	_, err = p.sec.Apply(ctx, in)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != TypeConflict || !strings.Contains(err.Error(), taken) || !strings.Contains(err.Error(), "LABEL_LOCAL") {
		t.Fatalf("strict apply: %v, want a conflict error naming %s", err, taken)
	}
}
