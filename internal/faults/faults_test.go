package faults

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/workflows"
)

// Variables of the matrix.
const (
	enableEnv  = "CATSYNC_FAULTS"         // 1 runs it (make faults)
	binEnv     = "CATSYNC_FAULTS_BIN"     // the built catsync and catsync-worker (make build)
	dirEnv     = "CATSYNC_FAULTS_DIR"     // sites, logs and report (default: a temporary folder)
	trialsEnv  = "CATSYNC_FAULTS_TRIALS"  // how many trials (default 50)
	seedEnv    = "CATSYNC_FAULTS_SEED"    // the seed of the trials' choices (default: from the clock, printed)
	trialEnv   = "CATSYNC_FAULTS_TRIAL"   // run this one trial of the seed alone
	volumesEnv = "CATSYNC_FAULTS_VOLUMES" // the simulated primary's volumes (default 2000)
)

// The faults, in the order of the report.
const (
	killPrimary     = "kill primary worker"
	killSecondary   = "kill secondary worker"
	truncate        = "segment truncated"
	flipByte        = "segment byte flipped"
	keysDown        = "key manager down"
	catalogLocked   = "secondary catalog locked"
	connDropped     = "primary catalog connections dropped"
	frontendRestart = "Temporal frontend restarted"
)

var faultKinds = []string{killPrimary, killSecondary, truncate, flipByte, keysDown, catalogLocked, connDropped, frontendRestart}

// Kinds of run.
const (
	runFull   = "FULL"
	runUpdate = "UPDATE"
	runDrill  = "drill"
)

// The steps a moment can fall on: a CatalogSync's (a drill's UPDATE is
// one), and a drill's verification's.
var (
	syncSteps   = []string{"check", "lease", "watermark", "snapshot", "transfer", "plan", "apply", "keys", "restore", "finish", "record"}
	verifySteps = []string{"check", "lease", "watermark", "snapshot", "transfer", "plan", "keys", "record"}
)

// trial is one seeded choice: a run, a moment, a fault.
type trial struct {
	N     int
	Kind  string
	Watch string // the workflow whose progress places the moment
	Step  string
	// At is where in the step the fault comes, as a fraction of the
	// step's length in the last run that finished it: zero at its start
	// (the boundary with the step before), else a random point inside it
	// (Observed says where it landed: a step can be shorter this time).
	At    float64
	Fault string
	rng   *rand.Rand
}

// lengthKey is where the lengths of the watched workflow's steps are kept.
func (tr trial) lengthKey() string { return tr.Kind + " " + tr.Watch }

func (tr trial) moment() string {
	at := tr.Step
	if tr.Watch != "" && strings.HasSuffix(tr.Watch, "-verify") {
		at = "verify " + at
	}
	if tr.At == 0 {
		return "start of " + at
	}
	return fmt.Sprintf("%s at %2.0f%%", at, 100*tr.At)
}

// choose draws trial n of seed. The faults go round in cycles, each cycle
// a fresh shuffle, so that every fault is tried as often as the others;
// the run and the moment are drawn at random. One trial of a seed is the
// same whether it runs alone or among the others.
func choose(seed uint64, n int) trial {
	cycle := n / len(faultKinds)
	order := rand.New(rand.NewPCG(seed, uint64(cycle))).Perm(len(faultKinds))
	rng := rand.New(rand.NewPCG(seed, 1<<32+uint64(n)))
	tr := trial{N: n, Fault: faultKinds[order[n%len(faultKinds)]], rng: rng}
	tr.Kind = []string{runFull, runUpdate, runDrill}[rng.IntN(3)]
	steps := syncSteps
	switch {
	case tr.Kind == runDrill && rng.IntN(3) == 0:
		tr.Watch, steps = workflows.DrillID(storeID)+"-verify", verifySteps
	case tr.Kind == runDrill:
		tr.Watch = workflows.DrillID(storeID) + "-update"
	default:
		tr.Watch = workflows.SyncID(storeID)
	}
	tr.Step = steps[rng.IntN(len(steps))]
	if rng.IntN(2) == 1 {
		tr.At = 0.01 + 0.98*rng.Float64()
	}
	return tr
}

// result is what a trial came to.
type result struct {
	trial
	Observed string // the step the fault landed in
	Detail   string // what the fault did
	Outcome  string // converged, recovered (a new run converged), failed
	Runs     []string
	Took     time.Duration
	check
}

// Outcomes of a trial.
const (
	converged = "converged"
	recovered = "recovered"
	failed    = "FAILED"
)

// TestFaultMatrix runs the trials and prints their table; it fails when
// a run did not converge or the secondary lost, duplicated or holds
// corrupt rows, or its audit chain broke.
func TestFaultMatrix(t *testing.T) {
	if os.Getenv(enableEnv) != "1" {
		t.Skipf("the fault matrix runs with %s=1 (make faults)", enableEnv)
	}
	bin := os.Getenv(binEnv)
	if bin == "" {
		t.Fatalf("%s is not set: give the folder of the built catsync and catsync-worker (make faults builds them)", binEnv)
	}
	for _, b := range []string{"catsync", "catsync-worker"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			t.Fatalf("%s: build it first (make build), or set %s", err, binEnv)
		}
	}
	trials := intEnv(t, trialsEnv, 50)
	volumes := intEnv(t, volumesEnv, 2000)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(seedEnv); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s=%q: want a number", seedEnv, s)
		}
	}
	var which []int
	if s := os.Getenv(trialEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			t.Fatalf("%s=%q: want a trial number", trialEnv, s)
		}
		which = []int{n}
	} else {
		for n := range trials {
			which = append(which, n)
		}
	}
	dir := os.Getenv(dirEnv)
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	t.Logf("fault matrix: seed %d, %d trials, %d volumes; replay one with %s=%d %s=N make faults", seed, len(which), volumes, seedEnv, seed, trialEnv)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	w := newWorld(t, ctx, bin, dir, volumes)
	t.Logf("sites and workers ready in %s", time.Since(start).Round(time.Second))
	// A run of each kind, undisturbed: the first FULL gives the UPDATEs
	// and drills a watermark to start from, and each the lengths of its
	// steps, where the moments inside a step fall.
	for _, kind := range []string{runFull, runUpdate, runDrill} {
		w.advance(ctx)
		if _, err := w.run(ctx, kind); err != nil {
			t.Fatalf("the first %s, undisturbed: %v", kind, err)
		}
	}
	t.Logf("steps of the undisturbed runs: %s", w.stepLengths())
	var results []result
	for _, n := range which {
		r := w.trial(ctx, choose(seed, n))
		results = append(results, r)
		t.Logf("trial %2d: %-6s %-24s %-36s in %-10s %-9s %s (%s)", r.N, r.Kind, r.moment(), r.Fault, r.Observed, r.Outcome,
			r.Took.Round(100*time.Millisecond), r.Detail)
		if r.Outcome == failed || !r.clean() {
			t.Errorf("trial %d (%s=%d %s=%d): %s, %s; runs: %s", r.N, seedEnv, seed, trialEnv, r.N, r.Outcome, r.check, strings.Join(r.Runs, "; "))
		}
		w.healthy(ctx)
	}
	report := table(seed, results)
	t.Logf("fault matrix, seed %d, in %s:\n%s", seed, time.Since(start).Round(time.Second), report)
	if err := os.WriteFile(filepath.Join(dir, "report.txt"), []byte(report), 0o644); err != nil {
		t.Error(err)
	}
}

// trial runs one trial: a day on the primary, the run, the fault at its
// moment, the run (or the runs after it) to their end, and the check.
func (w *world) trial(ctx context.Context, tr trial) result {
	r := result{trial: tr}
	w.advance(ctx)
	began := time.Now()
	run, err := w.start(ctx, tr.Kind)
	if err != nil {
		w.t.Fatalf("trial %d: start the %s: %v", tr.N, tr.Kind, err)
	}
	ended := make(chan error, 1)
	var first string
	go func() {
		var err error
		first, err = w.wait(ctx, tr.Kind, run)
		ended <- err
	}()
	r.Observed = w.reach(ctx, tr, began, ended)
	r.Detail = w.inject(ctx, tr, began, &r.Observed)
	err = <-ended
	r.Runs = append(r.Runs, runText(tr.Kind, first, err))
	r.Outcome = converged
	for try := 0; err != nil; try++ {
		if try == 2 {
			r.Outcome = failed
			break
		}
		// What a failed run leaves (a lost worker's lease, a refused
		// snapshot) the next run of the same kind must get past.
		w.healthy(ctx)
		r.Outcome = recovered
		var notes string
		notes, err = w.run(ctx, tr.Kind)
		r.Runs = append(r.Runs, runText(tr.Kind, notes, err))
	}
	r.Took = time.Since(began)
	r.check = w.check(ctx)
	return r
}

func runText(kind, notes string, err error) string {
	s := kind + " completed"
	if err != nil {
		s = kind + ": " + firstLine(err.Error())
	}
	if notes != "" {
		s += " (" + notes + ")"
	}
	return s
}

// start starts a run of kind. A sync's streaming steps heartbeat every
// few seconds, so that a killed worker's step is retried within 10 s; a
// drill's keep the production minute.
func (w *world) start(ctx context.Context, kind string) (client.WorkflowRun, error) {
	switch kind {
	case runDrill:
		return workflows.StartDrill(ctx, w.c, workflows.DrillInput{Store: storeID, Primary: primary, Secondary: secondary,
			CatalogFiles: true, RestoreSample: 20, Operator: "fault matrix"})
	default:
		typ := snapshot.Full
		if kind == runUpdate {
			typ = snapshot.Update
		}
		return workflows.StartSync(ctx, w.c, workflows.SyncInput{Store: storeID, Type: typ, CatalogFiles: true,
			Primary: primary, Secondary: secondary, HeartbeatTimeout: 10 * time.Second})
	}
}

// run starts a run of kind and waits for it.
func (w *world) run(ctx context.Context, kind string) (string, error) {
	run, err := w.start(ctx, kind)
	if err != nil {
		return "", err
	}
	return w.wait(ctx, kind, run)
}

// runLimit bounds a run and its retries: a killed worker's short step
// waits out its start-to-close timeout (a minute), a drill's streaming
// step its minute of heartbeat.
const runLimit = 5 * time.Minute

// wait waits for run's end and returns the notes its steps left (a
// staged snapshot found corrupt and transferred again); an outcome other
// than a clean one (Completed, DrillPassed) is an error naming it. A
// frontend down a while is waited for.
func (w *world) wait(ctx context.Context, kind string, run client.WorkflowRun) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, runLimit)
	defer cancel()
	for {
		var notes []string
		var err error
		note := func(steps []workflows.Step) {
			for _, s := range steps {
				if s.Note != "" {
					notes = append(notes, s.Name+": "+firstLine(s.Note))
				}
			}
		}
		if kind == runDrill {
			var res workflows.DrillResult
			if err = w.c.GetWorkflow(ctx, run.GetID(), run.GetRunID()).Get(ctx, &res); err == nil {
				if res.Update != nil {
					w.measure(runDrill+" "+run.GetID()+"-update", res.Update.Steps)
					note(res.Update.Steps)
				}
				if res.Verify != nil {
					w.measure(runDrill+" "+run.GetID()+"-verify", res.Verify.Steps)
					note(res.Verify.Steps)
				}
				if res.Outcome != workflows.OutcomeDrillPassed {
					err = fmt.Errorf("drill %s: %s", res.Outcome, strings.Join(res.Findings, "; "))
				}
			}
		} else {
			var res workflows.SyncResult
			if err = w.c.GetWorkflow(ctx, run.GetID(), run.GetRunID()).Get(ctx, &res); err == nil {
				w.measure(kind+" "+run.GetID(), res.Steps)
				note(res.Steps)
				if res.Outcome != workflows.OutcomeCompleted {
					err = fmt.Errorf("sync %s", res.Outcome)
				}
			}
		}
		if err == nil || !transient(err) {
			return strings.Join(notes, "; "), err
		}
		if ctx.Err() != nil {
			// Cancelled, as an operator would: the run releases the
			// store's lease, which the next trial's run takes.
			w.cancel(run)
			return "", fmt.Errorf("still running after %s: %w", runLimit, err)
		}
		time.Sleep(time.Second)
	}
}

// cancel cancels a run that overran its limit and waits a while for it to
// close; one that does not is terminated.
func (w *world) cancel(run client.WorkflowRun) {
	ctx, stop := context.WithTimeout(context.Background(), time.Minute)
	defer stop()
	if err := w.c.CancelWorkflow(ctx, run.GetID(), run.GetRunID()); err == nil {
		if err := run.Get(ctx, nil); err == nil || ctx.Err() == nil {
			return
		}
	}
	_ = w.c.TerminateWorkflow(context.Background(), run.GetID(), run.GetRunID(), "the fault matrix's limit of "+runLimit.String())
}

// measure keeps the lengths of the steps a run finished, by run kind and
// workflow id (see lengthKey).
func (w *world) measure(id string, steps []workflows.Step) {
	if w.lengths[id] == nil {
		w.lengths[id] = map[string]time.Duration{}
	}
	for _, s := range steps {
		if !s.Finished.IsZero() {
			w.lengths[id][s.Name] = s.Finished.Sub(s.Started)
		}
	}
}

// stepLengths lists the steps measured, per workflow.
func (w *world) stepLengths() string {
	var parts []string
	for _, id := range slices.Sorted(maps.Keys(w.lengths)) {
		var steps []string
		for _, name := range syncSteps {
			if d, ok := w.lengths[id][name]; ok {
				steps = append(steps, fmt.Sprintf("%s %s", name, d.Round(time.Millisecond)))
			}
		}
		parts = append(parts, id+": "+strings.Join(steps, ", "))
	}
	return strings.Join(parts, "; ")
}

// transient tells a client's error while the frontend is away from the
// run's own failure.
func transient(err error) bool {
	var wfErr *temporal.WorkflowExecutionError
	if errors.As(err, &wfErr) {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "Unavailable") || strings.Contains(s, "connection refused") || strings.Contains(s, "context deadline exceeded") ||
		strings.Contains(s, "DeadlineExceeded") || strings.Contains(s, "transport")
}

// reach waits until the run reaches the trial's moment and returns the
// step the run is in then ("ended" when it finished first).
func (w *world) reach(ctx context.Context, tr trial, began time.Time, ended chan error) string {
	deadline := time.Now().Add(runLimit)
	for time.Now().Before(deadline) {
		select {
		case err := <-ended:
			ended <- err
			return "ended"
		default:
		}
		if p, ok := w.progress(ctx, tr.Watch, began); ok && (p.Step == tr.Step || slices.ContainsFunc(p.Steps, func(s workflows.Step) bool { return s.Name == tr.Step })) {
			if offset := time.Duration(tr.At * float64(w.lengths[tr.lengthKey()][tr.Step])); offset > 0 {
				select {
				case err := <-ended:
					ended <- err
					return "ended"
				case <-time.After(offset):
				}
			}
			return w.step(ctx, tr, began)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "never reached"
}

// step is the step the trial's watched workflow is in now.
func (w *world) step(ctx context.Context, tr trial, began time.Time) string {
	if p, ok := w.progress(ctx, tr.Watch, began); ok {
		return p.Step
	}
	return "unknown"
}

// progress is the progress of the run of workflow id that started after
// since: a drill's children keep their ids from one drill to the next,
// and a closed run still answers the query.
func (w *world) progress(ctx context.Context, id string, since time.Time) (workflows.Progress, bool) {
	var p workflows.Progress
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	d, err := w.c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil || d.GetWorkflowExecutionInfo().GetStartTime().AsTime().Before(since) {
		return p, false
	}
	v, err := w.c.QueryWorkflow(ctx, id, d.GetWorkflowExecutionInfo().GetExecution().GetRunId(), workflows.ProgressQuery)
	if err != nil || v.Get(&p) != nil {
		return p, false
	}
	return p, true
}

// inject applies the trial's fault and returns what it did; a fault that
// waits for its target updates where it landed.
func (w *world) inject(ctx context.Context, tr trial, began time.Time, landed *string) string {
	rng := tr.rng
	pause := func(min, spread int) time.Duration {
		return time.Duration(min+rng.IntN(spread)) * time.Millisecond
	}
	switch tr.Fault {
	case killPrimary, killSecondary:
		role := "primary"
		if tr.Fault == killSecondary {
			role = "secondary"
		}
		down := pause(500, 2500)
		w.workers[role].Kill()
		time.Sleep(down)
		w.startWorker(ctx, role)
		return fmt.Sprintf("SIGKILL, started again after %s", down.Round(100*time.Millisecond))
	case truncate, flipByte:
		what := w.damage(tr, began, *landed)
		*landed = w.step(ctx, tr, began)
		return what
	case keysDown:
		down := pause(3000, 9000)
		w.kmip.Stop()
		time.Sleep(down)
		w.kmip.Restart(w.t)
		return fmt.Sprintf("PyKMIP stopped for %s", down.Round(100*time.Millisecond))
	case catalogLocked:
		hold := pause(2000, 10000)
		if err := w.lockSecondary(ctx, hold); err != nil {
			return "no lock: " + err.Error()
		}
		return fmt.Sprintf("BEGIN EXCLUSIVE held %s", hold.Round(100*time.Millisecond))
	case connDropped:
		n, err := w.dropConnections(ctx)
		if err != nil {
			return "pg_terminate_backend: " + err.Error()
		}
		return fmt.Sprintf("%d connections terminated", n)
	case frontendRestart:
		down := pause(1000, 4000)
		w.restartTemporal(down)
		return fmt.Sprintf("down %s", down.Round(100*time.Millisecond))
	}
	w.t.Fatalf("no such fault %q", tr.Fault)
	return ""
}

// damage truncates, or flips a byte of, a segment of the run's snapshot
// (the newest, written after the trial began): its staged copy once the
// transfer began, else its copy in the primary's outbox, waiting for the
// export to write one.
func (w *world) damage(tr trial, began time.Time, observed string) string {
	rng := tr.rng
	// Before the transfer (or before the run's first step) the snapshot
	// is only in the outbox; from then on, and once the run is over, its
	// staged copy is what a later step or run reads.
	area := "CATSYNC_SECONDARY_STAGING"
	if i := slices.Index(syncSteps, observed); (i >= 0 && i < slices.Index(syncSteps, "transfer")) || observed == "starting" {
		area = "CATSYNC_PRIMARY_STAGING"
	}
	var seg string
	for deadline := time.Now().Add(time.Minute); seg == "" && time.Now().Before(deadline); {
		seg = newestSegment(filepath.Join(w.env[area], storeID), began)
		if seg == "" {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if seg == "" {
		return "no segment in " + area
	}
	where := strings.TrimPrefix(area, "CATSYNC_")
	fi, err := os.Stat(seg)
	if err != nil {
		return err.Error()
	}
	if fi.Size() == 0 {
		return "empty segment " + filepath.Base(seg)
	}
	off := rng.Int64N(fi.Size())
	if tr.Fault == truncate {
		if err := os.Truncate(seg, off); err != nil {
			return err.Error()
		}
		return fmt.Sprintf("%s %s/%s cut to %d of %d bytes", strings.ToLower(where), filepath.Base(filepath.Dir(seg)), filepath.Base(seg), off, fi.Size())
	}
	f, err := os.OpenFile(seg, os.O_RDWR, 0)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		return err.Error()
	}
	bit := byte(1) << rng.IntN(8)
	if _, err := f.WriteAt([]byte{b[0] ^ bit}, off); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%s %s/%s byte %d ^ %#02x", strings.ToLower(where), filepath.Base(filepath.Dir(seg)), filepath.Base(seg), off, bit)
}

// newestSegment is a segment of the newest snapshot folder under dir
// written after since ("" when there is none).
func newestSegment(dir string, since time.Time) string {
	snaps, _ := os.ReadDir(dir)
	var best string
	var bestTime time.Time
	for _, s := range snaps {
		segs, _ := filepath.Glob(filepath.Join(dir, s.Name(), "seg-*"))
		if len(segs) == 0 {
			continue
		}
		fi, err := os.Stat(segs[0])
		if err != nil {
			continue
		}
		if fi.ModTime().Before(since) {
			continue
		}
		if best == "" || fi.ModTime().After(bestTime) {
			best, bestTime = segs[len(segs)-1], fi.ModTime()
		}
	}
	return best
}

func intEnv(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
