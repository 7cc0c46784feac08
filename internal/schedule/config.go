// Package schedule turns an operator's schedules file (YAML) into Temporal
// Schedules for catsync: per data store a daily UPDATE with DISKFILEs, a
// monthly FULL without and a weekly DR drill, in one time zone, never
// starting in the quiet window of DSM/TC's daily expiration. Apply makes the
// Temporal namespace hold what the file says; PauseStore and UnpauseStore
// stop and resume a store's schedules (a failover pauses them).
package schedule

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/daytime"
	"github.com/catsync/catsync/internal/importer"
)

// File is a schedules file as written (docs/schedules.md).
type File struct {
	// TimeZone is the IANA name the times of day are read in: the
	// secondary system's, since its quiet window is local time.
	TimeZone string `yaml:"time_zone"`
	// CatchUpWindow is how late a missed start may still be taken (the
	// Temporal server down at the due time); later ones are dropped.
	CatchUpWindow string `yaml:"catch_up_window"`
	// QuietWindow is DSM/TC's daily expiration (PARAM AUTOEXPIRE^TIME):
	// no import may start in it.
	QuietWindow *Window           `yaml:"quiet_window"`
	Stores      map[string]*Store `yaml:"stores"`
}

// Window is a span of the day, start included, end excluded; it may pass
// midnight (23:30 to 00:30).
type Window struct {
	Start string `yaml:"start"`
	End   string `yaml:"end"`
}

// Store holds one data store's schedules; one left out is not scheduled.
type Store struct {
	// NodeMap rewrites DISKFILE names, as sync --node-map does.
	NodeMap     string `yaml:"node_map"`
	DailyUpdate *Entry `yaml:"daily_update"`
	MonthlyFull *Entry `yaml:"monthly_full"`
	WeeklyDrill *Entry `yaml:"weekly_drill"`
}

// Entry is one schedule: when, and what the run it starts is given.
type Entry struct {
	At      string `yaml:"at"`      // time of day, HH:MM or HH:MM:SS
	Day     int    `yaml:"day"`     // monthly_full only: day of the month, 1-28
	Weekday string `yaml:"weekday"` // weekly_drill only: monday ... sunday
	// CatalogFiles overrides the schedule's default: yes for the daily
	// UPDATE and the drill, no for the monthly FULL.
	CatalogFiles  *bool  `yaml:"catalog_files"`
	RestoreSample int    `yaml:"restore_sample"`
	RestoreBudget string `yaml:"restore_budget"`
}

// Kinds of schedule: the file's key, and the suffix of the schedule id.
const (
	DailyUpdate = "daily-update"
	MonthlyFull = "monthly-full"
	WeeklyDrill = "weekly-drill"
)

// Kinds lists the kinds in the order a store's schedules are shown.
var Kinds = []string{DailyUpdate, MonthlyFull, WeeklyDrill}

// key is the file's name of a kind.
func key(kind string) string { return strings.ReplaceAll(kind, "-", "_") }

// MinCatchUpWindow is the Temporal server's floor: a shorter window is
// silently raised to it, so the file may not ask for less.
const MinCatchUpWindow = 10 * time.Second

// Config is a validated schedules file.
type Config struct {
	TimeZone      string
	Location      *time.Location
	CatchUpWindow time.Duration
	Quiet         *Span // nil: no quiet window
	Stores        []StoreConfig
}

// Span is a validated Window, in seconds of the day.
type Span = daytime.Span

// StoreConfig is a validated Store; a nil schedule is not scheduled.
type StoreConfig struct {
	ID        string
	NodePairs []importer.NodePair
	Daily     *Timing
	Monthly   *Timing
	Drill     *Timing
}

// Timing is a validated Entry.
type Timing struct {
	At            int // seconds of the day
	Day           int // monthly
	Weekday       time.Weekday
	CatalogFiles  bool
	RestoreSample int
	RestoreBudget time.Duration
}

// Schedules returns the store's schedules by kind, those set only.
func (s *StoreConfig) Schedules() map[string]*Timing {
	m := map[string]*Timing{}
	for kind, t := range map[string]*Timing{DailyUpdate: s.Daily, MonthlyFull: s.Monthly, WeeklyDrill: s.Drill} {
		if t != nil {
			m[kind] = t
		}
	}
	return m
}

// Error is what is wrong with a schedules file, each problem naming where
// it is (stores.DS_PROD.daily_update.at) and the value.
type Error struct {
	File     string
	Problems []string
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return fmt.Sprintf("schedules file %s: %s", e.File, e.Problems[0])
	}
	return fmt.Sprintf("schedules file %s: %d problems:\n  %s", e.File, len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// Parse reads and validates a schedules file; name is how errors call it.
// Every problem is reported, not only the first.
func Parse(r io.Reader, name string) (*Config, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("schedules file %s: %w", name, err)
	}
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{name, []string{"is empty: it needs time_zone, catch_up_window and stores"}}
		}
		return nil, &Error{name, yamlProblems(err)}
	}
	return f.Validate(name)
}

// Go type names in yaml.v3's messages, as the file's readers know them.
var yamlTypes = strings.NewReplacer(
	"in type schedule.File", "at the top level (time_zone, catch_up_window, quiet_window, stores)",
	"in type schedule.Window", "in a quiet_window (start, end)",
	"in type schedule.Store", "in a store (node_map, daily_update, monthly_full, weekly_drill)",
	"in type schedule.Entry", "in a schedule (at, day, weekday, catalog_files, restore_sample, restore_budget)",
	"into int", "into a whole number", "into bool", "into yes/no (true or false)",
	"into map[string]*schedule.Store", "into the stores (a map of data store id to schedules)",
	"into schedule.", "into a ",
)

func yamlProblems(err error) []string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		out := make([]string, len(te.Errors))
		for i, e := range te.Errors {
			out[i] = yamlTypes.Replace(strings.Replace(e, "field ", "unknown field ", 1))
		}
		return out
	}
	return []string{yamlTypes.Replace(strings.TrimPrefix(err.Error(), "yaml: "))}
}

// Validate checks a decoded file; name is how errors call it.
func (f *File) Validate(name string) (*Config, error) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	c := &Config{TimeZone: f.TimeZone}

	switch tz := f.TimeZone; {
	case tz == "":
		bad("time_zone is required: the IANA name of the secondary system's time zone, such as Europe/Paris or UTC")
	case tz == "Local":
		bad("time_zone %q: name the zone (such as Europe/Paris): the Temporal server's local zone is not the secondary's", tz)
	default:
		loc, err := time.LoadLocation(tz)
		if err != nil {
			bad("time_zone %q is not a known IANA time zone (such as Europe/Paris or UTC)", tz)
		}
		c.Location = loc
	}
	switch w := f.CatchUpWindow; {
	case w == "":
		bad("catch_up_window is required: how late a missed start may still run, such as 1h (Temporal's default, a year, would start a stale sync days later)")
	default:
		d, err := time.ParseDuration(w)
		switch {
		case err != nil:
			bad("catch_up_window %q is not a duration, such as 30m or 1h", w)
		case d < MinCatchUpWindow:
			bad("catch_up_window %q is below Temporal's minimum of %s", w, MinCatchUpWindow)
		default:
			c.CatchUpWindow = d
		}
	}
	if q := f.QuietWindow; q != nil {
		s, errS := clock(q.Start, false)
		e, errE := clock(q.End, false)
		if errS != nil {
			bad("quiet_window.start %q: %v", q.Start, errS)
		}
		if errE != nil {
			bad("quiet_window.end %q: %v", q.End, errE)
		}
		if errS == nil && errE == nil {
			if s == e {
				bad("quiet_window %s-%s is empty: start and end are the same time", q.Start, q.End)
			} else {
				c.Quiet = &Span{Start: s, End: e}
			}
		}
	}
	if len(f.Stores) == 0 {
		bad("stores is empty: name at least one data store and its schedules")
	}
	ids := make([]string, 0, len(f.Stores))
	for id := range f.Stores {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		st := f.Stores[id]
		where := "stores." + id
		if !catalog.ValidStoreID(id) {
			bad("%s: data store id %q %s", where, id, catalog.StoreIDRule)
			continue
		}
		if st == nil {
			bad("%s has no schedules: give daily_update, monthly_full or weekly_drill, or remove the store", where)
			continue
		}
		sc := StoreConfig{ID: id}
		pairs, err := importer.ParseNodePairs(st.NodeMap)
		if err != nil {
			bad("%s.node_map %q: %v", where, st.NodeMap, err)
		}
		sc.NodePairs = pairs
		entries := []struct {
			kind string
			e    *Entry
			t    **Timing
		}{{DailyUpdate, st.DailyUpdate, &sc.Daily}, {MonthlyFull, st.MonthlyFull, &sc.Monthly}, {WeeklyDrill, st.WeeklyDrill, &sc.Drill}}
		for _, en := range entries {
			if en.e != nil {
				*en.t = en.e.validate(where+"."+key(en.kind), en.kind, c, bad)
			}
		}
		if st.DailyUpdate == nil && st.MonthlyFull == nil && st.WeeklyDrill == nil {
			bad("%s has no schedules: give daily_update, monthly_full or weekly_drill, or remove the store", where)
		}
		// Two runs of one store due at once race for its lease, and one fails.
		for i, a := range entries {
			for _, b := range entries[i+1:] {
				if *a.t != nil && *b.t != nil && (*a.t).At == (*b.t).At {
					bad("%s.%s.at %s is also %s.%s.at: both would start at once on some days and one would fail on the store's lease; give them different times",
						where, key(b.kind), b.e.At, where, key(a.kind))
				}
			}
		}
		c.Stores = append(c.Stores, sc)
	}
	if len(problems) > 0 {
		return nil, &Error{name, problems}
	}
	return c, nil
}

var weekdays = map[string]time.Weekday{}

func init() {
	for d := time.Sunday; d <= time.Saturday; d++ {
		n := strings.ToLower(d.String())
		weekdays[n], weekdays[n[:3]] = d, d
	}
}

func (e *Entry) validate(where, kind string, c *Config, bad func(string, ...any)) *Timing {
	t := &Timing{CatalogFiles: kind != MonthlyFull, RestoreSample: e.RestoreSample}
	ok := true
	fail := func(format string, args ...any) { ok = false; bad(format, args...) }
	if e.CatalogFiles != nil {
		t.CatalogFiles = *e.CatalogFiles
	}
	at, err := clock(e.At, true)
	switch {
	case e.At == "":
		fail("%s.at is required: the time of day, such as 06:30", where)
	case err != nil:
		fail("%s.at %q: %v", where, e.At, err)
	}
	t.At = at
	switch {
	case kind == MonthlyFull && e.Day == 0:
		fail("%s.day is required: the day of the month, from 1 to 28", where)
	case kind == MonthlyFull && (e.Day < 1 || e.Day > 28):
		fail("%s.day %d: want a day of the month from 1 to 28 (one every month has)", where, e.Day)
	case kind != MonthlyFull && e.Day != 0:
		fail("%s.day: only monthly_full takes a day of the month", where)
	}
	t.Day = e.Day
	if kind == WeeklyDrill {
		d, found := weekdays[strings.ToLower(strings.TrimSpace(e.Weekday))]
		if e.Weekday == "" {
			fail("%s.weekday is required: the day of the week, monday to sunday", where)
		} else if !found {
			fail("%s.weekday %q: want a day of the week, monday to sunday", where, e.Weekday)
		}
		t.Weekday = d
	} else if e.Weekday != "" {
		fail("%s.weekday: only weekly_drill takes a day of the week", where)
	}
	if e.RestoreSample < 0 {
		fail("%s.restore_sample %d: want a number of volumes, 0 or more (0: the workflow's default)", where, e.RestoreSample)
	}
	if e.RestoreBudget != "" {
		d, err := time.ParseDuration(e.RestoreBudget)
		if err != nil || d < 0 {
			fail("%s.restore_budget %q is not a duration, such as 20m", where, e.RestoreBudget)
		}
		t.RestoreBudget = d
	}
	if err == nil && c.Quiet != nil {
		q := c.Quiet
		if q.Contains(at) {
			fail("%s.at %s is inside quiet_window %s: DSM/TC's expiration runs then; move it outside the window", where, e.At, q)
		} else if c.CatchUpWindow > 0 && reachedFrom(q, at, c.CatchUpWindow) {
			// Temporal skips the quiet window's nominal times only: a start
			// taken late, within the catch-up window, could land in it.
			fail("%s.at %s: a start caught up to %s late (catch_up_window) would land in quiet_window %s; start it earlier or after %s, or shorten catch_up_window",
				where, e.At, c.CatchUpWindow, q, daytime.Clock(q.End))
		}
	}
	if !ok {
		return nil
	}
	return t
}

// reachedFrom reports whether a start at second s of the day, taken up to
// late later, can fall in q: two arcs of the day meet when one holds the
// other's start.
func reachedFrom(q *Span, s int, late time.Duration) bool {
	if late >= daytime.Day*time.Second {
		return true
	}
	return q.Contains(s) || time.Duration((q.Start-s+daytime.Day)%daytime.Day)*time.Second <= late
}

var clockRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?$`)

// clock parses a time of day, HH:MM (or HH:MM:SS when seconds are
// allowed), into seconds of the day.
func clock(s string, seconds bool) (int, error) {
	m := clockRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil || (m[3] != "" && !seconds) {
		if seconds {
			return 0, errors.New("want a time of day, HH:MM or HH:MM:SS on a 24-hour clock, such as 06:30")
		}
		return 0, errors.New("want a time of day, HH:MM on a 24-hour clock, such as 02:00")
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	sec := 0
	if m[3] != "" {
		sec, _ = strconv.Atoi(m[3])
	}
	return h*3600 + mi*60 + sec, nil
}
