package main

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/catsync/catsync/activities"
	"github.com/catsync/catsync/internal/config"
	"github.com/catsync/catsync/internal/safety"
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
