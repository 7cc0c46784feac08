package workflows_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"go.temporal.io/sdk/client"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/telemetry"
	"github.com/catsync/catsync/internal/temporaltest"
)

// observedWorld is a world whose client, and the workers made from it,
// trace to an in-memory exporter and log JSON lines to a buffer, as the
// worker's process does to OTLP and stderr.
func observedWorld(t *testing.T) (*world, *tracetest.InMemoryExporter, *lockedBuffer) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tracing := telemetry.NewTracingWith("catsync-test", sdktrace.WithSyncer(exp))
	t.Cleanup(func() {
		_ = tracing.Shutdown(context.Background())
		otel.SetTracerProvider(noop.NewTracerProvider())
	})
	logs := &lockedBuffer{}
	opts, err := telemetry.Observed{Logger: slog.New(slog.NewJSONHandler(logs, nil)), Tracing: tracing}.ClientOptions()
	if err != nil {
		t.Fatal(err)
	}
	opts.HostPort, opts.Namespace = temporaltest.Server(t).FrontendHostPort(), "default"
	c, err := client.Dial(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return newWorldOn(t, c, small(), simtest.Options{Secondary: new(sim.DefaultSecondaryParams()), Keys: simtest.Keystores}), exp, logs
}

// A sync is one trace: the client's start, the workflow, each step's
// activity, and under the long steps their inner phases, each with its
// counts; the counts add up to the run's.
func TestSyncIsOneTrace(t *testing.T) {
	defer func(n int) { activities.SetsPerSegment = n }(activities.SetsPerSegment)
	activities.SetsPerSegment = 25 // several segments, each with its spans
	w, exp, _ := observedWorld(t)
	res := w.mustSync(w.input(snapshot.Full, true))

	spans := exp.GetSpans()
	var root *tracetest.SpanStub
	for i := range spans {
		if spans[i].Name == "StartWorkflow:CatalogSync" {
			root = &spans[i]
		}
	}
	if root == nil {
		t.Fatalf("no StartWorkflow:CatalogSync span in %d spans", len(spans))
	}
	byID := map[trace.SpanID]*tracetest.SpanStub{}
	count := map[string]int{}
	for i := range spans {
		s := &spans[i]
		if s.SpanContext.TraceID() != root.SpanContext.TraceID() {
			t.Errorf("span %s is in trace %s, not the run's %s", s.Name, s.SpanContext.TraceID(), root.SpanContext.TraceID())
		}
		byID[s.SpanContext.SpanID()] = s
		count[s.Name]++
	}
	// ancestor is the name of the nearest ancestor of s named in want.
	ancestor := func(s *tracetest.SpanStub, want ...string) string {
		for p := byID[s.Parent.SpanID()]; p != nil; p = byID[p.Parent.SpanID()] {
			for _, name := range want {
				if p.Name == name {
					return name
				}
			}
		}
		return ""
	}
	for _, name := range []string{"RunWorkflow:CatalogSync", "RunActivity:Describe", "RunActivity:CheckConfig", "RunActivity:TakeLease",
		"RunActivity:Snapshot", "RunActivity:Transfer", "RunActivity:Plan", "RunActivity:Apply", "RunActivity:KeyParity",
		"RunActivity:Finish", "RunActivity:Record"} {
		if count[name] == 0 {
			t.Errorf("no %s span; spans: %v", name, count)
		}
	}
	// Each phase and the span it must be under ("read segment" and
	// "transform" are under a plan or an apply segment, below).
	want := map[string]string{
		"snapshot segment": "RunActivity:Snapshot", "read catalog": "snapshot segment",
		"record keys": "snapshot segment", "write segment": "snapshot segment",
		"plan segment": "RunActivity:Plan", "apply segment": "RunActivity:Apply",
		"read segment": "", "transform": "", "check": "plan segment", "check and write": "apply segment",
	}
	sums := map[string]int64{}
	for i := range spans {
		s := &spans[i]
		under, ok := want[s.Name]
		if !ok {
			continue
		}
		if under != "" && ancestor(s, under) == "" {
			t.Errorf("span %s is not under %s", s.Name, under)
		}
		if (s.Name == "read segment" || s.Name == "transform") && ancestor(s, "plan segment", "apply segment") == "" {
			t.Errorf("span %s is under neither a plan nor an apply segment", s.Name)
		}
		for _, kv := range s.Attributes {
			sums[s.Name+" "+string(kv.Key)] += kv.Value.AsInt64()
		}
	}
	n := int((res.Snapshot.Sets + int64(activities.SetsPerSegment) - 1) / int64(activities.SetsPerSegment))
	for name := range want {
		if count[name] < n {
			t.Errorf("%d %s spans, want at least one per segment (%d)", count[name], name, n)
		}
	}
	for _, c := range []struct {
		what string
		got  int64
		want int64
	}{
		{"sets read from the catalog", sums["read catalog catsync.sets"], res.Snapshot.Sets},
		{"sets planned", sums["plan segment catsync.sets"], res.Plan.Sets},
		{"records the plan would change", sums["check catsync.changed"], res.Plan.Counts.Changed()},
		{"sets applied", sums["check and write catsync.sets"], res.Applied.Sets},
		{"records applied", sums["apply segment catsync.changed"], res.Applied.Counts.Changed()},
	} {
		if c.got != c.want || c.want == 0 {
			t.Errorf("%s: spans say %d, the run %d", c.what, c.got, c.want)
		}
	}
}

// Every line a run's steps log names the run, its store and its step.
func TestRunLogsNameStoreAndStep(t *testing.T) {
	w, _, logs := observedWorld(t)
	w.mustSync(w.input(snapshot.Full, true))
	var steps, runs int
	for _, line := range logs.lines() {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		msg, _ := rec["msg"].(string)
		if msg != "step done" && msg != "step started" && msg != "run ended" {
			continue
		}
		for _, key := range []string{"WorkflowID", "RunID", telemetry.StoreKey, telemetry.StepKey} {
			if v, _ := rec[key].(string); v == "" {
				t.Errorf("log line %q has no %s", line, key)
			}
		}
		if rec[telemetry.StoreKey] != w.storeID {
			t.Errorf("log line %q names store %v, want %s", line, rec[telemetry.StoreKey], w.storeID)
		}
		if msg == "step done" {
			steps++
		} else if msg == "run ended" {
			runs++
		}
	}
	if steps < 8 || runs != 1 {
		t.Fatalf("%d step lines and %d run lines in the logs:\n%s", steps, runs, strings.Join(logs.lines(), "\n"))
	}
}
