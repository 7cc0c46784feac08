package activities

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// TestSnapshotIsOnePointInTime: a FULL, and an UPDATE after a synced FULL,
// during whose export the simulator runs the primary two days on, hold
// exactly the volume sets the primary had at the manifest's ToSeq, which is
// where it was when the export began; on both dialects.
func TestSnapshotIsOnePointInTime(t *testing.T) {
	fewSetsPerSegment(t)
	sqltest.RunDSN(t, func(t *testing.T, dsn func(testing.TB) string) {
		for _, typ := range []snapshot.Type{snapshot.Full, snapshot.Update} {
			t.Run(string(typ), func(t *testing.T) {
				ctx := context.Background()
				p := newPairOn(t, dsn, smallSite())
				prim := p.prim.Site.Catalog
				opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
				var after int64
				if typ == snapshot.Update {
					p.syncOnce(t, "full", snapshot.Full, opts)
					p.Advance(t, 3)
					w, err := p.sec.ReadWatermark(ctx, opts.StoreID)
					if err != nil {
						t.Fatal(err)
					}
					after = w.Seq
				}
				want, seq := simtest.ExportSets(t, prim, typ, after, opts.CatalogFiles)
				busy := simtest.NewBusyKeys(nil, func(ctx context.Context) error { return sim.Advance(ctx, prim, 2, nil) })
				p.prim.Site.Keys = busy
				ref, err := p.prim.Snapshot(ctx, SnapshotInput{ID: "busy", Store: opts.StoreID, Type: typ, After: after,
					CatalogFiles: opts.CatalogFiles})
				if err != nil {
					t.Fatal(err)
				}
				if busy.LookupsAfter(t) == 0 {
					t.Fatal("the primary moved on once every set was read: the export never read a busy primary")
				}
				now, err := prim.LastSeq(ctx, opts.StoreID)
				if err != nil {
					t.Fatal(err)
				}
				if ref.ToSeq != seq || now <= seq {
					t.Fatalf("snapshot up to %d; the primary was at %d when it began and is at %d", ref.ToSeq, seq, now)
				}
				if moved, _ := simtest.ExportSets(t, prim, typ, after, opts.CatalogFiles); slices.Equal(setLines(t, moved), setLines(t, want)) {
					t.Fatal("the primary moved on without changing the export's sets")
				}
				got := stagedLines(t, p.sec.Site.Source, ref)
				if w := setLines(t, want); !slices.Equal(got, w) {
					i := 0
					for i < min(len(got), len(w)) && got[i] == w[i] {
						i++
					}
					t.Fatalf("%d sets staged, %d at sequence %d; the first that differs, #%d:\n got %s\nwant %s",
						len(got), len(w), seq, i, at(got, i), at(w, i))
				}
			})
		}
	})
}

// TestRetriedSnapshotResumesOnlyTheSameView: a FULL attempt that heartbeat
// its cursor after its first segment is retried from that cursor. With no
// change of the store since the cursor's ToSeq the retry keeps the segments
// written; when the primary moved on it starts over at the new sequence.
// Either way the snapshot holds exactly the primary's sets at its ToSeq.
func TestRetriedSnapshotResumesOnlyTheSameView(t *testing.T) {
	fewSetsPerSegment(t)
	for _, moved := range []bool{false, true} {
		t.Run(map[bool]string{false: "unchanged", true: "moved on"}[moved], func(t *testing.T) {
			p := newPair(t, smallSite())
			in := SnapshotInput{ID: "retried", Store: "DS_PROD", Type: snapshot.Full, CatalogFiles: true}
			var cur snapshotCursor
			env := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
			env.RegisterActivity(p.prim)
			env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
				if cur.Last == nil { // the first: later ones may be throttled
					if err := d.Get(&cur); err != nil {
						t.Error(err)
					}
				}
			})
			if _, err := env.ExecuteActivity(p.prim.Snapshot, in); err != nil {
				t.Fatal(err)
			}
			if len(cur.Segments) == 0 || cur.Last == nil {
				t.Fatalf("the first attempt heartbeat %+v", cur)
			}
			first := filepath.Join(p.prim.Site.Staging.Dir(in.Store, in.ID), cur.Segments[0].Name)
			// Held open, its inode cannot go to a file written again.
			held, err := os.Open(first)
			if err != nil {
				t.Fatal(err)
			}
			defer held.Close()
			before, err := held.Stat()
			if err != nil {
				t.Fatal(err)
			}
			if moved {
				p.Advance(t, 1)
			}
			want, seq := simtest.ExportSets(t, p.prim.Site.Catalog, in.Type, 0, in.CatalogFiles)

			retry := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
			retry.RegisterActivity(p.prim)
			retry.SetHeartbeatDetails(cur)
			val, err := retry.ExecuteActivity(p.prim.Snapshot, in)
			if err != nil {
				t.Fatal(err)
			}
			var ref snapshot.Ref
			if err := val.Get(&ref); err != nil {
				t.Fatal(err)
			}
			if ref.ToSeq != seq {
				t.Errorf("the retry's snapshot is up to %d, the primary at %d (the cursor's %d)", ref.ToSeq, seq, cur.ToSeq)
			}
			if got := stagedLines(t, p.sec.Site.Source, ref); !slices.Equal(got, setLines(t, want)) {
				t.Errorf("the retry staged %d sets, the primary has %d at sequence %d, not the same", len(got), len(want), seq)
			}
			after, err := os.Stat(first)
			if err != nil {
				t.Fatal(err)
			}
			switch kept := os.SameFile(before, after); {
			case moved && kept:
				t.Errorf("the primary moved on, yet the retry kept the first attempt's %s", cur.Segments[0].Name)
			case !moved && !kept:
				t.Errorf("nothing changed, yet the retry wrote %s again instead of resuming", cur.Segments[0].Name)
			}
		})
	}
}

// fewSetsPerSegment makes segments of a few sets for the test: heartbeats
// and key lookups come all along a small export.
func fewSetsPerSegment(t *testing.T) {
	old := SetsPerSegment
	SetsPerSegment = 4
	t.Cleanup(func() { SetsPerSegment = old })
}

// setLines encodes volume sets as JSON, one string each, without their
// key records.
func setLines(t *testing.T, sets []snapshot.VolumeSet) []string {
	t.Helper()
	out := make([]string, len(sets))
	for i, s := range sets {
		s.Keys = nil
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	return out
}

// stagedLines reads the sets of a snapshot in the area, as setLines.
func stagedLines(t *testing.T, area snapshot.Area, ref snapshot.Ref) []string {
	t.Helper()
	staged, err := area.Open(ref)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := range staged.Manifest.Segments {
		if err := staged.ReadSegment(i, 0, func(_ int, s *snapshot.VolumeSet) error {
			out = append(out, setLines(t, []snapshot.VolumeSet{*s})...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(none)"
}
