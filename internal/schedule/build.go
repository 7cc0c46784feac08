package schedule

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/catsync/catsync/internal/daytime"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/workflows"
)

// Prefix begins the id of every schedule catsync manages: Apply reports
// (and with prune deletes) those the file no longer names.
const Prefix = "catsync-"

// ID is the schedule id of a store's schedule of a kind:
// catsync-DS_PROD-daily-update.
func ID(storeID, kind string) string { return Prefix + storeID + "-" + kind }

// SyncWorkflowID and DrillWorkflowID are the workflow ids of the runs the
// schedules start; Temporal appends the scheduled time
// (catsync-sync-DS_PROD-2026-12-02T06:30:00Z).
func SyncWorkflowID(storeID string) string  { return Prefix + "sync-" + storeID }
func DrillWorkflowID(storeID string) string { return Prefix + "drill-" + storeID }

// Memo keys of a schedule, so that a store's schedules are found whatever
// their id.
const (
	MemoStore = "catsync_store"
	MemoKind  = "catsync_kind"
)

// Sites are the site names the runs are given (their workers' queues are
// catsync.<site>), as catsync sync takes them from the environment.
type Sites struct{ Primary, Secondary string }

// Want is a schedule as the file wants it.
type Want struct {
	ID, Store, Kind string
	Options         client.ScheduleOptions
}

// Describe says in words when the schedule runs and what.
func (w *Want) Describe() string { return describeOptions(&w.Options) }

// SyncWorkflowName is the type name of workflows.CatalogSync, as the worker
// registers it (by its function).
var SyncWorkflowName = funcName(workflows.CatalogSync)

func funcName(fn any) string {
	name := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	return name[strings.LastIndex(name, ".")+1:]
}

// Build returns the schedules of the configuration, store by store in the
// order of Kinds.
func (c *Config) Build(sites Sites) ([]Want, error) {
	switch {
	case sites.Primary == "" || sites.Secondary == "":
		return nil, errors.New("schedules need both site names (CATSYNC_PRIMARY_NAME and CATSYNC_SECONDARY_NAME)")
	case strings.EqualFold(sites.Primary, sites.Secondary):
		return nil, fmt.Errorf("schedules: primary and secondary sites are both %s", sites.Primary)
	}
	var out []Want
	for i := range c.Stores {
		st := &c.Stores[i]
		for _, kind := range Kinds {
			t := st.Schedules()[kind]
			if t == nil {
				continue
			}
			out = append(out, Want{ID: ID(st.ID, kind), Store: st.ID, Kind: kind, Options: client.ScheduleOptions{
				ID:            ID(st.ID, kind),
				Spec:          c.Spec(st.ID, kind, t),
				Action:        action(st, kind, t, sites, c.window()),
				Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
				CatchupWindow: c.CatchUpWindow,
				Memo:          map[string]any{MemoStore: st.ID, MemoKind: kind},
			}})
		}
	}
	return out, nil
}

// Spec is when a schedule runs: one calendar in the file's time zone, the
// quiet window skipped, no jitter (Temporal skips nominal times, so a
// jittered start could still land in the quiet window).
func (c *Config) Spec(storeID, kind string, t *Timing) client.ScheduleSpec {
	cal := client.ScheduleCalendarSpec{
		Second: one(t.At % 60), Minute: one(t.At / 60 % 60), Hour: one(t.At / 3600),
		DayOfMonth: span(1, 31), Month: span(1, 12), DayOfWeek: span(0, 6),
	}
	what := map[string]string{DailyUpdate: "daily UPDATE", MonthlyFull: "monthly FULL", WeeklyDrill: "weekly DR drill"}[kind]
	files := map[bool]string{true: "with DISKFILEs", false: "without DISKFILEs"}[t.CatalogFiles]
	switch kind {
	case MonthlyFull:
		cal.DayOfMonth = one(t.Day)
	case WeeklyDrill:
		cal.DayOfWeek = one(int(t.Weekday))
	}
	cal.Comment = fmt.Sprintf("%s of %s %s", what, storeID, files)
	return client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{cal}, Skip: c.skip(), TimeZoneName: c.TimeZone}
}

func one(v int) []client.ScheduleRange { return []client.ScheduleRange{{Start: v, End: v, Step: 1}} }
func span(lo, hi int) []client.ScheduleRange {
	return []client.ScheduleRange{{Start: lo, End: hi, Step: 1}}
}

// skip is the quiet window as calendars: Temporal skips a time only when
// every field matches, seconds included, so each hour the window touches
// gets its minutes (whole hours share one calendar).
func (c *Config) skip() []client.ScheduleCalendarSpec {
	q := c.Quiet
	if q == nil {
		return nil
	}
	var out []client.ScheduleCalendarSpec
	comment := "quiet window " + q.String() + " (DSM/TC expiration): no import starts"
	add := func(hours, minutes []client.ScheduleRange) {
		out = append(out, client.ScheduleCalendarSpec{Second: span(0, 59), Minute: minutes, Hour: hours,
			DayOfMonth: span(1, 31), Month: span(1, 12), DayOfWeek: span(0, 6), Comment: comment})
	}
	// Minutes of the day [a, b); a window past midnight is two segments.
	segment := func(a, b int) {
		full := -1 // first hour of a run of whole hours
		flush := func(h int) {
			if full >= 0 {
				add(span(full, h-1), span(0, 59))
				full = -1
			}
		}
		for h := a / 60; h <= (b-1)/60; h++ {
			lo, hi := max(a, h*60)-h*60, min(b-1, h*60+59)-h*60
			if lo == 0 && hi == 59 {
				if full < 0 {
					full = h
				}
				continue
			}
			flush(h)
			add(one(h), span(lo, hi))
		}
		flush((b-1)/60 + 1)
	}
	start, end := q.Start/60, q.End/60
	if start < end {
		segment(start, end)
	} else {
		segment(start, daytime.Day/60)
		if end > 0 {
			segment(0, end)
		}
	}
	return out
}

// window is what each run holds itself to: Temporal applies the catch-up
// and quiet windows when it starts a run, the run again when its workers
// first take it and when its apply is due.
func (c *Config) window() *workflows.StartWindow {
	w := &workflows.StartWindow{CatchUp: c.CatchUpWindow}
	if q := c.Quiet; q != nil {
		w.Quiet = &workflows.QuietWindow{Span: *q, Zone: c.Location.String()}
	}
	return w
}

func action(st *StoreConfig, kind string, t *Timing, sites Sites, w *workflows.StartWindow) *client.ScheduleWorkflowAction {
	a := &client.ScheduleWorkflowAction{TaskQueue: workflows.TaskQueue}
	if kind == WeeklyDrill {
		a.ID, a.Workflow = DrillWorkflowID(st.ID), workflows.DrillWorkflow
		a.Args = []any{workflows.DrillInput{Store: st.ID, Primary: sites.Primary, Secondary: sites.Secondary,
			CatalogFiles: t.CatalogFiles, NodePairs: st.NodePairs, RestoreSample: t.RestoreSample, RestoreBudget: t.RestoreBudget, Window: w}}
		// Set at start, so the Web UI's CatsyncStore filter finds a drill
		// even before (or without) its workflow upserting it.
		a.TypedSearchAttributes = temporal.NewSearchAttributes(workflows.StoreKey.ValueSet(st.ID))
		return a
	}
	typ := snapshot.Update
	if kind == MonthlyFull {
		typ = snapshot.Full
	}
	a.ID, a.Workflow = SyncWorkflowID(st.ID), SyncWorkflowName
	a.Args = []any{workflows.SyncInput{Store: st.ID, Type: typ, CatalogFiles: t.CatalogFiles, Primary: sites.Primary,
		Secondary: sites.Secondary, NodePairs: st.NodePairs, RestoreSample: t.RestoreSample, RestoreBudget: t.RestoreBudget, Window: w}}
	a.TypedSearchAttributes = temporal.NewSearchAttributes(workflows.StoreKey.ValueSet(st.ID), workflows.TypeKey.ValueSet(string(typ)))
	return a
}
