package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
)

type volsetRef struct{ volcat, volsetID string }

type volumeMark struct {
	storeID string
	key     catalog.VolumeKey
}

// tx implements store.Tx. Writes note which volume sets, tape volumes and
// BackPak entries they touch; at commit those notes are resolved to BackPak
// volumes and marked with fresh per-data-store sequence numbers, inside the
// same transaction, so a change and its mark are never seen apart.
type tx struct {
	*reader
	*bound

	volsets map[volsetRef]struct{}
	volsers map[string]struct{}
	marks   map[volumeMark]bool // BackPak entries written (false) or deleted (true)
	// sp, inside a savepoint, is what it noted: undone if it rolls back.
	sp *noted
	// pending are the puts held back (PostgreSQL), by table, and the
	// tables in the order first put.
	pending map[string]*pendingPuts
	order   []string
	// wrote counts the rows sent to each table (PostgreSQL): what makes
	// it analyzed after the commit.
	wrote map[string]int64
}

// noted is what a savepoint added to the transaction's notes.
type noted struct {
	volsets []volsetRef
	volsers []string
	marks   []priorMark
}

type priorMark struct {
	m       volumeMark
	had, is bool // whether the mark was there before, and as what
}

var _ store.Tx = (*tx)(nil)

func newTx(t *sql.Tx, d dialect, cache *stmtCache) *tx {
	b := bind(t, cache)
	x := &tx{
		bound:   b,
		volsets: map[volsetRef]struct{}{},
		volsers: map[string]struct{}{},
		marks:   map[volumeMark]bool{},
		pending: map[string]*pendingPuts{},
		wrote:   map[string]int64{},
	}
	// A read sees the puts held back: those of the table it reads go
	// first (every table's, for a query of no one table). Each table's
	// rows are sent apart, so a read of one leaves the others' to grow
	// into larger statements.
	x.reader = &reader{d: d, prep: b.prepared, before: func(ctx context.Context, table string) error {
		if p := x.pending[table]; p != nil {
			return x.flushTable(ctx, p)
		}
		if table == "" {
			return x.flush(ctx)
		}
		return nil
	}}
	return x
}

// bound holds the database's prepared statements bound to one transaction.
type bound struct {
	sql   *sql.Tx
	cache *stmtCache
	stmts map[string]*sql.Stmt
	// held, once the transaction holds the catalog, prepares on its own
	// connection: preparing a write on the pool's would wait for the lock.
	held bool
}

func bind(t *sql.Tx, cache *stmtCache) *bound {
	return &bound{sql: t, cache: cache, stmts: map[string]*sql.Stmt{}}
}

// prepared binds the database's prepared statement of q to the transaction,
// once per transaction.
func (b *bound) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	if s, ok := b.stmts[q]; ok {
		return s, nil
	}
	if b.held {
		s, err := b.sql.PrepareContext(ctx, b.cache.d.rebind(q))
		if err != nil {
			return nil, err
		}
		b.stmts[q] = s
		return s, nil
	}
	s, err := b.cache.get(ctx, q)
	if err != nil {
		return nil, err
	}
	s = b.sql.StmtContext(ctx, s)
	b.stmts[q] = s
	return s, nil
}

// close releases the transaction's bindings; the database keeps the
// statements prepared.
func (b *bound) close() {
	for _, s := range b.stmts {
		s.Close()
	}
}

func (t *tx) touchVolset(volcat, volsetID string) {
	ref := volsetRef{volcat, volsetID}
	if _, had := t.volsets[ref]; volsetID == "" || had {
		return
	}
	t.volsets[ref] = struct{}{}
	if t.sp != nil {
		t.sp.volsets = append(t.sp.volsets, ref)
	}
}

func (t *tx) touchVolser(volser string) {
	if _, had := t.volsers[volser]; had {
		return
	}
	t.volsers[volser] = struct{}{}
	if t.sp != nil {
		t.sp.volsers = append(t.sp.volsers, volser)
	}
}

// mark notes a BackPak entry written (deleted false) or deleted.
func (t *tx) mark(m volumeMark, deleted bool) {
	if t.sp != nil {
		was, had := t.marks[m]
		t.sp.marks = append(t.sp.marks, priorMark{m: m, had: had, is: was})
	}
	t.marks[m] = deleted
}

// Savepoint runs fn in a savepoint of the transaction. When fn fails, what
// it wrote and the change marks its writes noted are undone, and the
// transaction goes on as it was before fn; fn's error is returned. When
// the transaction itself can no longer go on (the rollback to the
// savepoint failed), the error wraps store.ErrTxLost.
func (t *tx) Savepoint(ctx context.Context, fn func() error) error {
	if t.sp != nil {
		return errors.New("savepoint: savepoints do not nest")
	}
	if err := t.flush(ctx); err != nil {
		return err
	}
	if _, err := t.sql.ExecContext(ctx, "SAVEPOINT catsync_set"); err != nil {
		return fmt.Errorf("savepoint: %w: %w", store.ErrTxLost, err)
	}
	sp := &noted{}
	t.sp = sp
	err := fn()
	if err == nil {
		err = t.flush(ctx) // what fn put fails in its savepoint
	}
	t.sp = nil
	if err == nil {
		if _, err := t.sql.ExecContext(ctx, "RELEASE SAVEPOINT catsync_set"); err != nil {
			return fmt.Errorf("release savepoint: %w: %w", store.ErrTxLost, err)
		}
		return nil
	}
	// Not on the caller's context: a cancelled one would leave the
	// set's writes in the transaction.
	undo := context.WithoutCancel(ctx)
	t.discard()
	if _, rerr := t.sql.ExecContext(undo, "ROLLBACK TO SAVEPOINT catsync_set"); rerr != nil {
		return fmt.Errorf("%w; rolling back to the savepoint: %w: %w", err, store.ErrTxLost, rerr)
	}
	if _, rerr := t.sql.ExecContext(undo, "RELEASE SAVEPOINT catsync_set"); rerr != nil {
		return fmt.Errorf("%w; releasing the savepoint: %w: %w", err, store.ErrTxLost, rerr)
	}
	for _, ref := range sp.volsets {
		delete(t.volsets, ref)
	}
	for _, v := range sp.volsers {
		delete(t.volsers, v)
	}
	for i := len(sp.marks) - 1; i >= 0; i-- {
		if pm := sp.marks[i]; pm.had {
			t.marks[pm.m] = pm.is
		} else {
			delete(t.marks, pm.m)
		}
	}
	return err
}

// HoldCatalog implements store.Tx: on PostgreSQL the catalog tables are
// locked in EXCLUSIVE mode, which lets readers in and keeps writers
// waiting until the transaction ends; always in the same order, so that
// two holders wait on each other rather than deadlock.
func (t *tx) HoldCatalog(ctx context.Context) error {
	if t.d != postgres {
		return nil
	}
	if err := t.flush(ctx); err != nil {
		return err
	}
	if _, err := t.sql.ExecContext(ctx, "LOCK TABLE "+strings.Join(catalogTables, ", ")+" IN EXCLUSIVE MODE"); err != nil {
		return fmt.Errorf("hold the catalog tables: %w", err)
	}
	t.held = true
	return nil
}

// catalogTables are the BackPak and DSM/TC tables an import reads and
// writes.
var catalogTables = []string{store.TableVolume, store.TablePool, store.TableTapeVolume, store.TableVTOFC, store.TableConfig,
	store.TableTapeFile, store.TableTFTOV, store.TableDiskFile, store.TableDFTOV}

// exec runs q with its prepared statement.
func (t *tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	s, err := t.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

// put validates r and writes it, creating or replacing by key.
func put[T any](ctx context.Context, t *tx, tb *table[T], r *T) error {
	if err := tb.valid(r); err != nil {
		return err
	}
	if t.d == postgres {
		if err := t.hold(ctx, tb.name, tb.nkey, tb.unnestSQL, tb.values(r)); err != nil {
			return err
		}
	} else if _, err := t.exec(ctx, tb.upsertSQL(), tb.values(r)...); err != nil {
		return fmt.Errorf("write %s: %w", tb.name, err)
	}
	if tb.touch != nil {
		tb.touch(t, r)
	}
	return nil
}

// del removes the record with r's key; a missing record is ErrNotFound.
func del[T any](ctx context.Context, t *tx, tb *table[T], r *T, what string) error {
	res, err := t.exec(ctx, "DELETE FROM "+tb.name+" WHERE "+tb.keyWhere(), tb.values(r)[:tb.nkey]...)
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", tb.name, what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delete %s %s: %w", tb.name, what, store.ErrNotFound)
	}
	if tb.touch != nil {
		tb.touch(t, r)
	}
	return nil
}

func (t *tx) PutSite(ctx context.Context, s *catalog.Site) error { return put(ctx, t, siteTable, s) }
func (t *tx) PutMeta(ctx context.Context, key, value string) error {
	if _, err := t.exec(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return fmt.Errorf("write meta %s: %w", key, err)
	}
	return nil
}
func (t *tx) AppendAudit(ctx context.Context, r *store.AuditRecord) (bool, error) {
	res, err := t.exec(ctx, `INSERT INTO audit (seq, key, entry, prev, hash) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (key) DO NOTHING`, r.Seq, r.Key, r.Entry, r.Prev, r.Hash)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation: the sequence number, taken meanwhile
		return false, fmt.Errorf("append audit record %d (%s): %w: %w", r.Seq, r.Key, store.ErrConcurrent, err)
	}
	if err != nil {
		return false, fmt.Errorf("append audit record %d (%s): %w", r.Seq, r.Key, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, err
	}
	// In the same transaction, so that the anchor never names a record
	// that is not there, nor misses one that is.
	if err := t.PutMeta(ctx, store.MetaAuditHead, fmt.Sprintf("%d %s", r.Seq, r.Hash)); err != nil {
		return false, fmt.Errorf("anchor audit record %d: %w", r.Seq, err)
	}
	return true, nil
}

func (t *tx) AppendUndo(ctx context.Context, r *store.UndoRecord) error {
	var last int64
	if err := t.row(ctx, "SELECT COALESCE(MAX(seq), 0) FROM import_undo WHERE store_id = ?", []any{r.StoreID}, &last); err != nil {
		return fmt.Errorf("undo journal of %s: %w", r.StoreID, err)
	}
	r.Seq = last + 1
	if _, err := t.exec(ctx, "INSERT INTO import_undo (store_id, seq, run_id, entry) VALUES (?, ?, ?, ?)", r.StoreID, r.Seq, r.RunID, r.Entry); err != nil {
		return fmt.Errorf("append undo entry %d of %s: %w", r.Seq, r.StoreID, err)
	}
	return nil
}
func (t *tx) DeleteUndo(ctx context.Context, storeID string, seq int64) error {
	res, err := t.exec(ctx, "DELETE FROM import_undo WHERE store_id = ? AND seq = ?", storeID, seq)
	if err != nil {
		return fmt.Errorf("delete undo entry %d of %s: %w", seq, storeID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delete undo entry %d of %s: %w", seq, storeID, store.ErrNotFound)
	}
	return nil
}
func (t *tx) PutVerified(ctx context.Context, storeID string, key catalog.VolumeKey, at time.Time) error {
	if _, err := t.exec(ctx, `INSERT INTO restore_verified (store_id, label, label_type, verified) VALUES (?, ?, ?, ?)
		ON CONFLICT (store_id, label, label_type) DO UPDATE SET verified = excluded.verified`,
		storeID, key.Label, string(key.LabelType), micros(at)); err != nil {
		return fmt.Errorf("record the restore verification of %s in %s: %w", key, storeID, err)
	}
	return nil
}
func (t *tx) ClearUndo(ctx context.Context, storeID string) error {
	if _, err := t.exec(ctx, "DELETE FROM import_undo WHERE store_id = ?", storeID); err != nil {
		return fmt.Errorf("clear the undo journal of %s: %w", storeID, err)
	}
	return nil
}

func (t *tx) PutDataStore(ctx context.Context, d *catalog.DataStore) error {
	return put(ctx, t, dataStoreTable, d)
}
func (t *tx) PutVolumeGroup(ctx context.Context, g *catalog.VolumeGroup) error {
	return put(ctx, t, volumeGroupTable, g)
}

// storeOf returns the data store of an existing BackPak entry, or "".
// A put of the entry held back answers it; otherwise the table holds the
// answer whatever else is held back, which is left to grow.
func (t *tx) storeOf(ctx context.Context, key catalog.VolumeKey) (string, error) {
	vals := []any{key.Label, string(key.LabelType)}
	if p := t.pending[store.TableVolume]; p != nil {
		if i, ok := p.byKey[heldKey(vals)]; ok {
			return p.rows[i][2].(string), nil // values: label, label type, store id
		}
	}
	s, err := t.prepared(ctx, "SELECT store_id FROM volume WHERE label = ? AND label_type = ?")
	if err != nil {
		return "", err
	}
	var id string
	err = s.QueryRowContext(ctx, vals...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

func (t *tx) PutVolume(ctx context.Context, v *catalog.Volume) error {
	old, err := t.storeOf(ctx, v.Key())
	if err != nil {
		return fmt.Errorf("write volume %s: %w", v.Key(), err)
	}
	if err := put(ctx, t, volumeTable, v); err != nil {
		return err
	}
	if old != "" && old != v.StoreID {
		t.mark(volumeMark{old, v.Key()}, true) // moved away: a tombstone where it was
	}
	t.mark(volumeMark{v.StoreID, v.Key()}, false)
	return nil
}

func (t *tx) DeleteVolume(ctx context.Context, key catalog.VolumeKey) error {
	old, err := t.storeOf(ctx, key)
	if err != nil {
		return fmt.Errorf("delete volume %s: %w", key, err)
	}
	v := catalog.Volume{Label: key.Label, LabelType: key.LabelType}
	if err := del(ctx, t, volumeTable, &v, key.String()); err != nil {
		return err
	}
	t.mark(volumeMark{old, key}, true)
	return nil
}

func (t *tx) PutPool(ctx context.Context, p *catalog.Pool) error { return put(ctx, t, poolTable, p) }
func (t *tx) PutTapeVolume(ctx context.Context, v *catalog.TapeVolume) error {
	return put(ctx, t, tapeVolumeTable, v)
}
func (t *tx) DeleteTapeVolume(ctx context.Context, v *catalog.TapeVolume) error {
	return del(ctx, t, tapeVolumeTable, v, v.Volser)
}
func (t *tx) PutVolumeFilecat(ctx context.Context, f *catalog.VolumeFilecat) error {
	return put(ctx, t, vtofcTable, f)
}
func (t *tx) DeleteVolumeFilecat(ctx context.Context, f *catalog.VolumeFilecat) error {
	return del(ctx, t, vtofcTable, f, f.VolsetID)
}
func (t *tx) PutFileConfig(ctx context.Context, f *catalog.FileConfig) error {
	return put(ctx, t, configTable, f)
}
func (t *tx) DeleteFileConfig(ctx context.Context, f *catalog.FileConfig) error {
	return del(ctx, t, configTable, f, f.FileID)
}
func (t *tx) PutTapeFile(ctx context.Context, f *catalog.TapeFile) error {
	return put(ctx, t, tapeFileTable, f)
}
func (t *tx) PutTapeFileVolume(ctx context.Context, v *catalog.TapeFileVolume) error {
	return put(ctx, t, tftovTable, v)
}
func (t *tx) DeleteTapeFileVolume(ctx context.Context, v *catalog.TapeFileVolume) error {
	return del(ctx, t, tftovTable, v, v.FileID+" ON "+v.Volser)
}
func (t *tx) DeleteDiskFileVolume(ctx context.Context, d *catalog.DiskFileVolume) error {
	return del(ctx, t, dftovTable, d, d.Name+" ON "+d.Volser)
}
func (t *tx) PutDiskFile(ctx context.Context, d *catalog.DiskFile) error {
	return put(ctx, t, diskFileTable, d)
}
func (t *tx) PutDiskFileVolume(ctx context.Context, d *catalog.DiskFileVolume) error {
	return put(ctx, t, dftovTable, d)
}

// DeleteDiskFile removes a disk file entry and the DFTOV rows of that dump.
func (t *tx) DeleteDiskFile(ctx context.Context, d *catalog.DiskFile) error {
	if err := del(ctx, t, diskFileTable, d, d.Name); err != nil {
		return err
	}
	_, err := t.exec(ctx, `DELETE FROM dftov WHERE filecat = ? AND diskfilename = ? AND timedumped = ? AND volumecatalog = ? AND volsetid = ?`,
		d.Filecat, d.Name, micros(d.TimeDumped), d.Volcat, d.VolsetID)
	if err != nil {
		return fmt.Errorf("delete dftov of %s: %w", d.Name, err)
	}
	return nil
}

// DeleteTapeFile removes a tape file copy and everything that points to it:
// its TFTOV rows, its DISKFILE rows and their DFTOV rows.
func (t *tx) DeleteTapeFile(ctx context.Context, k catalog.TapeFileKey) error {
	var volcat, volsetID string
	err := t.row(ctx, `SELECT volumecatalog, volsetid FROM tapefile WHERE `+tapeFileTable.keyWhere(),
		[]any{k.Filecat, k.FileID, k.Generation, k.Version, k.PhysicalCopy, k.LogicalCopy}, &volcat, &volsetID)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("delete tapefile %s: %w", k, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete tapefile %s: %w", k, err)
	}
	for _, q := range []string{
		`DELETE FROM dftov WHERE filecat = ? AND volumecatalog = ? AND volsetid = ? AND EXISTS (
			SELECT 1 FROM diskfile d WHERE d.filecat = dftov.filecat AND d.diskfilename = dftov.diskfilename
			AND d.timedumped = dftov.timedumped AND d.volsetid = dftov.volsetid
			AND d.fileid = ? AND d.generation = ? AND d.version = ?)`,
		`DELETE FROM diskfile WHERE filecat = ? AND volumecatalog = ? AND volsetid = ? AND fileid = ? AND generation = ? AND version = ?`,
		`DELETE FROM tftov WHERE filecat = ? AND volumecatalog = ? AND volsetid = ? AND fileid = ? AND generation = ? AND version = ?`,
	} {
		if _, err := t.exec(ctx, q, k.Filecat, volcat, volsetID, k.FileID, k.Generation, k.Version); err != nil {
			return fmt.Errorf("delete tapefile %s: %w", k, err)
		}
	}
	if _, err := t.exec(ctx, "DELETE FROM tapefile WHERE "+tapeFileTable.keyWhere(),
		k.Filecat, k.FileID, k.Generation, k.Version, k.PhysicalCopy, k.LogicalCopy); err != nil {
		return fmt.Errorf("delete tapefile %s: %w", k, err)
	}
	t.touchVolset(volcat, volsetID)
	return nil
}

// listChunk bounds the values of one list a query reads by.
const listChunk = 500

// flushChanges resolves what the transaction touched to BackPak volumes and
// marks each with the next sequence number of its data store. Only volumes
// known to BackPak are tracked: DSM/TC volumes without a BackPak entry are
// never exported.
func (t *tx) flushChanges(ctx context.Context) error {
	// Read by lists, a chunk of volume sets or labels a query: on
	// PostgreSQL a query a set and one a volume were a round trip each.
	byVolcat := map[string][]string{}
	for _, vs := range sortedKeys(t.volsets, func(a, b volsetRef) int {
		return cmp.Or(cmp.Compare(a.volcat, b.volcat), cmp.Compare(a.volsetID, b.volsetID))
	}) {
		t.volsers[vs.volsetID] = struct{}{}
		byVolcat[vs.volcat] = append(byVolcat[vs.volcat], vs.volsetID)
	}
	for _, volcat := range sortedKeys(byVolcat, cmp.Compare[string]) {
		for ids := range slices.Chunk(byVolcat[volcat], listChunk) {
			if err := t.ScanTapeVolumes(ctx, store.Filter{Volcat: volcat, VolsetIDs: ids}, func(v *catalog.TapeVolume) error {
				t.volsers[v.Volser] = struct{}{}
				return nil
			}); err != nil {
				return err
			}
		}
	}
	stores := map[string]string{} // labeled BackPak entries' data stores, by label
	for labels := range slices.Chunk(sortedKeys(t.volsers, cmp.Compare[string]), listChunk) {
		if err := t.ScanVolumes(ctx, store.Filter{Labels: labels}, func(v *catalog.Volume) error {
			if v.LabelType == catalog.Labeled {
				stores[v.Label] = v.StoreID
			}
			return nil
		}); err != nil {
			return err
		}
	}
	for volser, id := range stores {
		key := catalog.VolumeKey{Label: volser, LabelType: catalog.Labeled}
		if _, done := t.marks[volumeMark{id, key}]; id != "" && !done {
			t.marks[volumeMark{id, key}] = false
		}
	}
	byStore := map[string][]volumeMark{}
	for m := range t.marks {
		byStore[m.storeID] = append(byStore[m.storeID], m)
	}
	for _, id := range sortedKeys(byStore, cmp.Compare[string]) {
		ms := byStore[id]
		slices.SortFunc(ms, func(a, b volumeMark) int {
			return cmp.Or(cmp.Compare(a.key.Label, b.key.Label), cmp.Compare(a.key.LabelType, b.key.LabelType))
		})
		var last int64
		err := t.row(ctx, `INSERT INTO change_seq (store_id, seq) VALUES (?, ?)
			ON CONFLICT (store_id) DO UPDATE SET seq = change_seq.seq + excluded.seq RETURNING seq`, []any{id, len(ms)}, &last)
		if err != nil {
			return err
		}
		seq := last - int64(len(ms))
		for _, m := range ms {
			seq++
			// A put like the catalog's: on PostgreSQL held back and sent
			// by the thousand, where a statement went for each volume.
			if err := put(ctx, t, changeTable, &volumeChange{m, seq, t.marks[m]}); err != nil {
				return err
			}
		}
	}
	return nil
}

// volumeChange is the mark of a BackPak entry written or deleted: its row
// in volume_change.
type volumeChange struct {
	volumeMark
	seq     int64
	deleted bool
}

var changeTable = &table[volumeChange]{
	name: store.TableVolumeChange,
	cols: []string{"store_id", "label", "label_type", "seq", "deleted"},
	nkey: 3,
	values: func(c *volumeChange) []any {
		return []any{c.storeID, c.key.Label, string(c.key.LabelType), c.seq, flag(c.deleted)}
	},
	valid: func(*volumeChange) error { return nil }, // made by flushChanges, not given
}

func sortedKeys[K comparable, V any](m map[K]V, compare func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compare)
	return keys
}
