package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
	"github.com/catsync/catsync/workflows"
)

// A multi-line error stays in its row: in the audit trail's ERROR column
// and in a sync's FAILED volume set lines.
func TestTablesKeepMultiLineErrors(t *testing.T) {
	prim := newPrimary(t)
	sec := filepath.Join(t.TempDir(), "secondary.db")
	mustRun(t, "sim", "init-secondary", "--catalog", sec, "--primary", prim)
	sa := &activities.Activities{Site: &activities.Site{Name: "secd", Catalog: sqltest.Open(t, sec)}}
	finished := time.Date(2026, 1, 6, 2, 0, 0, 0, time.UTC)
	if err := sa.Record(context.Background(), audit.Entry{RunID: "r1", Store: "DS_PROD", Type: "FULL", Outcome: "Failed",
		Finished: finished, Error: "unsafe configuration, nothing imported:\nCONFIG_STORE_ACCESS: DS_PROD\tis PRIMARY\n"}); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "audit", "--catalog", sec)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	const msg = "unsafe configuration, nothing imported: ⏎ CONFIG_STORE_ACCESS: DS_PROD is PRIMARY"
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "1    2026-01-06 ") || !strings.HasSuffix(lines[1], "r1   "+msg) ||
		strings.Index(lines[0], "ERROR") != strings.Index(lines[1], "unsafe") || lines[2] != "1 records, hash chain intact" {
		t.Errorf("audit of a record with a multi-line error:\n%s", out)
	}

	var b bytes.Buffer
	res := &workflows.SyncResult{Store: "DS_PROD", Outcome: workflows.OutcomeCompleted, Started: finished, Finished: finished}
	res.Applied.Counts = importer.Counts{"volume.create": 12, "volume.unchanged": 3}
	res.Applied.Failed = []activities.SetFailure{
		{Set: "T00000", Error: "volume T00001:\nVOLUMEGROUP VG_X\tis unknown\n"},
		{Set: "T00012", Error: "disk file\r\nname too long"},
	}
	printSummary(&cli{out: &b}, res)
	for _, want := range []string{
		"\n  ENTITY  CREATE  UPDATE  DELETE  UNCHANGED  DEFERRED\n  VOLUME      12       0       0          3         0\n",
		"\nFAILED volume set T00000: volume T00001: ⏎ VOLUMEGROUP VG_X is unknown\n",
		"\nFAILED volume set T00012: disk file ⏎ name too long\nwatermark 0\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("sync summary lacks %q:\n%s", want, b.String())
		}
	}
}
