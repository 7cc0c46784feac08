package audit

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/catsync/catsync/internal/store"
)

// Kinds of break: what was done to the trail.
const (
	Edited     = "edited"     // a record's content (or key) does not match its hash
	Deleted    = "deleted"    // records missing: a gap in the numbering, or the newest (by the anchor)
	Inserted   = "inserted"   // a record the chain does not link to, or one added after the anchored head
	Reordered  = "reordered"  // records held in another order than they were written
	Renumbered = "renumbered" // records numbered other than written: something was inserted or deleted before them
	Unanchored = "anchor"     // the anchor is missing or unreadable
)

// Break is one place where the trail does not hold. Seq to Last are the
// records concerned, by their number in the trail (for deleted records,
// the numbers they were written with); Last is 0 for one record.
type Break struct {
	Kind   string `json:"kind"`
	Seq    int64  `json:"seq"`
	Last   int64  `json:"last,omitempty"`
	Detail string `json:"detail"`
}

func (b Break) String() string {
	switch {
	case b.Seq == 0:
		return b.Kind + ": " + b.Detail
	case b.Last == 0 || b.Last == b.Seq:
		return fmt.Sprintf("record %d %s: %s", b.Seq, b.Kind, b.Detail)
	}
	return fmt.Sprintf("records %d-%d %s: %s", b.Seq, b.Last, b.Kind, b.Detail)
}

// Result is what a walk of the trail found.
type Result struct {
	Records  int64
	HeadSeq  int64  // the newest record's number, 0 when the trail is empty
	HeadHash string // and its hash
	Breaks   []Break
}

// BrokenError says where the chain does not hold: every break found.
type BrokenError struct {
	Records int64
	Breaks  []Break
}

func (e *BrokenError) Error() string {
	parts := make([]string, len(e.Breaks))
	for i, b := range e.Breaks {
		parts[i] = b.String()
	}
	return fmt.Sprintf("audit trail broken (%s): %s", e.Summary(), strings.Join(parts, "; "))
}

// Summary counts the breaks by kind: "2 breaks in 9 records: 1 edited, 1 deleted".
func (e *BrokenError) Summary() string {
	n := map[string]int{}
	var order []string
	for _, b := range e.Breaks {
		if n[b.Kind] == 0 {
			order = append(order, b.Kind)
		}
		n[b.Kind]++
	}
	kinds := make([]string, len(order))
	for i, k := range order {
		kinds[i] = fmt.Sprintf("%d %s", n[k], k)
	}
	return fmt.Sprintf("%s in %s: %s", plural(len(e.Breaks), "break"), plural(int(e.Records), "record"), strings.Join(kinds, ", "))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// Verify walks the whole trail and checks every link and the anchor; fn,
// if set, sees each record whose entry is readable, in sequence order. It
// returns the number of records, and a *BrokenError naming every break.
func Verify(ctx context.Context, r store.Reader, fn func(store.AuditRecord, Entry) error) (int64, error) {
	res, err := Check(ctx, r, fn)
	if err == nil && len(res.Breaks) > 0 {
		err = &BrokenError{res.Records, res.Breaks}
	}
	return res.Records, err
}

// maxShift bounds the numbers tried, either side of a record's own, to find
// the one it was written with (records renumbered or swapped).
const maxShift = 8

// maxPairs bounds the records that fail their hash among which swapped
// entries or hashes are looked for (pairs: the square of it).
const maxPairs = 256

// link is what the analysis keeps of a record; entries only while their
// record's number is not known.
type link struct {
	seq, written int64 // its number in the trail; the one its hash was made with, 0 when none fits
	w            int64 // the number it is taken to have been written with
	prev, hash   string
	entry        string
	edited       bool // reported edited: its links prove nothing
	inserted     bool // reported inserted: not part of the chain
}

// viewer is a store that reads as of one moment (store.Store.View).
type viewer interface {
	View(ctx context.Context, fn func(store.Reader) error) error
}

// Check walks the whole trail as Verify does and reports every break it
// can tell apart; its error is only a read error, or fn's. On a store, it
// reads the records and the anchor as of one moment: a record appended
// meanwhile would otherwise look inserted, or deleted.
func Check(ctx context.Context, r store.Reader, fn func(store.AuditRecord, Entry) error) (Result, error) {
	v, ok := r.(viewer)
	if !ok {
		return check(ctx, r, fn)
	}
	var res Result
	err := v.View(ctx, func(r store.Reader) error {
		var err error
		res, err = check(ctx, r, fn)
		return err
	})
	return res, err
}

func check(ctx context.Context, r store.Reader, fn func(store.AuditRecord, Entry) error) (Result, error) {
	var res Result
	var links []link
	var breaks []Break
	err := r.ScanAudit(ctx, func(a *store.AuditRecord) error {
		res.Records++
		res.HeadSeq, res.HeadHash = a.Seq, a.Hash
		l := link{seq: a.Seq, prev: a.Prev, hash: a.Hash, written: writtenAs(a)}
		if l.written == 0 {
			l.entry = a.Entry
		}
		links = append(links, l)
		var e Entry
		if err := json.Unmarshal([]byte(a.Entry), &e); err != nil {
			if l.written != 0 { // otherwise its edit is reported below
				breaks = append(breaks, Break{Kind: Edited, Seq: a.Seq, Detail: "its entry is not readable: " + err.Error()})
			}
			return nil
		}
		if k := Key(e); l.written != 0 && k != a.Key {
			breaks = append(breaks, Break{Kind: Edited, Seq: a.Seq, Detail: fmt.Sprintf("its key %q is not its entry's %q", a.Key, k)})
		}
		if fn != nil {
			return fn(*a, e)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	anchor, aerr := r.Meta(ctx, store.MetaAuditHead)
	if aerr != nil && !errors.Is(aerr, store.ErrNotFound) {
		return res, fmt.Errorf("audit trail anchor: %w", aerr)
	}
	c := &chain{links: links, breaks: breaks}
	c.resolve()
	c.moved()
	c.sequence(anchor, aerr == nil)
	// By record; at one, the cause before what follows from it.
	rank := map[string]int{Unanchored: 0, Deleted: 1, Inserted: 2, Edited: 3, Reordered: 4, Renumbered: 5}
	slices.SortStableFunc(c.breaks, func(a, b Break) int {
		return cmp.Or(cmp.Compare(a.Seq, b.Seq), cmp.Compare(rank[a.Kind], rank[b.Kind]))
	})
	res.Breaks = c.breaks
	return res, nil
}

// writtenAs is the number a record was written with: its own when its hash
// holds, else a near one that makes it hold (it was renumbered), else 0.
func writtenAs(a *store.AuditRecord) int64 {
	if hash(a.Seq, a.Prev, a.Entry) == a.Hash {
		return a.Seq
	}
	for d := int64(1); d <= maxShift; d++ {
		for _, s := range []int64{a.Seq + d, a.Seq - d} {
			if s > 0 && hash(s, a.Prev, a.Entry) == a.Hash {
				return s
			}
		}
	}
	return 0
}

type chain struct {
	links  []link
	breaks []Break
}

func (c *chain) add(kind string, seq, last int64, format string, args ...any) {
	if last == seq {
		last = 0
	}
	c.breaks = append(c.breaks, Break{Kind: kind, Seq: seq, Last: last, Detail: fmt.Sprintf(format, args...)})
}

// byHash maps each hash to the first record that has it.
func (c *chain) byHash() map[string]int {
	m := make(map[string]int, len(c.links))
	for i, l := range c.links {
		if _, ok := m[l.hash]; !ok {
			m[l.hash] = i
		}
	}
	return m
}

// resolve finds the numbers of the records whose hash does not hold at
// their own: from the record their previous hash names (a record moved far),
// then as pairs that hold each other's entries or hashes (swapped); the
// rest were edited.
func (c *chain) resolve() {
	hashes := c.byHash()
	for progress := true; progress; {
		progress = false
		for i := range c.links {
			l := &c.links[i]
			if l.written != 0 {
				continue
			}
			cand := int64(1)
			if l.prev != "" {
				j, ok := hashes[l.prev]
				if !ok || c.links[j].written == 0 {
					continue
				}
				cand = c.links[j].written + 1
			}
			if hash(cand, l.prev, l.entry) == l.hash {
				l.written, l.entry, progress = cand, "", true
			}
		}
	}
	var bad []int
	for i, l := range c.links {
		if l.written == 0 {
			bad = append(bad, i)
		}
	}
	if len(bad) <= maxPairs {
		for ai, i := range bad {
			for _, j := range bad[ai+1:] {
				x, y := &c.links[i], &c.links[j]
				if x.written != 0 || y.written != 0 {
					continue
				}
				switch {
				case hash(y.seq, y.prev, x.entry) == y.hash && hash(x.seq, x.prev, y.entry) == x.hash:
					c.add(Reordered, x.seq, y.seq, "records %d and %d hold each other's entries", x.seq, y.seq)
				case hash(x.seq, x.prev, x.entry) == y.hash && hash(y.seq, y.prev, y.entry) == x.hash:
					c.add(Reordered, x.seq, y.seq, "records %d and %d hold each other's hashes", x.seq, y.seq)
					x.hash, y.hash = y.hash, x.hash
				case hash(x.seq, y.prev, x.entry) == y.hash && hash(y.seq, x.prev, y.entry) == x.hash:
					c.add(Reordered, x.seq, y.seq, "records %d and %d hold each other's previous hashes and hashes", x.seq, y.seq)
					x.hash, y.hash, x.prev, y.prev = y.hash, x.hash, y.prev, x.prev
				default:
					continue
				}
				// Their links stand as written once the swap is undone.
				x.written, y.written, x.entry, y.entry = x.seq, y.seq, "", ""
			}
		}
	}
	for i := range c.links {
		if l := &c.links[i]; l.written == 0 {
			l.edited = true
			c.add(Edited, l.seq, 0, "its content does not match its hash")
		}
	}
	// An edited record was written where the record linking to it says,
	// or else at its own number.
	next := map[string]int64{}
	for _, l := range c.links {
		if l.written != 0 {
			next[l.prev] = l.written
		}
	}
	for i := range c.links {
		l := &c.links[i]
		switch w, ok := next[l.hash]; {
		case l.written != 0:
			l.w = l.written
		case ok && w > 1:
			l.w = w - 1
		default:
			l.w = l.seq
		}
	}
}

// moved reports the records whose number is not the one they were written
// with: those that took each other's places (a cycle of them) are
// reordered; the others renumbered, by runs of one shift.
func (c *chain) moved() {
	at := map[int64]int{}
	for i, l := range c.links {
		at[l.seq] = i
	}
	isMoved := func(i int) bool { l := c.links[i]; return l.written != 0 && l.written != l.seq }
	done := make([]bool, len(c.links))
	for i := range c.links {
		if done[i] || !isMoved(i) {
			continue
		}
		cycle := []int{i}
		for cur := i; ; {
			nxt, ok := at[c.links[cur].written]
			if !ok || !isMoved(nxt) || done[nxt] || len(cycle) > len(c.links) {
				cycle = nil
				break
			}
			if nxt == i {
				break
			}
			cycle = append(cycle, nxt)
			cur = nxt
		}
		if cycle == nil {
			continue
		}
		slices.Sort(cycle)
		var said []string
		for _, k := range cycle {
			done[k] = true
			said = append(said, fmt.Sprintf("record %d was written as %d", c.links[k].seq, c.links[k].written))
		}
		c.add(Reordered, c.links[cycle[0]].seq, c.links[cycle[len(cycle)-1]].seq, "%s", strings.Join(said, ", "))
	}
	for i := 0; i < len(c.links); {
		if done[i] || !isMoved(i) {
			i++
			continue
		}
		first, shift := c.links[i], c.links[i].written-c.links[i].seq
		j := i + 1
		for j < len(c.links) && !done[j] && isMoved(j) && c.links[j].written-c.links[j].seq == shift && c.links[j].seq == c.links[j-1].seq+1 {
			j++
		}
		last := c.links[j-1]
		if first.seq == last.seq {
			c.add(Renumbered, first.seq, 0, "written as %d", first.written)
		} else {
			c.add(Renumbered, first.seq, last.seq, "written as %d-%d", first.written, last.written)
		}
		i = j
	}
}

// name is how a break names a record: by its number, and the one it was
// written with when that differs.
func (l link) name() string {
	if l.w != l.seq {
		return fmt.Sprintf("record %d (written as %d)", l.seq, l.w)
	}
	return "record " + strconv.FormatInt(l.seq, 10)
}

func span(first, last int64) string {
	if first == last {
		return "record " + strconv.FormatInt(first, 10)
	}
	return fmt.Sprintf("records %d-%d", first, last)
}

// sequence walks the records in the order they were written: two records
// written as one number (one was inserted), records after the anchored
// head (inserted), numbers missing (deleted, the newest by the anchor),
// and links that do not hold.
func (c *chain) sequence(anchor string, anchored bool) {
	order := make([]int, len(c.links))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(c.links[a].w, c.links[b].w) })

	// Of the records written as one number, the one the next links to (or
	// the anchor names) is the chain's; the others were inserted.
	linked := map[string]bool{}
	for _, l := range c.links {
		if !l.edited {
			linked[l.prev] = true
		}
	}
	anchorSeq, anchorHash, anchorErr := parseAnchor(anchor)
	for k := 0; k < len(order); {
		j := k + 1
		for j < len(order) && c.links[order[j]].w == c.links[order[k]].w {
			j++
		}
		if j-k > 1 {
			group := order[k:j]
			genuine := -1
			for _, g := range group {
				if l := c.links[g]; linked[l.hash] || anchored && anchorErr == nil && l.w == anchorSeq && l.hash == anchorHash {
					genuine = g
				}
			}
			var names []string
			for _, g := range group {
				names = append(names, strconv.FormatInt(c.links[g].seq, 10))
			}
			for _, g := range group {
				l := &c.links[g]
				switch {
				case genuine < 0:
					c.add(Inserted, l.seq, 0, "records %s were all written as %d: all but one were inserted, and the chain does not tell which",
						strings.Join(names, ", "), l.w)
				case g != genuine:
					l.inserted = true
					c.add(Inserted, l.seq, 0, "it was written as %d, as %s was, and the chain links to that one", l.w, c.links[genuine].name())
				}
			}
		}
		k = j
	}
	var chain []link
	for _, i := range order {
		if !c.links[i].inserted {
			chain = append(chain, c.links[i])
		}
	}

	// The anchor: the newest record as the last append left it.
	switch {
	case !anchored && len(chain) > 0:
		c.add(Unanchored, 0, 0, "the trail has no anchor (metadata %s): records deleted from its end would not show", store.MetaAuditHead)
	case !anchored:
	case anchorErr != nil:
		c.add(Unanchored, 0, 0, "metadata %s: %v", store.MetaAuditHead, anchorErr)
	default:
		k := slices.IndexFunc(chain, func(l link) bool { return l.hash == anchorHash })
		if k < 0 && len(chain) > 0 && chain[len(chain)-1].w >= anchorSeq {
			k = slices.IndexFunc(chain, func(l link) bool { return l.w == anchorSeq })
			if k >= 0 && !chain[k].edited {
				c.add(Inserted, chain[k].seq, 0, "it is not the record the anchor (%s) names as the newest, written as %d with hash %s: that one was replaced",
					store.MetaAuditHead, anchorSeq, anchorHash)
			}
		}
		switch {
		case k >= 0 && k < len(chain)-1:
			after := chain[k+1:]
			c.add(Inserted, after[0].seq, after[len(after)-1].seq, "added after %s, the newest the anchor (%s) knows, not by catsync",
				chain[k].name(), store.MetaAuditHead)
			chain = chain[:k+1]
		case k >= 0:
		case len(chain) == 0:
			c.add(Deleted, 1, anchorSeq, "the trail is empty, and the anchor (%s) names record %d", store.MetaAuditHead, anchorSeq)
		case chain[len(chain)-1].w < anchorSeq:
			head := chain[len(chain)-1]
			c.add(Deleted, head.w+1, anchorSeq, "from the end: the anchor (%s) names record %d, the trail ends at %s",
				store.MetaAuditHead, anchorSeq, head.name())
		default:
			c.add(Unanchored, 0, 0, "the anchor (%s) names record %d with hash %s, which the trail does not hold",
				store.MetaAuditHead, anchorSeq, anchorHash)
		}
	}

	// Numbers missing, and links, in the order written.
	for k, l := range chain {
		if k == 0 {
			switch {
			case l.w > 1:
				c.add(Deleted, 1, l.w-1, "missing before %s, the first", l.name())
			case !l.edited && l.prev != "":
				c.add(Inserted, l.seq, 0, "it is the first record but carries a previous hash: it was put in front of the trail")
				chain[0].inserted = true // what follows it says no more
			}
			continue
		}
		p := chain[k-1]
		switch {
		case l.w > p.w+1:
			c.add(Deleted, p.w+1, l.w-1, "missing between %s and %s", p.name(), l.name())
		case l.w == p.w, l.edited, p.edited, p.inserted, l.prev == p.hash:
		case slices.ContainsFunc(c.links, func(o link) bool { return o.hash == l.prev }):
			c.add(Inserted, l.seq, 0, "it does not carry the hash of %s before it, but that of another record", p.name())
		default:
			c.add(Inserted, p.seq, 0, "it is not the record written as %d: %s, written after that one, carries a hash no record has (it was replaced, or removed and another put in its place)",
				p.w, l.name())
		}
	}
}

// parseAnchor reads "SEQ HASH".
func parseAnchor(v string) (int64, string, error) {
	s, h, ok := strings.Cut(v, " ")
	n, err := strconv.ParseInt(s, 10, 64)
	if !ok || err != nil || n < 1 || h == "" {
		return 0, "", fmt.Errorf("%q is not SEQ HASH", v)
	}
	return n, h, nil
}
