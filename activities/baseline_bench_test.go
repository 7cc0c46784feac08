package activities

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/catsync/catsync/internal/store"
)

// snapshotTables are the tables a snapshot carries: what a FULL writes.
var snapshotTables = []string{store.TableVolume, store.TableTapeVolume, store.TableVTOFC, store.TableConfig,
	store.TableTapeFile, store.TableTFTOV, store.TableDiskFile, store.TableDFTOV}

// tableReader streams every row of one table, generically: the baselines
// read the primary's rows as any database tool would.
type tableReader struct {
	rows       *sql.Rows
	cols       []string
	vals, ptrs []any // the row last read, and where Scan puts it
}

func readTable(ctx context.Context, src *sql.DB, tb string) (*tableReader, error) {
	rows, err := src.QueryContext(ctx, "SELECT * FROM "+tb)
	if err != nil {
		return nil, err
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return nil, err
	}
	r := &tableReader{rows: rows, cols: cols, vals: make([]any, len(cols)), ptrs: make([]any, len(cols))}
	for i := range r.vals {
		r.ptrs[i] = &r.vals[i]
	}
	return r, nil
}

// next reads the next row into vals; false at the end.
func (r *tableReader) next() (bool, error) {
	if !r.rows.Next() {
		return false, r.rows.Err()
	}
	return true, r.rows.Scan(r.ptrs...)
}

// goBulkLoad is the plain Go bulk load a FULL is measured against: every
// row of src's snapshot tables read with SELECT * and written into dst (a
// fresh catalog with catsync's schema) with one prepared single-row INSERT
// each, through the same driver, committing every 50,000 rows. It checks
// nothing and rewrites nothing.
func goBulkLoad(ctx context.Context, src, dst *sql.DB) (int64, error) {
	conn, err := dst.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	exec := func(q string) error { _, err := conn.ExecContext(ctx, q); return err }
	if err := exec("BEGIN IMMEDIATE"); err != nil {
		return 0, err
	}
	var total, inTx int64
	for _, tb := range snapshotTables {
		rd, err := readTable(ctx, src, tb)
		if err != nil {
			return total, err
		}
		ins, err := conn.PrepareContext(ctx, fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", tb, strings.Join(rd.cols, ","),
			strings.TrimSuffix(strings.Repeat("?,", len(rd.cols)), ",")))
		if err != nil {
			rd.rows.Close()
			return total, err
		}
		for {
			var more bool
			if more, err = rd.next(); !more || err != nil {
				break
			}
			if _, err = ins.ExecContext(ctx, rd.vals...); err != nil {
				break
			}
			total++
			if inTx++; inTx == 50_000 {
				if err = exec("COMMIT"); err == nil {
					err = exec("BEGIN IMMEDIATE")
				}
				if err != nil {
					break
				}
				inTx = 0
			}
		}
		rd.rows.Close()
		ins.Close()
		if err != nil {
			return total, fmt.Errorf("table %s: %w", tb, err)
		}
	}
	return total, exec("COMMIT")
}

// engineLoad is what the SQLite engine itself needs to insert the same
// rows: ATTACH the primary, INSERT INTO each table SELECT * FROM its copy,
// one transaction. The WHERE 1 turns off SQLite's transfer optimization,
// which copies encoded records and index entries as they are and so could
// not apply to an import that rewrites them: rows and index entries are
// inserted one by one.
func engineLoad(ctx context.Context, primPath string, dst *sql.DB) (int64, error) {
	conn, err := dst.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "ATTACH DATABASE ? AS p", primPath); err != nil {
		return 0, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DETACH DATABASE p")
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return 0, err
	}
	var n int64
	for _, tb := range snapshotTables {
		res, err := conn.ExecContext(ctx, "INSERT INTO main."+tb+" SELECT * FROM p."+tb+" WHERE 1")
		if err != nil {
			conn.ExecContext(ctx, "ROLLBACK")
			return n, fmt.Errorf("table %s: %w", tb, err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return n, err
}
