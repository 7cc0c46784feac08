package schedule

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/catsync/catsync/internal/daytime"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/workflows"
)

var sites = Sites{Primary: `\PRIM`, Secondary: `\SECD`}

func parse(t *testing.T, text string) (*Config, error) {
	t.Helper()
	return Parse(strings.NewReader(text), "test.yaml")
}

func mustParse(t *testing.T, text string) *Config {
	t.Helper()
	c, err := parse(t, text)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The example the docs show parses, and builds the schedules they name.
func TestExampleFile(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "docs", "schedules.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := Parse(f, "schedules.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wants, err := c.Build(sites)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, w := range wants {
		ids = append(ids, w.ID)
	}
	want := []string{"catsync-DS_ARCH-daily-update", "catsync-DS_PROD-daily-update", "catsync-DS_PROD-monthly-full", "catsync-DS_PROD-weekly-drill"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("ids %v, want %v", ids, want)
	}
}

const good = `
time_zone: Europe/Paris
catch_up_window: 1h
quiet_window: {start: "02:00", end: "03:30"}
stores:
  DS_PROD:
    node_map: '\PRIM=\PRIMDR'
    daily_update: {at: "06:30", restore_sample: 12, restore_budget: 20m}
    monthly_full: {day: 1, at: "04:00"}
    weekly_drill: {weekday: Sat, at: "08:00:30", restore_sample: 100}
`

func TestBuild(t *testing.T) {
	wants, err := mustParse(t, good).Build(sites)
	if err != nil {
		t.Fatal(err)
	}
	if len(wants) != 3 {
		t.Fatalf("%d schedules, want 3", len(wants))
	}
	pairs := []importer.NodePair{{From: `\PRIM`, To: `\PRIMDR`}}
	daily, monthly, drill := wants[0], wants[1], wants[2]
	// Every run holds itself to the file's windows too.
	window := &workflows.StartWindow{CatchUp: time.Hour, Quiet: &workflows.QuietWindow{Span: daytime.Span{Start: 2 * 3600, End: 3*3600 + 1800}, Zone: "Europe/Paris"}}

	if daily.ID != "catsync-DS_PROD-daily-update" || daily.Options.ID != daily.ID {
		t.Errorf("daily id %q", daily.ID)
	}
	o := daily.Options
	if o.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP || o.CatchupWindow != time.Hour {
		t.Errorf("policies: overlap %v, catch-up %v", o.Overlap, o.CatchupWindow)
	}
	if o.Spec.TimeZoneName != "Europe/Paris" || len(o.Spec.CronExpressions) > 0 || len(o.Spec.Calendars) != 1 || o.Spec.Jitter != 0 {
		t.Errorf("spec %+v", o.Spec)
	}
	cal := o.Spec.Calendars[0]
	if cal.Hour[0].Start != 6 || cal.Minute[0].Start != 30 || cal.Second[0].Start != 0 || cal.DayOfMonth[0] != (client.ScheduleRange{Start: 1, End: 31, Step: 1}) {
		t.Errorf("daily calendar %+v", cal)
	}
	if o.Memo[MemoStore] != "DS_PROD" || o.Memo[MemoKind] != DailyUpdate {
		t.Errorf("memo %v", o.Memo)
	}
	a := o.Action.(*client.ScheduleWorkflowAction)
	wantIn := workflows.SyncInput{Store: "DS_PROD", Type: snapshot.Update, CatalogFiles: true, Primary: `\PRIM`, Secondary: `\SECD`,
		NodePairs: pairs, RestoreSample: 12, RestoreBudget: 20 * time.Minute, Window: window}
	if a.ID != "catsync-sync-DS_PROD" || a.Workflow != "CatalogSync" || a.TaskQueue != workflows.TaskQueue || !reflect.DeepEqual(a.Args, []any{wantIn}) {
		t.Errorf("daily action %+v", a)
	}
	if v, _ := a.TypedSearchAttributes.GetKeyword(workflows.StoreKey); v != "DS_PROD" {
		t.Errorf("daily CatsyncStore %q", v)
	}

	mc := monthly.Options.Spec.Calendars[0]
	if mc.DayOfMonth[0].Start != 1 || mc.DayOfMonth[0].End != 1 || mc.Hour[0].Start != 4 {
		t.Errorf("monthly calendar %+v", mc)
	}
	in := monthly.Options.Action.(*client.ScheduleWorkflowAction).Args[0].(workflows.SyncInput)
	if in.Type != snapshot.Full || in.CatalogFiles {
		t.Errorf("monthly input %+v: want FULL without DISKFILEs", in)
	}

	dc := drill.Options.Spec.Calendars[0]
	if dc.DayOfWeek[0].Start != int(time.Saturday) || dc.Second[0].Start != 30 || dc.Hour[0].Start != 8 {
		t.Errorf("drill calendar %+v", dc)
	}
	da := drill.Options.Action.(*client.ScheduleWorkflowAction)
	wantDrill := workflows.DrillInput{Store: "DS_PROD", Primary: `\PRIM`, Secondary: `\SECD`, CatalogFiles: true, NodePairs: pairs, RestoreSample: 100, Window: window}
	if drill.ID != "catsync-DS_PROD-weekly-drill" || da.ID != "catsync-drill-DS_PROD" || da.Workflow != workflows.DrillWorkflow ||
		!reflect.DeepEqual(da.Args, []any{wantDrill}) {
		t.Errorf("drill %s action %+v", drill.ID, da)
	}
	if got := DescribeSpec(&drill.Options.Spec); got != "weekly on Saturday at 08:00:30 (Europe/Paris), quiet window 02:00-03:30 skipped" {
		t.Errorf("DescribeSpec: %q", got)
	}
	if _, err := mustParse(t, good).Build(Sites{Primary: `\PRIM`}); err == nil || !strings.Contains(err.Error(), "CATSYNC_SECONDARY_NAME") {
		t.Errorf("no secondary site: %v", err)
	}
}

// The quiet window becomes skip calendars that match every second of it and
// none outside, whichever hours it spans, midnight included.
func TestQuietWindowSkip(t *testing.T) {
	for _, w := range [][2]string{{"02:00", "03:30"}, {"02:15", "02:45"}, {"01:50", "05:10"}, {"23:30", "00:30"}, {"22:00", "00:00"}, {"00:00", "01:00"}} {
		c := mustParse(t, `
time_zone: UTC
catch_up_window: 10s
quiet_window: {start: "`+w[0]+`", end: "`+w[1]+`"}
stores: {DS: {daily_update: {at: "12:00"}}}
`)
		skip := c.skip()
		for s := 0; s < daytime.Day; s++ {
			if got, want := matchesAny(skip, s), c.Quiet.Contains(s); got != want {
				t.Fatalf("window %s-%s: second %s skipped %v, want %v (%d calendars)", w[0], w[1], daytime.Clock(s), got, want, len(skip))
			}
		}
	}
}

func matchesAny(cals []client.ScheduleCalendarSpec, s int) bool {
	in := func(rs []client.ScheduleRange, v int) bool {
		for _, r := range rs {
			if v >= r.Start && v <= max(r.End, r.Start) {
				return true
			}
		}
		return false
	}
	for _, c := range cals {
		if in(c.Hour, s/3600) && in(c.Minute, s/60%60) && in(c.Second, s%60) {
			return true
		}
	}
	return false
}

func TestRefused(t *testing.T) {
	for _, c := range []struct {
		text string
		want []string
	}{
		{`time_zone: Mars/Olympus
catch_up_window: 1h
stores: {DS_PROD: {daily_update: {at: "06:30"}}}`, []string{`time_zone "Mars/Olympus"`, "IANA"}},
		{`catch_up_window: 1h
stores: {DS_PROD: {daily_update: {at: "06:30"}}}`, []string{"time_zone is required"}},
		{`time_zone: UTC
catch_up_window: an hour
stores: {DS_PROD: {daily_update: {at: "06:30"}}}`, []string{`catch_up_window "an hour" is not a duration`}},
		{`time_zone: UTC
catch_up_window: 2s
stores: {DS_PROD: {daily_update: {at: "06:30"}}}`, []string{`catch_up_window "2s"`, "minimum of 10s"}},
		{`time_zone: UTC
stores: {DS_PROD: {daily_update: {at: "06:30"}}}`, []string{"catch_up_window is required"}},
		{`time_zone: UTC
catch_up_window: 1h
stores: {DS_PROD: {daily_update: {at: "6h30"}}}`, []string{`stores.DS_PROD.daily_update.at "6h30"`, "HH:MM"}},
		{`time_zone: UTC
catch_up_window: 1h
stores: {DS_PROD: {daily_update: {at: "06:30", restore_budget: soon}}}`, []string{`stores.DS_PROD.daily_update.restore_budget "soon" is not a duration`}},
		{`time_zone: UTC
catch_up_window: 1h
stores: {DS_PROD: {monthly_full: {day: 31, at: "04:00"}}}`, []string{"stores.DS_PROD.monthly_full.day 31", "1 to 28"}},
		{`time_zone: UTC
catch_up_window: 1h
stores: {DS_PROD: {weekly_drill: {weekday: caturday, at: "04:00"}}}`, []string{`stores.DS_PROD.weekly_drill.weekday "caturday"`}},
		{`time_zone: UTC
catch_up_window: 1h
stores: {DS_PROD: {daily_update: {at: "06:30", weekday: monday}}}`, []string{"stores.DS_PROD.daily_update.weekday", "only weekly_drill"}},
		{`time_zone: UTC
catch_up_window: 1h
stores: {DS_PROD: {daily_update: {at: "06:30", restore_samples: 3}}}`, []string{"line 3", "unknown field restore_samples", "in a schedule"}},
		{`time_zone: UTC
catch_up_window: 1h
stores: {DS_PROD: {daily_updates: {at: "06:30"}}}`, []string{"unknown field daily_updates", "in a store"}},
		{`time_zone: UTC
catchup: 1h
stores: {DS_PROD: {daily_update: {at: "06:30"}}}`, []string{"unknown field catchup", "at the top level"}},
		{`time_zone: UTC
catch_up_window: 1h
stores: {DS_PROD: {daily_update: {at: "06:30", restore_sample: ten}}}`, []string{"line 3", "`ten`", "whole number"}},
		{`time_zone: UTC
catch_up_window: 1h
quiet_window: {start: "02:00", end: "03:30"}
stores: {DS_PROD: {daily_update: {at: "02:30"}}}`, []string{"stores.DS_PROD.daily_update.at 02:30 is inside quiet_window 02:00-03:30"}},
		{`time_zone: UTC
catch_up_window: 1h
quiet_window: {start: "02:00", end: "03:30"}
stores: {DS_PROD: {monthly_full: {day: 1, at: "01:30"}}}`, []string{"stores.DS_PROD.monthly_full.at 01:30", "caught up to 1h0m0s late", "quiet_window 02:00-03:30"}},
		{`time_zone: UTC
catch_up_window: 1h
quiet_window: {start: "23:30", end: "00:30"}
stores: {DS_PROD: {daily_update: {at: "00:10"}}}`, []string{"stores.DS_PROD.daily_update.at 00:10 is inside quiet_window 23:30-00:30"}},
		{`time_zone: UTC
catch_up_window: 1h
quiet_window: {start: "02:00", end: "2:30"}
stores: {DS_PROD: {daily_update: {at: "06:30"}}}`, []string{`quiet_window.end "2:30"`}},
		{`time_zone: UTC
catch_up_window: 1h
stores: {DS_PROD: {daily_update: {at: "06:30"}, monthly_full: {day: 1, at: "06:30"}}}`, []string{"stores.DS_PROD.monthly_full.at 06:30 is also stores.DS_PROD.daily_update.at", "lease"}},
		{`time_zone: UTC
catch_up_window: 1h
stores: {DS_PROD: {node_map: 'PRIM=SECD', daily_update: {at: "06:30"}}}`, []string{`stores.DS_PROD.node_map "PRIM=SECD"`}},
		{`time_zone: UTC
catch_up_window: 1h
stores: {DS_PROD: {}}`, []string{"stores.DS_PROD has no schedules"}},
		{``, []string{"is empty"}},
	} {
		_, err := parse(t, c.text)
		if err == nil {
			t.Errorf("accepted:\n%s", c.text)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		}
		if !strings.Contains(err.Error(), "test.yaml") {
			t.Errorf("error %q does not name the file", err)
		}
	}
}

// Every problem is told at once.
func TestAllProblems(t *testing.T) {
	_, err := parse(t, `time_zone: Nowhere
catch_up_window: 1h
stores:
  A: {daily_update: {at: "25:00"}}
  B: {weekly_drill: {at: "08:00"}}
`)
	var e *Error
	if !errors.As(err, &e) || len(e.Problems) != 3 {
		t.Fatalf("%v", err)
	}
}

// A schedule as Describe would return it (payload args, server defaults)
// does not differ from the options it came from; a changed time does.
func TestDiff(t *testing.T) {
	wants, _ := mustParse(t, good).Build(sites)
	w := wants[0]
	same := described(t, &w)
	if d, err := Diff(&w, same); err != nil || len(d) != 0 {
		t.Errorf("diff of the same schedule: %v %v", d, err)
	}
	other, _ := mustParse(t, strings.Replace(good, `at: "06:30", restore_sample: 12`, `at: "06:45", restore_sample: 13`, 1)).Build(sites)
	if d, _ := Diff(&other[0], same); !reflect.DeepEqual(d, []string{"spec", "input"}) {
		t.Errorf("diff after a change of time and sample: %v", d)
	}
}

func described(t *testing.T, w *Want) *client.ScheduleDescription {
	t.Helper()
	a := *w.Options.Action.(*client.ScheduleWorkflowAction)
	p, err := converter.GetDefaultDataConverter().ToPayload(a.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	a.Args = []any{p}
	spec := w.Options.Spec
	// The server's form: ranges without end or step for one value.
	spec.Calendars = append([]client.ScheduleCalendarSpec(nil), spec.Calendars...)
	spec.Calendars[0].Hour = []client.ScheduleRange{{Start: spec.Calendars[0].Hour[0].Start}}
	spec.Intervals = []client.ScheduleIntervalSpec{}
	return &client.ScheduleDescription{Schedule: client.Schedule{Action: &a, Spec: &spec,
		Policy: &client.SchedulePolicies{Overlap: w.Options.Overlap, CatchupWindow: w.Options.CatchupWindow}}}
}
