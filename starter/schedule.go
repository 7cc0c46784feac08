package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/schedule"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore"
	"github.com/catsync/catsync/workflows"
)

// scheduleCLI holds what the schedule commands share.
type scheduleCLI struct {
	*cli
	operator string
	// runID keys this invocation's audit records: the trail keeps one
	// record per key, and a schedule change is no workflow run.
	runID string
}

func (c *cli) scheduleCmd() *cobra.Command {
	s := &scheduleCLI{cli: c}
	cmd := group("schedule", "Temporal Schedules of the daily UPDATE, monthly FULL and weekly drill of each data store")
	cmd.Long = `Schedules run catsync's imports on time, as NetBatch jobs run BB027_IMPORT_CATALOG:
per data store a daily UPDATE with DISKFILEs, a monthly FULL without and a weekly DR
drill, never in DSM/TC's expiration window. A schedules file (docs/schedules.md) says
what they are; apply makes Temporal hold them. Every change is recorded in the
secondary's audit trail (--catalog, default $CATSYNC_SECONDARY_CATALOG) with --operator.
Temporal comes from TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE.`
	cmd.PersistentFlags().StringVar(&s.operator, "operator", os.Getenv("USER"), "who makes the change, for the audit trail (USER's value by default)")
	cmd.AddCommand(s.applyCmd(), s.listCmd(), s.describeCmd(), s.pauseCmd(true), s.pauseCmd(false), s.triggerCmd(), s.deleteCmd())
	return cmd
}

// auditTrail opens the secondary's catalog that records the changes,
// before any change is made, so none goes unrecorded.
func (s *scheduleCLI) auditTrail(ctx context.Context) (*sqlstore.DB, error) {
	if s.operator == "" {
		return nil, errors.New("--operator is empty and USER is not set: say who makes the change")
	}
	dsn, setting := s.catalog, "--catalog"
	if dsn == "" {
		cfg, err := config.Read()
		if err != nil {
			return nil, err
		}
		dsn, setting = cfg.Secondary.Catalog, config.Prefix(config.RoleSecondary)+"_CATALOG"
	}
	if dsn == "" {
		return nil, errors.New("schedule changes are recorded in the secondary's audit trail: give --catalog SECONDARY or set CATSYNC_SECONDARY_CATALOG")
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	s.runID = "schedule-" + hex.EncodeToString(b)
	return openSite(ctx, dsn, setting)
}

// record appends one schedule record to the audit trail. The change is
// made by then: an error says so.
func (s *scheduleCLI) record(ctx context.Context, st *sqlstore.DB, scheduleID, storeID, outcome, detail, reason string) error {
	now := time.Now().UTC()
	_, err := audit.Append(ctx, st, audit.Entry{Kind: audit.KindSchedule, WorkflowID: scheduleID, RunID: s.runID, Operator: s.operator,
		Reason: reason, Detail: detail, Store: storeID, Outcome: outcome, Started: now, Finished: now})
	if err != nil {
		return fmt.Errorf("%s, but recording it in the audit trail failed: %w", detail, err)
	}
	return nil
}

func (s *scheduleCLI) applyCmd() *cobra.Command {
	var file string
	var prune bool
	cmd := &cobra.Command{
		Use:   "apply --file FILE [--prune]",
		Short: "Create and update the schedules a schedules file names; report (with --prune delete) the catsync- schedules it does not",
		Long: `Reads the schedules file (docs/schedules.md), then creates the schedules missing and
updates those whose spec, action or policies differ; a paused schedule stays paused.
Applying the same file again changes nothing. Schedules with the catsync- prefix that
the file does not name are listed, and deleted only with --prune. The runs get the
site names from CATSYNC_PRIMARY_NAME and CATSYNC_SECONDARY_NAME.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return errors.New("--file is required: the schedules file to apply (docs/schedules.example.yaml is one)")
			}
			f, err := os.Open(file)
			if err != nil {
				return config.Wrap("--file", file, err, "")
			}
			parsed, err := schedule.Parse(f, file)
			f.Close()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cfg, tc, err := connect(ctx)
			if err != nil {
				return err
			}
			defer tc.Close()
			wants, err := parsed.Build(schedule.Sites{Primary: cfg.Primary.Name, Secondary: cfg.Secondary.Name})
			if err != nil {
				return err
			}
			st, err := s.auditTrail(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := storesDefined(ctx, st, wants); err != nil {
				return err
			}
			rep, err := schedule.Apply(ctx, tc, wants, prune)
			if rep != nil {
				printApply(s.cli, rep, wants)
				if rep.Changed() {
					if aerr := s.record(ctx, st, "", oneStore(rep, wants), "applied", "schedules file "+file+": "+rep.Detail(), ""); aerr != nil {
						return errors.Join(err, aerr)
					}
				}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "the schedules file (YAML; required)")
	cmd.Flags().BoolVar(&prune, "prune", false, "delete the catsync- schedules the file does not name")
	return cmd
}

// oneStore is the data store the changes concern, when they concern one.
func oneStore(rep *schedule.Report, wants []schedule.Want) string {
	stores := map[string]bool{}
	for _, w := range wants {
		if slices.Contains(rep.Created, w.ID) || slices.Contains(rep.Updated, w.ID) {
			stores[w.Store] = true
		}
	}
	if len(stores) == 1 && len(rep.Pruned) == 0 {
		for st := range stores {
			return st
		}
	}
	return ""
}

func printApply(c *cli, rep *schedule.Report, wants []schedule.Want) {
	when := map[string]string{}
	for i := range wants {
		when[wants[i].ID] = wants[i].Describe()
	}
	tb := newTable(c.out, 0, "SCHEDULE", "RESULT", "WHEN")
	for _, id := range rep.Created {
		tb.row(id, "created", when[id])
	}
	for _, id := range rep.Updated {
		tb.row(id, "updated ("+strings.Join(rep.Changes[id], ", ")+")", when[id])
	}
	for _, id := range rep.Unchanged {
		tb.row(id, "unchanged", when[id])
	}
	for _, id := range rep.Unnamed {
		res := "not in the file: give --prune to delete it"
		if slices.Contains(rep.Pruned, id) {
			res = "deleted: not in the file"
		}
		tb.row(id, res, "-")
	}
	tb.flush()
	fmt.Fprintf(c.out, "%d created, %d updated, %d unchanged, %d not in the file, %d deleted\n",
		len(rep.Created), len(rep.Updated), len(rep.Unchanged), len(rep.Unnamed), len(rep.Pruned))
}

func (s *scheduleCLI) listCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the catsync- schedules: store, when, paused, next and last run",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, tc, err := connect(cmd.Context())
			if err != nil {
				return err
			}
			defer tc.Close()
			all, err := schedule.List(cmd.Context(), tc)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(s.out)
				for _, sm := range all {
					if err := enc.Encode(sm); err != nil {
						return err
					}
				}
				return nil
			}
			tb := newTable(s.out, 0, "SCHEDULE", "STORE", "WORKFLOW", "WHEN", "STATE", "NEXT", "LAST")
			for _, sm := range all {
				state, next, last := "active", "-", "-"
				if sm.Paused {
					state = "paused: " + sm.Note
				}
				if len(sm.Next) > 0 {
					next = sm.Next[0].UTC().Format(time.RFC3339)
				}
				if sm.Last != nil {
					last = sm.Last.UTC().Format(time.RFC3339)
				}
				tb.row(sm.ID, cmp.Or(sm.Store, "-"), sm.Workflow, sm.When, state, next, last)
			}
			tb.flush()
			fmt.Fprintf(s.out, "%d schedules\n", len(all))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON line per schedule")
	return cmd
}

// scheduleView is what describe --json prints (docs/cli-json.md).
type scheduleView struct {
	ID             string           `json:"id"`
	Store          string           `json:"store"`
	Kind           string           `json:"kind"`
	When           string           `json:"when"`
	TimeZone       string           `json:"time_zone"`
	Workflow       string           `json:"workflow"`
	WorkflowID     string           `json:"workflow_id"`
	TaskQueue      string           `json:"task_queue"`
	Input          string           `json:"input"`
	Overlap        string           `json:"overlap"`
	CatchUpWindow  string           `json:"catch_up_window"`
	Paused         bool             `json:"paused"`
	Note           string           `json:"note,omitempty"`
	Actions        int              `json:"actions"`
	MissedCatchUp  int              `json:"missed_catch_up"`
	SkippedOverlap int              `json:"skipped_overlap"`
	Next           []time.Time      `json:"next,omitempty"`
	Recent         []scheduledStart `json:"recent,omitempty"`
}

// scheduledStart is a run a schedule started.
type scheduledStart struct {
	Scheduled  time.Time `json:"scheduled"`
	Taken      time.Time `json:"taken"`
	WorkflowID string    `json:"workflow_id"`
}

// describeSchedule describes a catsync schedule, its error naming it.
func describeSchedule(ctx context.Context, tc client.Client, id string) (*client.ScheduleDescription, scheduleView, error) {
	var v scheduleView
	d, err := tc.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil, v, fmt.Errorf("schedule %s does not exist (catsync schedule list shows those there are)", id)
	}
	if err != nil {
		return nil, v, fmt.Errorf("schedule %s: %w", id, err)
	}
	v = scheduleView{ID: id, Actions: d.Info.NumActions, MissedCatchUp: d.Info.NumActionsMissedCatchupWindow,
		SkippedOverlap: d.Info.NumActionsSkippedOverlap, Next: d.Info.NextActionTimes}
	v.Store, v.Kind = memoValue(d, schedule.MemoStore), memoValue(d, schedule.MemoKind)
	if sp := d.Schedule.Spec; sp != nil {
		v.When, v.TimeZone = schedule.DescribeSpec(sp), cmp.Or(sp.TimeZoneName, "UTC")
	}
	if p := d.Schedule.Policy; p != nil {
		v.Overlap, v.CatchUpWindow = strings.TrimPrefix(p.Overlap.String(), "ScheduleOverlapPolicy"), p.CatchupWindow.String()
	}
	if st := d.Schedule.State; st != nil {
		v.Paused, v.Note = st.Paused, st.Note
	}
	if a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction); ok {
		v.Workflow, _ = a.Workflow.(string)
		v.WorkflowID, v.TaskQueue = a.ID, a.TaskQueue
		if len(a.Args) == 1 {
			if p, ok := a.Args[0].(interface{ GetData() []byte }); ok {
				v.Input = string(p.GetData())
			}
		}
	}
	for _, r := range d.Info.RecentActions {
		ss := scheduledStart{Scheduled: r.ScheduleTime, Taken: r.ActualTime}
		if r.StartWorkflowResult != nil {
			ss.WorkflowID = r.StartWorkflowResult.WorkflowID
		}
		v.Recent = append(v.Recent, ss)
	}
	return d, v, nil
}

func memoValue(d *client.ScheduleDescription, key string) string {
	p := d.Memo.GetFields()[key]
	var s string
	if p != nil {
		_ = json.Unmarshal(p.GetData(), &s)
	}
	return s
}

func (s *scheduleCLI) describeCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "describe SCHEDULE_ID",
		Short: "Show a schedule: when, what it starts, its policies, state, next and recent runs",
		Args:  oneArg("SCHEDULE_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, tc, err := connect(cmd.Context())
			if err != nil {
				return err
			}
			defer tc.Close()
			_, v, err := describeSchedule(cmd.Context(), tc, args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(s.out).Encode(v)
			}
			state := "active"
			if v.Paused {
				state = "paused: " + v.Note
			}
			for _, kv := range [][2]string{{"schedule", v.ID}, {"store", cmp.Or(v.Store, "-")}, {"when", v.When},
				{"starts", v.Workflow + " as " + v.WorkflowID + "-<scheduled time> on task queue " + v.TaskQueue},
				{"input", v.Input}, {"overlap", v.Overlap}, {"catch-up", v.CatchUpWindow}, {"state", state},
				{"actions", fmt.Sprintf("%d taken, %d missed the catch-up window, %d skipped as overlapping", v.Actions, v.MissedCatchUp, v.SkippedOverlap)}} {
				fmt.Fprintf(s.out, "%-9s %s\n", kv[0]+":", cell(kv[1]))
			}
			for _, n := range v.Next {
				fmt.Fprintf(s.out, "next:     %s\n", n.UTC().Format(time.RFC3339))
			}
			for _, r := range v.Recent {
				fmt.Fprintf(s.out, "ran:      %s (taken %s) %s\n", r.Scheduled.UTC().Format(time.RFC3339), r.Taken.UTC().Format(time.RFC3339), cell(r.WorkflowID))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the schedule as one JSON object")
	return cmd
}

// pauseCmd is pause (or unpause): one schedule, or every one of a store.
func (s *scheduleCLI) pauseCmd(pause bool) *cobra.Command {
	verb, done := "pause", "paused"
	if !pause {
		verb, done = "unpause", "unpaused"
	}
	var note, storeID string
	cmd := &cobra.Command{
		Use:   verb + " SCHEDULE_ID | --store ID [--note TEXT]",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " a schedule, or every schedule of a data store",
		Long: `Pausing stops a schedule from starting runs (a failover pauses those of the promoted
store); unpausing resumes it from its next time: the times that fell due while it was
paused are not caught up.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if storeID != "" {
				if len(args) != 0 {
					return fmt.Errorf("%s takes a SCHEDULE_ID or --store, not both", cmd.CommandPath())
				}
				return nil
			}
			return oneArg("SCHEDULE_ID")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			_, tc, err := connect(ctx)
			if err != nil {
				return err
			}
			defer tc.Close()
			var id, store string
			if storeID == "" {
				id = args[0]
				d, _, err := describeSchedule(ctx, tc, id)
				if err != nil {
					return err
				}
				store = memoValue(d, schedule.MemoStore)
			}
			st, err := s.auditTrail(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			var ids []string
			if storeID != "" {
				store = storeID
				fn := schedule.PauseStore
				if !pause {
					fn = schedule.UnpauseStore
				}
				ids, err = fn(ctx, tc, storeID, note)
				if err == nil && len(ids) == 0 {
					return fmt.Errorf("data store %s has no schedules (catsync schedule list shows those there are)", storeID)
				}
			} else {
				h := tc.ScheduleClient().GetHandle(ctx, id)
				if pause {
					err = h.Pause(ctx, client.SchedulePauseOptions{Note: cmp.Or(note, "paused by "+s.operator)})
				} else {
					err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: cmp.Or(note, "unpaused by "+s.operator)})
				}
				if err != nil {
					return fmt.Errorf("%s schedule %s: %w", verb, id, err)
				}
				ids = []string{id}
			}
			if len(ids) > 0 {
				fmt.Fprintf(s.out, "%s %s\n", done, strings.Join(ids, ", "))
				if aerr := s.record(ctx, st, id, store, done, done+" "+strings.Join(ids, ", "), note); aerr != nil {
					return errors.Join(err, aerr)
				}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "why, kept in the schedule's state and the audit trail")
	cmd.Flags().StringVar(&storeID, "store", "", "every schedule of this data store")
	return cmd
}

func (s *scheduleCLI) triggerCmd() *cobra.Command {
	var force, wait bool
	cmd := &cobra.Command{
		Use:   "trigger SCHEDULE_ID [--force] [--wait]",
		Short: "Start a schedule's run now",
		Long: `Starts the schedule's workflow now, as if its time had come (the overlap policy
applies: while its last run is still running, the trigger starts nothing). Temporal
takes a trigger even when the schedule is paused; catsync refuses one unless --force,
as a paused store's schedules are paused for a reason (a failover).`,
		Args: oneArg("SCHEDULE_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			_, tc, err := connect(ctx)
			if err != nil {
				return err
			}
			defer tc.Close()
			id := args[0]
			d, v, err := describeSchedule(ctx, tc, id)
			if err != nil {
				return err
			}
			if v.Paused && !force {
				return fmt.Errorf("schedule %s is paused (%s): unpause it first, or give --force to start its run anyway", id, v.Note)
			}
			st, err := s.auditTrail(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			before := len(d.Info.RecentActions)
			var lastBefore time.Time
			if before > 0 {
				lastBefore = d.Info.RecentActions[before-1].ActualTime
			}
			if err := tc.ScheduleClient().GetHandle(ctx, id).Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
				return fmt.Errorf("trigger schedule %s: %w", id, err)
			}
			detail := "triggered " + id
			if v.Paused {
				detail += " while paused (--force)"
			}
			if aerr := s.record(ctx, st, id, v.Store, "triggered", detail, ""); aerr != nil {
				return aerr
			}
			// The trigger is a signal to the schedule: its run appears a moment later.
			started := ""
			for end := time.Now().Add(15 * time.Second); started == "" && time.Now().Before(end); {
				time.Sleep(200 * time.Millisecond)
				d, _, err := describeSchedule(ctx, tc, id)
				if err != nil {
					return err
				}
				for _, a := range d.Info.RecentActions {
					if a.ActualTime.After(lastBefore) && a.StartWorkflowResult != nil {
						started = a.StartWorkflowResult.WorkflowID
					}
				}
			}
			if started == "" {
				fmt.Fprintf(s.out, "triggered %s; no run started yet (overlap %s: none starts while the schedule's last run is running)\n", id, v.Overlap)
				return nil
			}
			fmt.Fprintf(s.out, "triggered %s: workflow %s\n", id, started)
			if !wait {
				return nil
			}
			if v.Workflow != schedule.SyncWorkflowName {
				return fmt.Errorf("--wait follows CatalogSync runs; %s starts %s (catsync audit shows what it recorded)", id, v.Workflow)
			}
			var in workflows.SyncInput
			if err := json.Unmarshal([]byte(v.Input), &in); err != nil {
				return fmt.Errorf("schedule %s: its input is not a CatalogSync's: %w", id, err)
			}
			res, err := waitSync(ctx, tc, tc.GetWorkflow(ctx, started, ""), in, cmd.ErrOrStderr())
			if err != nil {
				return fmt.Errorf("sync of %s failed: %w", in.Store, err)
			}
			printSummary(s.cli, &res)
			if res.Outcome != workflows.OutcomeCompleted {
				return fmt.Errorf("sync of %s ended %s", in.Store, res.Outcome)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "trigger even a paused schedule")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the CatalogSync it starts and print its summary")
	return cmd
}

func (s *scheduleCLI) deleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete SCHEDULE_ID",
		Short: "Delete a schedule (a run it started goes on)",
		Args:  oneArg("SCHEDULE_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			_, tc, err := connect(ctx)
			if err != nil {
				return err
			}
			defer tc.Close()
			id := args[0]
			_, v, err := describeSchedule(ctx, tc, id)
			if err != nil {
				return err
			}
			st, err := s.auditTrail(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := tc.ScheduleClient().GetHandle(ctx, id).Delete(ctx); err != nil {
				return fmt.Errorf("delete schedule %s: %w", id, err)
			}
			fmt.Fprintf(s.out, "deleted %s\n", id)
			return s.record(ctx, st, id, v.Store, "deleted", "deleted "+id+" ("+v.When+")", "")
		},
	}
}

// storesDefined refuses schedules of data stores the secondary does not
// have SECONDARY: each run of them would fail at its check.
func storesDefined(ctx context.Context, sec store.Reader, wants []schedule.Want) error {
	var errs []error
	seen := map[string]bool{}
	for _, w := range wants {
		if seen[w.Store] {
			continue
		}
		seen[w.Store] = true
		ds, err := sec.DataStore(ctx, w.Store)
		switch {
		case errors.Is(err, store.ErrNotFound):
			errs = append(errs, fmt.Errorf("stores.%s: data store %s is not defined on the secondary: define it there with domain access SECONDARY, or leave it out of the file", w.Store, w.Store))
		case err != nil:
			return err
		case ds.Access != catalog.AccessSecondary:
			errs = append(errs, fmt.Errorf("stores.%s: data store %s has domain access %s on the secondary: imports into it are refused (a failover?), so its schedules are not applied", w.Store, w.Store, ds.Access))
		}
	}
	return errors.Join(errs...)
}
