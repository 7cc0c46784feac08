package faults

import (
	"context"
	"encoding/base64"
	"fmt"
	"hash/fnv"
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
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/catsync/catsync/internal/kmip/pykmiptest"
	"github.com/catsync/catsync/internal/proc"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store/sqlstore"
	"github.com/catsync/catsync/internal/temporaltest"
)

// The store the trials sync, and the sites' names (their task queues).
const (
	storeID   = "DS_PROD"
	primary   = "prim"
	secondary = "secd"
)

// simBackupsPerDay, and one volume group in four encrypting, keep the
// keys within what PyKMIP serves in seconds: each encrypted tape written
// files a key, and PyKMIP's Locate reads every key it holds.
const simBackupsPerDay = "8"

// world is what the trials run on: a Temporal dev server on a SQLite file
// that survives its restarts, the primary's catalog in PostgreSQL, the
// secondary's in SQLite, the secondary's key manager a PyKMIP server, and
// three worker processes (the primary's, the secondary's, the workflows').
type world struct {
	t        *testing.T
	bin, dir string
	logs     string
	hostPort string
	temporal *testsuite.DevServer
	c        client.Client
	kmip     *pykmiptest.Server
	pgAdmin  string // a superuser's URL of the PostgreSQL holding the primary's catalog
	pgDB     string // the primary's catalog database
	env      map[string]string
	workers  map[string]*proc.Proc               // by role: primary, secondary, workflows
	metrics  map[string]string                   // each worker's metrics address
	lengths  map[string]map[string]time.Duration // by run kind and workflow id, then step: how long it took last
}

func newWorld(t *testing.T, ctx context.Context, bin, dir string, volumes int) *world {
	// The database is named for the folder: two matrices (two checkouts)
	// can run side by side on one PostgreSQL.
	h := fnv.New32a()
	h.Write([]byte(dir))
	w := &world{t: t, bin: bin, dir: dir, logs: filepath.Join(dir, "logs"), pgDB: fmt.Sprintf("catsync_faults_%08x", h.Sum32()),
		workers: map[string]*proc.Proc{}, metrics: map[string]string{}, lengths: map[string]map[string]time.Duration{}}
	w.pgAdmin = os.Getenv("CATSYNC_TEST_POSTGRES_DSN")
	if w.pgAdmin == "" {
		t.Fatal("CATSYNC_TEST_POSTGRES_DSN is not set: the primary's catalog of the fault matrix is in PostgreSQL (make faults sets it)")
	}
	if err := os.MkdirAll(w.logs, 0o755); err != nil {
		t.Fatal(err)
	}
	ports, err := proc.FreePorts(4)
	if err != nil {
		t.Fatal(err)
	}
	w.hostPort = "127.0.0.1:" + ports[0]
	for i, role := range []string{"primary", "secondary", "workflows"} {
		w.metrics[role] = "127.0.0.1:" + ports[i+1]
	}
	w.temporal = temporaltest.PersistentOn(t, filepath.Join(dir, "temporal.db"), w.hostPort, true)
	t.Cleanup(func() { w.temporal.Stop() })
	if w.c, err = client.Dial(client.Options{HostPort: w.hostPort, Namespace: "default"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.c.Close)
	w.kmip = pykmiptest.Start(t)
	t.Cleanup(func() {
		if t.Failed() {
			if log, err := os.ReadFile(w.kmip.Log()); err == nil {
				_ = os.WriteFile(filepath.Join(w.logs, "pykmip.log"), log, 0o644)
			}
		}
	})
	ca, cert, key := w.kmip.Client(t, "catsync-"+secondary)

	primaryDSN := w.database(ctx)
	master := make([]byte, 32)
	for i := range master {
		master[i] = byte(i*11 + 5)
	}
	signing := filepath.Join(dir, "signing")
	for _, site := range []string{"primary", "secondary"} {
		if _, err := snapshot.WriteKeyPair(signing, site); err != nil {
			t.Fatal(err)
		}
	}
	w.env = map[string]string{
		"TEMPORAL_ADDRESS": w.hostPort, "CATSYNC_PRIMARY_NAME": primary, "CATSYNC_SECONDARY_NAME": secondary,
		"CATSYNC_PRIMARY_CATALOG": primaryDSN, "CATSYNC_SECONDARY_CATALOG": w.secondaryCatalog(),
		"CATSYNC_PRIMARY_STAGING": filepath.Join(dir, "outbox"), "CATSYNC_SECONDARY_STAGING": filepath.Join(dir, "staging"),
		"CATSYNC_PRIMARY_DATA": filepath.Join(dir, "primary-data"), "CATSYNC_SECONDARY_DATA": filepath.Join(dir, "secondary-data"),
		"CATSYNC_PRIMARY_KEYS": "keystore:" + filepath.Join(dir, "primary.keys"), "CATSYNC_SECONDARY_KEYS": "kmip://" + w.kmip.Addr,
		"CATSYNC_SECONDARY_KMIP_CA": ca, "CATSYNC_SECONDARY_KMIP_CERT": cert, "CATSYNC_SECONDARY_KMIP_KEY": key,
		"CATSYNC_KEYSTORE_MASTER_KEY":    base64.StdEncoding.EncodeToString(master),
		"CATSYNC_PRIMARY_SIGNING_KEY":    filepath.Join(signing, "primary.key"),
		"CATSYNC_PRIMARY_TRUSTED_KEYS":   filepath.Join(signing, "secondary.pub"),
		"CATSYNC_SECONDARY_SIGNING_KEY":  filepath.Join(signing, "secondary.key"),
		"CATSYNC_SECONDARY_TRUSTED_KEYS": filepath.Join(signing, "primary.pub"),
	}
	for _, d := range []string{"outbox", "staging", "primary-data", "secondary-data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	w.catsync(ctx, "sim", "init", "--catalog", primaryDSN, "--stores", storeID, "--volumes", strconv.Itoa(volumes),
		"--days", "6", "--backups-per-day", simBackupsPerDay, "--groups", "4", "--encrypted-groups", "1")
	w.catsync(ctx, "sim", "init-secondary", "--catalog", w.secondaryCatalog(), "--primary", primaryDSN)
	w.replicate(ctx)
	w.catsync(ctx, "check", "--store", storeID)
	for _, role := range []string{"primary", "secondary", "workflows"} {
		w.startWorker(ctx, role)
	}
	t.Cleanup(func() {
		for _, p := range w.workers {
			p.Stop(syscall.SIGTERM, 30*time.Second)
		}
	})
	return w
}

func (w *world) secondaryCatalog() string { return filepath.Join(w.dir, "secondary.db") }

// database makes the primary's catalog database afresh and returns its URL.
func (w *world) database(ctx context.Context) string {
	conn, err := pgx.Connect(ctx, w.pgAdmin)
	if err != nil {
		w.t.Fatalf("PostgreSQL at CATSYNC_TEST_POSTGRES_DSN: %v", err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{"DROP DATABASE IF EXISTS " + w.pgDB + " WITH (FORCE)", "CREATE DATABASE " + w.pgDB} {
		if _, err := conn.Exec(ctx, q); err != nil {
			w.t.Fatalf("%s: %v", q, err)
		}
	}
	u, err := url.Parse(w.pgAdmin)
	if err != nil {
		w.t.Fatal(err)
	}
	u.Path = "/" + w.pgDB
	return u.String()
}

// workerEnv is a worker's environment: the sites' settings, and what it
// serves.
func (w *world) workerEnv(role string) map[string]string {
	serve, wf := role, "no"
	if role == "workflows" {
		serve, wf = "", "yes"
	}
	return proc.Merge(w.env, map[string]string{"CATSYNC_SERVE": serve, "CATSYNC_WORKFLOWS": wf,
		"CATSYNC_METRICS_ADDRESS": w.metrics[role]})
}

// startWorker starts role's worker and waits until its /readyz answers.
func (w *world) startWorker(ctx context.Context, role string) {
	w.t.Helper()
	p, err := proc.Start(role+"-worker", filepath.Join(w.logs, role+"-worker.log"), w.dir,
		proc.Environ(w.workerEnv(role)), filepath.Join(w.bin, "catsync-worker"))
	if err != nil {
		w.t.Fatal(err)
	}
	w.workers[role] = p
	err = proc.WaitFor(ctx, role+"'s worker /readyz", 60*time.Second, func() error {
		_, err := proc.Get(ctx, "http://"+w.metrics[role]+"/readyz")
		return err
	}, p)
	if err != nil {
		w.t.Fatal(err)
	}
}

// healthy restarts whatever a trial left down: each worker, the key
// manager is up by construction (its fault restarts it).
func (w *world) healthy(ctx context.Context) {
	for _, role := range []string{"primary", "secondary", "workflows"} {
		if done, how := w.workers[role].Exited(); done {
			w.t.Logf("%s's worker had exited (%v): started again\n%s", role, how, proc.Tail(w.workers[role].Log, 20))
			w.startWorker(ctx, role)
		}
	}
}

// replicate copies the primary's new keys and volume images to the
// secondary, as the key manager's replication and NAS mirroring do. The
// key replication is tried again when PyKMIP leaves a request unanswered
// (it does, rarely): the replication is the sites' own, not catsync's,
// which meets the same silences in its key parity step and retries it.
func (w *world) replicate(ctx context.Context) {
	for try := 1; ; try++ {
		out, err := w.output(ctx, "sim", "replicate-keys", "--catalog", w.env["CATSYNC_PRIMARY_CATALOG"])
		if err == nil {
			break
		}
		if try == 3 {
			w.t.Fatalf("catsync sim replicate-keys: %v\n%s", err, out)
		}
		w.t.Logf("catsync sim replicate-keys, try %d: %v: %s", try, err, firstLine(out))
	}
	w.catsync(ctx, "sim", "replicate-data", "--catalog", w.env["CATSYNC_PRIMARY_CATALOG"])
}

// advance runs a day of backups on the primary, replicated.
func (w *world) advance(ctx context.Context) {
	w.catsync(ctx, "sim", "advance", "--catalog", w.env["CATSYNC_PRIMARY_CATALOG"], "--days", "1")
	w.replicate(ctx)
}

// catsync runs the CLI with the sites' settings; a failure fails the test.
func (w *world) catsync(ctx context.Context, args ...string) string {
	w.t.Helper()
	out, err := w.output(ctx, args...)
	if err != nil {
		w.t.Fatalf("catsync %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// output runs the CLI and returns what it printed, and how it exited.
func (w *world) output(ctx context.Context, args ...string) (string, error) {
	out, errOut, err := w.outputs(ctx, args...)
	return out + errOut, err
}

// outputs runs the CLI and returns its stdout (a --json command's
// JSON), its stderr, and how it exited.
func (w *world) outputs(ctx context.Context, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(w.bin, "catsync"), args...)
	cmd.Env, cmd.Dir = proc.Environ(w.env), w.dir
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	began := time.Now()
	err := cmd.Run()
	if f, ferr := os.OpenFile(filepath.Join(w.logs, "commands.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); ferr == nil {
		fmt.Fprintf(f, "%s $ catsync %s\n%s%s(%v, %s)\n\n", began.Format(time.TimeOnly), strings.Join(args, " "), out.String(), errOut.String(),
			err, time.Since(began).Round(time.Millisecond))
		f.Close()
	}
	return out.String(), errOut.String(), err
}

// restartTemporal stops the dev server, waits down, and starts it again
// on the same file and address.
func (w *world) restartTemporal(down time.Duration) {
	if err := w.temporal.Stop(); err != nil {
		w.t.Logf("stop the Temporal dev server: %v", err)
	}
	time.Sleep(down)
	w.temporal = temporaltest.PersistentOn(w.t, filepath.Join(w.dir, "temporal.db"), w.hostPort, false)
}

// lockSecondary holds an exclusive lock on the secondary's SQLite catalog
// for hold: every write of the worker waits on it, and gives up after its
// busy timeout.
func (w *world) lockSecondary(ctx context.Context, hold time.Duration) error {
	st, err := sqlstore.Open(ctx, w.secondaryCatalog())
	if err != nil {
		return err
	}
	defer st.Close()
	conn, err := st.SQL().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		return fmt.Errorf("lock the secondary's catalog: %w", err)
	}
	time.Sleep(hold)
	_, err = conn.ExecContext(ctx, "ROLLBACK")
	return err
}

// dropConnections terminates every connection of the primary's catalog
// database, as a PostgreSQL failover or restart would, and returns how
// many it ended.
func (w *world) dropConnections(ctx context.Context) (int, error) {
	conn, err := pgx.Connect(ctx, w.pgAdmin)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()) t`, w.pgDB).Scan(&n)
	return n, err
}
