package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/catsync/catsync/internal/daytime"
	"github.com/catsync/catsync/workflows"
)

// Report is what Apply did, by schedule id.
type Report struct {
	Created   []string `json:"created"`
	Updated   []string `json:"updated"`
	Unchanged []string `json:"unchanged"`
	// Unnamed are schedules with the catsync- prefix the file does not
	// name; Pruned those of them deleted (with prune).
	Unnamed []string `json:"unnamed"`
	Pruned  []string `json:"pruned"`
	// Changes says, per updated schedule, what differed.
	Changes map[string][]string `json:"changes,omitempty"`
}

// Changed reports whether Apply changed anything.
func (r *Report) Changed() bool { return len(r.Created)+len(r.Updated)+len(r.Pruned) > 0 }

// Detail says in words what changed, for the audit trail.
func (r *Report) Detail() string {
	var parts []string
	if len(r.Created) > 0 {
		parts = append(parts, "created "+strings.Join(r.Created, ", "))
	}
	for _, id := range r.Updated {
		parts = append(parts, fmt.Sprintf("updated %s (%s)", id, strings.Join(r.Changes[id], ", ")))
	}
	if len(r.Pruned) > 0 {
		parts = append(parts, "deleted "+strings.Join(r.Pruned, ", ")+" (no longer in the file)")
	}
	return strings.Join(parts, "; ")
}

// Apply makes the namespace hold the wanted schedules: it creates those
// missing and updates those that differ in spec, action or policies (a
// paused schedule stays paused); it reports the catsync- schedules the
// wanted ones do not name, and with prune deletes them.
func Apply(ctx context.Context, c client.Client, wants []Want, prune bool) (*Report, error) {
	sc := c.ScheduleClient()
	rep := &Report{Changes: map[string][]string{}}
	named := map[string]bool{}
	for i := range wants {
		w := &wants[i]
		named[w.ID] = true
		h := sc.GetHandle(ctx, w.ID)
		desc, err := h.Describe(ctx)
		if isNotFound(err) {
			if _, err := sc.Create(ctx, w.Options); err != nil {
				return rep, fmt.Errorf("create schedule %s: %w", w.ID, err)
			}
			rep.Created = append(rep.Created, w.ID)
			continue
		}
		if err != nil {
			return rep, fmt.Errorf("describe schedule %s: %w", w.ID, err)
		}
		diff, err := Diff(w, desc)
		if err != nil {
			return rep, err
		}
		if len(diff) == 0 {
			rep.Unchanged = append(rep.Unchanged, w.ID)
			continue
		}
		err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			spec := w.Options.Spec
			s.Spec, s.Action = &spec, w.Options.Action
			s.Policy = &client.SchedulePolicies{Overlap: w.Options.Overlap, CatchupWindow: w.Options.CatchupWindow,
				PauseOnFailure: w.Options.PauseOnFailure}
			return &client.ScheduleUpdate{Schedule: &s}, nil
		}})
		if err != nil {
			return rep, fmt.Errorf("update schedule %s (%s): %w", w.ID, strings.Join(diff, ", "), err)
		}
		rep.Updated = append(rep.Updated, w.ID)
		rep.Changes[w.ID] = diff
	}
	all, err := List(ctx, c)
	if err != nil {
		return rep, err
	}
	for _, s := range all {
		if named[s.ID] {
			continue
		}
		rep.Unnamed = append(rep.Unnamed, s.ID)
		if prune {
			if err := sc.GetHandle(ctx, s.ID).Delete(ctx); err != nil && !isNotFound(err) {
				return rep, fmt.Errorf("delete schedule %s: %w", s.ID, err)
			}
			rep.Pruned = append(rep.Pruned, s.ID)
		}
	}
	return rep, nil
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// shape is what Apply compares of a schedule, normalized so that a
// schedule as described equals the options it was created from.
type shape struct {
	spec                        client.ScheduleSpec
	workflow, workflowID, queue string
	input                       string
	attrs                       map[string]string
	overlap                     enumspb.ScheduleOverlapPolicy
	catchUp                     time.Duration
	pauseOnFailure              bool
}

// Diff names what differs between the wanted schedule and the described
// one (spec, workflow, input, ...); none when they agree.
func Diff(w *Want, d *client.ScheduleDescription) ([]string, error) {
	want, err := shapeOf(&w.Options.Spec, w.Options.Action, &client.SchedulePolicies{Overlap: w.Options.Overlap,
		CatchupWindow: w.Options.CatchupWindow, PauseOnFailure: w.Options.PauseOnFailure})
	if err != nil {
		return nil, fmt.Errorf("schedule %s: %w", w.ID, err)
	}
	got, err := shapeOf(d.Schedule.Spec, d.Schedule.Action, d.Schedule.Policy)
	if err != nil {
		return nil, fmt.Errorf("schedule %s as described: %w", w.ID, err)
	}
	var diff []string
	for _, f := range []struct {
		name string
		same bool
	}{
		{"spec", reflect.DeepEqual(want.spec, got.spec)},
		{"workflow type", want.workflow == got.workflow},
		{"workflow id", want.workflowID == got.workflowID},
		{"task queue", want.queue == got.queue},
		{"input", want.input == got.input},
		{"search attributes", reflect.DeepEqual(want.attrs, got.attrs)},
		{"overlap policy", want.overlap == got.overlap},
		{"catch-up window", want.catchUp == got.catchUp},
		{"pause on failure", want.pauseOnFailure == got.pauseOnFailure},
	} {
		if !f.same {
			diff = append(diff, f.name)
		}
	}
	return diff, nil
}

func shapeOf(spec *client.ScheduleSpec, act client.ScheduleAction, pol *client.SchedulePolicies) (shape, error) {
	var s shape
	if spec != nil {
		s.spec = normalSpec(*spec)
	}
	if pol != nil {
		s.overlap, s.catchUp, s.pauseOnFailure = pol.Overlap, pol.CatchupWindow, pol.PauseOnFailure
	}
	a, ok := act.(*client.ScheduleWorkflowAction)
	if !ok {
		return s, fmt.Errorf("its action is not a workflow start")
	}
	s.workflowID, s.queue = a.ID, a.TaskQueue
	switch wf := a.Workflow.(type) {
	case string:
		s.workflow = wf
	default:
		s.workflow = funcName(wf)
	}
	if len(a.Args) != 1 {
		return s, fmt.Errorf("its workflow takes %d arguments, want 1", len(a.Args))
	}
	var err error
	if s.input, err = canonicalInput(s.workflow, a.Args[0]); err != nil {
		return s, err
	}
	s.attrs = map[string]string{}
	for k, v := range a.TypedSearchAttributes.GetUntypedValues() {
		s.attrs[k.GetName()] = fmt.Sprint(v)
	}
	for k, p := range a.UntypedSearchAttributes {
		s.attrs[k] = string(p.GetData())
	}
	return s, nil
}

// canonicalInput is the workflow's input as JSON of its type, whether the
// argument is the value or the payload Describe returns.
func canonicalInput(workflow string, arg any) (string, error) {
	var v any
	switch workflow {
	case SyncWorkflowName:
		v = &workflows.SyncInput{}
	case workflows.DrillWorkflow:
		v = &workflows.DrillInput{}
	default:
		v = &map[string]any{}
	}
	if p, ok := arg.(*commonpb.Payload); ok {
		if err := converter.GetDefaultDataConverter().FromPayload(p, v); err != nil {
			return "", fmt.Errorf("its input does not decode as %s's: %w", workflow, err)
		}
	} else {
		b, err := json.Marshal(arg)
		if err != nil {
			return "", err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return "", err
		}
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// normalSpec fills what the SDK defaults and the server may return
// differently: empty lists, a range's missing end and step.
func normalSpec(s client.ScheduleSpec) client.ScheduleSpec {
	cals := func(in []client.ScheduleCalendarSpec) []client.ScheduleCalendarSpec {
		if len(in) == 0 {
			return nil
		}
		out := make([]client.ScheduleCalendarSpec, len(in))
		for i, c := range in {
			out[i] = client.ScheduleCalendarSpec{
				Second: ranges(c.Second, 0, 0), Minute: ranges(c.Minute, 0, 0), Hour: ranges(c.Hour, 0, 0),
				DayOfMonth: ranges(c.DayOfMonth, 1, 31), Month: ranges(c.Month, 1, 12), DayOfWeek: ranges(c.DayOfWeek, 0, 6),
				Year: ranges(c.Year, -1, -1), Comment: c.Comment,
			}
		}
		return out
	}
	n := client.ScheduleSpec{Calendars: cals(s.Calendars), Skip: cals(s.Skip), CronExpressions: s.CronExpressions,
		StartAt: s.StartAt.UTC(), EndAt: s.EndAt.UTC(), Jitter: s.Jitter, TimeZoneName: s.TimeZoneName}
	if len(n.CronExpressions) == 0 {
		n.CronExpressions = nil
	}
	if len(s.Intervals) > 0 {
		n.Intervals = s.Intervals
	}
	return n
}

// ranges normalizes a field's ranges; an absent field is [lo, hi] (lo < 0:
// every value, as for years).
func ranges(rs []client.ScheduleRange, lo, hi int) []client.ScheduleRange {
	if len(rs) == 0 {
		if lo < 0 {
			return nil
		}
		return span(lo, hi)
	}
	out := make([]client.ScheduleRange, len(rs))
	for i, r := range rs {
		if r.End < r.Start {
			r.End = r.Start
		}
		if r.Step == 0 {
			r.Step = 1
		}
		out[i] = r
	}
	return out
}

// Summary is one catsync schedule, as list shows it.
type Summary struct {
	ID       string      `json:"id"`
	Store    string      `json:"store"`
	Kind     string      `json:"kind"`
	Workflow string      `json:"workflow"`
	When     string      `json:"when"`
	Paused   bool        `json:"paused"`
	Note     string      `json:"note,omitempty"`
	Next     []time.Time `json:"next,omitempty"`
	Last     *time.Time  `json:"last,omitempty"` // the newest action's actual time
}

// List returns the schedules whose id has the catsync- prefix, by id.
// Temporal lists from its visibility store, which may lag a change by a
// moment.
func List(ctx context.Context, c client.Client) ([]Summary, error) {
	it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	var out []Summary
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		if !strings.HasPrefix(e.ID, Prefix) {
			continue
		}
		s := Summary{ID: e.ID, Store: memoString(e.Memo, MemoStore), Kind: memoString(e.Memo, MemoKind),
			Workflow: e.WorkflowType.Name, Paused: e.Paused, Note: e.Note, Next: e.NextActionTimes}
		if e.Spec != nil {
			s.When = DescribeSpec(e.Spec)
		}
		if n := len(e.RecentActions); n > 0 {
			t := e.RecentActions[n-1].ActualTime
			s.Last = &t
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Summary) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func memoString(m *commonpb.Memo, key string) string {
	p := m.GetFields()[key]
	if p == nil {
		return ""
	}
	var s string
	if converter.GetDefaultDataConverter().FromPayload(p, &s) != nil {
		return ""
	}
	return s
}

// StoreSchedules returns the ids of the data store's schedules: those
// whose memo names the store, and those with its ids (found by describing
// them, so one created a moment ago, not yet listed, is not missed).
func StoreSchedules(ctx context.Context, c client.Client, storeID string) ([]string, error) {
	all, err := List(ctx, c)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, s := range all {
		if s.Store == storeID {
			ids = append(ids, s.ID)
		}
	}
	for _, kind := range Kinds {
		id := ID(storeID, kind)
		if slices.Contains(ids, id) {
			continue
		}
		_, err := c.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
		switch {
		case err == nil:
			ids = append(ids, id)
		case !isNotFound(err):
			return nil, fmt.Errorf("describe schedule %s: %w", id, err)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// PauseStore pauses every schedule of the data store (a failover does, so
// that no import runs into a promoted store) and returns their ids; note
// says why, in the schedules' state.
func PauseStore(ctx context.Context, c client.Client, storeID, note string) ([]string, error) {
	if note == "" {
		note = "paused by catsync for data store " + storeID
	}
	return eachOfStore(ctx, c, storeID, "pause", func(h client.ScheduleHandle) error {
		return h.Pause(ctx, client.SchedulePauseOptions{Note: note})
	})
}

// UnpauseStore resumes every schedule of the data store and returns their
// ids. Missed times are not caught up: Temporal skips what fell due while
// a schedule was paused.
func UnpauseStore(ctx context.Context, c client.Client, storeID, note string) ([]string, error) {
	if note == "" {
		note = "unpaused by catsync for data store " + storeID
	}
	return eachOfStore(ctx, c, storeID, "unpause", func(h client.ScheduleHandle) error {
		return h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: note})
	})
}

func eachOfStore(ctx context.Context, c client.Client, storeID, verb string, fn func(client.ScheduleHandle) error) ([]string, error) {
	ids, err := StoreSchedules(ctx, c, storeID)
	if err != nil {
		return nil, fmt.Errorf("%s the schedules of data store %s: %w", verb, storeID, err)
	}
	for i, id := range ids {
		if err := fn(c.ScheduleClient().GetHandle(ctx, id)); err != nil {
			return ids[:i], fmt.Errorf("%s schedule %s of data store %s: %w", verb, id, storeID, err)
		}
	}
	return ids, nil
}

// DescribeSpec says when a spec runs: "daily at 06:30 (Europe/Paris),
// quiet window 02:00-03:30 skipped".
func DescribeSpec(s *client.ScheduleSpec) string {
	var parts []string
	for _, c := range s.Calendars {
		at := "?"
		if len(c.Hour) == 1 && len(c.Minute) == 1 && len(c.Second) <= 1 {
			sec := 0
			if len(c.Second) == 1 {
				sec = c.Second[0].Start
			}
			at = daytime.Clock(c.Hour[0].Start*3600 + c.Minute[0].Start*60 + sec)
		}
		switch {
		case single(c.DayOfMonth):
			parts = append(parts, fmt.Sprintf("monthly on day %d at %s", c.DayOfMonth[0].Start, at))
		case single(c.DayOfWeek):
			parts = append(parts, fmt.Sprintf("weekly on %s at %s", time.Weekday(c.DayOfWeek[0].Start), at))
		default:
			parts = append(parts, "daily at "+at)
		}
	}
	if len(s.Intervals) > 0 || len(s.CronExpressions) > 0 {
		parts = append(parts, "intervals or cron (not catsync's)")
	}
	out := strings.Join(parts, ", ")
	if tz := s.TimeZoneName; tz != "" {
		out += " (" + tz + ")"
	} else {
		out += " (UTC)"
	}
	if len(s.Skip) > 0 {
		if q, _, ok := strings.Cut(strings.TrimPrefix(s.Skip[0].Comment, "quiet window "), " "); ok && strings.HasPrefix(s.Skip[0].Comment, "quiet window ") {
			out += ", quiet window " + q + " skipped"
		} else {
			out += ", some times skipped"
		}
	}
	return out
}

func single(rs []client.ScheduleRange) bool {
	return len(rs) == 1 && (rs[0].End <= rs[0].Start)
}

func describeOptions(o *client.ScheduleOptions) string {
	out := DescribeSpec(&o.Spec)
	if a, ok := o.Action.(*client.ScheduleWorkflowAction); ok {
		name, _ := a.Workflow.(string)
		if name == "" {
			name = funcName(a.Workflow)
		}
		out += ": " + name + " " + a.ID
	}
	return out
}
