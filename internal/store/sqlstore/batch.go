package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// On PostgreSQL every statement is a round trip to the server, and a
// FULL's writes were most of its statements: a transaction's puts are
// therefore held back per table and sent as one multi-row upsert, before
// anything else the transaction does (a read, a delete, a savepoint's end,
// the commit), so that it reads what it wrote, in order. SQLite runs in
// the process: there a multi-row statement is no faster, and each put goes
// at once.

// maxBatchRows bounds the rows of one multi-row upsert: PostgreSQL takes
// at most 65,535 parameters a statement, and no table has 60 columns.
const maxBatchRows = 1000

// pendingPuts are the rows of one table put but not yet sent.
type pendingPuts struct {
	name  string
	nkey  int
	sql   func(rows int) string // the upsert of that many rows, in PostgreSQL's SQL
	rows  [][]any
	byKey map[string]int // a key put twice is sent once, as last put
}

// hold keeps the row of a put until the next flush.
func (t *tx) hold(ctx context.Context, name string, nkey int, upsert func(int) string, vals []any) error {
	p := t.pending[name]
	if p == nil {
		p = &pendingPuts{name: name, nkey: nkey, sql: upsert, byKey: map[string]int{}}
		t.pending[name] = p
		t.order = append(t.order, name)
	}
	k := heldKey(vals[:nkey])
	if i, ok := p.byKey[k]; ok {
		p.rows[i] = vals
		return nil
	}
	p.byKey[k] = len(p.rows)
	p.rows = append(p.rows, vals)
	if len(p.rows) >= maxBatchRows {
		return t.flushTable(ctx, p)
	}
	return nil
}

// heldKey is a row's key among the puts held back: each string after its
// length, each number before a semicolon, so that no two keys are alike
// ("AB","C" and "A","BC" would be, joined). It is built for every put:
// formatting it with fmt cost a tenth of a FULL's apply.
func heldKey(key []any) string {
	b := make([]byte, 0, 64)
	for _, v := range key {
		switch x := v.(type) {
		case string:
			b = strconv.AppendInt(b, int64(len(x)), 10)
			b = append(b, ':')
			b = append(b, x...)
		case int:
			b = strconv.AppendInt(b, int64(x), 10)
			b = append(b, ';')
		case int64:
			b = strconv.AppendInt(b, x, 10)
			b = append(b, ';')
		default:
			b = fmt.Appendf(b, "%T %#v;", v, v)
		}
	}
	return string(b)
}

// flush sends every put held back, table by table in the order first put.
func (t *tx) flush(ctx context.Context) error {
	for _, name := range t.order {
		if err := t.flushTable(ctx, t.pending[name]); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) flushTable(ctx context.Context, p *pendingPuts) error {
	if len(p.rows) == 0 {
		return nil
	}
	args := make([]any, 0, len(p.rows)*len(p.rows[0]))
	for _, r := range p.rows {
		args = append(args, r...)
	}
	n := len(p.rows)
	p.rows, p.byKey = p.rows[:0], map[string]int{}
	if _, err := t.sql.ExecContext(ctx, p.sql(n), args...); err != nil {
		return fmt.Errorf("write %s (%d rows): %w", p.name, n, err)
	}
	t.wrote[p.name] += int64(n)
	return nil
}

// discard forgets the puts held back: what a savepoint rolled back.
func (t *tx) discard() {
	for _, p := range t.pending {
		p.rows, p.byKey = p.rows[:0], map[string]int{}
	}
}

// upsertRows is the upsert of n rows of the table, in PostgreSQL's SQL.
// That of a full flush (maxBatchRows) is built once: its text of
// thousands of placeholders cost more to build than to send. Shorter
// flushes, one a table at the end of a batch, are built each time: kept,
// a thousand lengths of each table would hold megabytes.
func (tb *table[T]) upsertRows(n int) string {
	if n == maxBatchRows {
		tb.fullOnce.Do(func() { tb.fullQ = tb.buildRows(n) })
		return tb.fullQ
	}
	return tb.buildRows(n)
}

func (tb *table[T]) buildRows(n int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(tb.cols)), ", ") + ")"
	q := tb.upsertSQL()
	i := strings.Index(q, " ON CONFLICT")
	head := q[:strings.Index(q, " VALUES ")]
	return postgres.rebind(head + " VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", n), ", ") + q[i:])
}
