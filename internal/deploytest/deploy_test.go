package deploytest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/proc"
	"github.com/catsync/catsync/internal/serve"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/workflows"
)

// Variables of the deployment test.
const (
	deployEnvVar = "CATSYNC_DEPLOY_TEST"     // 1 runs it
	binEnv       = "CATSYNC_DEPLOY_BIN"      // the built binaries (make build server)
	dirEnv       = "CATSYNC_DEPLOY_DIR"      // where the hosts, logs and report go (default: a temporary folder)
	postgresEnv  = "CATSYNC_DEPLOY_POSTGRES" // a superuser's URL of the local PostgreSQL
	volumesEnv   = "CATSYNC_DEPLOY_VOLUMES"  // the simulated primary's volumes
)

// Databases the test makes afresh in the local PostgreSQL.
const (
	dbTemporal   = "catsync_deploy_temporal"
	dbVisibility = "catsync_deploy_temporal_visibility"
	dbPrimary    = "catsync_deploy_primary"
	dbSecondary  = "catsync_deploy_secondary"
)

// deployment is the running deployment: its hosts, processes and the
// settings each process got.
type deployment struct {
	t       *testing.T
	bin     string
	dir     string
	logs    string
	pg      *url.URL
	hosts   map[string]host
	env     map[string]map[string]string // by environment file name
	procs   map[string]*proc.Proc        // by name, the last started
	pki     pki
	grpc    string // the frontend's address
	ui      string // the Web UI's base URL
	timings []timing
}

type pki struct {
	serverCA, clientCA, rogueCA *authority
}

type timing struct {
	what string
	took time.Duration
}

// TestDeployment runs the production deployment on this machine, as
// docs/deploy.md installs it: every process from deploy/'s files and
// environment files, each host a folder.
func TestDeployment(t *testing.T) {
	if os.Getenv(deployEnvVar) != "1" {
		t.Skipf("the deployment test runs with %s=1 (make deploy-test)", deployEnvVar)
	}
	d := newDeployment(t)
	defer d.report()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	d.step("databases and Temporal schemas (temporal-sql-tool)", func() { d.databases(ctx) })
	d.step("Temporal server on PostgreSQL, mutual TLS: serving", func() { d.startTemporal(ctx) })
	d.step("Web UI serving, through its own client certificate", func() { d.startUI(ctx) })
	d.step("clients without a valid certificate refused", func() { d.refused(ctx) })
	d.step("catsync setup: namespace and search attributes (no worker starts before)", func() { d.setup(ctx) })
	c := d.client(ctx)
	defer c.Close()

	volumes := 1000
	if v := os.Getenv(volumesEnv); v != "" {
		var err error
		if volumes, err = strconv.Atoi(v); err != nil {
			t.Fatalf("%s=%q: want a number", volumesEnv, v)
		}
	}
	d.step(fmt.Sprintf("simulated sites in PostgreSQL (%d volumes)", volumes), func() { d.sites(volumes) })
	d.step("three workers ready (/readyz)", func() {
		for _, w := range []string{"primary", "secondary", "workflows"} {
			d.startWorker(ctx, w)
		}
	})
	d.step("FULL sync of DS_PROD, its secondary worker killed (SIGKILL) and restarted", func() { d.killedFull(ctx, c) })
	d.step("verify DS_PROD", func() { d.expect(d.catsync("verify", "--store", "DS_PROD"), "no drift") })
	d.simulate()
	d.step("UPDATE sync of DS_PROD", func() {
		d.expect(d.catsync("sync", "--store", "DS_PROD", "--type", "update", "--catalogfiles", "yes", "--wait"), "Completed UPDATE")
	})
	d.step("verify DS_PROD", func() { d.expect(d.catsync("verify", "--store", "DS_PROD"), "no drift") })
	d.step("FULL sync of DS_PROD, undisturbed", func() {
		d.expect(d.catsync("sync", "--store", "DS_PROD", "--type", "full", "--catalogfiles", "yes", "--wait"), "Completed FULL")
	})
	d.simulate()
	d.step("schedules applied, the daily UPDATE triggered", func() {
		d.expect(d.catsync("schedule", "apply", "--file", filepath.Join(repo(t), "deploy", "schedules.yaml")), "catsync-DS_PROD-daily-update")
		d.expect(d.catsync("schedule", "trigger", "catsync-DS_PROD-daily-update", "--wait"), "Completed UPDATE")
	})
	d.step("verify DS_PROD, audit trail", func() {
		d.expect(d.catsync("verify", "--store", "DS_PROD"), "no drift")
		d.catsync("audit", "verify")
	})
	d.step("Web UI lists the runs; workers serve metrics", func() { d.observe(ctx) })
}

func newDeployment(t *testing.T) *deployment {
	bin := os.Getenv(binEnv)
	if bin == "" {
		bin = filepath.Join(repo(t), ".bin")
	}
	for _, b := range []string{"temporal-server", "temporal-sql-tool", "temporal-ui-server", "catsync", "catsync-worker"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Fatalf("%s: build it first (make build server), or set %s", err, binEnv)
		}
	}
	dir := os.Getenv(dirEnv)
	if dir == "" {
		dir = t.TempDir()
	} else {
		// The last run's hosts go; its logs are for reading until then.
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}
	pgText := os.Getenv(postgresEnv)
	if pgText == "" {
		pgText = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	pg, err := url.Parse(pgText)
	if err != nil {
		t.Fatalf("%s: %v", postgresEnv, err)
	}
	d := &deployment{t: t, bin: bin, dir: dir, logs: filepath.Join(dir, "logs"), pg: pg,
		hosts: map[string]host{}, env: map[string]map[string]string{}, procs: map[string]*proc.Proc{}}
	for _, h := range []string{"temporal", "primary", "secondary", "operator"} {
		d.hosts[h] = host{name: h, root: filepath.Join(dir, h)}
	}
	if err := os.MkdirAll(d.logs, 0o755); err != nil {
		t.Fatal(err)
	}
	d.configure()
	t.Cleanup(func() {
		if t.Failed() {
			for name, p := range d.procs {
				t.Logf("--- last lines of %s.log:\n%s", name, proc.Tail(p.Log, 40))
			}
		}
	})
	return d
}

// configure installs deploy/'s files on the hosts, as docs/deploy.md
// does, and gives each environment file this machine's addresses.
func (d *deployment) configure() {
	t := d.t
	tmp, prim, secd, op := d.hosts["temporal"], d.hosts["primary"], d.hosts["secondary"], d.hosts["operator"]
	for src, dst := range map[string]string{"temporal/config.yaml": "/etc/temporal/config.yaml",
		"temporal/dynamicconfig.yaml": "/etc/temporal/dynamicconfig.yaml", "temporal/ui/production.yaml": "/etc/temporal/ui/production.yaml"} {
		data, err := os.ReadFile(filepath.Join(repo(t), "deploy", filepath.FromSlash(src)))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, tmp.path(dst), data, 0o644)
	}

	// All in one call: ports of separate calls could be the same.
	ports := freePorts(t, 14)
	d.grpc = "127.0.0.1:" + ports[0]
	d.ui = "http://127.0.0.1:" + ports[10]
	temporal := deployEnv(t, "temporal")
	d.env["temporal"] = tmp.env(t, temporal, map[string]string{
		"POSTGRES_SEEDS": d.pg.Hostname(), "DB_PORT": cmpOr(d.pg.Port(), "5432"), "POSTGRES_USER": d.pg.User.Username(),
		"DBNAME": dbTemporal, "VISIBILITY_DBNAME": dbVisibility,
		// The local PostgreSQL speaks no TLS.
		"SQL_TLS_ENABLED": "false", "SQL_CA": "", "SQL_HOST_VERIFICATION": "", "SQL_HOST_NAME": "",
		"BIND_ON_IP": "127.0.0.1", "TEMPORAL_BROADCAST_ADDRESS": "127.0.0.1",
		"FRONTEND_GRPC_PORT": ports[0], "FRONTEND_HTTP_PORT": ports[1], "+FRONTEND_MEMBERSHIP_PORT": ports[2],
		"+HISTORY_GRPC_PORT": ports[3], "+HISTORY_MEMBERSHIP_PORT": ports[4], "+MATCHING_GRPC_PORT": ports[5],
		"+MATCHING_MEMBERSHIP_PORT": ports[6], "+WORKER_GRPC_PORT": ports[7], "+WORKER_MEMBERSHIP_PORT": ports[8],
		"PROMETHEUS_ENDPOINT": "127.0.0.1:" + ports[9], "LOG_LEVEL": "warn",
	})
	if pw, ok := d.pg.User.Password(); ok {
		d.env["temporal"]["POSTGRES_PWD"] = pw
	}
	d.env["temporal-ui"] = tmp.env(t, deployEnv(t, "temporal-ui"), map[string]string{
		"TEMPORAL_ADDRESS": d.grpc, "TEMPORAL_UI_PORT": ports[10], "TEMPORAL_UI_ORIGIN": d.ui})

	catalog := func(db string) string {
		u := *d.pg
		u.Path = "/" + db
		return u.String()
	}
	workerPorts := map[string]string{"primary": ports[11], "secondary": ports[12], "workflows": ports[13]}
	d.env["primary"] = prim.env(t, deployEnv(t, "primary"), map[string]string{"TEMPORAL_ADDRESS": d.grpc,
		"CATSYNC_PRIMARY_CATALOG": catalog(dbPrimary), "CATSYNC_METRICS_ADDRESS": "127.0.0.1:" + workerPorts["primary"]})
	d.env["secondary"] = secd.env(t, deployEnv(t, "secondary"), map[string]string{"TEMPORAL_ADDRESS": d.grpc,
		"CATSYNC_SECONDARY_CATALOG": catalog(dbSecondary), "CATSYNC_METRICS_ADDRESS": "127.0.0.1:" + workerPorts["secondary"]})
	// The workflow worker runs beside Temporal.
	d.env["workflows"] = tmp.env(t, deployEnv(t, "workflows"), map[string]string{"TEMPORAL_ADDRESS": d.grpc,
		"CATSYNC_METRICS_ADDRESS": "127.0.0.1:" + workerPorts["workflows"]})
	d.env["cli"] = op.env(t, deployEnv(t, "cli"), map[string]string{"TEMPORAL_ADDRESS": d.grpc, "CATSYNC_UI_URL": d.ui,
		"CATSYNC_PRIMARY_CATALOG": catalog(dbPrimary), "CATSYNC_SECONDARY_CATALOG": catalog(dbSecondary)})

	// Secrets, as <name>.secret.env beside each site's file. One master
	// key for both keystores here: the simulator's key-manager
	// replication opens both (in production each site has its own).
	master := make([]byte, 32)
	for i := range master {
		master[i] = byte(i*7 + 3)
	}
	for _, site := range []string{"primary", "secondary"} {
		secret := "CATSYNC_KEYSTORE_MASTER_KEY=" + base64.StdEncoding.EncodeToString(master) + "\n"
		path := d.hosts[site].path("/etc/catsync/" + site + ".secret.env")
		writeFile(t, path, []byte(secret), 0o600)
		for k, v := range readEnv(t, path).vals {
			d.env[site][k] = v
		}
	}

	// The sites' snapshot keys: each its own pair, and the other's
	// public key, as catsync keygen and a copy would leave them.
	for site, other := range map[string]string{"primary": "secondary", "secondary": "primary"} {
		f, err := snapshot.WriteKeyPair(d.hosts[site].path("/etc/catsync/signing"), site)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := os.ReadFile(f.Public)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, d.hosts[other].path("/etc/catsync/signing/"+site+".pub"), pub, 0o644)
	}

	// The mounts between the sites: the secondary sees the primary's
	// outbox (NFS in production), the primary the secondary's staging.
	for _, m := range []struct {
		at     host
		mount  string
		of     host
		folder string
	}{{secd, d.env["secondary"]["CATSYNC_SECONDARY_SOURCE"], prim, d.env["primary"]["CATSYNC_PRIMARY_STAGING"]},
		{prim, d.env["primary"]["CATSYNC_PRIMARY_SOURCE"], secd, d.env["secondary"]["CATSYNC_SECONDARY_STAGING"]}} {
		if err := os.MkdirAll(m.folder, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(m.mount), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(m.folder, m.mount); err != nil {
			t.Fatal(err)
		}
	}
	for _, site := range []string{"primary", "secondary"} {
		for _, k := range []string{"DATA", "KEYS"} {
			v := strings.TrimPrefix(d.env[site][config.Prefix(site)+"_"+k], "keystore:")
			if k == "KEYS" {
				v = filepath.Dir(v)
			}
			if err := os.MkdirAll(v, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	d.certificates()
}

// certificates issues the PKI the environment files name: the server's
// and the nodes' from one CA, every client's from another, and a rogue
// CA's client certificate for the test of refusals.
func (d *deployment) certificates() {
	t := d.t
	p := pki{serverCA: newAuthority(t, "catsync Temporal server CA"), clientCA: newAuthority(t, "catsync Temporal client CA"),
		rogueCA: newAuthority(t, "someone else's CA")}
	d.pki = p
	srv := d.env["temporal"]
	writeFile(t, srv["TEMPORAL_TLS_SERVER_CA_CERT"], p.serverCA.pem, 0o644)
	writeFile(t, srv["TEMPORAL_TLS_CLIENT_CA_CERT"], p.clientCA.pem, 0o644)
	p.serverCA.server(t, "frontend", srv["TEMPORAL_TLS_FRONTEND_SERVER_NAME"], "localhost", "127.0.0.1").
		write(t, srv["TEMPORAL_TLS_FRONTEND_CERT"], srv["TEMPORAL_TLS_FRONTEND_KEY"])
	p.serverCA.server(t, "internode", srv["TEMPORAL_TLS_INTERNODE_SERVER_NAME"], "localhost", "127.0.0.1").
		write(t, srv["TEMPORAL_TLS_INTERNODE_CERT"], srv["TEMPORAL_TLS_INTERNODE_KEY"])
	ui := d.env["temporal-ui"]
	writeFile(t, ui["TEMPORAL_UI_TLS_CA"], p.serverCA.pem, 0o644)
	p.clientCA.client(t, "ui").write(t, ui["TEMPORAL_UI_TLS_CERT"], ui["TEMPORAL_UI_TLS_KEY"])
	for _, name := range []string{"primary", "secondary", "workflows", "cli"} {
		e := d.env[name]
		writeFile(t, e[config.TLSCAPathEnv], p.serverCA.pem, 0o644)
		p.clientCA.client(t, name).write(t, e[config.TLSCertPathEnv], e[config.TLSKeyPathEnv])
	}
}

// databases makes the four databases afresh: Temporal's two through
// temporal-sql-tool (create, then the schema embedded in it), the sites'
// catalogs empty, for catsync to lay out.
func (d *deployment) databases(ctx context.Context) {
	t := d.t
	conn, err := pgx.Connect(ctx, d.pg.String())
	if err != nil {
		t.Fatalf("PostgreSQL at %s: %v (set %s)", d.pg.Redacted(), err, postgresEnv)
	}
	defer conn.Close(ctx)
	for _, db := range []string{dbTemporal, dbVisibility, dbPrimary, dbSecondary} {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
			t.Fatal(err)
		}
	}
	for _, db := range []string{dbPrimary, dbSecondary} {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+db); err != nil {
			t.Fatal(err)
		}
	}
	e := d.env["temporal"]
	for _, s := range []struct{ db, schema string }{{e["DBNAME"], "postgresql/v12/temporal"}, {e["VISIBILITY_DBNAME"], "postgresql/v12/visibility"}} {
		sql := []string{"--plugin", "postgres12", "--ep", e["POSTGRES_SEEDS"], "--port", e["DB_PORT"], "--user", e["POSTGRES_USER"], "--db", s.db}
		if pw := e["POSTGRES_PWD"]; pw != "" {
			sql = append(sql, "--password", pw)
		}
		d.run("temporal-sql-tool", nil, append(sql, "create-database")...)
		d.run("temporal-sql-tool", nil, append(sql, "setup-schema", "-v", "0.0")...)
		d.run("temporal-sql-tool", nil, append(sql, "update-schema", "--schema-name", s.schema)...)
	}
}

func (d *deployment) startTemporal(ctx context.Context) {
	e := d.env["temporal"]
	d.run("temporal-server", nil, "validate-dynamic-config", e["DYNAMIC_CONFIG_FILE_PATH"])
	d.start("temporal-server", "temporal-server", e, "--config-file", d.hosts["temporal"].path("/etc/temporal/config.yaml"), "--allow-no-auth", "start")
	// Serving: a client with a good certificate gets the cluster's health.
	d.waitFor(ctx, "the Temporal frontend at "+d.grpc, 90*time.Second, func() error {
		c, err := d.dial(ctx, "")
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	})
}

func (d *deployment) startUI(ctx context.Context) {
	d.start("temporal-ui", "temporal-ui-server", d.env["temporal-ui"], "--root", "/", "--config",
		d.hosts["temporal"].path("/etc/temporal/ui"), "--env", "production", "start")
	// The UI's API reaches the frontend with the UI's certificate.
	d.waitFor(ctx, "the Web UI at "+d.ui, 30*time.Second, func() error {
		_, err := proc.Get(ctx, d.ui+"/api/v1/cluster-info")
		return err
	})
}

// refused shows the frontend turning away every client that lacks a
// certificate it trusts: at the TLS handshake, and with catsync's
// errors naming the variable to fix.
func (d *deployment) refused(ctx context.Context) {
	t := d.t
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(d.pki.serverCA.pem)
	name := d.env["cli"][config.TLSServerNameEnv]
	rogue := d.pki.rogueCA.client(t, "intruder")
	rogueCert, err := tls.X509KeyPair(rogue.cert, rogue.key)
	if err != nil {
		t.Fatal(err)
	}
	good := d.pki.clientCA.client(t, "operator")
	goodCert, err := tls.X509KeyPair(good.cert, good.key)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what  string
		certs []tls.Certificate
		ok    bool
	}{{"no client certificate", nil, false}, {"a certificate of another CA", []tls.Certificate{rogueCert}, false},
		{"a certificate of the client CA", []tls.Certificate{goodCert}, true}} {
		cfg := &tls.Config{RootCAs: pool, ServerName: name, NextProtos: []string{"h2"},
			// Sent whatever CAs the server asks for: Go's client would
			// keep a certificate of another CA to itself.
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				if len(c.certs) == 0 {
					return &tls.Certificate{}, nil
				}
				return &c.certs[0], nil
			}}
		err := handshake(ctx, d.grpc, cfg)
		if c.ok != (err == nil) {
			t.Errorf("TLS handshake with %s: %v; want ok=%v", c.what, err, c.ok)
		} else {
			t.Logf("TLS handshake with %s: %v", c.what, cmpOr(errText(err), "accepted"))
		}
	}

	// catsync's own clients, each refused with the variable to fix.
	rogueDir := filepath.Join(d.dir, "rogue")
	rogue.write(t, filepath.Join(rogueDir, "intruder.pem"), filepath.Join(rogueDir, "intruder-key.pem"))
	cli := d.env["cli"]
	for _, c := range []struct {
		what string
		over map[string]string
		want string
	}{
		{"no TLS", map[string]string{config.TLSCAPathEnv: "", config.TLSCertPathEnv: "", config.TLSKeyPathEnv: "", config.TLSServerNameEnv: ""}, config.TLSEnv},
		{"TLS without a client certificate", map[string]string{config.TLSCertPathEnv: "", config.TLSKeyPathEnv: ""}, config.TLSCertPathEnv},
		{"another CA's certificate", map[string]string{config.TLSCertPathEnv: filepath.Join(rogueDir, "intruder.pem"),
			config.TLSKeyPathEnv: filepath.Join(rogueDir, "intruder-key.pem")}, `client certificate (issued by "someone else's CA")`},
	} {
		env := proc.Merge(cli)
		for k, v := range c.over {
			if v == "" {
				delete(env, k)
			} else {
				env[k] = v
			}
		}
		out, err := d.output("catsync", env, "setup")
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("catsync setup with %s: %v\n%s\nwant a failure naming %s", c.what, err, out, c.want)
		} else {
			t.Logf("catsync setup with %s: %s", c.what, strings.TrimSpace(out))
		}
	}
}

// handshake completes a TLS handshake with addr and reads from it: a
// frontend refusing the client's certificate says so in an alert that
// comes with the first read.
func handshake(ctx context.Context, addr string, cfg *tls.Config) error {
	dialer := &tls.Dialer{Config: cfg}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The HTTP/2 preface: the server answers with its SETTINGS, or with
	// the alert of a refused certificate.
	if _, err := io.WriteString(conn, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"); err != nil {
		return err
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 9)
	_, err = io.ReadFull(conn, buf)
	return err
}

func (d *deployment) setup(ctx context.Context) {
	t := d.t
	// Before setup a worker does not start, and names the command to run.
	if out, err := d.output("catsync-worker", d.env["workflows"]); err == nil || !strings.Contains(out, "catsync setup") {
		t.Errorf("the workflow worker before catsync setup: %v\n%s\nwant it to exit naming catsync setup", err, out)
	}
	d.expect(d.catsync("setup", "--retention", "7d"), "namespace catsync registered, retention 7d")
	d.expect(d.catsync("setup", "--retention", "7d"), "nothing to change")
	c := d.client(ctx)
	defer c.Close()
	ns, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "catsync"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ns.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != 7*24*time.Hour {
		t.Errorf("retention %s, want 7 days", got)
	}
	if err := serve.CheckSearchAttributes(ctx, c, "catsync"); err != nil {
		t.Error(err)
	}
}

// sites simulates the two NonStop systems and what replicates between
// them without catsync: the key manager's own replication and the
// mirroring of the volume images.
func (d *deployment) sites(volumes int) {
	p, s := d.env["cli"]["CATSYNC_PRIMARY_CATALOG"], d.env["cli"]["CATSYNC_SECONDARY_CATALOG"]
	d.run("catsync", d.simEnv(), "sim", "init", "--catalog", p, "--stores", "DS_PROD", "--volumes", strconv.Itoa(volumes),
		"--days", "30", "--backups-per-day", "40")
	d.run("catsync", d.simEnv(), "sim", "init-secondary", "--catalog", s, "--primary", p)
	d.replicate()
	d.expect(d.catsync("check", "--store", "DS_PROD"), "")
}

// simEnv is the simulator's: it writes at both sites, as their systems
// and their key managers do.
func (d *deployment) simEnv() map[string]string {
	return proc.Merge(d.env["primary"], d.env["secondary"])
}

func (d *deployment) replicate() {
	p := d.env["cli"]["CATSYNC_PRIMARY_CATALOG"]
	d.run("catsync", d.simEnv(), "sim", "replicate-keys", "--catalog", p)
	d.run("catsync", d.simEnv(), "sim", "replicate-data", "--catalog", p)
}

// simulate runs a day of the primary's backups, then the replication.
func (d *deployment) simulate() {
	d.step("a day of backups on the primary, keys and images replicated", func() {
		d.run("catsync", d.simEnv(), "sim", "advance", "--catalog", d.env["cli"]["CATSYNC_PRIMARY_CATALOG"], "--days", "1")
		d.replicate()
	})
}

func (d *deployment) startWorker(ctx context.Context, name string) {
	e := d.env[name]
	d.start(name+"-worker", "catsync-worker", e)
	d.waitFor(ctx, name+"'s worker /readyz", 60*time.Second, func() error {
		_, err := proc.Get(ctx, "http://"+e["CATSYNC_METRICS_ADDRESS"]+"/readyz")
		return err
	})
}

// killedFull starts a FULL of DS_PROD, kills the secondary's worker with
// SIGKILL while the run is in one of the secondary's steps, starts it
// again, and checks that the run completes, the killed step retried.
func (d *deployment) killedFull(ctx context.Context, c client.Client) {
	t := d.t
	d.expect(d.catsync("sync", "--store", "DS_PROD", "--type", "full", "--catalogfiles", "yes"), "workflow catalogsync-DS_PROD")
	id := workflows.SyncID("DS_PROD")
	secondarySteps := map[string]bool{"plan": true, "apply": true, "keys": true, "restore": true}
	step := ""
	deadline := time.Now().Add(5 * time.Minute)
	for step == "" {
		if time.Now().After(deadline) {
			t.Fatal("the FULL of DS_PROD never reached the secondary's steps")
		}
		if v, err := c.QueryWorkflow(ctx, id, "", workflows.ProgressQuery); err == nil {
			var p workflows.Progress
			// The apply is the step to interrupt: the plan goes by.
			if err := v.Get(&p); err == nil && secondarySteps[p.Step] && p.Step != "plan" {
				step = p.Step
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Well inside the step: its first heartbeats recorded.
	time.Sleep(300 * time.Millisecond)
	killed := time.Now()
	d.procs["secondary-worker"].Kill()
	t.Logf("secondary worker killed (SIGKILL) in step %s", step)
	d.timings = append(d.timings, timing{what: "  (killed in step " + step + ")"})
	time.Sleep(2 * time.Second)
	d.startWorker(ctx, "secondary")
	var res workflows.SyncResult
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
		t.Fatalf("the FULL of DS_PROD: %v", err)
	}
	d.timings = append(d.timings, timing{what: "  from the kill to the run's end", took: time.Since(killed)})
	if res.Outcome != workflows.OutcomeCompleted {
		t.Fatalf("the FULL of DS_PROD ended %s, want %s", res.Outcome, workflows.OutcomeCompleted)
	}
	// The history shows the step's retry on the secondary's queue.
	queue := "catsync." + d.env["secondary"]["CATSYNC_SECONDARY_NAME"]
	scheduled := map[int64]string{}
	retried := ""
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetTaskQueue().GetName() == queue {
			scheduled[ev.GetEventId()] = a.GetActivityType().GetName()
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && a.GetAttempt() > 1 {
			if name, ok := scheduled[a.GetScheduledEventId()]; ok {
				retried += fmt.Sprintf(" %s (attempt %d)", name, a.GetAttempt())
			}
		}
	}
	if retried == "" {
		t.Errorf("no activity of %s was retried after the kill", queue)
	}
	t.Logf("retried after the kill:%s", retried)
	d.timings = append(d.timings, timing{what: "  retried:" + retried})
}

// observe checks what an operator looks at: the runs in the Web UI (a
// search on catsync's attribute, through the UI's certificate), and each
// worker's metrics and probes.
func (d *deployment) observe(ctx context.Context) {
	t := d.t
	q := url.Values{"query": {`CatsyncStore = "DS_PROD" AND CatsyncOutcome = "Completed"`}}
	body, err := proc.Get(ctx, d.ui+"/api/v1/namespaces/catsync/workflows?"+q.Encode())
	if err != nil || !strings.Contains(body, "catalogsync-DS_PROD") {
		t.Errorf("the Web UI's search for DS_PROD's runs: %v\n%.500s", err, body)
	}
	for _, w := range []string{"primary", "secondary", "workflows"} {
		addr := d.env[w]["CATSYNC_METRICS_ADDRESS"]
		for _, path := range []string{"/livez", "/readyz"} {
			if _, err := proc.Get(ctx, "http://"+addr+path); err != nil {
				t.Errorf("%s's worker %s: %v", w, path, err)
			}
		}
		m, err := proc.Get(ctx, "http://"+addr+"/metrics")
		if err != nil || !strings.Contains(m, "temporal_") {
			t.Errorf("%s's worker /metrics: %v, no SDK metrics in %d bytes", w, err, len(m))
		}
	}
}

// client is an SDK client of the namespace with the operator's settings,
// dialled as catsync's CLI dials.
func (d *deployment) client(ctx context.Context) client.Client {
	d.t.Helper()
	for k, v := range d.env["cli"] {
		d.t.Setenv(k, v)
	}
	cfg, err := config.Read()
	if err != nil {
		d.t.Fatal(err)
	}
	c, err := serve.Dial(ctx, cfg, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	return c
}

// dial connects with the operator's certificate without looking at a
// namespace (there is none before setup).
func (d *deployment) dial(ctx context.Context, namespace string) (client.Client, error) {
	for k, v := range d.env["cli"] {
		d.t.Setenv(k, v)
	}
	cfg, err := config.Read()
	if err != nil {
		return nil, err
	}
	opts := client.Options{HostPort: d.grpc, Namespace: namespace}
	if err := serve.Secure(cfg, &opts); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return client.DialContext(ctx, opts)
}

// catsync runs the CLI with the operator's environment and returns what
// it printed; a failure fails the test.
func (d *deployment) catsync(args ...string) string {
	return d.run("catsync", d.env["cli"], args...)
}

// expect checks that out holds want.
func (d *deployment) expect(out, want string) {
	d.t.Helper()
	if !strings.Contains(out, want) {
		d.t.Fatalf("want %q in:\n%s", want, out)
	}
}

// run runs one of the binaries to its end; a failure fails the test.
func (d *deployment) run(bin string, env map[string]string, args ...string) string {
	d.t.Helper()
	out, err := d.output(bin, env, args...)
	if err != nil {
		d.t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return out
}

func (d *deployment) output(bin string, env map[string]string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(d.bin, bin), args...)
	cmd.Env = proc.Environ(env)
	cmd.Dir = d.dir
	out, err := cmd.CombinedOutput()
	f, ferr := os.OpenFile(filepath.Join(d.logs, "commands.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if ferr == nil {
		fmt.Fprintf(f, "$ %s %s\n%s(%v)\n\n", bin, strings.Join(args, " "), out, cmpOr(errText(err), "ok"))
		f.Close()
	}
	return string(out), err
}

// start starts a long-running process of the deployment in its folder,
// logging to logs/<name>.log; the test's end stops it as systemd would.
func (d *deployment) start(name, bin string, env map[string]string, args ...string) *proc.Proc {
	t := d.t
	t.Helper()
	p, err := proc.Start(name, filepath.Join(d.logs, name+".log"), d.dir, proc.Environ(env), filepath.Join(d.bin, bin), args...)
	if err != nil {
		t.Fatal(err)
	}
	d.procs[name] = p
	t.Cleanup(func() { p.Stop(syscall.SIGTERM, 30*time.Second) })
	return p
}

// waitFor retries probe until it succeeds, failing the test after limit
// with the probe's last error, or as soon as a process of the deployment
// exits.
func (d *deployment) waitFor(ctx context.Context, what string, limit time.Duration, probe func() error) {
	d.t.Helper()
	watched := make([]*proc.Proc, 0, len(d.procs))
	for _, p := range d.procs {
		watched = append(watched, p)
	}
	if err := proc.WaitFor(ctx, what, limit, probe, watched...); err != nil {
		d.t.Fatal(err)
	}
}

// step runs and times one step of the test.
func (d *deployment) step(what string, f func()) {
	d.t.Helper()
	start := time.Now()
	i := len(d.timings)
	d.timings = append(d.timings, timing{what: what})
	f()
	d.timings[i].took = time.Since(start)
}

// report prints the steps' times, and writes them beside the logs.
func (d *deployment) report() {
	var b strings.Builder
	var total time.Duration
	for _, s := range d.timings {
		if s.took > 0 && !strings.HasPrefix(s.what, "  ") {
			total += s.took
		}
		took := ""
		if s.took > 0 {
			took = s.took.Round(10 * time.Millisecond).String()
		}
		fmt.Fprintf(&b, "%-80s %10s\n", s.what, took)
	}
	fmt.Fprintf(&b, "%-80s %10s\n", "total", total.Round(10*time.Millisecond))
	d.t.Logf("deployment test, in %s:\n%s", d.dir, b.String())
	_ = os.WriteFile(filepath.Join(d.dir, "report.txt"), []byte(b.String()), 0o644)
}

// freePorts finds n distinct free ports below 32768 (see proc.FreePorts).
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	ports, err := proc.FreePorts(n)
	if err != nil {
		t.Fatal(err)
	}
	return ports
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.String()
	}
	return err.Error()
}
