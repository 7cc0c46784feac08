package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/daytime"
)

// StartWindow bounds when a scheduled run does its work. The schedule's
// catch-up window and quiet window act only on when Temporal starts a run;
// a run started on time whose workers were down may first run hours later,
// and a long snapshot may bring its apply into DSM/TC's daily expiration.
// The run holds itself to both.
type StartWindow struct {
	// Scheduled is the run's nominal time; zero means the
	// TemporalScheduledStartTime its schedule gave it.
	Scheduled time.Time `json:"scheduled,omitempty"`
	// CatchUp is how late after Scheduled the run may begin its work; a
	// run that begins later ends Skipped. Zero: any time.
	CatchUp time.Duration `json:"catch_up,omitempty"`
	// Quiet is DSM/TC's daily expiration: an apply due in it waits for
	// its end.
	Quiet *QuietWindow `json:"quiet,omitempty"`
}

// QuietWindow is a span of the day in a time zone, start included, end
// excluded; it may pass midnight.
type QuietWindow struct {
	daytime.Span
	Zone string `json:"zone"` // IANA name
}

// OutcomeSkipped is a scheduled run that did nothing because it began past
// its catch-up window.
const OutcomeSkipped = "Skipped"

func (w *StartWindow) validate() error {
	switch {
	case w == nil:
		return nil
	case w.CatchUp < 0:
		return fmt.Errorf("catch_up %s is negative", w.CatchUp)
	case w.Quiet == nil:
		return nil
	}
	q := w.Quiet
	switch {
	case q.Start < 0 || q.Start >= daytime.Day || q.End < 0 || q.End >= daytime.Day:
		return fmt.Errorf("quiet start %d and end %d must be seconds of the day, 0 to %d", q.Start, q.End, daytime.Day-1)
	case q.Start == q.End:
		return fmt.Errorf("quiet window %s is empty", q)
	case q.Zone == "":
		return errors.New("quiet window: zone is required")
	}
	return nil
}

// scheduledKey is the search attribute a schedule sets on each run.
var scheduledKey = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")

// scheduled is the run's nominal time, zero when it has none (a manual run).
func (w *StartWindow) scheduled(ctx workflow.Context) time.Time {
	if !w.Scheduled.IsZero() {
		return w.Scheduled
	}
	t, _ := workflow.GetTypedSearchAttributes(ctx).GetTime(scheduledKey)
	return t
}

// missed says why a run that begins now is past its catch-up window, or ""
// when it is not (or has no window).
func (w *StartWindow) missed(ctx workflow.Context) string {
	if w == nil || w.CatchUp <= 0 {
		return ""
	}
	at := w.scheduled(ctx)
	if at.IsZero() {
		return ""
	}
	late := workflow.Now(ctx).Sub(at)
	if late <= w.CatchUp {
		return ""
	}
	return fmt.Sprintf("scheduled for %s, it began %s later, past its catch-up window of %s: the next scheduled run takes over",
		at.UTC().Format(time.RFC3339), late.Round(time.Second), w.CatchUp)
}

// forChild is the window a child run of a scheduled run keeps: the quiet
// window, the parent's nominal time, and no catch-up window of its own (the
// parent checked it when it began).
func (w *StartWindow) forChild(ctx workflow.Context) *StartWindow {
	if w == nil || w.Quiet == nil {
		return nil
	}
	return &StartWindow{Scheduled: w.scheduled(ctx), Quiet: w.Quiet}
}

// quietEnd is when the quiet window that holds now ends, zero when now is
// outside it. The zone is read once, as a side effect, so a replay on a
// machine with other zone data takes the same decision.
func (w *StartWindow) quietEnd(ctx workflow.Context) (time.Time, error) {
	if w == nil || w.Quiet == nil {
		return time.Time{}, nil
	}
	var out quietAnswer
	q, now := *w.Quiet, workflow.Now(ctx)
	err := workflow.SideEffect(ctx, func(workflow.Context) any {
		loc, err := time.LoadLocation(q.Zone)
		if err != nil {
			return quietAnswer{Err: err.Error()}
		}
		return quietAnswer{End: q.endAfter(now.In(loc))}
	}).Get(&out)
	switch {
	case err != nil:
		return time.Time{}, err
	case out.Err != "":
		return time.Time{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("quiet window: time zone %q: %s", q.Zone, out.Err), activities.TypeConfig, nil)
	}
	return out.End, nil
}

// quietAnswer is what quietEnd's side effect records.
type quietAnswer struct {
	End time.Time
	Err string
}

// endAfter is the end of the window that holds t (in the window's zone),
// zero when t is outside it. The window is wall-clock time: on a day the
// clocks change it still ends at its end.
func (q QuietWindow) endAfter(t time.Time) time.Time {
	sec := daytime.Second(t)
	if !q.Contains(sec) {
		return time.Time{}
	}
	d := t
	if q.Start > q.End && sec >= q.Start { // the evening part of a window past midnight
		d = t.AddDate(0, 0, 1)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), q.End/3600, q.End/60%60, q.End%60, 0, t.Location())
}

// String is the window as the schedules file writes it, with its zone.
func (q QuietWindow) String() string { return q.Span.String() + " " + q.Zone }
