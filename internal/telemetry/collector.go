package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
)

// State is what the Collector reads of the secondary site.
type State struct {
	Catalog store.Reader
	// Applied is when the newest snapshot applied to a data store was
	// taken (the last of its staging chain), zero when none was.
	Applied func(ctx context.Context, storeID string) (time.Time, error)
	// Succeeded are the outcomes of a sync that applied everything, and
	// Verifications those of a verification, whose record (counts
	// planned, nothing applied) is not a sync's: the workflows' outcomes,
	// which this package does not import.
	Succeeded, Verifications []string
	// Now is the clock of the lag (nil: time.Now).
	Now func() time.Time
}

// ScrapeTimeout bounds a scrape's reads of the catalog and staging area.
const ScrapeTimeout = 10 * time.Second

// Collector computes catsync's metrics at each scrape from State: the
// replication lag per data store, and from the audit trail the last
// success and the newest record of each store and type. docs/metrics.md
// describes them.
type Collector struct {
	state State

	mu     sync.Mutex
	head   store.AuditRecord // the newest record read: the cache is of the trail up to it
	cached trail
}

// NewCollector makes the collector of s; register it in Metrics.Registry.
func NewCollector(s State) *Collector {
	if s.Now == nil {
		s.Now = time.Now
	}
	return &Collector{state: s}
}

var (
	storeType = []string{"store", "type"}
	descUp    = prometheus.NewDesc("catsync_state_up",
		"1 when the last scrape read the secondary's catalog, audit trail and staging area in full, 0 when a read failed (the worker's log says which).", nil, nil)
	descLag = prometheus.NewDesc("catsync_replication_lag_seconds",
		"Seconds from when the newest snapshot applied to the data store was taken until now: the recovery point were the primary lost now.", []string{"store"}, nil)
	descSuccess = prometheus.NewDesc("catsync_last_success_timestamp_seconds",
		"When the newest sync of the store and type that applied everything finished, in Unix seconds.", storeType, nil)
	descRun = prometheus.NewDesc("catsync_last_sync_timestamp_seconds",
		"When the newest sync of the store and type finished, in Unix seconds, by its outcome.", append(storeType, "outcome"), nil)
	descRows = prometheus.NewDesc("catsync_last_sync_rows",
		"Rows of the newest sync of the store and type, by entity and action (created, updated, deleted, unchanged, deferred).", append(storeType, "entity", "action"), nil)
	descConflicts = prometheus.NewDesc("catsync_last_sync_conflicts",
		"Conflicts the newest sync of the store and type found, by safety rule.", append(storeType, "rule"), nil)
	descKeys = prometheus.NewDesc("catsync_last_sync_keys_not_in_parity",
		"Encrypted volumes whose key the newest sync of the store and type found not in parity at the secondary, by problem.", append(storeType, "problem"), nil)
	descSamples = prometheus.NewDesc("catsync_last_sync_restore_samples",
		"Volumes the newest sync of the store and type tested restoring, by verdict (passed, failed) and, failed, by problem.", append(storeType, "verdict", "problem"), nil)
	descRestorable = prometheus.NewDesc("catsync_last_sync_restorable_ratio",
		"Fraction of the store's volumes whose restore was verified within the restore test's window, as of the newest sync of the store and type.", storeType, nil)
	descs = []*prometheus.Desc{descUp, descLag, descSuccess, descRun, descRows, descConflicts, descKeys, descSamples, descRestorable}
)

// Describe sends the descriptions of every metric the collector makes.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range descs {
		ch <- d
	}
}

// Collect reads the state and sends the metrics. A failed read sends an
// invalid metric (the scrape serves the rest, and logs the error) and
// catsync_state_up 0.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	up := 1.0
	fail := func(d *prometheus.Desc, err error) {
		up = 0
		ch <- prometheus.NewInvalidMetric(d, err)
	}
	if err := c.collectLag(ctx, ch); err != nil {
		fail(descLag, err)
	}
	t, err := c.trail(ctx)
	if err != nil {
		fail(descRun, err)
	}
	t.collect(ch)
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up)
}

func (c *Collector) collectLag(ctx context.Context, ch chan<- prometheus.Metric) error {
	var ids []string
	if err := c.state.Catalog.ScanDataStores(ctx, func(d *catalog.DataStore) error {
		ids = append(ids, d.ID)
		return nil
	}); err != nil {
		return fmt.Errorf("catsync_replication_lag_seconds: the secondary's data stores: %w", err)
	}
	var errs []error
	now := c.state.Now()
	for _, id := range ids {
		taken, err := c.state.Applied(ctx, id)
		if err != nil {
			errs = append(errs, fmt.Errorf("catsync_replication_lag_seconds: the staging chain of data store %s: %w", id, err))
			continue
		}
		if !taken.IsZero() {
			ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, now.Sub(taken).Seconds(), id)
		}
	}
	return errors.Join(errs...)
}

// run is a data store and sync type, as the audit trail names them.
type run struct{ store, typ string }

// trail is what the metrics take from the audit trail.
type trail struct {
	newest  map[run]audit.Entry // the newest sync record of each
	success map[run]time.Time   // when the newest that succeeded finished
}

// trail returns the audit trail's summary, read again only when a record
// was appended since the last scrape: a trail holds years of runs, and
// changes once a run.
func (c *Collector) trail(ctx context.Context) (trail, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	head, err := c.state.Catalog.LastAudit(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return trail{}, nil
	case err != nil:
		return trail{}, fmt.Errorf("catsync_last_*: the audit trail's newest record: %w", err)
	case head.Seq == c.head.Seq && head.Hash == c.head.Hash:
		return c.cached, nil
	}
	t := trail{newest: map[run]audit.Entry{}, success: map[run]time.Time{}}
	err = c.state.Catalog.ScanAudit(ctx, func(r *store.AuditRecord) error {
		var e audit.Entry
		if err := json.Unmarshal([]byte(r.Entry), &e); err != nil {
			return fmt.Errorf("record %d: %w", r.Seq, err)
		}
		if (e.Kind != "" && e.Kind != audit.KindSync) || slices.Contains(c.state.Verifications, e.Outcome) {
			return nil
		}
		k := run{e.Store, e.Type}
		// Only the counts are kept: the lists a report carries are long.
		if e.Conflicts != nil {
			e.Conflicts.Conflicts = nil
		}
		if e.Keys != nil {
			e.Keys.Findings = nil
		}
		if e.Restore != nil {
			e.Restore.Verdicts = nil
		}
		t.newest[k] = e
		if slices.Contains(c.state.Succeeded, e.Outcome) {
			t.success[k] = finished(e)
		}
		return nil
	})
	if err != nil {
		return trail{}, fmt.Errorf("catsync_last_*: the audit trail: %w", err)
	}
	c.head, c.cached = head, t
	return t, nil
}

// finished is when a run ended: its start if it recorded no end.
func finished(e audit.Entry) time.Time {
	if e.Finished.IsZero() {
		return e.Started
	}
	return e.Finished
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func (t trail) collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for k, at := range t.success {
		gauge(descSuccess, unix(at), k.store, k.typ)
	}
	for k, e := range t.newest {
		gauge(descRun, unix(finished(e)), k.store, k.typ, e.Outcome)
		for key, n := range e.Counts {
			entity, action, _ := strings.Cut(key, ".") // "tapefile.create"
			gauge(descRows, float64(n), k.store, k.typ, entity, action)
		}
		if e.Conflicts != nil {
			for rule, n := range e.Conflicts.ByRule {
				gauge(descConflicts, float64(n), k.store, k.typ, string(rule))
			}
		}
		if e.Keys != nil {
			for p, n := range e.Keys.ByProblem {
				gauge(descKeys, float64(n), k.store, k.typ, string(p))
			}
		}
		if r := e.Restore; r != nil && r.Skipped == "" {
			gauge(descSamples, float64(r.Passed), k.store, k.typ, "passed", "")
			listed := 0
			for p, n := range r.ByProblem {
				gauge(descSamples, float64(n), k.store, k.typ, "failed", p)
				listed += n
			}
			if r.Failed > listed {
				gauge(descSamples, float64(r.Failed-listed), k.store, k.typ, "failed", "")
			}
			gauge(descRestorable, r.Fraction, k.store, k.typ)
		}
	}
}
