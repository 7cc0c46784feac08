package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// On PostgreSQL every statement is a round trip to the server, and a
// FULL's writes were most of its statements: a transaction's puts are
// therefore held back per table and sent as one upsert of many rows, before
// anything else the transaction does (a read, a delete, a savepoint's end,
// the commit), so that it reads what it wrote, in order. SQLite runs in
// the process: there a multi-row statement is no faster, and each put goes
// at once.

// maxBatchRows bounds the rows held back of one table: a flush sends
// them as one statement, whose arrays hold that many values a column.
const maxBatchRows = 1000

// pendingPuts are the rows of one table put but not yet sent.
type pendingPuts struct {
	name  string
	nkey  int
	sql   func() (string, error) // the upsert of the table's column arrays (unnestSQL)
	rows  [][]any
	byKey map[string]int // a key put twice is sent once, as last put
}

// hold keeps the row of a put until the next flush.
func (t *tx) hold(ctx context.Context, name string, nkey int, upsert func() (string, error), vals []any) error {
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
	n := len(p.rows)
	if n == 0 {
		return nil
	}
	q, err := p.sql()
	if err != nil {
		return fmt.Errorf("write %s: %w", p.name, err)
	}
	cols, err := columnArrays(p.rows)
	if err != nil {
		return fmt.Errorf("write %s: %w", p.name, err)
	}
	p.rows, p.byKey = p.rows[:0], map[string]int{}
	s, err := t.prepared(ctx, q)
	if err != nil {
		return fmt.Errorf("write %s (%d rows): %w", p.name, n, err)
	}
	if _, err := s.ExecContext(ctx, cols...); err != nil {
		return fmt.Errorf("write %s (%d rows): %w", p.name, n, err)
	}
	t.wrote[p.name] += int64(n)
	return nil
}

// arrayType is the PostgreSQL array type a column of v's Go type is sent
// as, or "" for none.
func arrayType(v any) string {
	switch v.(type) {
	case string:
		return "text"
	case int, int64:
		return "bigint"
	}
	return ""
}

// columnArrays turns rows into one array a column, the parameters of
// unnestSQL's statement: a column of strings a []string, of integers an
// []int64.
func columnArrays(rows [][]any) ([]any, error) {
	cols := make([]any, len(rows[0]))
	for j, v := range rows[0] {
		switch arrayType(v) {
		case "text":
			cols[j] = make([]string, len(rows))
		case "bigint":
			cols[j] = make([]int64, len(rows))
		default:
			return nil, fmt.Errorf("column %d holds %T", j+1, v)
		}
	}
	for i, r := range rows {
		for j, v := range r {
			var ok bool
			switch c := cols[j].(type) {
			case []string:
				c[i], ok = v.(string)
			case []int64:
				var n int
				if n, ok = v.(int); ok {
					c[i] = int64(n)
				} else {
					c[i], ok = v.(int64)
				}
			}
			if !ok {
				return nil, fmt.Errorf("column %d holds %T and %T", j+1, rows[0][j], v)
			}
		}
	}
	return cols, nil
}

// discard forgets the puts held back: what a savepoint rolled back.
func (t *tx) discard() {
	for _, p := range t.pending {
		p.rows, p.byKey = p.rows[:0], map[string]int{}
	}
}

// unnestSQL is the table's upsert of rows sent as one array a column, in
// PostgreSQL's SQL: one statement, prepared once, whatever the rows. A
// multi-row VALUES took a parameter a value, thousands a statement, and
// PostgreSQL spent more parsing and planning them than writing the rows.
// The arrays' types are those of the Go values the table's values
// function gives, the same for every record.
func (tb *table[T]) unnestSQL() (string, error) {
	tb.unnestOnce.Do(func() {
		var zero T
		vals := tb.values(&zero)
		types := make([]string, len(vals))
		for j, v := range vals {
			typ := arrayType(v)
			if typ == "" {
				tb.unnestErr = fmt.Errorf("column %s holds %T", tb.cols[j], v)
				return
			}
			types[j] = "$" + strconv.Itoa(j+1) + "::" + typ + "[]"
		}
		q := tb.upsertSQL()
		head := q[:strings.Index(q, " VALUES ")]
		tail := q[strings.Index(q, " ON CONFLICT"):]
		tb.unnestQ = head + " SELECT * FROM unnest(" + strings.Join(types, ", ") + ")" + tail
	})
	return tb.unnestQ, tb.unnestErr
}
