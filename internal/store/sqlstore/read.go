package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
)

// reader implements store.Reader on the pool or on a transaction; prep
// returns the prepared statement of a query (with ? placeholders) there.
// before, in a transaction, sends the puts it holds back of a table before
// that table is read ("": of every table); nil on the pool.
type reader struct {
	d      dialect
	prep   func(ctx context.Context, query string) (*sql.Stmt, error)
	before func(ctx context.Context, table string) error
}

func (r *reader) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return r.queryOf(ctx, "", q, args...)
}

// queryOf runs q, which reads table alone ("": any table).
func (r *reader) queryOf(ctx context.Context, table, q string, args ...any) (*sql.Rows, error) {
	s, err := r.stmt(ctx, table, q)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// row runs a query expected to return at most one row and scans it.
func (r *reader) row(ctx context.Context, q string, args []any, dest ...any) error {
	s, err := r.stmt(ctx, "", q)
	if err != nil {
		return err
	}
	return s.QueryRowContext(ctx, args...).Scan(dest...)
}

// stmt is q's prepared statement, once what q reads of table is sent.
func (r *reader) stmt(ctx context.Context, table, q string) (*sql.Stmt, error) {
	if r.before != nil {
		if err := r.before(ctx, table); err != nil {
			return nil, err
		}
	}
	return r.prep(ctx, q)
}

// stmtCache prepares each query once per database; database/sql then keeps
// it prepared on every connection that runs it. Preparing is a large part
// of a small query's cost.
type stmtCache struct {
	db *sql.DB
	d  dialect
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[q]; ok {
		return s, nil
	}
	s, err := c.db.PrepareContext(ctx, c.d.rebind(q))
	if err != nil {
		return nil, err
	}
	c.m[q] = s
	return s, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.m {
		s.Close()
	}
	c.m = map[string]*sql.Stmt{}
}

// scan streams the rows of t matching f, in key order, reusing one record.
func scan[T any](ctx context.Context, r *reader, t *table[T], f store.Filter, fn func(*T) error) error {
	where, args, err := t.where(r.d, f)
	if err != nil {
		return err
	}
	if len(f.Gens) > 0 && r.d == postgres {
		fn = onlyGens(t, f.Gens, fn)
	}
	return query(ctx, r, t, where, args, fn)
}

// onlyGens passes fn the rows of the generations gens alone: PostgreSQL
// reads them by a list of FILEIDs and one of generations (table.where),
// which match other pairs of the two too.
func onlyGens[T any](t *table[T], gens []store.FileGen, fn func(*T) error) func(*T) error {
	want := make(map[store.FileGen]bool, len(gens))
	for _, g := range gens {
		want[g] = true
	}
	return func(rec *T) error {
		if want[t.fileGen(rec)] {
			return fn(rec)
		}
		return nil
	}
}

func query[T any](ctx context.Context, r *reader, t *table[T], where string, args []any, fn func(*T) error) error {
	rows, err := r.queryOf(ctx, t.name, t.selectSQL(r.d, where), args...)
	if err != nil {
		return fmt.Errorf("read %s: %w", t.name, err)
	}
	defer rows.Close()
	var rec T
	dests := t.dests(&rec)
	for rows.Next() {
		if err := rows.Scan(dests...); err != nil {
			return fmt.Errorf("read %s: %w", t.name, err)
		}
		if err := fn(&rec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", t.name, err)
	}
	return nil
}

// get reads the one record of t with the given key values.
func get[T any](ctx context.Context, r *reader, t *table[T], what string, key ...any) (T, error) {
	var out T
	found := false
	err := query(ctx, r, t, t.keyWhere(), key, func(rec *T) error {
		out, found = *rec, true
		return nil
	})
	if err == nil && !found {
		err = fmt.Errorf("%s %s: %w", t.name, what, store.ErrNotFound)
	}
	return out, err
}

func (r *reader) Site(ctx context.Context) (catalog.Site, error) {
	var s catalog.Site
	var id int
	var list, entries string
	m := &s.MediaDefs
	err := r.row(ctx, "SELECT "+strings.Join(siteTable.cols, ", ")+" FROM site", nil, &id, &s.Node,
		&s.DomainID, &s.BackPakID, &m.DefaultVolcat, &m.DefaultFilecat, &m.Retention, &m.AbendRetention,
		&m.SearchListSystem, &list, &entries)
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("site record: %w", store.ErrNotFound)
	}
	if err != nil {
		return s, err
	}
	s.SearchList = strings.Fields(list)
	for _, f := range strings.Fields(entries) {
		e, err := catalog.ParseKeyManager(f)
		if err != nil {
			return s, fmt.Errorf("site record: %w", err)
		}
		s.KeyManagers = append(s.KeyManagers, e)
	}
	return s, nil
}

// joinEntries stores key-manager entries in one column, as the search list.
func joinEntries(es []catalog.KeyManagerEntry) string {
	f := make([]string, len(es))
	for i, e := range es {
		f[i] = e.String()
	}
	return strings.Join(f, " ")
}

func (r *reader) DataStore(ctx context.Context, id string) (catalog.DataStore, error) {
	return get(ctx, r, dataStoreTable, id, id)
}

func (r *reader) ScanDataStores(ctx context.Context, fn func(*catalog.DataStore) error) error {
	return scan(ctx, r, dataStoreTable, store.Filter{}, fn)
}

func (r *reader) VolumeGroup(ctx context.Context, name string) (catalog.VolumeGroup, error) {
	return get(ctx, r, volumeGroupTable, name, name)
}

func (r *reader) ScanVolumeGroups(ctx context.Context, fn func(*catalog.VolumeGroup) error) error {
	return scan(ctx, r, volumeGroupTable, store.Filter{}, fn)
}

func (r *reader) Volume(ctx context.Context, key catalog.VolumeKey) (catalog.Volume, error) {
	return get(ctx, r, volumeTable, key.String(), key.Label, string(key.LabelType))
}

func (r *reader) ScanVolumes(ctx context.Context, f store.Filter, fn func(*catalog.Volume) error) error {
	return scan(ctx, r, volumeTable, f, fn)
}

func (r *reader) ScanPools(ctx context.Context, f store.Filter, fn func(*catalog.Pool) error) error {
	return scan(ctx, r, poolTable, f, fn)
}

func (r *reader) ScanTapeVolumes(ctx context.Context, f store.Filter, fn func(*catalog.TapeVolume) error) error {
	return scan(ctx, r, tapeVolumeTable, f, fn)
}

func (r *reader) ScanVolumeFilecats(ctx context.Context, f store.Filter, fn func(*catalog.VolumeFilecat) error) error {
	return scan(ctx, r, vtofcTable, f, fn)
}

func (r *reader) ScanFileConfigs(ctx context.Context, f store.Filter, fn func(*catalog.FileConfig) error) error {
	return scan(ctx, r, configTable, f, fn)
}

func (r *reader) ScanTapeFiles(ctx context.Context, f store.Filter, fn func(*catalog.TapeFile) error) error {
	return scan(ctx, r, tapeFileTable, f, fn)
}

func (r *reader) ScanTapeFileVolumes(ctx context.Context, f store.Filter, fn func(*catalog.TapeFileVolume) error) error {
	return scan(ctx, r, tftovTable, f, fn)
}

func (r *reader) ScanDiskFiles(ctx context.Context, f store.Filter, fn func(*catalog.DiskFile) error) error {
	return scan(ctx, r, diskFileTable, f, fn)
}

func (r *reader) ScanDiskFileVolumes(ctx context.Context, f store.Filter, fn func(*catalog.DiskFileVolume) error) error {
	return scan(ctx, r, dftovTable, f, fn)
}

func (r *reader) Changes(ctx context.Context, storeID string, after int64, fn func(store.Change) error) error {
	rows, err := r.query(ctx, `SELECT label, label_type, seq, deleted FROM volume_change
		WHERE store_id = ? AND seq > ? ORDER BY seq`, storeID, after)
	if err != nil {
		return fmt.Errorf("read changes of %s: %w", storeID, err)
	}
	defer rows.Close()
	for rows.Next() {
		c := store.Change{StoreID: storeID}
		if err := rows.Scan(&c.Volume.Label, strCol[catalog.LabelType]{&c.Volume.LabelType}, &c.Seq, flagCol{&c.Deleted}); err != nil {
			return fmt.Errorf("read changes of %s: %w", storeID, err)
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (r *reader) LastSeq(ctx context.Context, storeID string) (int64, error) {
	var seq int64
	err := r.row(ctx, "SELECT seq FROM change_seq WHERE store_id = ?", []any{storeID}, &seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return seq, err
}

func (r *reader) Count(ctx context.Context) (map[string]int64, error) {
	out := make(map[string]int64, len(store.Tables))
	for _, name := range store.Tables {
		var n int64
		if err := r.row(ctx, "SELECT count(*) FROM "+name, nil, &n); err != nil {
			return nil, fmt.Errorf("count %s: %w", name, err)
		}
		out[name] = n
	}
	return out, nil
}

func (r *reader) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := r.row(ctx, "SELECT value FROM meta WHERE key = ?", []any{key}, &v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("meta %s: %w", key, store.ErrNotFound)
	}
	return v, err
}

func (r *reader) ScanAudit(ctx context.Context, fn func(*store.AuditRecord) error) error {
	rows, err := r.query(ctx, "SELECT seq, key, entry, prev, hash FROM audit ORDER BY seq")
	if err != nil {
		return fmt.Errorf("read audit trail: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a store.AuditRecord
		if err := rows.Scan(&a.Seq, &a.Key, &a.Entry, &a.Prev, &a.Hash); err != nil {
			return fmt.Errorf("read audit trail: %w", err)
		}
		if err := fn(&a); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (r *reader) LastAudit(ctx context.Context) (store.AuditRecord, error) {
	var a store.AuditRecord
	err := r.row(ctx, "SELECT seq, key, entry, prev, hash FROM audit ORDER BY seq DESC LIMIT 1", nil,
		&a.Seq, &a.Key, &a.Entry, &a.Prev, &a.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("audit trail: %w", store.ErrNotFound)
	}
	return a, err
}

func (r *reader) ScanVerified(ctx context.Context, storeID string, fn func(catalog.VolumeKey, time.Time) error) error {
	rows, err := r.query(ctx, "SELECT label, label_type, verified FROM restore_verified WHERE store_id = ? ORDER BY label, label_type", storeID)
	if err != nil {
		return fmt.Errorf("read the restore verification dates of %s: %w", storeID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k catalog.VolumeKey
		var at time.Time
		if err := rows.Scan(&k.Label, strCol[catalog.LabelType]{&k.LabelType}, timeCol{&at}); err != nil {
			return fmt.Errorf("read the restore verification dates of %s: %w", storeID, err)
		}
		if err := fn(k, at); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (r *reader) LastUndo(ctx context.Context, storeID string) (store.UndoRecord, error) {
	u := store.UndoRecord{StoreID: storeID}
	err := r.row(ctx, "SELECT seq, run_id, entry FROM import_undo WHERE store_id = ? ORDER BY seq DESC LIMIT 1", []any{storeID},
		&u.Seq, &u.RunID, &u.Entry)
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("undo journal of %s: %w", storeID, store.ErrNotFound)
	}
	return u, err
}
