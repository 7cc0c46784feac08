package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/telemetry"
	"github.com/catsync/catsync/workflows"
)

// How long a step (or the run itself) may sit in its queue before the
// queue's workers are looked for: a worker polling takes it at once, so a
// few seconds tell it has none.
const unpolledAfter = 5 * time.Second

// waitEvery is how often a waiting sync asks its run's progress and
// describes it; a variable for tests of runs shorter than it.
var waitEvery = 2 * time.Second

// waitSync waits for a sync run to end and returns its result. Meanwhile
// it tells w what the run waits on, since a run waits without a word for
// as long as its retry policy allows: a step retried (its attempt and the
// last error, once an attempt) and a step or the run left in a queue no
// worker polls (with the worker to start).
func waitSync(ctx context.Context, tc client.Client, run client.WorkflowRun, in workflows.SyncInput, w io.Writer) (workflows.SyncResult, error) {
	return waitRun(ctx, tc, run, in, w, telemetry.IsTerminal(w))
}

// waitRun is waitSync, its progress a bar redrawn in place if bar, a line
// per step otherwise.
func waitRun(ctx context.Context, tc client.Client, run client.WorkflowRun, in workflows.SyncInput, w io.Writer, bar bool) (workflows.SyncResult, error) {
	var res workflows.SyncResult
	done := make(chan error, 1)
	go func() { done <- run.Get(ctx, &res) }()
	wt := &watch{tc: tc, run: run, in: in, w: w, attempts: map[string]int32{}, queued: map[string]time.Time{}, told: map[string]bool{},
		bar: bar}
	tick := time.NewTicker(waitEvery)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			// The result lists every step: those run between two polls
			// are told too, and the bar ends full.
			if err == nil && len(res.Steps) > 0 {
				wt.show(workflows.Progress{Step: "done", Steps: res.Steps})
			}
			if wt.bar && wt.step != "" {
				fmt.Fprintln(wt.w)
			}
			return res, err
		case <-tick.C:
			wt.progress(ctx)
			wt.look(ctx)
		}
	}
}

// watch is what a waiting sync has seen of its run and told.
type watch struct {
	tc       client.Client
	run      client.WorkflowRun
	in       workflows.SyncInput
	w        io.Writer
	attempts map[string]int32     // the last attempt told, by activity id
	queued   map[string]time.Time // when each step or run turn was first seen queued
	told     map[string]bool      // those whose queue was told unpolled
	step     string               // the last step told by the progress line
	shown    int                  // how many of the run's steps have their line
	bar      bool                 // w is a terminal: the progress line redraws in place
}

// syncSteps are the steps of a CatalogSync, for the progress bar.
var syncSteps = []string{"check", "lease", "watermark", "snapshot", "transfer", "plan", "apply", "keys", "restore", "finish", "record"}

// progress tells the run's step from its progress query.
func (wt *watch) progress(ctx context.Context) {
	v, err := wt.tc.QueryWorkflow(ctx, wt.run.GetID(), wt.run.GetRunID(), workflows.ProgressQuery)
	if err != nil {
		return // not started yet, or a passing fault
	}
	var p workflows.Progress
	if v.Get(&p) != nil || p.Step == "" {
		return
	}
	wt.show(p)
}

// show tells p: on a terminal a bar redrawn in place, with the steps done
// and the step running; otherwise a line for each step begun since the
// last one told (a step quicker than a poll included), and one for the
// run's end.
func (wt *watch) show(p workflows.Progress) {
	done := len(p.Steps)
	if done > 0 && p.Steps[done-1].Finished.IsZero() {
		done--
	}
	if wt.bar {
		wt.step = p.Step
		n := len(syncSteps)
		fill := min(done*20/n, 20)
		fmt.Fprintf(wt.w, "\r[%s%s] %d/%d %-12s", strings.Repeat("#", fill), strings.Repeat(".", 20-fill), min(done, n), n, p.Step)
		return
	}
	for ; wt.shown < len(p.Steps); wt.shown++ {
		wt.step = p.Steps[wt.shown].Name
		fmt.Fprintf(wt.w, "step %s (%d done)\n", wt.step, wt.shown)
	}
	if p.Step != wt.step {
		wt.step = p.Step
		fmt.Fprintf(wt.w, "step %s (%d done)\n", p.Step, done)
	}
}

// look describes the run once and tells what is new.
func (wt *watch) look(ctx context.Context) {
	desc, err := wt.tc.DescribeWorkflowExecution(ctx, wt.run.GetID(), wt.run.GetRunID())
	if err != nil {
		return // a passing fault; the run's outcome is what the command reports
	}
	for _, pa := range desc.GetPendingActivities() {
		step, queue := pa.GetActivityType().GetName(), pa.GetActivityOptions().GetTaskQueue().GetName()
		if n := pa.GetAttempt(); n > 1 && n > wt.attempts[pa.GetActivityId()] {
			wt.attempts[pa.GetActivityId()] = n
			of := ""
			if m := pa.GetMaximumAttempts(); m > 0 {
				of = fmt.Sprintf(" of %d", m)
			}
			fmt.Fprintf(wt.w, "step %s on %s: attempt %d%s; the previous attempt failed: %s\n", step, queue, n, of,
				pa.GetLastFailure().GetMessage())
		}
		// Scheduled, and not waiting out a retry's backoff: in its queue.
		inQueue := pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_SCHEDULED && pa.GetNextAttemptScheduleTime() == nil
		key := fmt.Sprintf("activity %s attempt %d", pa.GetActivityId(), pa.GetAttempt())
		if inQueue && queue != "" && wt.stalled(key) {
			wt.unpolled(ctx, key, "step "+step, queue, enumspb.TASK_QUEUE_TYPE_ACTIVITY, pa.GetScheduledTime().AsTime())
		}
	}
	if wft := desc.GetPendingWorkflowTask(); wft.GetState() == enumspb.PENDING_WORKFLOW_TASK_STATE_SCHEDULED {
		key := "workflow " + wft.GetScheduledTime().AsTime().String()
		if wt.stalled(key) {
			wt.unpolled(ctx, key, "the run", workflows.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW, wft.GetScheduledTime().AsTime())
		}
	}
}

// stalled reports whether what key names has been seen in its queue for
// unpolledAfter.
func (wt *watch) stalled(key string) bool {
	first, ok := wt.queued[key]
	if !ok {
		wt.queued[key] = time.Now()
		return false
	}
	return time.Since(first) >= unpolledAfter
}

// unpolled tells, once for key, that no worker has polled queue since who
// was scheduled there, and which worker to start. A poll since then would
// have taken it: a queue polled is only busy.
func (wt *watch) unpolled(ctx context.Context, key, who, queue string, typ enumspb.TaskQueueType, scheduled time.Time) {
	if wt.told[key] {
		return
	}
	resp, err := wt.tc.DescribeTaskQueue(ctx, queue, typ)
	if err != nil {
		return
	}
	var last time.Time
	var by string
	for _, p := range resp.GetPollers() {
		if at := p.GetLastAccessTime().AsTime(); at.After(last) {
			last, by = at, p.GetIdentity()
		}
	}
	if !last.Before(scheduled) {
		return
	}
	wt.told[key] = true
	seen := ""
	if by != "" {
		seen = fmt.Sprintf(" (the last poll was at %s, by %s)", last.Local().Format(time.TimeOnly), by)
	}
	fmt.Fprintf(wt.w, "%s waits: no worker is polling %s%s: %s\n", who, queue, seen, wt.remedy(queue))
}

// remedy says which worker serves queue (README: catsync-worker, configured
// by its environment).
func (wt *watch) remedy(queue string) string {
	for _, role := range []string{config.RolePrimary, config.RoleSecondary} {
		site := wt.in.Primary
		if role == config.RoleSecondary {
			site = wt.in.Secondary
		}
		if queue == activities.TaskQueue(site) {
			return fmt.Sprintf("start the %s worker (catsync-worker with %s_NAME=%s and %s in CATSYNC_SERVE)", site, config.Prefix(role), site, role)
		}
	}
	if queue == workflows.TaskQueue {
		return "start a catsync-worker running the workflows (CATSYNC_WORKFLOWS=true, its default)"
	}
	return "start the worker serving it"
}
