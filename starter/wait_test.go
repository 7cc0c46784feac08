package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/workflows"
)

// liveLines is a command's stderr, read by the test while the command
// runs.
type liveLines struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	grew    chan struct{} // closed, and replaced, when a line comes
}

func newLiveLines() *liveLines { return &liveLines{grew: make(chan struct{})} }

func (l *liveLines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
		close(l.grew)
		l.grew = make(chan struct{})
	}
}

// await returns the first line from *from on that holds every want, and
// moves *from past it. The guard only keeps a broken run from hanging the
// test binary.
func (l *liveLines) await(t *testing.T, from *int, want ...string) string {
	t.Helper()
	guard := time.After(2 * time.Minute)
	for {
		l.mu.Lock()
		for i := *from; i < len(l.lines); i++ {
			if holdsAll(l.lines[i], want) {
				*from = i + 1
				l.mu.Unlock()
				return l.lines[i]
			}
		}
		grew := l.grew
		l.mu.Unlock()
		select {
		case <-grew:
		case <-guard:
			t.Fatalf("no line saying %q; stderr so far:\n%s", want, l.text())
		}
	}
}

func (l *liveLines) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func holdsAll(s string, want []string) bool {
	for _, w := range want {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// waitingSync runs `catsync sync --wait` of store in the background: its
// stderr as it comes, and its exit code once it ends.
func waitingSync(t *testing.T, store string) (*liveLines, <-chan int) {
	t.Helper()
	errs, code := newLiveLines(), make(chan int, 1)
	go func() {
		var out bytes.Buffer
		code <- run(context.Background(), []string{"sync", "--store", store, "--type", "full", "--wait"}, &out, errs)
	}()
	return errs, code
}

// stopWaiting terminates the sync of store and returns what its waiting
// CLI wrote to stderr, once it has ended, failing the test unless it
// failed naming the run's failure.
func stopWaiting(t *testing.T, store string, errs *liveLines, code <-chan int) string {
	t.Helper()
	if err := devServer.Client().TerminateWorkflow(context.Background(), workflows.SyncID(store), "", "test over"); err != nil {
		t.Fatal(err)
	}
	if got := <-code; got != 1 {
		t.Errorf("sync --wait of a terminated run: exit %d, want 1", got)
	}
	text := errs.text()
	if !strings.Contains(text, "sync of "+store+" failed") {
		t.Errorf("stderr does not give the run's failure:\n%s", text)
	}
	return text
}

// TestWaitTellsUnpolledQueues: a sync waiting with no worker at all says
// no one polls the workflows' queue; once a workflow worker runs, that no
// one polls the primary's queue, and which worker to start, once each.
func TestWaitTellsUnpolledQueues(t *testing.T) {
	c := devClient(t)
	cfg := &config.Config{Primary: config.Site{Name: "waitprim"}, Secondary: config.Site{Name: "waitsecd"}}
	serveSites(t, c, cfg) // the CLI's environment, and no worker
	errs, code := waitingSync(t, "DS_WAIT")
	from := 0
	errs.await(t, &from, "the run waits: no worker is polling catsync", "start a catsync-worker running the workflows (CATSYNC_WORKFLOWS=true")

	withWorkflows := *cfg
	withWorkflows.Workflows = true
	serveSites(t, c, &withWorkflows)
	errs.await(t, &from, "step Describe waits: no worker is polling catsync.waitprim: "+
		"start the waitprim worker (catsync-worker with CATSYNC_PRIMARY_NAME=waitprim and primary in CATSYNC_SERVE)")

	text := stopWaiting(t, "DS_WAIT", errs, code)
	t.Logf("stderr of the waiting sync:\n%s", text)
	for _, told := range []string{"the run waits", "step Describe waits"} {
		if n := strings.Count(text, told); n != 1 {
			t.Errorf("%q told %d times, want once:\n%s", told, n, text)
		}
	}
}

// lockedCatalog is a primary whose catalog cannot be read: the check's
// first step fails, and is retried.
type lockedCatalog struct{}

func (*lockedCatalog) Describe(context.Context, string) (safety.Primary, error) {
	return safety.Primary{}, errors.New("the primary's catalog is locked")
}

// TestWaitTellsRetries: a sync whose step fails with a retryable error
// tells each new attempt of the step with the error of the one before.
func TestWaitTellsRetries(t *testing.T) {
	c := devClient(t)
	cfg := &config.Config{Primary: config.Site{Name: "retryprim"}, Secondary: config.Site{Name: "retrysecd"}, Workflows: true}
	serveSites(t, c, cfg) // the workflows only
	w := worker.New(c, activities.TaskQueue("retryprim"), worker.Options{})
	w.RegisterActivity(&lockedCatalog{})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	errs, code := waitingSync(t, "DS_RETRY")
	from := 0
	want := []string{"step Describe on catsync.retryprim: attempt ", " of 10; the previous attempt failed: the primary's catalog is locked"}
	first := errs.await(t, &from, want...)
	second := errs.await(t, &from, want...)
	text := stopWaiting(t, "DS_RETRY", errs, code)
	t.Logf("stderr of the waiting sync:\n%s", text)

	attempt := regexp.MustCompile(`attempt (\d+) of`)
	a, b := attempt.FindStringSubmatch(first)[1], attempt.FindStringSubmatch(second)[1]
	if len(a) > len(b) || len(a) == len(b) && a >= b {
		t.Errorf("attempts told in the order %s, %s", a, b)
	}
	seen := map[string]bool{}
	for _, m := range attempt.FindAllStringSubmatch(text, -1) {
		if seen[m[1]] {
			t.Errorf("attempt %s told twice:\n%s", m[1], text)
		}
		seen[m[1]] = true
	}
}

// pollOften makes a waiting sync poll its run every few milliseconds, for
// runs of a second or two.
// servedPair is a small pair of sites, its keys replicated, served on the
// dev server, with the CLI polling often.
func servedPair(t *testing.T) (client.Client, *config.Config) {
	t.Helper()
	c := devClient(t)
	prim, _, cfg := smallPair(t)
	mustRun(t, "sim", "replicate-keys", "--catalog", prim)
	serveSites(t, c, cfg)
	pollOften(t)
	return c, cfg
}

func pollOften(t *testing.T) {
	prev := waitEvery
	waitEvery = 10 * time.Millisecond
	t.Cleanup(func() { waitEvery = prev })
}

// stepLine is a progress line of a sync waiting without a terminal.
var stepLine = regexp.MustCompile(`^step (\S+) \((\d+) done\)$`)

// TestWaitTellsEachStep: `catsync sync --wait` without a terminal tells
// each step of a real run as it begins, in the run's order, with the count
// of steps done before it, while the run goes on; then the run's end.
func TestWaitTellsEachStep(t *testing.T) {
	servedPair(t)
	errs, code := waitingSync(t, "DS_PROD")
	from := 0
	errs.await(t, &from, "step check (0 done)")
	select {
	case <-code:
		t.Fatal("the first step was told only once the run had ended")
	default:
	}
	if got := <-code; got != 0 {
		t.Fatalf("sync --wait: exit %d\n%s", got, errs.text())
	}
	var told []string
	for _, line := range strings.Split(errs.text(), "\n") {
		if m := stepLine.FindStringSubmatch(line); m != nil {
			told = append(told, m[1]+" "+m[2])
		} else if strings.HasPrefix(line, "step ") {
			t.Errorf("unexpected step line %q", line)
		}
	}
	var want []string
	for i, step := range syncSteps {
		want = append(want, fmt.Sprintf("%s %d", step, i))
	}
	want = append(want, fmt.Sprintf("done %d", len(syncSteps)))
	if strings.Join(told, ", ") != strings.Join(want, ", ") {
		t.Errorf("steps told:\n%s\nwant:\n%s\nstderr:\n%s", strings.Join(told, ", "), strings.Join(want, ", "), errs.text())
	}
}

// frame is one drawing of the progress bar: the bar, the count of steps
// done, the step.
var frame = regexp.MustCompile(`^\[(#*)(\.*)\] (\d+)/(\d+) (\S+) *$`)

// TestWaitBarOnARun: on a terminal a real run's progress is one line
// redrawn in place: frames whose counts and steps only move forward, the
// bar filled in proportion, some drawn mid-run, the last full and ended.
func TestWaitBarOnARun(t *testing.T) {
	c, cfg := servedPair(t)
	ctx := context.Background()
	in := workflows.SyncInput{Store: "DS_PROD", Type: snapshot.Full, CatalogFiles: true, Primary: cfg.Primary.Name, Secondary: cfg.Secondary.Name}
	run, err := workflows.StartSync(ctx, c, in)
	must(t, err)
	var out bytes.Buffer
	res, err := waitRun(ctx, c, run, in, &out, true)
	if err != nil || res.Outcome != workflows.OutcomeCompleted {
		t.Fatalf("sync: %v %s", err, res.Outcome)
	}
	text := out.String()
	if !strings.HasPrefix(text, "\r") || !strings.HasSuffix(text, "\n") || strings.Count(text, "\n") != 1 {
		t.Fatalf("want frames each after a carriage return, one newline at the end: %q", text)
	}
	n := len(syncSteps)
	order := map[string]int{"done": n}
	for i, s := range syncSteps {
		order[s] = i
	}
	last, lastStep, midRun := -1, -1, 0
	for _, f := range strings.Split(strings.TrimSuffix(text[1:], "\n"), "\r") {
		m := frame.FindStringSubmatch(f)
		if m == nil {
			t.Fatalf("frame %q is not a bar, a count and a step", f)
		}
		done, _ := strconv.Atoi(m[3])
		step, known := order[m[5]]
		if !known || len(m[1])+len(m[2]) != 20 || len(m[1]) != done*20/n || m[4] != strconv.Itoa(n) || done < last || step < lastStep || done > step {
			t.Errorf("frame %q after %d done at step %d", f, last, lastStep)
		}
		if done < n {
			midRun++
		}
		last, lastStep = done, step
	}
	if midRun == 0 || last != n || lastStep != n {
		t.Errorf("%d frames drawn mid-run, the last at %d done: want some, then the full bar of the run done:\n%q", midRun, last, text)
	}
}

// TestWaitBar draws the bar of given progress: the fill and the count of
// steps finished (not the one running), the step padded so a shorter name
// overwrites a longer one.
func TestWaitBar(t *testing.T) {
	t0 := time.Now()
	steps := func(finished int, running string) []workflows.Step {
		var out []workflows.Step
		for _, s := range syncSteps[:finished] {
			out = append(out, workflows.Step{Name: s, Started: t0, Finished: t0})
		}
		if running != "" {
			out = append(out, workflows.Step{Name: running, Started: t0})
		}
		return out
	}
	var b bytes.Buffer
	wt := &watch{w: &b, bar: true}
	for _, c := range []struct {
		p    workflows.Progress
		want string
	}{
		{workflows.Progress{Step: "check", Steps: steps(0, "check")}, "\r[....................] 0/11 check       "},
		{workflows.Progress{Step: "snapshot", Steps: steps(3, "snapshot")}, "\r[#####...............] 3/11 snapshot    "},
		{workflows.Progress{Step: "apply", Steps: steps(6, "apply")}, "\r[##########..........] 6/11 apply       "},
		{workflows.Progress{Step: "record", Steps: steps(10, "record")}, "\r[##################..] 10/11 record      "},
		{workflows.Progress{Step: "done", Steps: steps(11, "")}, "\r[####################] 11/11 done        "},
	} {
		b.Reset()
		wt.show(c.p)
		if b.String() != c.want || wt.step != c.p.Step {
			t.Errorf("progress at %s drawn %q, want %q", c.p.Step, b.String(), c.want)
		}
	}

	// Without a terminal a poll that finds three steps begun since the
	// last tells each.
	b.Reset()
	wt = &watch{w: &b}
	wt.show(workflows.Progress{Step: "lease", Steps: steps(1, "lease")})
	wt.show(workflows.Progress{Step: "lease", Steps: steps(1, "lease")})
	wt.show(workflows.Progress{Step: "transfer", Steps: steps(4, "transfer")})
	wt.show(workflows.Progress{Step: "failed", Steps: steps(4, "transfer")})
	want := "step check (0 done)\nstep lease (1 done)\nstep watermark (2 done)\nstep snapshot (3 done)\nstep transfer (4 done)\nstep failed (4 done)\n"
	if b.String() != want {
		t.Errorf("lines told:\n%s\nwant:\n%s", b.String(), want)
	}
}
