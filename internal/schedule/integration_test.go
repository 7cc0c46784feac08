package schedule

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/catsync/catsync/internal/temporaltest"
)

func TestMain(m *testing.M) { temporaltest.Main(m) }

// soon is a time of day in UTC d from now, HH:MM:SS, and that instant.
func soon(d time.Duration) (string, time.Time) {
	at := time.Now().UTC().Add(d).Truncate(time.Second)
	return at.Format("15:04:05"), at
}

// file is a schedules file in UTC of one store with a daily UPDATE at the
// time given, the quiet window twelve hours away.
func file(store, at, catchUp string) string {
	h, _ := time.Parse("15:04:05", at)
	q := h.Add(12 * time.Hour)
	return fmt.Sprintf(`time_zone: UTC
catch_up_window: %s
quiet_window: {start: "%s", end: "%s"}
stores:
  %s:
    daily_update: {at: "%s", restore_sample: 3}
`, catchUp, q.Format("15:04"), q.Add(time.Hour).Format("15:04"), store, at)
}

func build(t *testing.T, text string) []Want {
	t.Helper()
	w, err := mustParse(t, text).Build(sites)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func apply(t *testing.T, c client.Client, text string, prune bool) *Report {
	t.Helper()
	r, err := Apply(context.Background(), c, build(t, text), prune)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func cleanup(t *testing.T, c client.Client, ids ...string) {
	t.Cleanup(func() {
		for _, id := range ids {
			_ = c.ScheduleClient().GetHandle(context.Background(), id).Delete(context.Background())
		}
	})
}

func describe(t *testing.T, c client.Client, id string) *client.ScheduleDescription {
	t.Helper()
	d, err := c.ScheduleClient().GetHandle(context.Background(), id).Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// eventually waits up to limit for ok.
func eventually(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(limit); !ok(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("after %s: %s", limit, what)
		}
	}
}

// Applying the same file twice changes nothing the second time; a changed
// time is an update (a paused schedule stays paused); a schedule the file
// stopped naming is reported, and deleted only with prune.
func TestApply(t *testing.T) {
	c := temporaltest.Client(t)
	ctx := context.Background()
	two := `time_zone: Europe/Paris
catch_up_window: 1h
quiet_window: {start: "02:00", end: "03:30"}
stores:
  AP_ONE:
    node_map: '\PRIM=\PRIMDR'
    daily_update: {at: "06:30", restore_sample: 12, restore_budget: 20m}
    monthly_full: {day: 1, at: "04:00"}
    weekly_drill: {weekday: saturday, at: "08:00"}
  AP_TWO:
    daily_update: {at: "07:00"}
`
	ids := []string{"catsync-AP_ONE-daily-update", "catsync-AP_ONE-monthly-full", "catsync-AP_ONE-weekly-drill", "catsync-AP_TWO-daily-update"}
	cleanup(t, c, ids...)
	r := apply(t, c, two, false)
	if !reflect.DeepEqual(r.Created, ids) || len(r.Updated)+len(r.Unchanged) != 0 {
		t.Fatalf("first apply: %+v", r)
	}
	r = apply(t, c, two, false)
	if !reflect.DeepEqual(r.Unchanged, ids) || r.Changed() {
		t.Fatalf("second apply changed something: %+v", r)
	}

	d := describe(t, c, ids[0])
	if d.Schedule.Policy.CatchupWindow != time.Hour || d.Schedule.Policy.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP ||
		d.Schedule.Spec.TimeZoneName != "Europe/Paris" || len(d.Schedule.Spec.Skip) == 0 || len(d.Schedule.Spec.CronExpressions) != 0 {
		t.Errorf("described: policy %+v, spec %+v", d.Schedule.Policy, d.Schedule.Spec)
	}
	if memoString(d.Memo, MemoStore) != "AP_ONE" {
		t.Errorf("memo %v", d.Memo)
	}
	// Every next time is 06:30 in Paris, none in the quiet window.
	paris, _ := time.LoadLocation("Europe/Paris")
	for _, n := range d.Info.NextActionTimes {
		if l := n.In(paris); l.Hour() != 6 || l.Minute() != 30 {
			t.Errorf("next action at %s", l)
		}
	}

	paused, err := PauseStore(ctx, c, "AP_ONE", "failover test")
	if err != nil || !reflect.DeepEqual(paused, ids[:3]) {
		t.Fatalf("PauseStore: %v %v", paused, err)
	}
	if d := describe(t, c, ids[3]); d.Schedule.State.Paused {
		t.Errorf("PauseStore AP_ONE paused %s", ids[3])
	}
	moved := strings.Replace(two, `at: "06:30"`, `at: "06:45"`, 1)
	r = apply(t, c, moved, false)
	if !reflect.DeepEqual(r.Updated, ids[:1]) || !reflect.DeepEqual(r.Changes[ids[0]], []string{"spec"}) || len(r.Unchanged) != 3 {
		t.Fatalf("apply of a moved time: %+v", r)
	}
	if d := describe(t, c, ids[0]); !d.Schedule.State.Paused || d.Schedule.State.Note != "failover test" {
		t.Errorf("the update unpaused the schedule: %+v", d.Schedule.State)
	}
	if r = apply(t, c, moved, false); r.Changed() {
		t.Errorf("apply after the update: %+v", r)
	}
	resumed, err := UnpauseStore(ctx, c, "AP_ONE", "")
	if err != nil || !reflect.DeepEqual(resumed, ids[:3]) || describe(t, c, ids[0]).Schedule.State.Paused {
		t.Fatalf("UnpauseStore: %v %v", resumed, err)
	}

	one := moved[:strings.Index(moved, "  AP_TWO:")]
	r = apply(t, c, one, false)
	if !reflect.DeepEqual(r.Unnamed, ids[3:]) || len(r.Pruned) != 0 || r.Changed() {
		t.Fatalf("apply without AP_TWO: %+v", r)
	}
	describe(t, c, ids[3]) // still there
	r = apply(t, c, one, true)
	if !reflect.DeepEqual(r.Pruned, ids[3:]) || !r.Changed() || !strings.Contains(r.Detail(), "deleted catsync-AP_TWO-daily-update") {
		t.Fatalf("apply --prune: %+v", r)
	}
	if _, err := c.ScheduleClient().GetHandle(ctx, ids[3]).Describe(ctx); !isNotFound(err) {
		t.Errorf("pruned schedule still described: %v", err)
	}
}

// A paused schedule starts nothing when its time comes; unpaused, the
// same schedule starts its workflow (queued: no worker is needed). A
// trigger while paused does start one: Temporal takes manual actions
// whatever the pause (the CLI refuses them without --force).
func TestPause(t *testing.T) {
	c := temporaltest.Client(t)
	ctx := context.Background()
	at, due := soon(6 * time.Second)
	const id = "catsync-PA_ONE-daily-update"
	cleanup(t, c, id)
	if r := apply(t, c, file("PA_ONE", at, "1m"), false); !reflect.DeepEqual(r.Created, []string{id}) {
		t.Fatalf("apply: %+v", r)
	}
	if _, err := PauseStore(ctx, c, "PA_ONE", ""); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(due) + 3*time.Second)
	if d := describe(t, c, id); d.Info.NumActions != 0 || len(d.Info.RecentActions) != 0 {
		t.Fatalf("paused schedule took %d actions: %+v", d.Info.NumActions, d.Info.RecentActions)
	}

	if err := c.ScheduleClient().GetHandle(ctx, id).Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	var started string
	eventually(t, 10*time.Second, "a trigger of the paused schedule started nothing", func() bool {
		if a := describe(t, c, id).Info.RecentActions; len(a) == 1 {
			started = a[0].StartWorkflowResult.WorkflowID
		}
		return started != ""
	})
	if !strings.HasPrefix(started, "catsync-sync-PA_ONE-") {
		t.Errorf("triggered workflow %s", started)
	}
	_ = c.TerminateWorkflow(ctx, started, "", "test over")

	// Unpaused, its next due time starts a run. (Apply with a time a few
	// seconds ahead: the one above has passed.)
	at, due = soon(6 * time.Second)
	if r := apply(t, c, file("PA_ONE", at, "1m"), false); len(r.Updated) != 1 {
		t.Fatalf("apply of the new time: %+v", r)
	}
	if _, err := UnpauseStore(ctx, c, "PA_ONE", ""); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(due))
	eventually(t, 10*time.Second, "the unpaused schedule did not start its run", func() bool {
		return len(describe(t, c, id).Info.RecentActions) == 2
	})
	a := describe(t, c, id).Info.RecentActions[1]
	want := "catsync-sync-PA_ONE-" + due.Format(time.RFC3339)
	if a.StartWorkflowResult.WorkflowID != want || !a.ScheduleTime.Equal(due) {
		t.Errorf("scheduled run %s at %s, want %s", a.StartWorkflowResult.WorkflowID, a.ScheduleTime, want)
	}
	_ = c.TerminateWorkflow(ctx, a.StartWorkflowResult.WorkflowID, "", "test over")
}

// The catch-up window, on a dev server stopped over a due time and
// started again: the schedule whose window the outage exceeds drops the
// start (counted as missed), the one whose window covers it starts late.
func TestCatchUpWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("stops a dev server for 25s")
	}
	db := filepath.Join(t.TempDir(), "temporal.db")
	srv := temporaltest.Persistent(t, db, true)
	c := srv.Client()
	at, due := soon(5 * time.Second)
	apply(t, c, file("CU_SHORT", at, "10s"), false)
	apply(t, c, file("CU_LONG", at, "5m"), false)
	// Described, each scheduler workflow has run once and set its timer
	// (one that never ran would start counting from the restart).
	for _, id := range []string{"catsync-CU_SHORT-daily-update", "catsync-CU_LONG-daily-update"} {
		if d := describe(t, c, id); len(d.Info.NextActionTimes) == 0 || !d.Info.NextActionTimes[0].Equal(due) {
			t.Fatalf("%s next action times %v, want %s first", id, d.Info.NextActionTimes, due)
		}
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	down := time.Until(due) + 20*time.Second
	time.Sleep(down)
	srv = temporaltest.Persistent(t, db, false)
	defer srv.Stop()
	c = srv.Client()
	eventually(t, 20*time.Second, "the long window's schedule did not catch up", func() bool {
		return len(describe(t, c, "catsync-CU_LONG-daily-update").Info.RecentActions) == 1
	})
	long := describe(t, c, "catsync-CU_LONG-daily-update").Info
	if a := long.RecentActions[0]; !a.ScheduleTime.Equal(due) || a.ActualTime.Sub(due) < 15*time.Second {
		t.Errorf("caught-up start: scheduled %s, taken %s, want %s and late", a.ScheduleTime, a.ActualTime, due)
	}
	eventually(t, 10*time.Second, "the short window's schedule did not count a missed start", func() bool {
		return describe(t, c, "catsync-CU_SHORT-daily-update").Info.NumActionsMissedCatchupWindow == 1
	})
	if short := describe(t, c, "catsync-CU_SHORT-daily-update").Info; short.NumActions != 0 {
		t.Errorf("the short window's schedule took %d actions after missing its window", short.NumActions)
	}
}
