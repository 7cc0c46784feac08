package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/schedule"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// scheduleRecords are the schedule records of a secondary's audit trail.
func scheduleRecords(t *testing.T, sec string) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	_, err := audit.Verify(context.Background(), sqltest.Open(t, sec), func(_ store.AuditRecord, e audit.Entry) error {
		if e.Kind == audit.KindSchedule {
			out = append(out, e)
		}
		return nil
	})
	must(t, err)
	return out
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "schedules.yaml")
	must(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

const schedulesFile = `time_zone: Europe/Paris
catch_up_window: 1h
quiet_window: {start: "02:00", end: "03:30"}
stores:
  DS_PROD:
    daily_update: {at: "06:30", restore_sample: 5}
    monthly_full: {day: 1, at: "04:00"}
`

// The schedule commands on the dev server, with workers serving simulated
// sites: apply twice (the second changes nothing and records nothing),
// list, describe, trigger the daily UPDATE to a completed CatalogSync,
// pause (a trigger refused), unpause, prune, delete; one audit record
// per change, naming the operator.
func TestScheduleCommands(t *testing.T) {
	c := devClient(t)
	prim, sec, cfg := smallPair(t)
	mustRun(t, "sim", "replicate-keys", "--catalog", prim)
	serveSites(t, c, cfg)
	t.Setenv("CATSYNC_SECONDARY_CATALOG", sec)
	t.Setenv("USER", "tester")
	daily, monthly := "catsync-DS_PROD-daily-update", "catsync-DS_PROD-monthly-full"
	t.Cleanup(func() {
		for _, id := range []string{daily, monthly} {
			_ = c.ScheduleClient().GetHandle(context.Background(), id).Delete(context.Background())
		}
	})
	file := writeFile(t, schedulesFile)

	out := mustRun(t, "schedule", "apply", "--file", file)
	if !hasRow(rows(out, daily), []string{daily, "created", "daily", "at", "06:30", "(Europe/Paris),"}) ||
		!hasRow(rows(out, monthly), []string{monthly, "created", "monthly"}) || !strings.Contains(out, "2 created, 0 updated, 0 unchanged") {
		t.Errorf("apply:\n%s", out)
	}
	recs := scheduleRecords(t, sec)
	if len(recs) != 1 || recs[0].Operator != "tester" || recs[0].Store != "DS_PROD" || !strings.Contains(recs[0].Detail, "created "+daily+", "+monthly) ||
		!strings.HasPrefix(recs[0].RunID, "schedule-") {
		t.Fatalf("audit after apply: %+v", recs)
	}
	out = mustRun(t, "schedule", "apply", "--file", file, "--operator", "other")
	if !strings.Contains(out, "0 created, 0 updated, 2 unchanged") || !hasRow(rows(out, daily), []string{daily, "unchanged"}) {
		t.Errorf("second apply:\n%s", out)
	}
	if n := len(scheduleRecords(t, sec)); n != 1 {
		t.Errorf("an unchanged apply recorded something: %d records", n)
	}

	out = mustRun(t, "schedule", "list")
	if !hasRow(rows(out, daily), []string{daily, "DS_PROD", "CatalogSync", "daily", "at", "06:30"}) {
		t.Errorf("list:\n%s", out)
	}
	var listed []schedule.Summary
	dec := jsonLines[schedule.Summary](t, mustRun(t, "schedule", "list", "--json"))
	for _, s := range dec {
		if strings.HasPrefix(s.ID, "catsync-DS_PROD-") {
			listed = append(listed, s)
		}
	}
	if len(listed) != 2 || listed[0].ID != daily || listed[0].Store != "DS_PROD" || listed[0].Kind != schedule.DailyUpdate || len(listed[0].Next) == 0 {
		t.Errorf("list --json: %+v", listed)
	}
	v := jsonValue[scheduleView](t, mustRun(t, "schedule", "describe", daily, "--json"))
	if v.WorkflowID != "catsync-sync-DS_PROD" || v.Workflow != "CatalogSync" || v.Overlap != "Skip" || v.CatchUpWindow != "1h0m0s" ||
		v.TimeZone != "Europe/Paris" || !strings.Contains(v.Input, `"type":"UPDATE","catalog_files":true,"primary":"`+cfg.Primary.Name+`","secondary":"`+cfg.Secondary.Name+`"`) ||
		!strings.Contains(v.Input, `"restore_sample":5`) {
		t.Errorf("describe --json: %+v", v)
	}
	mustFail(t, []string{"schedule catsync-nope does not exist"}, "schedule", "describe", "catsync-nope")

	out = mustRun(t, "schedule", "trigger", daily, "--wait")
	r := rows(out, "triggered")
	if len(r) != 1 || len(r[0]) != 4 || !strings.HasPrefix(r[0][3], "catsync-sync-DS_PROD-") || !strings.Contains(out, "Completed UPDATE of DS_PROD") {
		t.Fatalf("trigger --wait:\n%s", out)
	}
	if v := jsonValue[scheduleView](t, mustRun(t, "schedule", "describe", daily, "--json")); len(v.Recent) != 1 || v.Recent[0].WorkflowID != r[0][3] {
		t.Errorf("describe after the trigger: %+v", v.Recent)
	}

	out = mustRun(t, "schedule", "pause", daily, "--note", "failover drill")
	if out != "paused "+daily+"\n" {
		t.Errorf("pause: %q", out)
	}
	mustFail(t, []string{"schedule " + daily + " is paused (failover drill)", "--force"}, "schedule", "trigger", daily)
	if l := rows(mustRun(t, "schedule", "list"), daily); len(l) != 1 || !strings.Contains(strings.Join(l[0], " "), "paused: failover drill") {
		t.Errorf("list of a paused schedule: %v", l)
	}
	mustRun(t, "schedule", "unpause", daily)
	out = mustRun(t, "schedule", "pause", "--store", "DS_PROD")
	if out != "paused "+daily+", "+monthly+"\n" {
		t.Errorf("pause --store: %q", out)
	}
	mustRun(t, "schedule", "unpause", "--store", "DS_PROD")

	onlyDaily := strings.Replace(schedulesFile, `    monthly_full: {day: 1, at: "04:00"}`+"\n", "", 1)
	out = mustRun(t, "schedule", "apply", "--file", writeFile(t, onlyDaily))
	if !hasRow(rows(out, monthly), []string{monthly, "not", "in", "the", "file:"}) || strings.Contains(out, "deleted:") {
		t.Errorf("apply without the monthly schedule:\n%s", out)
	}
	out = mustRun(t, "schedule", "apply", "--file", writeFile(t, onlyDaily), "--prune")
	if !hasRow(rows(out, monthly), []string{monthly, "deleted:"}) {
		t.Errorf("apply --prune:\n%s", out)
	}
	mustFail(t, []string{"schedule " + monthly + " does not exist"}, "schedule", "describe", monthly)
	mustRun(t, "schedule", "delete", daily)

	recs = scheduleRecords(t, sec)
	var got []string
	for _, e := range recs {
		got = append(got, e.Outcome+" "+e.WorkflowID+" "+e.Store+" "+e.Reason)
		if e.Operator != "tester" {
			t.Errorf("record %+v: operator %q", e, e.Operator)
		}
	}
	want := []string{"applied  DS_PROD ", "triggered " + daily + " DS_PROD ", "paused " + daily + " DS_PROD failover drill",
		"unpaused " + daily + " DS_PROD ", "paused  DS_PROD ", "unpaused  DS_PROD ", "applied   ", "deleted " + daily + " DS_PROD "}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("schedule records:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(recs[6].Detail, "deleted "+monthly+" (no longer in the file)") {
		t.Errorf("prune record: %q", recs[6].Detail)
	}
}

// Refused before anything is asked of Temporal, naming what is wrong.
func TestScheduleRefused(t *testing.T) {
	mustFail(t, []string{"--file is required"}, "schedule", "apply")
	mustFail(t, []string{"--file", "missing.yaml"}, "schedule", "apply", "--file", "missing.yaml")
	bad := writeFile(t, strings.Replace(schedulesFile, `at: "06:30"`, `at: "02:45"`, 1))
	mustFail(t, []string{"stores.DS_PROD.daily_update.at 02:45 is inside quiet_window 02:00-03:30"}, "schedule", "apply", "--file", bad)
	mustFail(t, []string{"unknown command", "reschedule"}, "schedule", "reschedule")
	mustFail(t, []string{"SCHEDULE_ID"}, "schedule", "pause")
	mustFail(t, []string{"not both"}, "schedule", "pause", "x", "--store", "DS_PROD")
}

// One import per data store holds across schedules and manual runs: a
// scheduled run that finds the store's lease held is refused at the lease,
// naming the holder, and imports nothing.
func TestScheduledRunRefusedAtTheLease(t *testing.T) {
	c := devClient(t)
	prim, sec, cfg := smallPair(t)
	mustRun(t, "sim", "replicate-keys", "--catalog", prim)
	serveSites(t, c, cfg)
	t.Setenv("CATSYNC_SECONDARY_CATALOG", sec)
	t.Setenv("USER", "tester")
	daily := "catsync-DS_PROD-daily-update"
	t.Cleanup(func() { _ = c.ScheduleClient().GetHandle(context.Background(), daily).Delete(context.Background()) })
	// A store the secondary does not have is refused, naming it, and
	// nothing is applied.
	mustFail(t, []string{"stores.DS_ARCH: data store DS_ARCH is not defined on the secondary"}, "schedule", "apply", "--file",
		writeFile(t, schedulesFile+"  DS_ARCH:\n    daily_update: {at: \"07:15\"}\n"))
	if ids, err := schedule.StoreSchedules(context.Background(), c, "DS_PROD"); err != nil || len(ids) != 0 {
		t.Fatalf("a refused apply created %v (%v)", ids, err)
	}
	mustRun(t, "schedule", "apply", "--file", writeFile(t, schedulesFile))

	manual := importer.Holder{WorkflowID: "catalogsync-DS_PROD", RunID: "0190b4c2-5d5e-7a39-9c1e-3f2a4b6c8d0e"}
	must(t, importer.TakeLease(context.Background(), sqltest.Open(t, sec), "DS_PROD", manual, time.Now(), time.Hour))
	before, err := store.Digest(context.Background(), sqltest.Open(t, sec))
	must(t, err)
	_, errs, code := catsync(t, "schedule", "trigger", daily, "--wait")
	if code != 1 || !strings.Contains(errs, "catalogsync-DS_PROD") || !strings.Contains(errs, manual.RunID) {
		t.Fatalf("trigger while a manual run holds the store: exit %d\n%s", code, errs)
	}
	after, err := store.Digest(context.Background(), sqltest.Open(t, sec))
	must(t, err)
	if after != before {
		t.Fatal("the refused scheduled run changed the secondary")
	}
}
