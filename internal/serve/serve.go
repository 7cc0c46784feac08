// Package serve assembles catsync's Temporal workers: one per site this
// process serves (queue catsync.<site>, the site's activities) and one for
// the workflows (queue catsync); Dial, the one way catsync's programs
// connect to Temporal, and OpenCatalog, the one way they open a catalog a
// setting names. An assembly package: it imports activities and
// workflows, unlike the rest of internal/.
package serve

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/codec"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/keys/keyconf"
	"github.com/catsync/catsync/internal/schedule"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore"
	"github.com/catsync/catsync/internal/telemetry"
	"github.com/catsync/catsync/workflows"
)

// Variables of the Temporal endpoint, named in Dial's errors.
const (
	AddressEnv   = "TEMPORAL_ADDRESS"
	NamespaceEnv = "TEMPORAL_NAMESPACE"
)

// Dial connects to the Temporal frontend of cfg and checks that its
// namespace exists, logging through logger (nil: the SDK's default
// logger); the error names the variable to fix. The worker and the CLI
// both dial here.
func Dial(ctx context.Context, cfg *config.Config, logger log.Logger) (client.Client, error) {
	return DialWith(ctx, cfg, client.Options{Logger: logger})
}

// DialWith is Dial with the client's options (the worker's metrics
// handler, say); their endpoint and namespace are cfg's.
func DialWith(ctx context.Context, cfg *config.Config, opts client.Options) (client.Client, error) {
	addr := cfg.TemporalAddress
	// The SDK takes a bare host for host:443 and says nothing of the port.
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return nil, config.Bad(AddressEnv, addr, "want the Temporal frontend's HOST:PORT, such as 127.0.0.1:7233")
	}
	opts.HostPort, opts.Namespace = addr, cfg.TemporalNamespace
	if err := Secure(cfg, &opts); err != nil {
		return nil, err
	}
	// Worker and CLI share the codec, so each reads what the other sealed.
	if pc, err := cfg.Codec.New(); err != nil {
		return nil, err
	} else if pc != nil && opts.DataConverter == nil {
		opts.DataConverter, opts.FailureConverter = codec.DataConverter(pc), codec.FailureConverter(pc)
		opts.ContextPropagators = codec.Propagators(pc, opts.ContextPropagators)
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, dialError(cfg, err)
	}
	// Dialling does not look at the namespace; the first call would fail
	// there, saying only "not found".
	ns := cmp.Or(cfg.TemporalNamespace, client.DefaultNamespace)
	if _, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns}); err != nil {
		c.Close()
		var missing *serviceerror.NamespaceNotFound
		if errors.As(err, &missing) {
			return nil, config.Bad(NamespaceEnv, ns, fmt.Sprintf(
				"no such namespace at %s: register it with catsync setup (with this %s), or correct %s", addr, NamespaceEnv, NamespaceEnv))
		}
		return nil, config.Wrap(NamespaceEnv, ns, fmt.Errorf("describe the namespace at %s: %w", addr, err), "")
	}
	return c, nil
}

// SQLitePath is the file of an SQLite catalog's DSN (PATH or sqlite:PATH);
// ok is false for a PostgreSQL URL.
func SQLitePath(dsn string) (path string, ok bool) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return "", false
	}
	return strings.TrimPrefix(dsn, "sqlite:"), true
}

// OpenCatalog opens the catalog at dsn, which setting (a variable or a
// flag) gives: its errors name the setting, the value without its
// password, and what to do.
func OpenCatalog(ctx context.Context, setting, dsn string) (*sqlstore.DB, error) {
	st, err := sqlstore.Open(ctx, dsn)
	if err == nil {
		return st, nil
	}
	if path, ok := SQLitePath(dsn); ok {
		return nil, config.PathError(setting, dsn, path, err)
	}
	var parse *pgconn.ParseConfigError
	var connect *pgconn.ConnectError
	var refused *pgconn.PgError
	problem := ""
	switch {
	case errors.As(err, &parse):
		problem = "want postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?search_path=SCHEMA]"
	case errors.As(err, &refused) && strings.HasPrefix(refused.Code, "28"): // invalid authorization
		problem = "the server refused the user: correct the user or password in " + setting
	case errors.As(err, &refused) && refused.Code == "3D000": // invalid catalog name
		problem = "no such database: create it, or correct " + setting
	case errors.As(err, &refused) && refused.Code == "42501": // insufficient privilege
		problem = "the user may not create the schema or its tables: grant it CREATE, or correct " + setting
	case errors.As(err, &connect):
		problem = "is PostgreSQL running there? start it, or correct the host and port in " + setting
	}
	return nil, config.Wrap(setting, dsn, err, problem)
}

// Workers are the running workers of this process and the catalogs they hold.
type Workers struct {
	workers []worker.Worker
	stores  []store.Store
	keys    []keys.Manager
	http    *telemetry.Server // the metrics and probes, when cfg.MetricsAddress is set
	// unregister takes the collector of the secondary's state out of the
	// metrics, for workers started again on the same metrics.
	unregister func()
}

// Start opens the catalogs of the sites cfg says to serve and starts their
// workers, plus the workflow worker if asked, and the metrics and probes
// endpoint if cfg.MetricsAddress is set (without the SDK's metrics: see
// StartWith).
func Start(ctx context.Context, c client.Client, cfg *config.Config) (*Workers, error) {
	return StartWith(ctx, c, cfg, nil)
}

// StartWith is Start, the endpoint serving m, the metrics c was dialled
// with (DialWith, MetricsHandler m.Temporal()); nil m: new metrics, and
// no SDK metrics among them.
func StartWith(ctx context.Context, c client.Client, cfg *config.Config, m *telemetry.Metrics) (*Workers, error) {
	// The workflows set catsync's search attributes: catsync setup
	// registers them, an operator's act; a worker only checks.
	if cfg.Workflows {
		if err := CheckSearchAttributes(ctx, c, cmp.Or(cfg.TemporalNamespace, client.DefaultNamespace)); err != nil {
			return nil, err
		}
	}
	w := &Workers{}
	checks := []telemetry.Check{{Name: "Temporal at " + cfg.TemporalAddress, Probe: func(ctx context.Context) error {
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			return config.Wrap(AddressEnv, cfg.TemporalAddress, err, "")
		}
		return nil
	}}}
	var state *telemetry.Collector
	for _, role := range []string{config.RolePrimary, config.RoleSecondary} {
		if !cfg.Serves(role) {
			continue
		}
		if err := cfg.RequireSite(role); err != nil {
			w.Stop()
			return nil, err
		}
		sc := cfg.Site(role)
		st, err := OpenCatalog(ctx, config.Prefix(role)+"_CATALOG", sc.Catalog)
		if err != nil {
			w.Stop()
			return nil, fmt.Errorf("%s site %s: %w", role, sc.Name, err)
		}
		w.stores = append(w.stores, st)
		km, err := keyconf.Open(cfg, role)
		if err != nil {
			w.Stop()
			return nil, fmt.Errorf("%s site %s: %w", role, sc.Name, err)
		}
		if km != nil {
			w.keys = append(w.keys, km)
		}
		// The areas carry the variables naming them, for their errors.
		site := &activities.Site{Name: sc.Name, Catalog: st, Staging: snapshot.Area{Root: sc.Staging, Env: config.Prefix(role) + "_STAGING",
			Keys: cfg.Keyring(role)}, Keys: km, Data: sc.Data}
		// Each site reads the other's outbox: the secondary always, the
		// primary once a failback reverses the direction.
		site.Source = snapshot.Area{Root: cfg.Source, Env: config.Prefix(role) + "_SOURCE", Keys: cfg.Keyring(role)}
		if role == config.RolePrimary {
			site.Source.Root = cmp.Or(cfg.PrimarySource, cfg.Secondary.Staging)
		}
		acts := &activities.Activities{Site: site, Schedules: schedules{c}}
		aw := worker.New(c, activities.TaskQueue(sc.Name), worker.Options{Interceptors: []interceptor.WorkerInterceptor{activities.KeepAlive()}})
		aw.RegisterActivity(acts)
		if err := w.start(aw); err != nil {
			return nil, err
		}
		checks = append(checks, siteChecks(role, sc, site)...)
		if role == config.RoleSecondary {
			state = telemetry.NewCollector(telemetry.State{Catalog: st,
				Applied: func(ctx context.Context, storeID string) (time.Time, error) {
					s, err := acts.StagedState(ctx, storeID)
					return s.Last().Taken, err
				},
				Succeeded:     []string{workflows.OutcomeCompleted},
				Verifications: []string{workflows.OutcomeVerified, workflows.OutcomeDrift}})
		}
	}
	if cfg.Workflows {
		ww := worker.New(c, workflows.TaskQueue, worker.Options{})
		ww.RegisterWorkflow(workflows.CatalogSync)
		ww.RegisterWorkflow(workflows.DRDrill)
		ww.RegisterWorkflow(workflows.DRFailover)
		ww.RegisterWorkflow(workflows.DRFailback)
		if err := w.start(ww); err != nil {
			return nil, err
		}
	}
	if cfg.MetricsAddress != "" {
		if err := w.serveHTTP(cfg.MetricsAddress, m, state, checks); err != nil {
			w.Stop()
			return nil, err
		}
	}
	return w, nil
}

// serveHTTP starts the metrics and probes endpoint on addr.
func (w *Workers) serveHTTP(addr string, m *telemetry.Metrics, state *telemetry.Collector, checks []telemetry.Check) error {
	if m == nil {
		var err error
		if m, err = telemetry.NewMetrics(nil); err != nil {
			return err
		}
	}
	if state != nil {
		if err := m.Registry.Register(state); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		w.unregister = func() { m.Registry.Unregister(state) }
	}
	srv, err := telemetry.Listen(addr, telemetry.Handler(m, checks))
	if err != nil {
		return config.Wrap(config.MetricsEnv, addr, err, "is another process listening there? free the port, or correct "+config.MetricsEnv)
	}
	w.http = srv
	return nil
}

// MetricsAddress is where the metrics and probes are served (the port
// chosen, for a configured port 0); empty when they are not.
func (w *Workers) MetricsAddress() string {
	if w.http == nil {
		return ""
	}
	return w.http.Addr()
}

// siteChecks are what /readyz checks of a site: its catalog answers a
// read (and an SQLite catalog's file is still where it was opened: a
// removed file keeps answering through the open handle, and loses every
// write), its staging area is a folder (or can be made one), its key
// manager answers a lookup.
func siteChecks(role string, sc config.Site, site *activities.Site) []telemetry.Check {
	prefix := config.Prefix(role)
	name := role + " site " + sc.Name
	checks := []telemetry.Check{{Name: name + " catalog", Probe: func(ctx context.Context) error {
		if path, ok := SQLitePath(sc.Catalog); ok {
			if _, err := os.Stat(path); err != nil {
				return config.Wrap(prefix+"_CATALOG", sc.Catalog, err, "the catalog's file is gone: restore it, and restart the worker")
			}
		}
		if _, err := site.Catalog.Meta(ctx, store.MetaAuditHead); err != nil && !errors.Is(err, store.ErrNotFound) {
			return config.Wrap(prefix+"_CATALOG", sc.Catalog, err, "")
		}
		return nil
	}}, {Name: name + " staging area", Probe: func(context.Context) error {
		// A folder not there yet is made by the first snapshot written:
		// what exists of its path must be folders.
		for dir := filepath.Clean(site.Staging.Root); ; dir = filepath.Dir(dir) {
			fi, err := os.Stat(dir)
			switch {
			case err == nil && fi.IsDir():
				return nil
			case err == nil:
				return config.Bad(site.Staging.Env, site.Staging.Root, dir+" is not a folder")
			case !errors.Is(err, fs.ErrNotExist):
				return config.Wrap(site.Staging.Env, site.Staging.Root, err, "")
			case dir == filepath.Dir(dir):
				return config.Wrap(site.Staging.Env, site.Staging.Root, err, "")
			}
		}
	}}}
	checks = append(checks, telemetry.Check{Name: name + " snapshot keys", Probe: func(context.Context) error {
		// Read once at start: a worker without them is not ready until it
		// is configured and restarted, and says so now rather than at
		// its first snapshot.
		return snapshotKeys(site.Staging.Keys)
	}})
	if site.Keys != nil {
		checks = append(checks, telemetry.Check{Name: name + " key manager", Probe: func(ctx context.Context) error {
			// A name no key has: the answer, not a key, is what is checked.
			if _, err := site.Keys.Lookup(ctx, "catsync-readyz", []string{"readyz"}); err != nil {
				return config.Wrap(prefix+"_KEYS", sc.Keys, err, "")
			}
			return nil
		}})
	}
	return checks
}

func (w *Workers) start(x worker.Worker) error {
	if err := x.Start(); err != nil {
		w.Stop()
		return err
	}
	w.workers = append(w.workers, x)
	return nil
}

// Stop stops the endpoint and the workers, then closes the catalogs and
// key managers.
func (w *Workers) Stop() {
	if w.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		w.http.Close(ctx)
		cancel()
		w.http = nil
	}
	if w.unregister != nil {
		w.unregister()
		w.unregister = nil
	}
	for _, x := range w.workers {
		x.Stop()
	}
	for _, s := range w.stores {
		s.Close()
	}
	for _, k := range w.keys {
		k.Close()
	}
	w.workers, w.stores, w.keys = nil, nil, nil
}

// schedules acts on the data stores' Temporal schedules for the activities.
type schedules struct{ c client.Client }

func (s schedules) PauseStore(ctx context.Context, storeID, note string) ([]string, error) {
	return schedule.PauseStore(ctx, s.c, storeID, note)
}

func (s schedules) UnpauseStore(ctx context.Context, storeID, note string) ([]string, error) {
	return schedule.UnpauseStore(ctx, s.c, storeID, note)
}

// snapshotKeys is nil when a site can sign its snapshots and trusts a
// key to check the other site's with (each site exports: the secondary
// when it fails back), and names the variable to set otherwise.
func snapshotKeys(k *snapshot.Keyring) error {
	if err := k.CanSign(); err != nil {
		return err
	}
	return k.CanVerify()
}
