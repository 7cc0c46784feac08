package sqlstore

import (
	"context"
	"sync"
)

// PostgreSQL plans a query from the statistics ANALYZE last gathered, and
// autovacuum gathers them a minute or more after a table changed. A FULL
// into a new catalog writes millions of rows in minutes: planned with the
// statistics of the empty tables, a volume set's reads by FILEID scanned
// every row of the FILECAT. The writes of each transaction are therefore
// counted, and a table is analyzed once its rows written since it last was
// reach its size then (and minAnalyzeRows): a table growing from empty to n
// rows is analyzed about log2(n) times.

// minAnalyzeRows is the fewest rows written that make a table analyzed.
const minAnalyzeRows = 10_000

// growth is, per table, how many rows it had when it was last analyzed
// and how many were written since.
type growth struct {
	mu     sync.Mutex
	tables map[string]*grown
}

type grown struct {
	analyzed, since int64
	running         bool // an ANALYZE of it is under way
}

// due notes the rows each table was written and returns the tables to
// analyze now, each marked as under way.
func (g *growth) due(wrote map[string]int64) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for name, n := range wrote {
		t := g.tables[name]
		if t == nil {
			t = &grown{}
			g.tables[name] = t
		}
		t.since += n
		if !t.running && t.since >= max(minAnalyzeRows, t.analyzed) {
			t.running = true
			out = append(out, name)
		}
	}
	return out
}

// done records an ANALYZE of the table that found rows (or failed, rows
// < 0: the count goes on from where it was).
func (g *growth) done(name string, rows int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t := g.tables[name]
	t.running = false
	if rows >= 0 {
		t.analyzed, t.since = rows, 0
	}
}

// analyzeGrown analyzes the tables that grew enough with the rows a
// committed transaction wrote. A failure is not the transaction's, which
// committed: the statistics stay as they were until autovacuum's turn.
func (d *DB) analyzeGrown(ctx context.Context, wrote map[string]int64) {
	if d.grown == nil || len(wrote) == 0 {
		return
	}
	for _, name := range d.grown.due(wrote) {
		rows := int64(-1)
		if _, err := d.db.ExecContext(ctx, "ANALYZE "+name); err == nil {
			if err := d.db.QueryRowContext(ctx, "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass($1)", name).Scan(&rows); err != nil {
				rows = -1
			}
		}
		d.grown.done(name, rows)
	}
}
