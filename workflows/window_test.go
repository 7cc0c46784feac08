package workflows

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/daytime"

	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/snapshot"
)

// paris is the secondary's zone in these tests: 01:00 UTC is 02:00 there
// in December.
const paris = "Europe/Paris"

func parisTime(t *testing.T, day, hour, minute int) time.Time {
	loc, err := time.LoadLocation(paris)
	if err != nil {
		t.Fatal(err)
	}
	return time.Date(2026, 12, day, hour, minute, 0, 0, loc)
}

// scheduledSync is a daily UPDATE as its schedule starts it: due at 01:00
// Paris time, with a one-hour catch-up window and DSM/TC's expiration from
// 02:00 to 03:30.
func scheduledSync() SyncInput {
	in := input(snapshot.Update)
	in.Window = &StartWindow{CatchUp: time.Hour, Quiet: &QuietWindow{Span: daytime.Span{Start: 2 * 3600, End: 3*3600 + 1800}, Zone: paris}}
	return in
}

// A scheduled run that its workers first take past the catch-up window
// (they were down when the schedule started it) ends Skipped: it reads
// nothing, takes no lease, and says why in its result and its audit record.
// Hours pass in the test's skipped time.
func TestScheduledRunPastCatchUpWindowIsSkipped(t *testing.T) {
	env := newEnv(t)
	due := parisTime(t, 2, 1, 0)
	env.SetStartTime(due.Add(3*time.Hour + 10*time.Minute))
	if err := env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(scheduledKey.ValueSet(due))); err != nil {
		t.Fatal(err)
	}
	var records []audit.Entry
	env.OnActivity(a.Record, mock.Anything, mock.Anything).Return(func(_ context.Context, e audit.Entry) error {
		records = append(records, e)
		return nil
	})
	env.ExecuteWorkflow(CatalogSync, scheduledSync())
	var res SyncResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeSkipped || !strings.Contains(res.Note, "3h10m0s later, past its catch-up window of 1h0m0s") ||
		!strings.Contains(res.Note, "2026-12-02T00:00:00Z") {
		t.Fatalf("result: %s", res.Summary())
	}
	env.AssertNotCalled(t, "Describe", mock.Anything, mock.Anything)
	env.AssertNotCalled(t, "TakeLease", mock.Anything, mock.Anything)
	if len(records) != 1 || records[0].Outcome != OutcomeSkipped || records[0].Detail != res.Note {
		t.Fatalf("audit records %+v", records)
	}
}

// Within its catch-up window, and for a manual run (no scheduled time),
// the window changes nothing.
func TestRunWithinCatchUpWindowRuns(t *testing.T) {
	for name, late := range map[string]time.Duration{"late within the window": 59 * time.Minute, "on time": 0, "manual": -1} {
		t.Run(name, func(t *testing.T) {
			env := newEnv(t)
			due := parisTime(t, 2, 0, 30)
			if late >= 0 {
				env.SetStartTime(due.Add(late))
				if err := env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(scheduledKey.ValueSet(due))); err != nil {
					t.Fatal(err)
				}
			} else {
				env.SetStartTime(due.Add(5 * time.Hour))
			}
			var order []string
			happy(env, &order, importer.Watermark{Seq: 5})
			in := scheduledSync()
			in.Window.Quiet = nil
			env.ExecuteWorkflow(CatalogSync, in)
			var res SyncResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			if res.Outcome != OutcomeCompleted || !strings.Contains(strings.Join(order, " "), "apply") {
				t.Fatalf("outcome %s, steps %v", res.Outcome, order)
			}
		})
	}
}

// An apply due in the quiet window waits for its end, holding the lease,
// and then applies: the result shows the wait as a step of its own.
func TestApplyWaitsOutTheQuietWindow(t *testing.T) {
	env := newEnv(t)
	due := parisTime(t, 2, 1, 45)
	start := due.Add(25 * time.Minute) // 02:10, in the window
	env.SetStartTime(start)
	if err := env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(scheduledKey.ValueSet(due))); err != nil {
		t.Fatal(err)
	}
	var order []string
	happy(env, &order, importer.Watermark{Seq: 5}, "apply")
	var appliedAt time.Time
	env.OnActivity(a.Apply, mock.Anything, mock.Anything).Return(func(context.Context, activities.ImportInput) (activities.ImportResult, error) {
		appliedAt = env.Now()
		return activities.ImportResult{Sets: 3, Counts: importer.Counts{"tapefile.create": 7}}, nil
	})
	env.ExecuteWorkflow(CatalogSync, scheduledSync())
	var res SyncResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	end := parisTime(t, 2, 3, 30)
	if res.Outcome != OutcomeCompleted || appliedAt.Before(end) {
		t.Fatalf("outcome %s, applied at %s, want at or after the window's end %s", res.Outcome, appliedAt, end)
	}
	var wait *Step
	for i := range res.Steps {
		if res.Steps[i].Name == "quiet window" {
			wait = &res.Steps[i]
		}
	}
	if wait == nil || !strings.Contains(wait.Note, "02:00-03:30 Europe/Paris") || wait.Finished.Sub(wait.Started) != end.Sub(start) {
		t.Fatalf("quiet window step %+v in %+v", wait, res.Steps)
	}
	env.AssertCalled(t, "RenewLease", mock.Anything, mock.Anything) // the lease was kept while waiting
}

// A scheduled drill past its catch-up window is skipped before its first
// import; within it, its UPDATE import keeps the quiet window and the
// drill's scheduled time.
func TestScheduledDrillWindow(t *testing.T) {
	due := parisTime(t, 6, 4, 0)
	drill := DrillInput{Store: "DS_PROD", Primary: "prim", Secondary: "secd", CatalogFiles: true,
		Window: &StartWindow{CatchUp: time.Hour, Quiet: &QuietWindow{Span: daytime.Span{Start: 2 * 3600, End: 3*3600 + 1800}, Zone: paris}}}
	for name, late := range map[string]time.Duration{"skipped": 2 * time.Hour, "runs": 10 * time.Minute} {
		t.Run(name, func(t *testing.T) {
			env := newEnv(t)
			env.RegisterWorkflow(DRDrill)
			env.SetStartTime(due.Add(late))
			if err := env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(scheduledKey.ValueSet(due))); err != nil {
				t.Fatal(err)
			}
			var children []SyncInput
			env.OnWorkflow(CatalogSync, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, in SyncInput) (*SyncResult, error) {
				children = append(children, in)
				return &SyncResult{Store: in.Store, Type: in.Type, Verify: in.Verify, Outcome: map[bool]string{true: OutcomeVerified, false: OutcomeCompleted}[in.Verify]}, nil
			})
			var records []audit.Entry
			env.OnActivity(a.Record, mock.Anything, mock.Anything).Return(func(_ context.Context, e audit.Entry) error {
				records = append(records, e)
				return nil
			})
			env.ExecuteWorkflow(DRDrill, drill)
			var res DrillResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			if late > drill.Window.CatchUp {
				if res.Outcome != OutcomeSkipped || len(children) != 0 || len(records) != 1 || records[0].Detail != res.Note ||
					!strings.Contains(res.Note, "past its catch-up window") {
					t.Fatalf("%s; children %d, records %+v", res.Summary(), len(children), records)
				}
				return
			}
			if len(children) != 2 {
				t.Fatalf("%s; children %+v", res.Summary(), children)
			}
			w := children[0].Window
			if w == nil || w.CatchUp != 0 || !w.Scheduled.Equal(due) || *w.Quiet != *drill.Window.Quiet || children[1].Window != nil {
				t.Fatalf("the UPDATE's window %+v, the verification's %+v", w, children[1].Window)
			}
		})
	}
}

// The quiet window's end, for windows within a day and past midnight, on
// either side of midnight, across a change of summer time.
func TestQuietWindowEnd(t *testing.T) {
	loc, err := time.LoadLocation(paris)
	if err != nil {
		t.Fatal(err)
	}
	at := func(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, loc) }
	night := QuietWindow{Span: daytime.Span{Start: 23*3600 + 1800, End: 1800}, Zone: paris} // 23:30-00:30
	early := QuietWindow{Span: daytime.Span{Start: 2 * 3600, End: 3*3600 + 1800}, Zone: paris}
	for _, c := range []struct {
		q        QuietWindow
		now, end time.Time
	}{
		{early, at(12, 2, 1, 59), time.Time{}},
		{early, at(12, 2, 2, 0), at(12, 2, 3, 30)},
		{early, at(12, 2, 3, 29), at(12, 2, 3, 30)},
		{early, at(12, 2, 3, 30), time.Time{}},
		{night, at(12, 31, 23, 45), at(1, 1, 0, 30).AddDate(1, 0, 0)},
		{night, at(12, 2, 0, 10), at(12, 2, 0, 30)},
		{night, at(12, 2, 0, 30), time.Time{}},
		{night, at(12, 2, 23, 29), time.Time{}},
		// 25 October 2026: clocks go back at 03:00; the window still ends
		// at 03:30 wall time, 2h30m after 02:00 CEST, and 03:15 CET, 4h15m
		// after midnight, is still in it.
		{early, at(10, 25, 2, 0), at(10, 25, 3, 30)},
		{early, at(10, 25, 3, 15), at(10, 25, 3, 30)},
		{early, at(10, 25, 3, 30), time.Time{}},
	} {
		if got := c.q.endAfter(c.now); !got.Equal(c.end) {
			t.Errorf("window %s at %s: ends %s, want %s", c.q, c.now, got, c.end)
		}
	}
}

func TestWindowValidated(t *testing.T) {
	for _, c := range []struct {
		w    StartWindow
		want string
	}{
		{StartWindow{CatchUp: -time.Second}, "catch_up -1s is negative"},
		{StartWindow{Quiet: &QuietWindow{Span: daytime.Span{Start: 3600, End: 3600}, Zone: paris}}, "is empty"},
		{StartWindow{Quiet: &QuietWindow{Span: daytime.Span{Start: 3600, End: 86400}, Zone: paris}}, "seconds of the day"},
		{StartWindow{Quiet: &QuietWindow{Span: daytime.Span{Start: 3600, End: 7200}}}, "zone is required"},
	} {
		in := input(snapshot.Update)
		in.Window = &c.w
		if err := in.validate(); err == nil || !strings.Contains(err.Error(), "sync input: window: "+c.want) && !strings.Contains(err.Error(), c.want) {
			t.Errorf("window %+v: error %v, want %q", c.w, err, c.want)
		}
	}
	env := newEnv(t)
	in := scheduledSync()
	in.Window.Quiet.Zone = "Mars/Olympus"
	env.SetStartTime(parisTime(t, 2, 2, 10))
	happy(env, new([]string), importer.Watermark{Seq: 5})
	env.ExecuteWorkflow(CatalogSync, in)
	if err := env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), `time zone "Mars/Olympus"`) {
		t.Fatalf("error %v, want the unknown zone named", err)
	}
}
