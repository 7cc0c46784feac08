package workflows_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/kmip/pykmiptest"
	"github.com/catsync/catsync/internal/sim"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
	"github.com/catsync/catsync/internal/telemetry"
	"github.com/catsync/catsync/internal/temporaltest"
	"github.com/catsync/catsync/workflows"
)

// TestNoSecretInLogsOrHistories runs a FULL, an UPDATE and a drill with
// encrypted volumes restore-tested from their images, the primary's keys in
// an embedded keystore sealed by a master key of the test's, the
// secondary's in a PyKMIP server reached with a client key, the catalogs
// (on PostgreSQL, when the tests have one) behind a password. Every log line
// the client and the workers wrote, every event of every run started,
// payloads decoded, and the worker's metrics and readiness pages must hold
// none of those secrets nor any key's material.
func TestNoSecretInLogsOrHistories(t *testing.T) {
	srv := temporaltest.Server(t) // first: without a server the test skips (or fails) before simulating
	started := time.Now()

	logs := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prev := slog.Default()
	slog.SetDefault(logger)
	t.Cleanup(func() { slog.SetDefault(prev) })
	// The client the worker process builds: its logger, the run fields of
	// every line, and tracing, here to an in-memory exporter whose spans
	// are searched too.
	spans := tracetest.NewInMemoryExporter()
	tracing := telemetry.NewTracingWith("catsync-test", sdktrace.WithSyncer(spans))
	t.Cleanup(func() {
		_ = tracing.Shutdown(context.Background())
		otel.SetTracerProvider(noop.NewTracerProvider())
	})
	opts, err := telemetry.Observed{Logger: logger, Tracing: tracing}.ClientOptions()
	if err != nil {
		t.Fatal(err)
	}
	opts.HostPort, opts.Namespace = srv.FrontendHostPort(), "default"
	c, err := client.Dial(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)

	master, pw := make([]byte, 32), make([]byte, 12)
	rand.Read(master)
	rand.Read(pw)
	password := "pw" + hex.EncodeToString(pw)
	p := small()
	p.Volumes, p.Days, p.BackupsPerDay = 40, 6, 4 // PyKMIP scans its objects on Locate
	w := newWorldOn(t, c, p, simtest.Options{Images: true, DSN: passwordDSN(&password),
		Keys: func(t testing.TB, dir string, cfg *config.Config) {
			cfg.MasterKey = master
			cfg.MetricsAddress = "127.0.0.1:0"
			cfg.Primary.Keys = "keystore:" + dir + "/primary.keys"
			srv := pykmiptest.Start(t)
			cfg.Secondary.Keys = "kmip://" + srv.Addr
			cfg.Secondary.KMIP.CA, cfg.Secondary.KMIP.Cert, cfg.Secondary.KMIP.Key = srv.Client(t, "catsync-"+cfg.Secondary.Name)
		}})
	if _, encrypted := w.written(); len(encrypted) == 0 {
		t.Fatal("no encrypted volume written: nothing to keep secret")
	}

	var runs []client.WorkflowRun
	syncRun := func(typ snapshot.Type) {
		t.Helper()
		in := w.input(typ, true)
		in.RestoreSample = 10_000 // every volume: every encrypted one's key is fetched and used
		run, res, err := w.run(in)
		if err != nil || res.Outcome != workflows.OutcomeCompleted {
			t.Fatalf("%s sync: %v, %s", typ, err, res.Summary())
		}
		if res.Keys.Volumes == 0 || res.Keys.OK != res.Keys.Volumes || res.Restore.Sampled == 0 || res.Restore.Failed != 0 {
			t.Fatalf("%s sync: keys %s, restore test %s: want every encrypted volume in parity and restorable",
				typ, res.Keys.Summary(), res.Restore.Summary())
		}
		runs = append(runs, run)
	}
	w.pair.ReplicateData(t, sim.DataReplication{})
	syncRun(snapshot.Full)
	w.advance(1)
	w.pair.ReplicateData(t, sim.DataReplication{})
	syncRun(snapshot.Update)
	w.noDrift(importer.Options{StoreID: w.storeID, CatalogFiles: true})

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	drill, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.DrillID(w.storeID) + "-secrets",
		TaskQueue: workflows.TaskQueue}, workflows.DRDrill,
		workflows.DrillInput{Store: w.storeID, Primary: w.cfg.Primary.Name, Secondary: w.cfg.Secondary.Name, CatalogFiles: true})
	if err != nil {
		t.Fatal(err)
	}
	var dres workflows.DrillResult
	if err := drill.Get(ctx, &dres); err != nil || dres.Outcome != workflows.OutcomeDrillPassed {
		t.Fatalf("drill: %v, %s", err, dres.Summary())
	}
	runs = append(runs, drill)
	var scraped [][]string // what the metrics endpoint serves: the catalogs' state, the checks' names
	for _, path := range []string{"/metrics", "/readyz"} {
		resp, err := http.Get("http://" + w.workers.MetricsAddress() + path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s %v\n%s", path, resp.Status, err, b)
		}
		scraped = append(scraped, []string{path, string(b)})
	}
	w.stop() // the workers' last lines are written

	secrets := w.secrets(t, master, password)
	var hits []string
	lines := logs.lines()
	if !strings.Contains(strings.Join(lines, "\n"), w.cfg.Secondary.Name) {
		t.Fatalf("%d log lines captured, none naming the secondary's task queue: the workers' logs were not captured", len(lines))
	}
	if !strings.Contains(strings.Join(lines, "\n"), `"msg":"step done"`) {
		t.Fatal("no step's log line captured: the run's own logging goes untested")
	}
	hits = append(hits, scanLines(secrets, "log", lines)...)
	var spanLines []string
	for _, sp := range spans.GetSpans() {
		b, err := json.Marshal(sp) // name, attributes, events, status
		if err != nil {
			t.Fatal(err)
		}
		spanLines = append(spanLines, string(b))
	}
	if len(spanLines) == 0 {
		t.Fatal("no span recorded: the runs' traces were not captured")
	}
	hits = append(hits, scanLines(secrets, "span", spanLines)...)
	for _, page := range scraped {
		hits = append(hits, scanLines(secrets, "GET "+page[0], strings.Split(page[1], "\n"))...)
	}
	events := 0
	xs := w.executions(ctx, c, runs, started)
	for _, x := range xs {
		h := historyOf(t, c, x)
		events += len(h.Events)
		hits = append(hits, scanHistory(secrets, x, h)...)
	}
	t.Logf("searched %d log lines, %d spans and %d events of %d runs for %d secret forms", len(lines), len(spanLines), events, len(xs), len(secrets))
	for _, h := range hits {
		t.Error(h)
	}
}

// TestSecretScanFindsALeak: the search tells a key's material in a log line
// and in an activity's input, where the history holds it base64-encoded
// inside the payload.
func TestSecretScanFindsALeak(t *testing.T) {
	material := make([]byte, 32)
	rand.Read(material)
	secrets := materialForms("key K1 material", material)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("key fetched", "material", strings.ToUpper(hex.EncodeToString(material)))
	lines := []string{`{"msg":"clean"}`, strings.TrimSpace(buf.String())}
	hits := scanLines(secrets, "log", lines)
	if len(hits) != 1 || !strings.Contains(hits[0], "key K1 material (hex, upper case)") || !strings.Contains(hits[0], "log line 2") {
		t.Errorf("a log line with a key's material: %q", hits)
	}

	in, err := converter.GetDefaultDataConverter().ToPayloads(map[string][]byte{"material": material})
	if err != nil {
		t.Fatal(err)
	}
	ev := &historypb.HistoryEvent{EventId: 5, EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
		Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
			ActivityType: &commonpb.ActivityType{Name: "Restore"}, Input: in}}}
	if j, _ := protojson.Marshal(ev); strings.Contains(string(j), base64.StdEncoding.EncodeToString(material)) {
		t.Fatal("the event's JSON shows the material as is: the payload decoding goes untested")
	}
	x := &commonpb.WorkflowExecution{WorkflowId: "catalogsync-DS_TEST", RunId: "r1"}
	hits = scanHistory(secrets, x, &historypb.History{Events: []*historypb.HistoryEvent{ev}})
	if len(hits) == 0 || !strings.HasPrefix(hits[0], "key K1 material (base64) in workflow catalogsync-DS_TEST run r1 event 5 (ActivityTaskScheduled)") {
		t.Errorf("an activity input with a key's material: %q", hits)
	}
}

// passwordDSN gives each catalog a PostgreSQL schema reached with a
// password (*pw, or the one the server's DSN already has, which it then
// becomes); SQLite files, which have none, without a server.
func passwordDSN(pw *string) func(testing.TB) string {
	return func(t testing.TB) string {
		if os.Getenv(sqltest.PostgresEnv) == "" {
			return sqltest.SQLiteDSN(t)
		}
		u, err := url.Parse(sqltest.PostgresDSN(t))
		if err != nil || u.User == nil {
			t.Fatalf("%s: want postgres://USER[:PASSWORD]@HOST/DB (%v)", sqltest.PostgresEnv, err)
		}
		if given, ok := u.User.Password(); ok {
			*pw = given
		}
		u.User = url.UserPassword(u.User.Username(), *pw)
		return u.String()
	}
}

// secret is one form of a secret value, and what it is.
type secret struct{ what, value string }

func materialForms(what string, b []byte) []secret {
	return []secret{{what + " (hex)", hex.EncodeToString(b)}, {what + " (hex, upper case)", strings.ToUpper(hex.EncodeToString(b))},
		{what + " (base64)", base64.StdEncoding.EncodeToString(b)}, {what + " (base64, unpadded)", base64.RawStdEncoding.EncodeToString(b)},
		{what + " (base64url)", base64.RawURLEncoding.EncodeToString(b)}}
}

// secrets are the run's secret values in every form they could be written:
// the master key, each encrypted volume's key material as both key
// managers give it, the catalogs' passwords, the KMIP client key.
func (w *world) secrets(t *testing.T, master []byte, password string) []secret {
	t.Helper()
	ctx := context.Background()
	out := append(materialForms("keystore master key", master), secret{"keystore master key (raw)", string(master)})
	site, err := w.prim.Site(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	if err := w.prim.ScanVolumes(ctx, store.Filter{StoreID: w.storeID}, func(v *catalog.Volume) error {
		if v.MediaKeyName != "" {
			names = append(names, v.MediaKeyName)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, km := range []struct {
		where string
		m     keys.Manager
	}{{"primary keystore", w.primKeys}, {"secondary KMIP server", w.secKeys}} {
		found, err := km.m.Lookup(ctx, site.BackPakID, names)
		if err != nil || len(found) != len(names) {
			t.Fatalf("%s holds %d of the %d keys: %v", km.where, len(found), len(names), err)
		}
		for name, info := range found {
			b, err := km.m.Material(ctx, info.ID)
			if err != nil {
				t.Fatalf("%s: material of %s: %v", km.where, name, err)
			}
			out = append(out, materialForms(fmt.Sprintf("key %s material (%s)", name, km.where), b)...)
		}
	}
	for _, s := range []config.Site{w.cfg.Primary, w.cfg.Secondary} {
		if u, err := url.Parse(s.Catalog); err == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok {
				out = append(out, secret{"password of " + s.Name + "'s catalog DSN", pw})
			}
		}
		if s.KMIP.Key == "" {
			continue
		}
		b, err := os.ReadFile(s.KMIP.Key)
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			t.Fatalf("%s: no PEM block", s.KMIP.Key)
		}
		what := s.Name + "'s KMIP client key"
		out = append(out, secret{what + " (PEM)", strings.TrimSpace(string(b))}, secret{what + " (PEM, JSON-escaped)", jsonEscaped(string(b))},
			secret{what + " (DER, hex)", hex.EncodeToString(blk.Bytes)})
		// Any one line of its base64 body is enough to give part of it away.
		body := base64.StdEncoding.EncodeToString(blk.Bytes)
		for i := 0; i+64 <= len(body); i += 64 {
			out = append(out, secret{fmt.Sprintf("%s (PEM body line %d)", what, i/64+1), body[i : i+64]})
		}
	}
	if os.Getenv(sqltest.PostgresEnv) != "" && !hasSecret(out, password) {
		t.Fatal("the catalogs' DSNs carry no password")
	}
	for _, s := range out {
		if len(s.value) < 16 {
			t.Fatalf("%s is %d characters: too short to search for", s.what, len(s.value))
		}
	}
	return out
}

func hasSecret(ss []secret, v string) bool {
	for _, s := range ss {
		if s.value == v {
			return true
		}
	}
	return false
}

// jsonEscaped is s as a JSON string holds it: a PEM's newlines escaped.
func jsonEscaped(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}

// scanLines returns a finding for each secret in each line of source.
func scanLines(secrets []secret, source string, lines []string) []string {
	var hits []string
	for i, line := range lines {
		for _, s := range secrets {
			if strings.Contains(line, s.value) {
				hits = append(hits, fmt.Sprintf("%s in %s line %d: %.300s", s.what, source, i+1, line))
			}
		}
	}
	return hits
}

// scanHistory returns a finding for each secret in each event of h, read
// as JSON and with every payload's data decoded: the JSON of an event
// carries a payload's data in base64.
func scanHistory(secrets []secret, x *commonpb.WorkflowExecution, h *historypb.History) []string {
	var hits []string
	for _, ev := range h.Events {
		j, err := protojson.Marshal(ev)
		if err != nil {
			hits = append(hits, fmt.Sprintf("event %d of %s: %v", ev.GetEventId(), x.GetWorkflowId(), err))
			continue
		}
		texts := []string{string(j)}
		eachPayload(ev.ProtoReflect(), func(p *commonpb.Payload) {
			texts = append(texts, string(p.GetData()))
			for _, m := range p.GetMetadata() {
				texts = append(texts, string(m))
			}
		})
		text := strings.Join(texts, "\n")
		for _, s := range secrets {
			if strings.Contains(text, s.value) {
				hits = append(hits, fmt.Sprintf("%s in workflow %s run %s event %d (%s)", s.what, x.GetWorkflowId(), x.GetRunId(),
					ev.GetEventId(), ev.GetEventType()))
			}
		}
	}
	return hits
}

// eachPayload calls fn with every Payload within m, however deep: inputs,
// results, failures' details, memo, search attributes, headers, user
// metadata.
func eachPayload(m protoreflect.Message, fn func(*commonpb.Payload)) {
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		fn(p)
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap() && fd.MapValue().Kind() == protoreflect.MessageKind:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				eachPayload(mv.Message(), fn)
				return true
			})
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			for i := 0; i < v.List().Len(); i++ {
				eachPayload(v.List().Get(i).Message(), fn)
			}
		case !fd.IsMap() && !fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			eachPayload(v.Message(), fn)
		}
		return true
	})
}

// executions are the runs given, the child runs they started, however
// deep, and the runs visibility lists as started since the test began
// (the package's tests run one at a time: those are the test's own).
func (w *world) executions(ctx context.Context, c client.Client, runs []client.WorkflowRun, since time.Time) []*commonpb.WorkflowExecution {
	w.t.Helper()
	seen := map[string]bool{}
	var out []*commonpb.WorkflowExecution
	var add func(x *commonpb.WorkflowExecution)
	add = func(x *commonpb.WorkflowExecution) {
		if x.GetRunId() == "" || seen[x.GetRunId()] {
			return
		}
		seen[x.GetRunId()] = true
		out = append(out, x)
		for _, ev := range historyOf(w.t, c, x).Events {
			if a := ev.GetChildWorkflowExecutionStartedEventAttributes(); a != nil {
				add(a.GetWorkflowExecution())
			}
			if a := ev.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
				add(&commonpb.WorkflowExecution{WorkflowId: x.GetWorkflowId(), RunId: a.GetNewExecutionRunId()})
			}
		}
	}
	for _, r := range runs {
		add(&commonpb.WorkflowExecution{WorkflowId: r.GetID(), RunId: r.GetRunID()})
	}
	children := len(out) - len(runs)
	if children < 2 {
		w.t.Fatalf("the drill started %d child runs, want its UPDATE and its verification", children)
	}
	q := fmt.Sprintf("StartTime >= '%s'", since.UTC().Format(time.RFC3339Nano))
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token})
		if err != nil {
			w.t.Fatal(err)
		}
		for _, e := range resp.GetExecutions() {
			add(e.GetExecution())
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	return out
}

// historyOf reads every event of a run.
func historyOf(t *testing.T, c client.Client, x *commonpb.WorkflowExecution) *historypb.History {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), x.GetWorkflowId(), x.GetRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	return h
}

// lockedBuffer is a log's output, written by the workers' goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Split(strings.TrimSpace(b.buf.String()), "\n")
}
