package telemetry

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// collector keeps the spans an OTLP exporter sent, by service and name.
type collector struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []string // "service/span"
}

func (c *collector) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		service := ""
		for _, kv := range rs.Resource.GetAttributes() {
			if kv.Key == "service.name" {
				service = kv.Value.GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				c.spans = append(c.spans, service+"/"+s.Name)
			}
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func (c *collector) got() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.spans, " ")
}

// exportOne makes a span through tracing set up from the environment and
// flushes it.
func exportOne(t *testing.T) {
	t.Helper()
	tr, err := NewTracing(context.Background(), "catsync-worker")
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.provider.Tracer("test").Start(context.Background(), "apply segment")
	span.End()
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// With OTEL_EXPORTER_OTLP_ENDPOINT set, spans go to the collector there,
// over HTTP by default and over gRPC when the protocol says so.
func TestTracingExportsOverOTLP(t *testing.T) {
	t.Run("http/protobuf", func(t *testing.T) {
		c := &collector{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			var req collectortrace.ExportTraceServiceRequest
			if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
				http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
				return
			}
			_, _ = c.Export(r.Context(), &req)
			w.Header().Set("Content-Type", "application/x-protobuf")
			out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
			_, _ = w.Write(out)
		}))
		defer srv.Close()
		t.Setenv(OTLPEndpointEnv, srv.URL)
		exportOne(t)
		if got := c.got(); got != "catsync-worker/apply segment" {
			t.Fatalf("the collector got %q", got)
		}
	})
	t.Run("grpc", func(t *testing.T) {
		c := &collector{}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		g := grpc.NewServer()
		collectortrace.RegisterTraceServiceServer(g, c)
		go g.Serve(l)
		defer g.Stop()
		t.Setenv(OTLPTracesEndpointEnv, "http://"+l.Addr().String())
		t.Setenv(OTLPProtocolEnv, "grpc")
		t.Setenv("OTEL_SERVICE_NAME", "catsync-dr")
		exportOne(t)
		if got := c.got(); got != "catsync-dr/apply segment" {
			t.Fatalf("the collector got %q", got)
		}
	})
}

func TestTracingSettings(t *testing.T) {
	tr, err := NewTracing(context.Background(), "catsync")
	if err != nil || tr.Endpoint != "" {
		t.Fatalf("no endpoint: %+v, %v", tr, err)
	}
	t.Setenv(OTLPEndpointEnv, "http://127.0.0.1:4318")
	t.Setenv(TracesExporterEnv, "none")
	if tr, err := NewTracing(context.Background(), "catsync"); err != nil || tr.Endpoint != "" {
		t.Fatalf("exporter none: %+v, %v", tr, err)
	}
	t.Setenv(TracesExporterEnv, "")
	t.Setenv(OTLPTracesProtocolEnv, "thrift")
	if _, err := NewTracing(context.Background(), "catsync"); err == nil || !strings.Contains(err.Error(), OTLPTracesProtocolEnv+`="thrift"`) {
		t.Fatalf("bad protocol: %v, want the variable named", err)
	}
}

func TestLoggerFormats(t *testing.T) {
	var b bytes.Buffer
	l, err := NewLogger(&b, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("hidden")
	l.Info("step done", StoreKey, "DS_PROD")
	if got := b.String(); got == "" || !strings.HasPrefix(got, "{") || !strings.Contains(got, `"store":"DS_PROD"`) || strings.Contains(got, "hidden") {
		t.Fatalf("not a JSON line at info by default: %q", got)
	}
	t.Setenv(LogFormatEnv, "text")
	t.Setenv(LogLevelEnv, "debug")
	b.Reset()
	if l, err = NewLogger(&b, slog.LevelInfo); err != nil {
		t.Fatal(err)
	}
	l.Debug("shown", StoreKey, "DS_PROD")
	if got := b.String(); !strings.Contains(got, "msg=shown store=DS_PROD") {
		t.Fatalf("not a text line at debug: %q", got)
	}
	for env, v := range map[string]string{LogFormatEnv: "xml", LogLevelEnv: "loud"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, v)
			if _, err := NewLogger(&b, slog.LevelInfo); err == nil || !strings.Contains(err.Error(), env) {
				t.Fatalf("%s=%s: %v, want the variable named", env, v, err)
			}
		})
	}
}

// TestIsTerminal: the bar is drawn on a terminal (the master side of a
// pseudo-terminal stands for one), never into a file, a pipe or a buffer.
func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for name, out := range map[string]io.Writer{"a file": f, "a pipe": w, "a buffer": &bytes.Buffer{}, "/dev/null": null} {
		if IsTerminal(out) {
			t.Errorf("%s taken for a terminal", name)
		}
	}
	pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal to check against: %v", err)
	}
	defer pty.Close()
	if !IsTerminal(pty) {
		t.Error("a pseudo-terminal not taken for a terminal")
	}
}
