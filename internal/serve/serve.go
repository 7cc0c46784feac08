// Package serve assembles catsync's Temporal workers: one per site this
// process serves (queue catsync.<site>, the site's activities) and one for
// the workflows (queue catsync); and Dial, the one way catsync's programs
// connect to Temporal. An assembly package: it imports activities and
// workflows, unlike the rest of internal/.
package serve

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/keys"
	"github.com/catsync/catsync/internal/keys/keyconf"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore"
	"github.com/catsync/catsync/workflows"
)

// Dial connects to the Temporal frontend of cfg, logging through logger
// (nil: the SDK's default logger); the error names the variable to fix.
// The worker and the CLI both dial here.
func Dial(ctx context.Context, cfg *config.Config, logger log.Logger) (client.Client, error) {
	c, err := client.DialContext(ctx, client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (TEMPORAL_ADDRESS): %w", cfg.TemporalAddress, err)
	}
	return c, nil
}

// SearchAttributes are the custom search attributes catsync sets.
var SearchAttributes = map[string]enumspb.IndexedValueType{
	workflows.StoreKey.GetName():   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	workflows.TypeKey.GetName():    enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	workflows.OutcomeKey.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	workflows.ChangesKey.GetName(): enumspb.INDEXED_VALUE_TYPE_INT,
}

// EnsureSearchAttributes registers catsync's search attributes in the
// namespace; those already there are left alone.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	_, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: SearchAttributes})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register search attributes in %s: %w", namespace, err)
	}
	return nil
}

// Workers are the running workers of this process and the catalogs they hold.
type Workers struct {
	workers []worker.Worker
	stores  []store.Store
	keys    []keys.Manager
}

// Start opens the catalogs of the sites cfg says to serve and starts their
// workers, plus the workflow worker if asked.
func Start(ctx context.Context, c client.Client, cfg *config.Config) (*Workers, error) {
	w := &Workers{}
	for _, role := range []string{config.RolePrimary, config.RoleSecondary} {
		if !cfg.Serves(role) {
			continue
		}
		if err := cfg.RequireSite(role); err != nil {
			w.Stop()
			return nil, err
		}
		sc := cfg.Site(role)
		st, err := sqlstore.Open(ctx, sc.Catalog)
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
		site := &activities.Site{Name: sc.Name, Catalog: st, Staging: snapshot.Area{Root: sc.Staging}, Keys: km}
		if role == config.RoleSecondary {
			site.Source = snapshot.Area{Root: cfg.Source}
		}
		aw := worker.New(c, activities.TaskQueue(sc.Name), worker.Options{})
		aw.RegisterActivity(&activities.Activities{Site: site})
		if err := w.start(aw); err != nil {
			return nil, err
		}
	}
	if cfg.Workflows {
		ww := worker.New(c, workflows.TaskQueue, worker.Options{})
		ww.RegisterWorkflow(workflows.CatalogSync)
		if err := w.start(ww); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func (w *Workers) start(x worker.Worker) error {
	if err := x.Start(); err != nil {
		w.Stop()
		return err
	}
	w.workers = append(w.workers, x)
	return nil
}

// Stop stops the workers, then closes the catalogs and key managers.
func (w *Workers) Stop() {
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
