package telemetry_test

// Integration tests of the endpoint: the real Temporal dev server, sites
// simulated in SQLite, the workers as catsync-worker starts them.

import (
	"context"
	"crypto/ed25519"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.temporal.io/sdk/client"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/serve"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/telemetry"
	"github.com/catsync/catsync/internal/temporaltest"
	"github.com/catsync/catsync/workflows"
)

func TestMain(m *testing.M) { temporaltest.Main(m) }

// served simulates a pair of sites and serves both, with the workflows,
// as catsync-worker does with CATSYNC_METRICS_ADDRESS set (to a free
// port); it returns the configuration, the client and the endpoint's URL.
func served(t *testing.T) (*config.Config, client.Client, string) {
	t.Helper()
	return servedWith(t, nil)
}

// servedWith is served with the configuration changed by edit first.
func servedWith(t *testing.T, edit func(*config.Config)) (*config.Config, client.Client, string) {
	t.Helper()
	srv := temporaltest.Server(t) // first: without a server the test skips (or fails) before simulating
	pair := simtest.New(t, simtest.Small(), simtest.Options{Keys: simtest.Keystores})
	cfg := *pair.Config
	cfg.TemporalAddress, cfg.TemporalNamespace, cfg.MetricsAddress = srv.FrontendHostPort(), "default", "127.0.0.1:0"
	if edit != nil {
		edit(&cfg)
	}
	ctx := context.Background()
	m, err := telemetry.NewMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := serve.DialWith(ctx, &cfg, client.Options{MetricsHandler: m.Temporal()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	w, err := serve.StartWith(ctx, c, &cfg, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return &cfg, c, "http://" + w.MetricsAddress()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// scrape reads the endpoint's metrics, by family.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("GET /metrics: %v\n%s", err, body)
	}
	return fams
}

// values are a family's samples whose labels include want, each by its
// labels (name=value, comma-separated, sorted as Prometheus writes them).
func values(fams map[string]*dto.MetricFamily, name string, want map[string]string) map[string]float64 {
	out := map[string]float64{}
	f := fams[name]
	if f == nil {
		return out
	}
metrics:
	for _, m := range f.Metric {
		var labels []string
		for k, v := range want {
			if !hasLabel(m, k, v) {
				continue metrics
			}
		}
		for _, l := range m.Label {
			labels = append(labels, l.GetName()+"="+l.GetValue())
		}
		switch {
		case m.Gauge != nil:
			out[strings.Join(labels, ",")] = m.Gauge.GetValue()
		case m.Histogram != nil:
			out[strings.Join(labels, ",")] = float64(m.Histogram.GetSampleCount())
		}
	}
	return out
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.Label {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

// A FULL sync shows on the endpoint: its rows, the lag it closes, its
// success, and the SDK's latencies of its steps.
func TestMetricsOfASync(t *testing.T) {
	cfg, c, base := served(t)
	fams := scrape(t, base)
	if up := values(fams, "catsync_state_up", nil); up[""] != 1 {
		t.Errorf("before any sync: catsync_state_up %v, want 1", up)
	}
	if lag := values(fams, "catsync_replication_lag_seconds", map[string]string{"store": "DS_PROD"}); len(lag) != 0 {
		t.Errorf("before any sync: a lag %v, with nothing applied", lag)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, err := workflows.StartSync(ctx, c, workflows.SyncInput{Store: "DS_PROD", Type: snapshot.Full, Primary: cfg.Primary.Name,
		Secondary: cfg.Secondary.Name, HeartbeatTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Scrapes while the run runs are served in full.
	done := make(chan error, 1)
	var res workflows.SyncResult
	go func() { done <- run.Get(ctx, &res) }()
	during := 0
	for waiting := true; waiting; during++ {
		select {
		case err = <-done:
			waiting = false
		case <-time.After(50 * time.Millisecond):
		}
		if up := values(scrape(t, base), "catsync_state_up", nil); up[""] != 1 {
			t.Fatalf("scrape %d during the sync: catsync_state_up %v, want 1", during, up)
		}
	}
	if err != nil || res.Outcome != workflows.OutcomeCompleted {
		t.Fatalf("FULL sync: %v, outcome %s", err, res.Outcome)
	}
	t.Logf("%d scrapes during the sync", during)

	fams = scrape(t, base)
	full := map[string]string{"store": "DS_PROD", "type": string(snapshot.Full)}
	rows := values(fams, "catsync_last_sync_rows", full)
	if len(rows) != len(res.Applied.Counts) || len(rows) == 0 {
		t.Errorf("catsync_last_sync_rows of the FULL: %v, want the run's counts %v", rows, res.Applied.Counts)
	}
	for k, n := range res.Applied.Counts {
		entity, action, _ := strings.Cut(k, ".")
		got := values(fams, "catsync_last_sync_rows", map[string]string{"store": "DS_PROD", "type": "FULL", "entity": entity, "action": action})
		if len(got) != 1 || first(got) != float64(n) {
			t.Errorf("catsync_last_sync_rows of %s: %v, want %d", k, got, n)
		}
	}
	lag := values(fams, "catsync_replication_lag_seconds", map[string]string{"store": "DS_PROD"})
	if len(lag) != 1 || first(lag) < 0 || first(lag) > 60 {
		t.Errorf("catsync_replication_lag_seconds after the sync: %v, want a few seconds", lag)
	}
	success := values(fams, "catsync_last_success_timestamp_seconds", full)
	if want := float64(res.Finished.UnixNano()) / 1e9; len(success) != 1 || math.Abs(first(success)-want) > 0.001 {
		t.Errorf("catsync_last_success_timestamp_seconds: %v, want the run's end %v", success, want)
	}
	var names []string
	for n := range fams {
		if strings.HasPrefix(n, "temporal_") {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	t.Logf("the SDK's metrics: %v", names)
	apply := values(fams, "temporal_activity_execution_latency_seconds", map[string]string{"activity_type": "Apply"})
	if len(apply) == 0 || first(apply) < 1 {
		t.Errorf("no temporal_activity_execution_latency_seconds of activity Apply: %v; the SDK's metrics: %v", apply, names)
	}
	if f := fams["temporal_activity_execution_latency_seconds"]; f != nil && f.GetType() != dto.MetricType_HISTOGRAM {
		t.Errorf("temporal_activity_execution_latency_seconds is a %s, want a histogram", f.GetType())
	}
}

func first(m map[string]float64) float64 {
	for _, v := range m {
		return v
	}
	return math.NaN()
}

// /readyz names the catalog whose file is gone, with 503, and is 200 again
// once it is back; /livez answers throughout.
func TestReadyz(t *testing.T) {
	cfg, _, base := served(t)
	if code, body := get(t, base+"/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Fatalf("GET /readyz: %d %q, want 200 ready", code, body)
	}
	path, ok := serve.SQLitePath(cfg.Secondary.Catalog)
	if !ok {
		t.Fatalf("the secondary's catalog %s is not SQLite", cfg.Secondary.Catalog)
	}
	if err := os.Rename(path, path+".away"); err != nil {
		t.Fatal(err)
	}
	code, body := get(t, base+"/readyz")
	if want := "secondary site " + cfg.Secondary.Name + " catalog: CATSYNC_SECONDARY_CATALOG="; code != http.StatusServiceUnavailable ||
		!strings.Contains(body, want) || strings.Contains(body, "primary site") || strings.Contains(body, "Temporal") {
		t.Errorf("GET /readyz, the secondary's catalog file gone: %d %q, want 503 naming it (%q) alone", code, body, want)
	}
	if code, _ := get(t, base+"/livez"); code != http.StatusOK {
		t.Errorf("GET /livez: %d, want 200", code)
	}
	if err := os.Rename(path+".away", path); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("GET /readyz, the file back: %d %q, want 200", code, body)
	}
}

// A site worker without its signing key, or trusting no key, is not
// ready, and /readyz names the variable to set.
func TestReadyzSnapshotKeys(t *testing.T) {
	other, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, own, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		ring *snapshot.Keyring
		want string
	}{
		{"no signing key", snapshot.NewKeyring(nil, other), "secondary site secd snapshot keys: CATSYNC_SECONDARY_SIGNING_KEY is not set"},
		{"no trusted key", snapshot.NewKeyring(own), "secondary site secd snapshot keys: no key is trusted: CATSYNC_SECONDARY_TRUSTED_KEYS is not set"},
	} {
		t.Run(c.what, func(t *testing.T) {
			c.ring.SignEnv, c.ring.TrustEnv = config.SigningKeyEnv(config.RoleSecondary), config.TrustedKeysEnv(config.RoleSecondary)
			cfg, _, base := servedWith(t, func(cfg *config.Config) { cfg.Signing.Secondary = c.ring })
			want := strings.ReplaceAll(c.want, "secd", cfg.Secondary.Name)
			code, body := get(t, base+"/readyz")
			if code != http.StatusServiceUnavailable || !strings.Contains(body, want) || strings.Contains(body, "primary site") {
				t.Errorf("GET /readyz: %d %q, want 503 naming %q alone", code, body, want)
			}
		})
	}
}
