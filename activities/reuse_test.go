package activities

import (
	"context"
	"fmt"
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
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// TestReusedVolumesLeaveNothingOfTheirOldSet: the primary releases volume
// sets and writes their volumes into new sets, under other ids (a set's id
// is the label of its first volume). After every UPDATE, and after a FULL
// over the store, nothing of an old set stays on the secondary: every
// volume of the store restores where the secondary's catalog places its
// files, verify finds no entry under a set the primary does not have, and
// each plan counted what its apply changed (syncOnce).
func TestReusedVolumesLeaveNothingOfTheirOldSet(t *testing.T) {
	sqltest.RunDSN(t, func(t *testing.T, dsn func(testing.TB) string) {
		p := pairOf(simtest.New(t, smallSite(), simtest.Options{DSN: dsn, Keys: simtest.Keystores, Images: true}))
		p.ReplicateData(t, sim.DataReplication{})
		opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
		p.syncOnce(t, "full", snapshot.Full, opts)
		restorable(t, p, "after the FULL")

		moved := 0
		for day := 1; day <= 4; day++ {
			before := setsOf(t, p.sec.Site.Catalog)
			p.Advance(t, 1)
			p.ReplicateData(t, sim.DataReplication{})
			p.syncOnce(t, fmt.Sprintf("update-%d", day), snapshot.Update, opts)
			for volser, id := range setsOf(t, p.sec.Site.Catalog) {
				if old := before[volser]; old != "" && id != "" && old != id {
					moved++
				}
			}
			p.NoDrift(t, opts)
			restorable(t, p, fmt.Sprintf("after UPDATE %d", day))
		}
		if moved == 0 {
			t.Fatal("no volume went from one volume set into another: the test shows nothing")
		}
		t.Logf("%d volumes went into a volume set of another id", moved)

		p.Advance(t, 1)
		p.ReplicateData(t, sim.DataReplication{})
		p.syncOnce(t, "full-2", snapshot.Full, opts)
		p.NoDrift(t, opts)
		restorable(t, p, "after the second FULL")
	})
}

// TestVerifyFindsEntriesOfNoSet: entries the secondary files under a
// volume set the primary does not have are drift, each named.
func TestVerifyFindsEntriesOfNoSet(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, smallSite())
	opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
	p.syncOnce(t, "full", snapshot.Full, opts)
	sec := p.sec.Site.Catalog
	var tf catalog.TapeFile
	var tftov catalog.TapeFileVolume
	if err := sec.ScanTapeFileVolumes(ctx, store.Filter{}, func(e *catalog.TapeFileVolume) error {
		tftov = *e
		return nil
	}); err != nil || tftov.Volser == "" {
		t.Fatalf("no TFTOV on the secondary (%v)", err)
	}
	if err := sec.ScanTapeFiles(ctx, store.Filter{Filecat: tftov.Filecat, FileID: tftov.FileID, Generation: tftov.Generation}, func(e *catalog.TapeFile) error {
		tf = *e
		return nil
	}); err != nil || tf.FileID == "" {
		t.Fatalf("no TAPEFILE of %s (%v)", tftov.FileID, err)
	}
	// A file of a set that is no longer, on a volume of a set that is.
	const gone = "ZZ0001"
	tf.FileID, tf.VolsetID = "OLD-SET.F01", gone
	tftov.FileID, tftov.VolsetID = tf.FileID, gone
	if err := sec.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutTapeFile(ctx, &tf); err != nil {
			return err
		}
		return tx.PutTapeFileVolume(ctx, &tftov)
	}); err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, d := range p.Verify(t, opts) {
		if d.IsDrift() {
			found[d.Entity] = d.String()
		}
	}
	for _, entity := range []string{"TAPEFILE", "TFTOV"} {
		if d := found[entity]; !strings.Contains(d, gone) || !strings.Contains(d, "OLD-SET.F01") || !strings.Contains(d, importer.Orphan) {
			t.Errorf("verify's %s drift: %q, want the entry of OLD-SET.F01 under set %s", entity, d, gone)
		}
	}
}

// setsOf is the volume set each tape volume of the site is filed under.
func setsOf(t *testing.T, st store.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err := st.ScanTapeVolumes(context.Background(), store.Filter{}, func(tv *catalog.TapeVolume) error {
		out[tv.Volcat+" "+tv.Volser] = tv.VolsetID
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// restorable fails unless every volume of the store restores at the
// secondary, its files where the catalog places them.
func restorable(t *testing.T, p *pair, when string) {
	t.Helper()
	ctx := context.Background()
	site, err := p.Primary.Site(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := restore.Run(ctx, restore.Site{Catalog: p.Secondary, Keys: p.SecondaryKeys, Data: p.Config.Secondary.Data, Group: site.BackPakID},
		restore.Options{Store: "DS_PROD", Sample: 1 << 20}, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sampled == 0 {
		t.Fatalf("%s: no volume tested", when)
	}
	for _, v := range rep.Verdicts {
		if v.Problem != "" {
			t.Errorf("%s: %s", when, v)
		}
	}
}
