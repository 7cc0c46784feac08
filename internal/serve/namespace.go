package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/workflows"
)

// MinRetention is Temporal's smallest retention of closed runs.
const MinRetention = 24 * time.Hour

// searchAttributes are every search attribute catsync's workflows set,
// with their types: the workflows' own list, so none is forgotten.
func searchAttributes() map[string]enumspb.IndexedValueType {
	m := map[string]enumspb.IndexedValueType{}
	for k := range workflows.SearchAttributes().GetUntypedValues() {
		m[k.GetName()] = k.GetValueType()
	}
	return m
}

// SetupNamespace makes cfg's namespace ready for catsync, as an operator
// does once per cluster (catsync setup): it registers the namespace with
// the retention when it is missing, sets the retention when it differs,
// and registers catsync's search attributes. It returns what it changed,
// one line each; nothing on a second run.
func SetupNamespace(ctx context.Context, cfg *config.Config, retention time.Duration, description string) ([]string, error) {
	if retention < MinRetention {
		return nil, fmt.Errorf("retention %s is shorter than Temporal's minimum, one day", retention)
	}
	ns := cfg.TemporalNamespace
	if ns == "" {
		return nil, config.Bad(NamespaceEnv, "", "not set: name catsync's namespace, such as catsync")
	}
	addr := cfg.TemporalAddress
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return nil, config.Bad(AddressEnv, addr, "want the Temporal frontend's HOST:PORT, such as 127.0.0.1:7233")
	}
	// Dialled without DialWith's namespace check: the namespace may not
	// exist yet.
	opts := client.Options{HostPort: addr, Namespace: ns}
	if err := Secure(cfg, &opts); err != nil {
		return nil, err
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, dialError(cfg, err)
	}
	defer c.Close()

	var done []string
	desc, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	var missing *serviceerror.NamespaceNotFound
	switch {
	case errors.As(err, &missing):
		if _, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace: ns, Description: description, WorkflowExecutionRetentionPeriod: durationpb.New(retention)}); err != nil {
			return nil, config.Wrap(NamespaceEnv, ns, fmt.Errorf("register the namespace at %s: %w", addr, err), "")
		}
		done = append(done, fmt.Sprintf("namespace %s registered, retention %s", ns, days(retention)))
	case err != nil:
		return nil, config.Wrap(NamespaceEnv, ns, fmt.Errorf("describe the namespace at %s: %w", addr, err), "")
	case desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() != retention:
		was := desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()
		if _, err := c.WorkflowService().UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{Namespace: ns,
			Config: &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(retention)}}); err != nil {
			return nil, config.Wrap(NamespaceEnv, ns, fmt.Errorf("set the namespace's retention at %s: %w", addr, err), "")
		}
		done = append(done, fmt.Sprintf("namespace %s retention %s (was %s)", ns, days(retention), days(was)))
	}

	want := searchAttributes()
	have, err := listSearchAttributes(ctx, c, ns, true)
	if err != nil {
		return nil, err
	}
	add := map[string]enumspb.IndexedValueType{}
	for name, typ := range want {
		switch got, ok := have[name]; {
		case !ok:
			add[name] = typ
		case got != typ:
			return nil, config.Bad(NamespaceEnv, ns, fmt.Sprintf("search attribute %s is a %s there, catsync's is a %s: remove it (temporal operator search-attribute remove --name %s), then run setup again",
				name, got, typ, name))
		}
	}
	if len(add) > 0 {
		if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
			Namespace: ns, SearchAttributes: add}); err != nil && !errors.As(err, new(*serviceerror.AlreadyExists)) {
			return nil, config.Wrap(NamespaceEnv, ns, fmt.Errorf("register search attributes at %s: %w", addr, err), "")
		}
		names := make([]string, 0, len(add))
		for n := range add {
			names = append(names, n)
		}
		sort.Strings(names)
		done = append(done, "search attributes registered: "+strings.Join(names, ", "))
		// Visible to the workers' check before setup says it is done.
		for {
			if err := CheckSearchAttributes(ctx, c, ns); err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return done, fmt.Errorf("the search attributes of %s are not visible yet: %w", ns, ctx.Err())
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	return done, nil
}

// listSearchAttributes returns the custom search attributes of ns; wait
// retries while a namespace just registered is not known to every
// frontend yet.
func listSearchAttributes(ctx context.Context, c client.Client, ns string, wait bool) (map[string]enumspb.IndexedValueType, error) {
	for {
		resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
		if err == nil {
			return resp.GetCustomAttributes(), nil
		}
		var missing *serviceerror.NamespaceNotFound
		if !wait || !errors.As(err, &missing) {
			return nil, config.Wrap(NamespaceEnv, ns, fmt.Errorf("list the search attributes: %w", err), "")
		}
		select {
		case <-ctx.Done():
			return nil, config.Wrap(NamespaceEnv, ns, err, "the namespace was registered but is not served yet")
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// CheckSearchAttributes checks that catsync's search attributes are
// registered in the namespace with their types, and names the command
// that registers them when they are not. A worker checks at start rather
// than registering them: registering is an operator's right, not a
// worker's, and a run upserting an unknown attribute fails its workflow
// task over and over.
func CheckSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	have, err := listSearchAttributes(ctx, c, namespace, false)
	if err != nil {
		return err
	}
	var wrong []string
	for name, typ := range searchAttributes() {
		if got, ok := have[name]; !ok || got != typ {
			wrong = append(wrong, name)
		}
	}
	if len(wrong) == 0 {
		return nil
	}
	slices.Sort(wrong)
	return config.Bad(NamespaceEnv, namespace, fmt.Sprintf("search attributes %s are not registered there: run catsync setup (with this TEMPORAL_NAMESPACE)",
		strings.Join(wrong, ", ")))
}

// days shows a retention in days when it is whole days.
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
