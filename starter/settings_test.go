package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/serve"
	"github.com/catsync/catsync/internal/store/sqlstore/sqltest"
)

// startWorker assembles the worker as catsync-worker does, from the
// environment, and stops it at once: what a bad setting of the worker's
// gives it.
func startWorker(ctx context.Context) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	c, err := serve.Dial(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	w, err := serve.Start(ctx, c, cfg)
	if err == nil {
		w.Stop()
	}
	return err
}

// pgDSN is the test server's DSN with its user, password and database
// replaced (keep: ""); the test skips without a server.
func pgDSN(t *testing.T, user, password, database string) string {
	t.Helper()
	dsn := os.Getenv(sqltest.PostgresEnv)
	if dsn == "" {
		t.Skipf("%s is not set", sqltest.PostgresEnv)
	}
	u, err := url.Parse(dsn)
	must(t, err)
	if user != "" {
		u.User = url.UserPassword(user, password)
	}
	if database != "" {
		u.Path = "/" + database
	}
	return u.String()
}

// TestBadSettings gives every setting a bad value, one at a time, where it
// is used (a command, or the worker's start), on an environment that works
// otherwise. Each error must name the setting and what is wrong, and show
// no secret.
func TestBadSettings(t *testing.T) {
	devClient(t)
	_, _, cfg := smallPair(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "no such folder")
	free := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		must(t, err)
		defer l.Close()
		return l.Addr().String()
	}()
	bare := bareNamespace(t)
	otherKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	masterKey := base64.StdEncoding.EncodeToString(cfg.MasterKey)
	works := map[string]string{
		"TEMPORAL_ADDRESS": devServer.FrontendHostPort(), "TEMPORAL_NAMESPACE": "default", config.UIEnv: "",
		"CATSYNC_PRIMARY_NAME": cfg.Primary.Name, "CATSYNC_SECONDARY_NAME": cfg.Secondary.Name,
		"CATSYNC_PRIMARY_CATALOG": cfg.Primary.Catalog, "CATSYNC_SECONDARY_CATALOG": cfg.Secondary.Catalog,
		"CATSYNC_PRIMARY_STAGING": cfg.Primary.Staging, "CATSYNC_SECONDARY_STAGING": cfg.Secondary.Staging,
		"CATSYNC_SECONDARY_SOURCE": cfg.Source, "CATSYNC_SERVE": "primary,secondary", config.WorkflowsEnv: "true",
		config.CatalogEnv: cfg.Primary.Catalog, "CATSYNC_PRIMARY_KEYS": cfg.Primary.Keys, "CATSYNC_SECONDARY_KEYS": cfg.Secondary.Keys,
		config.MasterKeyEnv: masterKey,
	}
	worker := []string(nil)
	check := []string{"check", "--store", "DS_PROD"}
	parity := []string{"parity", "--store", "DS_PROD"}
	counts := []string{"counts"}
	report := []string{"conflicts", "catalogsync-DS_PROD"}
	for _, r := range []struct {
		name string
		env  map[string]string // over works
		// pg builds env on the PostgreSQL test server, skipping without it.
		pg     func(t *testing.T) map[string]string
		run    []string // the command; nil: the worker's start
		want   []string // in the error, beside the setting
		secret string   // never in it
	}{
		{name: "TEMPORAL_ADDRESS", env: map[string]string{"TEMPORAL_ADDRESS": ""}, run: report, want: []string{"is empty"}},
		{name: "TEMPORAL_ADDRESS", env: map[string]string{"TEMPORAL_ADDRESS": "127.0.0.1"}, run: report,
			want: []string{`"127.0.0.1"`, "HOST:PORT"}},
		{name: "TEMPORAL_ADDRESS", env: map[string]string{"TEMPORAL_ADDRESS": free}, run: worker,
			want: []string{`"` + free + `"`, "is the Temporal server running there?"}},
		{name: "TEMPORAL_NAMESPACE", env: map[string]string{"TEMPORAL_NAMESPACE": "no-such-namespace"}, run: report,
			want: []string{`"no-such-namespace"`, "no such namespace", "catsync setup"}},
		{name: "TEMPORAL_NAMESPACE", env: map[string]string{"TEMPORAL_NAMESPACE": "no-such-namespace"}, run: worker,
			want: []string{"no such namespace"}},
		{name: "TEMPORAL_NAMESPACE", env: map[string]string{"TEMPORAL_NAMESPACE": bare}, run: worker,
			want: []string{`"` + bare + `"`, "search attributes CatsyncChanges, CatsyncOutcome, CatsyncRestorable, CatsyncStore, CatsyncType", "catsync setup"}},
		{name: config.UIEnv, env: map[string]string{config.UIEnv: "localhost:8233"}, run: report, want: []string{`"localhost:8233"`, "base URL"}},
		{name: "CATSYNC_PRIMARY_NAME", env: map[string]string{"CATSYNC_PRIMARY_NAME": ""}, run: report, want: []string{"is not set"}},
		{name: "CATSYNC_SECONDARY_NAME", env: map[string]string{"CATSYNC_SECONDARY_NAME": "9lives"}, run: worker, want: []string{`"9lives"`}},
		{name: "CATSYNC_SECONDARY_NAME", env: map[string]string{"CATSYNC_SECONDARY_NAME": cfg.Primary.Name}, run: worker,
			want: []string{"their own names"}},
		{name: "CATSYNC_SERVE", env: map[string]string{"CATSYNC_SERVE": "primary,tertiary"}, run: worker, want: []string{`"primary,tertiary"`}},
		{name: config.WorkflowsEnv, env: map[string]string{config.WorkflowsEnv: "yes please"}, run: worker,
			want: []string{`"yes please"`, "want yes or no"}},
		{name: "CATSYNC_PRIMARY_CATALOG", env: map[string]string{"CATSYNC_PRIMARY_CATALOG": ""}, run: worker, want: []string{"is not set"}},
		{name: "CATSYNC_PRIMARY_CATALOG", env: map[string]string{"CATSYNC_PRIMARY_CATALOG": filepath.Join(missing, "p.db")}, run: worker,
			want: []string{"folder " + missing + " does not exist"}},
		{name: "CATSYNC_SECONDARY_CATALOG", env: map[string]string{"CATSYNC_SECONDARY_CATALOG": dir}, run: worker,
			want: []string{"is a folder"}},
		{name: "CATSYNC_SECONDARY_CATALOG", env: map[string]string{"CATSYNC_SECONDARY_CATALOG": filepath.Join(dir, "typo.db")}, run: check,
			want: []string{"no such catalog file"}},
		{name: "CATSYNC_SECONDARY_CATALOG", run: worker, secret: "hunter2secret", want: []string{"correct the user or password"},
			pg: func(t *testing.T) map[string]string {
				return map[string]string{"CATSYNC_SECONDARY_CATALOG": pgDSN(t, "catsync_no_such_role", "hunter2secret", "")}
			}},
		{name: "CATSYNC_PRIMARY_CATALOG", run: check, secret: "hunter2secret", want: []string{"correct the user or password"},
			pg: func(t *testing.T) map[string]string {
				return map[string]string{"CATSYNC_PRIMARY_CATALOG": pgDSN(t, "catsync_no_such_role", "hunter2secret", "")}
			}},
		{name: "CATSYNC_SECONDARY_CATALOG", run: check, want: []string{"no such database"},
			pg: func(t *testing.T) map[string]string {
				return map[string]string{"CATSYNC_SECONDARY_CATALOG": pgDSN(t, "", "", "catsync_no_such_database")}
			}},
		{name: config.CatalogEnv, env: map[string]string{config.CatalogEnv: "postgres://catsync:hunter2%zz@127.0.0.1/site"}, run: counts,
			secret: "hunter2", want: []string{"want postgres://USER"}},
		{name: config.CatalogEnv, env: map[string]string{config.CatalogEnv: filepath.Join(missing, "site.db")}, run: counts,
			want: []string{"no such catalog file"}},
		{name: config.CatalogEnv, run: counts, secret: "hunter2secret", want: []string{"correct the user or password"},
			pg: func(t *testing.T) map[string]string {
				return map[string]string{config.CatalogEnv: pgDSN(t, "catsync_no_such_role", "hunter2secret", "")}
			}},
		{name: "CATSYNC_PRIMARY_STAGING", env: map[string]string{"CATSYNC_PRIMARY_STAGING": ""}, run: worker, want: []string{"is not set"}},
		{name: "CATSYNC_SECONDARY_STAGING", env: map[string]string{"CATSYNC_SECONDARY_STAGING": ""}, run: worker, want: []string{"is not set"}},
		{name: "CATSYNC_SECONDARY_SOURCE", env: map[string]string{"CATSYNC_SECONDARY_SOURCE": "", "CATSYNC_PRIMARY_STAGING": "",
			"CATSYNC_SERVE": "secondary"}, run: worker, want: []string{"is not set"}},
		{name: "CATSYNC_PRIMARY_KEYS", env: map[string]string{"CATSYNC_PRIMARY_KEYS": "vault://eskm"}, run: worker,
			want: []string{`"vault://eskm"`, "keystore:PATH or kmip://HOST:PORT"}},
		{name: "CATSYNC_SECONDARY_KEYS", env: map[string]string{"CATSYNC_SECONDARY_KEYS": "keystore:" + filepath.Join(missing, "k.log")}, run: parity,
			want: []string{"folder " + missing + " does not exist"}},
		{name: "CATSYNC_SECONDARY_KMIP_CA", env: map[string]string{"CATSYNC_SECONDARY_KEYS": "kmip://eskm:5696"}, run: parity,
			want: []string{"is not set"}},
		{name: config.MasterKeyEnv, env: map[string]string{config.MasterKeyEnv: "not base64, but secret"}, run: parity,
			secret: "not base64, but secret", want: []string{"32 bytes in base64"}},
		// Another operator's key: the keystores do not read back under it.
		{name: config.MasterKeyEnv, env: map[string]string{config.MasterKeyEnv: otherKey}, run: worker, secret: otherKey,
			want: []string{"CATSYNC_PRIMARY_KEYS", "authentication failed"}},
	} {
		t.Run(r.name, func(t *testing.T) {
			env := r.env
			if r.pg != nil {
				env = r.pg(t)
			}
			for k, v := range works {
				if bad, ok := env[k]; ok {
					v = bad
				}
				t.Setenv(k, v)
			}
			var msg string
			if r.run == nil {
				err := startWorker(context.Background())
				if err == nil {
					t.Fatalf("the worker started with %v", env)
				}
				msg = err.Error()
			} else {
				out, errs, code := catsync(t, r.run...)
				if code == 0 {
					t.Fatalf("catsync %s with %v: exit 0\n%s", strings.Join(r.run, " "), env, out)
				}
				msg = errs
			}
			for _, w := range append([]string{r.name}, r.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("with %v: error %q does not say %q", env, msg, w)
				}
			}
			for _, leak := range []string{r.secret, masterKey, "strconv", "envconfig"} {
				if leak != "" && strings.Contains(msg, leak) {
					t.Errorf("with %v: error %q shows %q", env, msg, leak)
				}
			}
		})
	}
}

// bareNamespace registers, on the dev server, a namespace without
// catsync's search attributes, as one is before catsync setup.
func bareNamespace(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	const ns = "catsync-bare"
	_, err := devServer.Client().WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)})
	if err != nil && !errors.As(err, new(*serviceerror.NamespaceAlreadyExists)) {
		t.Fatal(err)
	}
	// Served once its search attributes can be listed.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := devServer.Client().OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
		if err == nil {
			return ns
		}
		if time.Now().After(deadline) {
			t.Fatalf("namespace %s not served: %v", ns, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
