package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// TestLookedUpReadsAnswerAsTheStore: the reads a batch answers from the
// look-up of its keys (importer.Absent) answer as the store would. Every
// set of a FULL is planned, then checked and written, once through the
// look-up (the whole batch in one transaction, as the apply's fast pass)
// and once reading the store set by set: counts, conflicts, errors and
// the secondary after them are the same. On a secondary holding none of
// the store, with local entries in the way of two sets, and on one that
// holds the store while the primary moved on.
func TestLookedUpReadsAnswerAsTheStore(t *testing.T) {
	sqltest.RunDSN(t, func(t *testing.T, dsn func(testing.TB) string) {
		ctx := context.Background()
		p, st, sets := fullOnPair(t, dsn)
		opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}

		compare(t, "empty secondary", st, opts, groups(t, p), sets)

		// Two sets of one batch claiming one tape volume: the second
		// lists the first's first volume, with no BackPak entry of it,
		// among its own, and takes it over (the first's TFTOV and DFTOV
		// on it deleted). Its look-up found the VOLSER absent: the first
		// set's write of it must make it present, or the second would
		// write it as new and leave the first's entries on it.
		claiming := slices.Clone(sets)
		first, second := &claiming[0], &claiming[2]
		second.TapeVolumes = slices.Clone(second.TapeVolumes)
		tv := first.TapeVolumes[0]
		tv.Volcat, tv.Pool = second.TapeVolumes[0].Volcat, second.TapeVolumes[0].Pool
		tv.VolsetID, tv.VolIndex = second.ID, len(second.TapeVolumes)+1
		second.TapeVolumes = append(second.TapeVolumes, tv)
		if n := compare(t, "two sets claiming one tape volume", st, opts, groups(t, p), claiming); n != 0 {
			t.Errorf("%d sets in conflict over tape volume %s (sets %s, %s), want none: the import moves it", n, tv.Volser, first.ID, second.ID)
		}

		// Local entries in the way: a BackPak volume of a local store
		// with the label of one set, a DSM/TC volume BackPak does not
		// know in the pool of another.
		local, dsmOnly := sets[1].ID, sets[3].TapeVolumes[0].Volser
		var pool catalog.VolumeGroup
		err := st.Update(ctx, func(tx store.Tx) error {
			g, err := tx.VolumeGroup(ctx, sets[3].Volumes[0].Group)
			if err != nil {
				return err
			}
			pool = g
			return errors.Join(putLocalVolume(ctx, tx, local),
				tx.PutTapeVolume(ctx, &catalog.TapeVolume{Volcat: g.Volcat, Pool: g.Pool, Volser: dsmOnly, Label: "BACKUP",
					Type: "CART3480", Status: catalog.StatusScratch, EndOfDataLBA: -1}))
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := compare(t, "local entries in the way", st, opts, groups(t, p), sets); n != 2 {
			t.Errorf("%d sets in conflict with the local entries (%s, %s in %s), want 2", n, local, dsmOnly, pool.Pool)
		}

		p.syncOnce(t, "full", snapshot.Full, opts)
		p.Advance(t, 3)
		sets, _ = simtest.ExportSets(t, p.Primary, snapshot.Full, 0, true)
		// A set whose BackPak entries and tape volumes the secondary lost,
		// its files still there: its labels are looked up absent, the rest
		// of its keys found.
		lost := simtest.FindSet(t, st, func(s *snapshot.VolumeSet) bool { return len(s.TapeFiles) > 0 })
		err = st.Update(ctx, func(tx store.Tx) error {
			for _, v := range lost.Volumes {
				if err := tx.DeleteVolume(ctx, v.Key()); err != nil {
					return err
				}
			}
			for i := range lost.TapeVolumes {
				if err := tx.DeleteTapeVolume(ctx, &lost.TapeVolumes[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		compare(t, "secondary holding the store", st, opts, groups(t, p), sets)
	})
}

// fullOnPair builds a pair on the catalogs dsn names, and exports the
// FULL of its primary.
func fullOnPair(t *testing.T, dsn func(testing.TB) string) (*pair, store.Store, []snapshot.VolumeSet) {
	t.Helper()
	p := newPairOn(t, dsn, smallSite())
	sets, _ := simtest.ExportSets(t, p.Primary, snapshot.Full, 0, true)
	return p, p.Secondary, sets
}

// putLocalVolume writes a BackPak volume of a local data store, as a local
// backup on the secondary does.
func putLocalVolume(ctx context.Context, tx store.Tx, label string) error {
	return errors.Join(
		tx.PutDataStore(ctx, &catalog.DataStore{ID: "DS_LOCAL", Access: catalog.AccessPrimary, Status: catalog.StoreActive}),
		tx.PutVolume(ctx, &catalog.Volume{Label: label, LabelType: catalog.Labeled, StoreID: "DS_LOCAL", Group: "VG_LOCAL",
			Access: catalog.AccessPrimary, Auth: "GGO", Compression: catalog.CompressNone}))
}

var errRolledBack = errors.New("rolled back")

// compare plans and applies sets both ways (see above) and returns how
// many were in conflict.
func compare(t *testing.T, what string, st store.Store, opts importer.Options, groups []string, sets []snapshot.VolumeSet) int {
	t.Helper()
	ctx := context.Background()
	prepare := func(im *importer.Import) []*importer.Prepared {
		var out []*importer.Prepared
		for i := range sets {
			p, err := im.Prepare(&sets[i])
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
		return out
	}
	outcome := func(id string, c importer.Counts, conflicts []safety.Conflict, err error) string {
		return fmt.Sprintf("%s: %v %v %v", id, c, conflicts, err)
	}

	plan := func(lookUp bool) []string {
		im, err := importer.New(ctx, st, opts, groups)
		if err != nil {
			t.Fatal(err)
		}
		prepared := prepare(im)
		r := store.Reader(st)
		if lookUp {
			ab, err := im.LookUp(ctx, st, prepared)
			if err != nil {
				t.Fatal(err)
			}
			r = ab.Reader(st)
		}
		var out []string
		for _, p := range prepared {
			c, conflicts, err := im.Plan(ctx, r, p)
			out = append(out, outcome(p.In.ID, c, conflicts, err))
		}
		return out
	}
	apply := func(lookUp bool) (out []string, digest string, conflicts int) {
		err := st.Update(ctx, func(tx store.Tx) error {
			im, err := importer.New(ctx, tx, opts, groups)
			if err != nil {
				return err
			}
			prepared := prepare(im)
			var ab *importer.Absent
			if lookUp {
				if ab, err = im.LookUp(ctx, tx, prepared); err != nil {
					return err
				}
			}
			write := im.ApplySetIn
			if lookUp {
				write = func(ctx context.Context, tx store.Tx, p *importer.Prepared, j *importer.Journal) (importer.Counts, []safety.Conflict, error) {
					return im.WriteSetIn(ctx, ab.Tx(tx), p, j)
				}
			}
			for _, p := range prepared {
				c, found, err := write(ctx, tx, p, nil)
				conflicts += min(len(found), 1)
				out = append(out, outcome(p.In.ID, c, found, err))
			}
			if digest, err = store.Digest(ctx, tx); err != nil {
				return err
			}
			return errRolledBack
		})
		if !errors.Is(err, errRolledBack) {
			t.Fatalf("%s: %v", what, err)
		}
		return out, digest, conflicts
	}

	same := func(step string, store, lookedUp []string) {
		t.Helper()
		for i := range store {
			if store[i] != lookedUp[i] {
				t.Errorf("%s, %s of set %d:\n  reading the store: %s\n  through the look-up: %s", what, step, i, store[i], lookedUp[i])
			}
		}
	}
	same("plan", plan(false), plan(true))
	want, wantDigest, _ := apply(false)
	got, gotDigest, conflicts := apply(true)
	same("apply", want, got)
	if gotDigest != wantDigest {
		t.Errorf("%s: the secondary after the sets written through the look-up differs from after reading the store", what)
	}
	return conflicts
}

// TestApplyHoldsOffAnotherWriter: a local backup on the secondary writes
// a volume with the label of a set while the apply's batch, having looked
// that label up absent, is being written (PostgreSQL would let it commit
// meanwhile). The batch holds the catalog: the local write waits until
// the batch commits, and then stands. Without the hold the batch would
// have overwritten the local volume's entry with the set's, unseen.
func TestApplyHoldsOffAnotherWriter(t *testing.T) {
	ctx := context.Background()
	p := newPairOn(t, sqltest.PostgresDSN, smallSite())
	opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
	in, plan := p.stageNext(t, "full", snapshot.Full, opts)
	label := simtest.FindSet(t, p.Primary, func(s *snapshot.VolumeSet) bool { return len(s.TapeFiles) > 0 }).ID
	sec := p.sec.Site.Catalog
	taking := &takingStore{Store: sec, label: label, done: make(chan error, 1)}
	p.sec.Site.Catalog = taking
	res, err := p.sec.Apply(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sets != plan.Sets || len(res.Failed) > 0 || res.Conflicts.Sets != 0 {
		t.Errorf("applied %d of %d sets, failed %v, conflicts %+v", res.Sets, plan.Sets, res.Failed, res.Conflicts)
	}
	if !taking.started {
		t.Fatalf("the apply never looked up label %s", label)
	}
	if err := <-taking.done; err != nil {
		t.Fatal(err)
	}
	v, err := sec.Volume(ctx, catalog.VolumeKey{Label: label, LabelType: catalog.Labeled})
	if err != nil || v.StoreID != "DS_LOCAL" {
		t.Errorf("volume %s after the apply and the local write: %+v, %v; want the local write's entry", label, v, err)
	}
}

// takingStore is a secondary on which a local backup starts writing a
// volume labeled label, in a transaction of its own, as soon as the
// apply's transaction has looked its label up.
type takingStore struct {
	store.Store
	label   string
	started bool
	done    chan error
}

func (s *takingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(takingTx{tx, s}) })
}

type takingTx struct {
	store.Tx
	s *takingStore
}

func (t takingTx) ScanVolumes(ctx context.Context, f store.Filter, fn func(*catalog.Volume) error) error {
	if err := t.Tx.ScanVolumes(ctx, f, fn); err != nil || t.s.started || !slices.Contains(f.Labels, t.s.label) {
		return err
	}
	t.s.started = true
	go func() {
		t.s.done <- t.s.Store.Update(ctx, func(tx store.Tx) error { return putLocalVolume(ctx, tx, t.s.label) })
	}()
	return nil
}
