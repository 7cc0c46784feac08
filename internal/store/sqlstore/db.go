// Package sqlstore implements store.Store on SQL databases: SQLite (pure Go,
// modernc.org/sqlite, one file per site, the embedded default) and
// PostgreSQL (pgx). Both run the same schema, migrations and statements; the
// dialects differ only in placeholders, connection set-up and locking.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/catsync/catsync/internal/store"
)

type dialect int

const (
	sqlite dialect = iota
	postgres
)

// rebind turns ? placeholders into PostgreSQL's $n.
func (d dialect) rebind(q string) string {
	if d != postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// DB is a site catalog in SQLite or PostgreSQL.
type DB struct {
	*reader // reads run on the pool
	db      *sql.DB
	dialect dialect
	stmts   *stmtCache
	// writer, on SQLite, lets one Update of the process at a time hold a
	// connection: SQLite has one writer anyway, and writers waiting in
	// BEGIN IMMEDIATE on every connection of the pool left none for the
	// one holding the lock to prepare a statement on.
	writer chan struct{}
	// grown, on PostgreSQL, counts the rows written to each table since
	// it was last analyzed (analyze.go).
	grown *growth
}

func newDB(db *sql.DB, d dialect) *DB {
	c := &stmtCache{db: db, d: d, m: map[string]*sql.Stmt{}}
	x := &DB{reader: &reader{d: d, prep: c.get}, db: db, dialect: d, stmts: c}
	if d == sqlite {
		x.writer = make(chan struct{}, 1)
	} else {
		x.grown = &growth{tables: map[string]*grown{}}
	}
	return x
}

var _ store.Store = (*DB)(nil)

// Open opens (and migrates) the site catalog named by dsn:
//   - postgres://… or postgresql://… : PostgreSQL; a search_path parameter
//     selects (and creates) the schema holding the site;
//   - sqlite:PATH or a plain PATH : an SQLite file, created if missing.
func Open(ctx context.Context, dsn string) (*DB, error) {
	return open(ctx, dsn, migrations[len(migrations)-1].version)
}

// open opens dsn migrated up to version: below the newest only in tests,
// which make databases as an older catsync left them.
func open(ctx context.Context, dsn string, version int) (*DB, error) {
	var d *DB
	var err error
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		d, err = openPostgres(ctx, dsn)
	case dsn == "":
		return nil, errors.New("catalog DSN is empty")
	default:
		d, err = openSQLite(strings.TrimPrefix(dsn, "sqlite:"))
	}
	if err != nil {
		return nil, err
	}
	if err := d.migrate(ctx, version); err != nil {
		d.db.Close()
		return nil, err
	}
	return d, nil
}

func openSQLite(path string) (*DB, error) {
	q := url.Values{}
	// WAL lets readers stream while a writer commits; IMMEDIATE transactions
	// take the write lock up front so that two writers queue instead of
	// failing on lock upgrade; busy_timeout makes them wait for each other.
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "busy_timeout(30000)")
	q.Add("_pragma", "cache_size(-16000)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite catalog %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite catalog %s: %w", path, err)
	}
	return newDB(db, sqlite), nil
}

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse postgres catalog DSN: %w", err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres catalog %s/%s: %w", cfg.Host, cfg.Database, err)
	}
	if schema := cfg.RuntimeParams["search_path"]; schema != "" {
		if _, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
			db.Close()
			return nil, fmt.Errorf("create schema %s in %s/%s: %w", schema, cfg.Host, cfg.Database, err)
		}
	}
	return newDB(db, postgres), nil
}

// Close closes the database.
func (d *DB) Close() error {
	d.stmts.close()
	return d.db.Close()
}

// SQL exposes the underlying handle, for benchmarks and tools that compare
// against plain SQL.
func (d *DB) SQL() *sql.DB { return d.db }

func (d *DB) migrate(ctx context.Context, version int) error {
	if _, err := d.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range migrations {
		if m.version > version {
			break
		}
		if err := d.apply(ctx, m); err != nil {
			return fmt.Errorf("schema migration %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

// SchemaVersion is the highest migration applied.
func (d *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := d.db.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v)
	return int(v.Int64), err
}

func (d *DB) apply(ctx context.Context, m migration) error {
	t, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer t.Rollback()
	if d.dialect == postgres {
		// Two processes opening one fresh schema must not both migrate it.
		if _, err := t.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext(current_schema()))"); err != nil {
			return err
		}
	}
	var n int
	if err := t.QueryRowContext(ctx, d.dialect.rebind("SELECT count(*) FROM schema_migrations WHERE version = ?"), m.version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	for _, s := range m.stmts {
		if _, err := t.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	if _, err := t.ExecContext(ctx, d.dialect.rebind("INSERT INTO schema_migrations (version, name) VALUES (?, ?)"), m.version, m.name); err != nil {
		return err
	}
	return t.Commit()
}

// Update runs fn in one transaction with change tracking.
func (d *DB) Update(ctx context.Context, fn func(store.Tx) error) (err error) {
	if d.writer != nil {
		select {
		case d.writer <- struct{}{}:
			defer func() { <-d.writer }()
		case <-ctx.Done():
			return fmt.Errorf("begin: %w", ctx.Err())
		}
	}
	sqlTx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	t := newTx(sqlTx, d.dialect, d.stmts)
	defer func() {
		t.close()
		if err != nil {
			sqlTx.Rollback()
		}
	}()
	if err = fn(t); err != nil {
		return err
	}
	if err = t.flush(ctx); err != nil {
		return err
	}
	if err = t.flushChanges(ctx); err != nil {
		return fmt.Errorf("record changes: %w", err)
	}
	if err = t.flush(ctx); err != nil {
		return fmt.Errorf("record changes: %w", err)
	}
	if err = sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	d.analyzeGrown(ctx, t.wrote)
	return nil
}

// View runs fn in a read-only transaction. On SQLite it is a deferred one:
// Update's IMMEDIATE mode would take the write lock, while a reader in WAL
// mode lets writers commit beside it (the WAL grows until the view ends).
// On PostgreSQL it is REPEATABLE READ READ ONLY, which takes no lock a
// writer waits for.
func (d *DB) View(ctx context.Context, fn func(store.Reader) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if d.dialect == postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	sqlTx, err := d.db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin a catalog view: %w", err)
	}
	b := bind(sqlTx, d.stmts)
	defer func() {
		b.close()
		sqlTx.Rollback() // it wrote nothing
	}()
	r := &reader{d: d.dialect, prep: b.prepared}
	// Both engines fix the view at its first read, not at BEGIN: read now,
	// so that what fn sees is the catalog as View began.
	var n int64
	if err := r.row(ctx, "SELECT count(*) FROM schema_migrations", nil, &n); err != nil {
		return fmt.Errorf("begin a catalog view: %w", err)
	}
	return fn(r)
}
