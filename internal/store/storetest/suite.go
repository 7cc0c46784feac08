package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
)

// Opener prepares a fresh, empty database for one test and returns a
// function that opens it; calling it again reopens the same database.
type Opener func(t *testing.T) func() (store.Store, error)

// Run runs the whole suite against the stores that newDB opens.
func Run(t *testing.T, newDB Opener) {
	open := func(t *testing.T) store.Store {
		s, err := newDB(t)()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, open(t)) })
	t.Run("PutReplaces", func(t *testing.T) { testPutReplaces(t, open(t)) })
	t.Run("Rollback", func(t *testing.T) { testRollback(t, open(t)) })
	t.Run("Savepoint", func(t *testing.T) { testSavepoint(t, open(t)) })
	t.Run("ReadsItsOwnWrites", func(t *testing.T) { testReadsOwnWrites(t, open(t)) })
	t.Run("InvalidRecordRefused", func(t *testing.T) { testInvalidRefused(t, open(t)) })
	t.Run("Streaming", func(t *testing.T) { testStreaming(t, open(t)) })
	t.Run("Migrations", func(t *testing.T) { testMigrations(t, newDB(t)) })
	t.Run("DeleteTapeFileCascades", func(t *testing.T) { testDeleteCascade(t, open(t)) })
	t.Run("ChangeTracking", func(t *testing.T) { testChangeTracking(t, open(t)) })
	t.Run("Tombstones", func(t *testing.T) { testTombstones(t, open(t)) })
	t.Run("SequencesPerStore", func(t *testing.T) { testSequencesPerStore(t, open(t)) })
	t.Run("ConcurrentWriters", func(t *testing.T) { testConcurrentWriters(t, open(t)) })
	t.Run("AuditAppendOnly", func(t *testing.T) { testAudit(t, open(t)) })
	t.Run("UndoJournal", func(t *testing.T) { testUndoJournal(t, open(t)) })
	t.Run("DeleteFileConfig", func(t *testing.T) { testDeleteFileConfig(t, open(t)) })
	t.Run("View", func(t *testing.T) { testView(t, open(t)) })
	t.Run("RestoreVerified", func(t *testing.T) { testVerified(t, open(t)) })
}

// Load writes the whole fixture in one transaction.
func Load(ctx context.Context, s store.Store, f *Fixture) error {
	return s.Update(ctx, func(tx store.Tx) error {
		errs := []error{tx.PutSite(ctx, &f.Site), tx.PutDataStore(ctx, &f.Store), tx.PutVolumeGroup(ctx, &f.Group),
			tx.PutPool(ctx, &f.Pool), tx.PutVolumeFilecat(ctx, &f.VTOFC), tx.PutFileConfig(ctx, &f.Config),
			tx.PutTapeFile(ctx, &f.TapeFile)}
		for i := range f.Volumes {
			errs = append(errs, tx.PutVolume(ctx, &f.Volumes[i]), tx.PutTapeVolume(ctx, &f.TapeVolumes[i]))
		}
		for i := range f.TFTOV {
			errs = append(errs, tx.PutTapeFileVolume(ctx, &f.TFTOV[i]))
		}
		for i := range f.DiskFiles {
			errs = append(errs, tx.PutDiskFile(ctx, &f.DiskFiles[i]), tx.PutDiskFileVolume(ctx, &f.DFTOV[i]))
		}
		return errors.Join(errs...)
	})
}

func load(t *testing.T, s store.Store) *Fixture {
	t.Helper()
	f := NewFixture()
	if err := Load(context.Background(), s, f); err != nil {
		t.Fatal(err)
	}
	return f
}

// collect reads every row of a scan into a slice.
func collect[T any](t *testing.T, scan func(context.Context, store.Filter, func(*T) error) error, f store.Filter) []T {
	t.Helper()
	var out []T
	if err := scan(context.Background(), f, func(r *T) error { out = append(out, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func testRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := load(t, s)
	site, err := s.Site(ctx)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "site", site, f.Site)
	ds, err := s.DataStore(ctx, "DS_PROD")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "data store", ds, f.Store)
	g, err := s.VolumeGroup(ctx, "VG_PROD")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "volume group", g, f.Group)
	v, err := s.Volume(ctx, f.Volumes[0].Key())
	if err != nil {
		t.Fatal(err)
	}
	same(t, "volume", v, f.Volumes[0])
	same(t, "volumes", collect(t, s.ScanVolumes, store.Filter{StoreID: "DS_PROD"}), f.Volumes)
	same(t, "pools", collect(t, s.ScanPools, store.Filter{}), []catalog.Pool{f.Pool})
	same(t, "tape volumes", collect(t, s.ScanTapeVolumes, store.Filter{}), f.TapeVolumes)
	same(t, "vtofc", collect(t, s.ScanVolumeFilecats, store.Filter{}), []catalog.VolumeFilecat{f.VTOFC})
	same(t, "config", collect(t, s.ScanFileConfigs, store.Filter{}), []catalog.FileConfig{f.Config})
	same(t, "config of a list of FILEIDs", collect(t, s.ScanFileConfigs,
		store.Filter{Filecat: f.Config.Filecat, FileIDs: []string{"NO_SUCH_FILE", f.Config.FileID}}), []catalog.FileConfig{f.Config})
	same(t, "config of a list without its FILEID", collect(t, s.ScanFileConfigs,
		store.Filter{Filecat: f.Config.Filecat, FileIDs: []string{"NO_SUCH_FILE"}}), []catalog.FileConfig(nil))
	v0 := f.Volumes[0]
	same(t, "volumes of a list of labels", collect(t, s.ScanVolumes, store.Filter{Labels: []string{"NOSUCH", v0.Label}}),
		slices.DeleteFunc(slices.Clone(f.Volumes), func(v catalog.Volume) bool { return v.Label != v0.Label }))
	same(t, "volumes of a list without theirs", collect(t, s.ScanVolumes, store.Filter{Labels: []string{"NOSUCH"}}), []catalog.Volume(nil))
	tv0 := f.TapeVolumes[0]
	same(t, "tape volumes of a list of VOLSERs", collect(t, s.ScanTapeVolumes, store.Filter{Volsers: []string{"NOSUCH", tv0.Volser}}),
		slices.DeleteFunc(slices.Clone(f.TapeVolumes), func(v catalog.TapeVolume) bool { return v.Volser != tv0.Volser }))
	same(t, "vtofc of a list of volume sets", collect(t, s.ScanVolumeFilecats,
		store.Filter{Volcat: f.VTOFC.Volcat, VolsetIDs: []string{"NOSUCH", f.VTOFC.VolsetID}}), []catalog.VolumeFilecat{f.VTOFC})
	same(t, "tape files of a list of volume sets", collect(t, s.ScanTapeFiles,
		store.Filter{Volcat: f.TapeFile.Volcat, VolsetIDs: []string{f.TapeFile.VolsetID, "NOSUCH"}}), []catalog.TapeFile{f.TapeFile})
	same(t, "tftov of a list of volume sets", collect(t, s.ScanTapeFileVolumes, store.Filter{VolsetIDs: []string{"NOSUCH"}}),
		[]catalog.TapeFileVolume(nil))
	same(t, "dftov of a list of volume sets", collect(t, s.ScanDiskFileVolumes, store.Filter{VolsetIDs: []string{f.TapeFile.VolsetID}}), f.DFTOV)
	if err := s.ScanPools(ctx, store.Filter{VolsetIDs: []string{"X"}}, func(*catalog.Pool) error { return nil }); err == nil {
		t.Error("pools filtered by a list of volume sets: no error")
	}
	gens := []store.FileGen{{FileID: "NO_SUCH_FILE", Generation: f.TapeFile.Generation}, {FileID: f.TapeFile.FileID, Generation: f.TapeFile.Generation + 1},
		{FileID: f.TapeFile.FileID, Generation: f.TapeFile.Generation}}
	same(t, "tape files of a list of generations", collect(t, s.ScanTapeFiles, store.Filter{Filecat: f.TapeFile.Filecat, Gens: gens}),
		[]catalog.TapeFile{f.TapeFile})
	same(t, "tape files of a list without theirs", collect(t, s.ScanTapeFiles, store.Filter{Filecat: f.TapeFile.Filecat, Gens: gens[:2]}),
		[]catalog.TapeFile(nil))
	same(t, "disk files of a list of generations", collect(t, s.ScanDiskFiles,
		store.Filter{Filecat: f.TapeFile.Filecat, Gens: gens, VolsetID: f.TapeFile.VolsetID}), f.DiskFiles)
	same(t, "tape files", collect(t, s.ScanTapeFiles, store.Filter{}), []catalog.TapeFile{f.TapeFile})
	same(t, "tftov", collect(t, s.ScanTapeFileVolumes, store.Filter{}), f.TFTOV)
	same(t, "disk files", collect(t, s.ScanDiskFiles, store.Filter{}), f.DiskFiles)
	same(t, "dftov", collect(t, s.ScanDiskFileVolumes, store.Filter{}), f.DFTOV)

	n, err := s.Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{store.TableSite: 1, store.TableDataStore: 1, store.TableVolumeGroup: 1, store.TableVolume: 3,
		store.TablePool: 1, store.TableTapeVolume: 3, store.TableVTOFC: 1, store.TableConfig: 1, store.TableTapeFile: 1,
		store.TableTFTOV: 2, store.TableDiskFile: 2, store.TableDFTOV: 2, store.TableVolumeChange: 3}
	same(t, "counts", n, want)

	if err := s.Update(ctx, func(tx store.Tx) error { return tx.PutMeta(ctx, "sim.clock", "2026-03-02") }); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Meta(ctx, "sim.clock"); err != nil || v != "2026-03-02" {
		t.Errorf("meta: %q, %v", v, err)
	}
	if _, err := s.Meta(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing meta: got %v, want ErrNotFound", err)
	}
	if _, err := s.Volume(ctx, catalog.VolumeKey{Label: "NOPE", LabelType: catalog.Labeled}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing volume: got %v, want ErrNotFound", err)
	}
}

func testPutReplaces(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := load(t, s)
	tv := f.TapeVolumes[2]
	tv.Status = catalog.StatusBad
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.PutTapeVolume(ctx, &tv) }); err != nil {
		t.Fatal(err)
	}
	got := collect(t, s.ScanTapeVolumes, store.Filter{Volser: "T00003"})
	same(t, "replaced tape volume", got, []catalog.TapeVolume{tv})
}

var errBoom = errors.New("boom")

func testRollback(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := load(t, s)
	before, _ := s.Count(ctx)
	seq, _ := s.LastSeq(ctx, "DS_PROD")

	tf := f.TapeFile
	tf.Generation = 13
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutTapeFile(ctx, &tf); err != nil {
			return err
		}
		if err := tx.DeleteVolume(ctx, f.Volumes[2].Key()); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update returned %v, want the function's error", err)
	}
	after, _ := s.Count(ctx)
	same(t, "counts after rollback", after, before)
	if got, _ := s.LastSeq(ctx, "DS_PROD"); got != seq {
		t.Errorf("sequence moved by a rolled back transaction: %d -> %d", seq, got)
	}
}

// testSavepoint: a savepoint that fails undoes its writes and the change
// marks they caused, and the transaction goes on and commits the rest; one
// that succeeds keeps them. A write the store refuses is undone the same way.
func testSavepoint(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := load(t, s)
	before, _ := s.LastSeq(ctx, "DS_PROD")
	kept := f.Volumes[0]
	kept.Comment = "kept"
	undone := f.Volumes[1]
	undone.Comment = "undone"
	gone := f.Volumes[2]
	tf := f.TapeFile
	tf.FileID, tf.Generation = "UNDONE_FILE", 1
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Savepoint(ctx, func() error { return tx.PutVolume(ctx, &kept) }); err != nil {
			return err
		}
		err := tx.Savepoint(ctx, func() error {
			if err := tx.PutVolume(ctx, &undone); err != nil {
				return err
			}
			if err := tx.DeleteVolume(ctx, gone.Key()); err != nil {
				return err
			}
			if err := tx.PutTapeFile(ctx, &tf); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) || errors.Is(err, store.ErrTxLost) {
			return fmt.Errorf("the failed savepoint returned %v, want its function's error", err)
		}
		// The store refuses the row: the savepoint undoes the attempt.
		bad := f.Volumes[1]
		bad.StoreID = ""
		if err := tx.Savepoint(ctx, func() error { return tx.PutVolume(ctx, &bad) }); err == nil || errors.Is(err, store.ErrTxLost) {
			return fmt.Errorf("an invalid write in a savepoint: %v, want its error", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		v    catalog.Volume
		want string
	}{{kept, "kept"}, {undone, f.Volumes[1].Comment}, {gone, gone.Comment}} {
		got, err := s.Volume(ctx, c.v.Key())
		if err != nil || got.Comment != c.want {
			t.Errorf("volume %s after the savepoints: %q (%v), want %q", c.v.Label, got.Comment, err, c.want)
		}
	}
	n := 0
	if err := s.ScanTapeFiles(ctx, store.Filter{FileID: tf.FileID}, func(*catalog.TapeFile) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("the undone savepoint's tape file: %d rows (%v)", n, err)
	}
	got, _ := changed(t, s, "DS_PROD", before)
	same(t, "changed volumes", got, []string{"T00001/LABELED"})
}

// testReadsOwnWrites: within a transaction every read sees the writes
// before it, in order, however the store sends them: a record put, put
// again, deleted and put once more; thousands of rows of one table.
func testReadsOwnWrites(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := load(t, s)
	count := func(r store.Reader, fileID string) int {
		n := 0
		if err := r.ScanTapeFiles(ctx, store.Filter{Filecat: f.TapeFile.Filecat, FileID: fileID}, func(*catalog.TapeFile) error {
			n++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const many = 2500
	err := s.Update(ctx, func(tx store.Tx) error {
		tf := f.TapeFile
		tf.FileID, tf.Comment = "OWN_WRITES", "first"
		if err := tx.PutTapeFile(ctx, &tf); err != nil {
			return err
		}
		tf.Comment = "second"
		if err := tx.PutTapeFile(ctx, &tf); err != nil {
			return err
		}
		if n := count(tx, tf.FileID); n != 1 {
			return fmt.Errorf("a tape file put twice: %d rows", n)
		}
		if err := tx.DeleteTapeFile(ctx, tf.Key()); err != nil {
			return fmt.Errorf("delete what was put: %w", err)
		}
		if n := count(tx, tf.FileID); n != 0 {
			return fmt.Errorf("a tape file deleted: %d rows", n)
		}
		tf.Comment = "third"
		if err := tx.PutTapeFile(ctx, &tf); err != nil {
			return err
		}
		for i := range many {
			g := f.TapeFile
			g.FileID, g.Generation = "MANY_FILES", i+1
			if err := tx.PutTapeFile(ctx, &g); err != nil {
				return err
			}
		}
		if n := count(tx, "MANY_FILES"); n != many {
			return fmt.Errorf("%d tape files put: %d rows", many, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got catalog.TapeFile
	if err := s.ScanTapeFiles(ctx, store.Filter{Filecat: f.TapeFile.Filecat, FileID: "OWN_WRITES"}, func(r *catalog.TapeFile) error {
		got = *r
		return nil
	}); err != nil || got.Comment != "third" {
		t.Errorf("after commit: %q (%v), want the last put", got.Comment, err)
	}
	if n := count(s, "MANY_FILES"); n != many {
		t.Errorf("after commit: %d of %d tape files", n, many)
	}
}

func testInvalidRefused(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := load(t, s)
	before, _ := s.Count(ctx)
	good := f.TapeFile
	good.Generation = 13
	bad := f.TapeVolumes[0]
	bad.Volser = "T000001" // seven characters
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutTapeFile(ctx, &good); err != nil {
			return err
		}
		return tx.PutTapeVolume(ctx, &bad)
	})
	var fe *catalog.FieldError
	if !errors.As(err, &fe) || fe.Field != "VOLSER" || fe.Value != "T000001" {
		t.Fatalf("got %v, want a FieldError naming VOLSER T000001", err)
	}
	after, _ := s.Count(ctx)
	same(t, "counts after refused write", after, before)
}

func testStreaming(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := load(t, s)
	const n = 3000
	err := s.Update(ctx, func(tx store.Tx) error {
		for i := n; i >= 1; i-- { // written in reverse to prove scans sort by key
			tf := f.TapeFile
			tf.FileID = fmt.Sprintf("STREAM_%05d", i)
			tf.Generation = 1
			if err := tx.PutTapeFile(ctx, &tf); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var prev string
	count := 0
	err = s.ScanTapeFiles(ctx, store.Filter{Filecat: f.TapeFile.Filecat}, func(tf *catalog.TapeFile) error {
		if tf.FileID <= prev {
			return fmt.Errorf("rows out of key order: %s after %s", tf.FileID, prev)
		}
		prev = tf.FileID
		count++
		return nil
	})
	if err != nil || count != n+1 {
		t.Fatalf("scan: %d rows, %v; want %d", count, err, n+1)
	}
	// A callback error stops the scan and comes back unchanged.
	count = 0
	err = s.ScanTapeFiles(ctx, store.Filter{}, func(*catalog.TapeFile) error {
		if count++; count == 10 {
			return errBoom
		}
		return nil
	})
	if !errors.Is(err, errBoom) || count != 10 {
		t.Errorf("stopped scan: %d rows, %v", count, err)
	}
	// Filters select; a filter the table lacks is an error.
	got := collect(t, s.ScanTapeFiles, store.Filter{FileID: "STREAM_00042", Generation: 1})
	if len(got) != 1 || got[0].FileID != "STREAM_00042" {
		t.Errorf("filtered scan returned %d rows", len(got))
	}
	if err := s.ScanPools(ctx, store.Filter{FileID: "X"}, func(*catalog.Pool) error { return nil }); err == nil {
		t.Error("scanning POOL by FileID succeeded; want an error naming the filter")
	}
	exp := collect(t, s.ScanTapeFiles, store.Filter{ExpiresBefore: f.TapeFile.Expiration.Add(time.Hour)})
	if len(exp) != n+1 {
		t.Errorf("ExpiresBefore selected %d rows, want %d", len(exp), n+1)
	}
	if exp := collect(t, s.ScanTapeFiles, store.Filter{ExpiresBefore: f.TapeFile.Expiration}); len(exp) != 0 {
		t.Errorf("ExpiresBefore the expiration date selected %d rows, want 0", len(exp))
	}
}

type versioned interface {
	SchemaVersion(ctx context.Context) (int, error)
}

func testMigrations(t *testing.T, open func() (store.Store, error)) {
	ctx := context.Background()
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	load(t, s)
	v1 := -1
	if vs, ok := s.(versioned); ok {
		if v1, err = vs.SchemaVersion(ctx); err != nil || v1 < 1 {
			t.Fatalf("schema version %d, %v", v1, err)
		}
	}
	s.Close()
	// Reopening migrates nothing again and keeps the data.
	s, err = open()
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if vs, ok := s.(versioned); ok {
		if v2, err := vs.SchemaVersion(ctx); err != nil || v2 != v1 {
			t.Errorf("schema version after reopen %d (%v), want %d", v2, err, v1)
		}
	}
	n, err := s.Count(ctx)
	if err != nil || n[store.TableDiskFile] != 2 {
		t.Errorf("after reopen: %v, %v", n, err)
	}
}

func testDeleteCascade(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := load(t, s)
	err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteTapeFile(ctx, f.TapeFile.Key()) })
	if err != nil {
		t.Fatal(err)
	}
	n, _ := s.Count(ctx)
	for _, tb := range []string{store.TableTapeFile, store.TableTFTOV, store.TableDiskFile, store.TableDFTOV} {
		if n[tb] != 0 {
			t.Errorf("%s has %d rows after the tape file was deleted", tb, n[tb])
		}
	}
	err = s.Update(ctx, func(tx store.Tx) error { return tx.DeleteTapeFile(ctx, f.TapeFile.Key()) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting again: %v, want ErrNotFound", err)
	}
}

// changed returns the volumes marked after seq, as label/type strings.
func changed(t *testing.T, s store.Store, storeID string, after int64) (keys []string, last int64) {
	t.Helper()
	err := s.Changes(context.Background(), storeID, after, func(c store.Change) error {
		if c.Seq <= last {
			return fmt.Errorf("sequence not increasing: %d after %d", c.Seq, last)
		}
		last = c.Seq
		k := c.Volume.String()
		if c.Deleted {
			k += " deleted"
		}
		keys = append(keys, k)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys, last
}

func testChangeTracking(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := load(t, s)
	got, _ := changed(t, s, "DS_PROD", 0)
	same(t, "marks after creation", got, []string{"T00001/LABELED", "T00002/LABELED", "T00003/LABELED"})

	set := []string{"T00001/LABELED", "T00002/LABELED"} // the volume set of the tape file
	expired := f.TapeFile
	expired.Status = catalog.FileInvalid
	tf2 := f.TapeFile
	tf2.FileID, tf2.Generation = "MASTER_ACCT", 1
	status := f.TapeVolumes[2]
	status.Status = catalog.StatusBad
	tftov := f.TFTOV[0]
	tftov.FileSequence = 2
	df := f.DiskFiles[0]
	df.Status = catalog.DiskInvalid
	dftov := f.DFTOV[1]
	dftov.PositionLBA = 7
	entry := f.Volumes[0]
	entry.Comment = "relabelled"
	vtofc := f.VTOFC
	vtofc.TapeFormat = catalog.FormatLongName
	dsmOnly := catalog.TapeVolume{Volcat: f.Pool.Volcat, Volser: "X00001", Pool: f.Pool.Name, Label: "BACKUP",
		Type: "CART3480", Status: catalog.StatusScratch, EndOfDataLBA: -1}

	for _, c := range []struct {
		name string
		fn   func(store.Tx) error
		want []string
	}{
		{"BackPak entry", func(tx store.Tx) error { return tx.PutVolume(ctx, &entry) }, []string{"T00001/LABELED"}},
		{"TAPEVOLUME status", func(tx store.Tx) error { return tx.PutTapeVolume(ctx, &status) }, []string{"T00003/LABELED"}},
		{"TAPEFILE added", func(tx store.Tx) error { return tx.PutTapeFile(ctx, &tf2) }, set},
		{"TAPEFILE expired", func(tx store.Tx) error { return tx.PutTapeFile(ctx, &expired) }, set},
		{"TFTOV", func(tx store.Tx) error { return tx.PutTapeFileVolume(ctx, &tftov) }, set},
		{"DISKFILE invalidated", func(tx store.Tx) error { return tx.PutDiskFile(ctx, &df) }, set},
		{"DFTOV", func(tx store.Tx) error { return tx.PutDiskFileVolume(ctx, &dftov) }, set},
		{"VTOFC", func(tx store.Tx) error { return tx.PutVolumeFilecat(ctx, &vtofc) }, set},
		{"TFTOV deleted", func(tx store.Tx) error { return tx.DeleteTapeFileVolume(ctx, &tftov) }, set},
		{"DFTOV deleted", func(tx store.Tx) error { return tx.DeleteDiskFileVolume(ctx, &dftov) }, set},
		{"DISKFILE deleted", func(tx store.Tx) error { return tx.DeleteDiskFile(ctx, &f.DiskFiles[1]) }, set},
		{"TAPEFILE deleted", func(tx store.Tx) error { return tx.DeleteTapeFile(ctx, tf2.Key()) }, set},
		{"TAPEVOLUME deleted", func(tx store.Tx) error { return tx.DeleteTapeVolume(ctx, &status) }, []string{"T00003/LABELED"}},
		{"DSM/TC volume unknown to BackPak", func(tx store.Tx) error { return tx.PutTapeVolume(ctx, &dsmOnly) }, nil},
	} {
		before, err := s.LastSeq(ctx, "DS_PROD")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Update(ctx, c.fn); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, last := changed(t, s, "DS_PROD", before)
		same(t, c.name+": changed volumes", got, c.want)
		if now, _ := s.LastSeq(ctx, "DS_PROD"); len(c.want) > 0 && (now <= before || now != last) {
			t.Errorf("%s: sequence %d -> %d, last change %d", c.name, before, now, last)
		}
	}
}

func testTombstones(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := load(t, s)
	_, seq := changed(t, s, "DS_PROD", 0)
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteVolume(ctx, f.Volumes[2].Key()) }); err != nil {
		t.Fatal(err)
	}
	got, seq2 := changed(t, s, "DS_PROD", seq)
	same(t, "after delete", got, []string{"T00003/LABELED deleted"})
	// Re-creating the volume replaces its tombstone.
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.PutVolume(ctx, &f.Volumes[2]) }); err != nil {
		t.Fatal(err)
	}
	got, _ = changed(t, s, "DS_PROD", seq2)
	same(t, "after re-create", got, []string{"T00003/LABELED"})
	all, _ := changed(t, s, "DS_PROD", 0)
	same(t, "one mark per volume", all, []string{"T00001/LABELED", "T00002/LABELED", "T00003/LABELED"})
	// Moving a volume to another store leaves a tombstone in the old one.
	moved := f.Volumes[2]
	moved.StoreID = "DS_TEST"
	_, seq3 := changed(t, s, "DS_PROD", 0)
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.PutVolume(ctx, &moved) }); err != nil {
		t.Fatal(err)
	}
	got, _ = changed(t, s, "DS_PROD", seq3)
	same(t, "old store after move", got, []string{"T00003/LABELED deleted"})
	got, _ = changed(t, s, "DS_TEST", 0)
	same(t, "new store after move", got, []string{"T00003/LABELED"})
	err := s.Update(ctx, func(tx store.Tx) error {
		return tx.DeleteVolume(ctx, catalog.VolumeKey{Label: "NOPE", LabelType: catalog.Labeled})
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting a missing volume: %v, want ErrNotFound", err)
	}
}

func testSequencesPerStore(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := load(t, s)
	other := f.Volumes[2]
	other.Label, other.StoreID = "U00001", "DS_TEST"
	unlabeled := other
	unlabeled.LabelType = catalog.Unlabeled
	if err := s.Update(ctx, func(tx store.Tx) error {
		return errors.Join(tx.PutVolume(ctx, &other), tx.PutVolume(ctx, &unlabeled))
	}); err != nil {
		t.Fatal(err)
	}
	got, last := changed(t, s, "DS_TEST", 0)
	same(t, "DS_TEST marks", got, []string{"U00001/LABELED", "U00001/UNLABELED"})
	if last != 2 {
		t.Errorf("DS_TEST sequence %d, want 2: each store counts on its own", last)
	}
	if seq, _ := s.LastSeq(ctx, "DS_PROD"); seq != 3 {
		t.Errorf("DS_PROD sequence %d, want 3", seq)
	}
}

func testConcurrentWriters(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := load(t, s)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				v := f.Volumes[2]
				v.Label = fmt.Sprintf("C%d%04d", w, i)
				if err := s.Update(ctx, func(tx store.Tx) error { return tx.PutVolume(ctx, &v) }); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, last := changed(t, s, "DS_PROD", 0)
	if len(got) != 43 || last != 43 {
		t.Errorf("%d marks up to sequence %d, want 43 and 43", len(got), last)
	}
}

func testAudit(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.LastAudit(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty trail: %v", err)
	}
	add := func(r store.AuditRecord) bool {
		var added bool
		if err := s.Update(ctx, func(tx store.Tx) error {
			var err error
			added, err = tx.AppendAudit(ctx, &r)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return added
	}
	if !add(store.AuditRecord{Seq: 1, Key: "r1", Entry: "{}", Hash: "h1"}) || !add(store.AuditRecord{Seq: 2, Key: "r2", Entry: "{}", Prev: "h1", Hash: "h2"}) {
		t.Fatal("records not appended")
	}
	if add(store.AuditRecord{Seq: 3, Key: "r2", Entry: "{}", Prev: "h2", Hash: "h3"}) {
		t.Error("a second record for run r2 was appended")
	}
	// The anchor follows each append, and not a refused one.
	if v, err := s.Meta(ctx, store.MetaAuditHead); err != nil || v != "2 h2" {
		t.Errorf("anchor %q, %v; want \"2 h2\"", v, err)
	}
	// An append that fails writes no anchor either.
	err := s.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.AppendAudit(ctx, &store.AuditRecord{Seq: 3, Key: "r3", Entry: "{}", Prev: "h2", Hash: "h3"}); err != nil {
			return err
		}
		return errors.New("rolled back")
	})
	if err == nil {
		t.Fatal("the update did not fail")
	}
	if v, err := s.Meta(ctx, store.MetaAuditHead); err != nil || v != "2 h2" {
		t.Errorf("anchor after a rolled-back append %q, %v; want \"2 h2\"", v, err)
	}
	last, err := s.LastAudit(ctx)
	if err != nil || last.Seq != 2 || last.Hash != "h2" {
		t.Errorf("last record %+v, %v", last, err)
	}
	var seqs []int64
	if err := s.ScanAudit(ctx, func(r *store.AuditRecord) error { seqs = append(seqs, r.Seq); return nil }); err != nil || len(seqs) != 2 || seqs[0] != 1 {
		t.Errorf("trail %v, %v", seqs, err)
	}
}

// testUndoJournal: entries are numbered per data store, read newest first,
// removed one by one or all at once, and leave no change mark.
func testUndoJournal(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := load(t, s)
	_, before := changed(t, s, f.Store.ID, 0)
	if _, err := s.LastUndo(ctx, "DS_PROD"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty journal: %v, want ErrNotFound", err)
	}
	put := func(storeID, entry string) int64 {
		r := store.UndoRecord{StoreID: storeID, RunID: "run1", Entry: entry}
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.AppendUndo(ctx, &r) }); err != nil {
			t.Fatal(err)
		}
		return r.Seq
	}
	if a, b, other := put("DS_PROD", "a"), put("DS_PROD", "b"), put("DS_OTHER", "x"); a != 1 || b != 2 || other != 1 {
		t.Fatalf("numbered %d, %d and %d in another store", a, b, other)
	}
	if r, err := s.LastUndo(ctx, "DS_PROD"); err != nil || r.Seq != 2 || r.Entry != "b" || r.RunID != "run1" {
		t.Fatalf("last entry %+v, %v", r, err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteUndo(ctx, "DS_PROD", 2) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteUndo(ctx, "DS_PROD", 2) }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting a deleted entry: %v, want ErrNotFound", err)
	}
	if r, err := s.LastUndo(ctx, "DS_PROD"); err != nil || r.Entry != "a" {
		t.Fatalf("after a delete, last entry %+v, %v", r, err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.ClearUndo(ctx, "DS_PROD") }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LastUndo(ctx, "DS_PROD"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cleared journal: %v", err)
	}
	if r, err := s.LastUndo(ctx, "DS_OTHER"); err != nil || r.Entry != "x" {
		t.Fatalf("another store's journal after a clear: %+v, %v", r, err)
	}
	if _, after := changed(t, s, f.Store.ID, 0); after != before {
		t.Errorf("the journal marked changes: sequence %d, was %d", after, before)
	}
}

func testDeleteFileConfig(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := load(t, s)
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteFileConfig(ctx, &f.Config) }); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, s.ScanFileConfigs, store.Filter{Filecat: f.Config.Filecat}); len(got) != 0 {
		t.Fatalf("CONFIG after its deletion: %v", got)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteFileConfig(ctx, &f.Config) }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting it again: %v, want ErrNotFound", err)
	}
}
