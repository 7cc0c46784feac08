package workflows_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/catsync/catsync/internal/serve"
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/temporaltest"
	"github.com/catsync/catsync/workflows"
)

// browserEnv makes a missing Chromium fail the browser test instead of
// skipping it (CI sets it).
const browserEnv = "CATSYNC_REQUIRE_BROWSER"

// artifacts is where the browser test saves its screenshots: not
// committed, kept for whoever looks into a failure.
func artifacts(t *testing.T) string {
	dir := os.Getenv("CATSYNC_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", ".artifacts", "webui")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The Web UI, in a real headless Chromium, after a sync: the run list
// filtered by CatsyncStore and CatsyncOutcome finds the run, and its page
// shows the run's summary and the activities' summaries.
func TestWebUIShowsTheRun(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv(browserEnv) != "" {
			t.Fatalf("%s is set and no chromium is on PATH: %v", browserEnv, err)
		}
		t.Skip("no chromium on PATH: the browser test needs Debian's chromium")
	}
	srv, ui := temporaltest.WithUI(t)
	c := srv.Client()
	pair := simtest.New(t, small(), simtest.Options{Keys: simtest.Keystores})
	workers, err := serve.Start(context.Background(), c, pair.Config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(workers.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	in := workflows.SyncInput{Store: "DS_PROD", Type: snapshot.Full, CatalogFiles: true, Primary: pair.Config.Primary.Name,
		Secondary: pair.Config.Secondary.Name}
	run, err := workflows.StartSync(ctx, c, in)
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.SyncResult
	if err := run.Get(ctx, &res); err != nil || res.Outcome != workflows.OutcomeCompleted {
		t.Fatalf("sync: %s %v", res.Outcome, err)
	}

	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.WindowSize(1600, 1200))...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	dir := artifacts(t)
	shot := func(name string) {
		buf, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), buf, 0o644)
		}
		if err != nil {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
	// text loads page and returns its text once it holds want, or as it
	// is after some tries: the UI loads its data after the page, and
	// searches are eventually consistent.
	// Each load is given ten seconds to show it before the next: a busy
	// machine takes longer than a fixed pause to render the page.
	text := func(page, want string) string {
		var got string
		for try := 0; try < 6 && !strings.Contains(got, want); try++ {
			if err := chromedp.Do(browser, chromedp.Navigate(page)); err != nil {
				t.Fatal(err)
			}
			for wait := 0; wait < 10 && !strings.Contains(got, want); wait++ {
				if err := chromedp.Do(browser, chromedp.Sleep(time.Second)); err != nil {
					t.Fatal(err)
				}
				if got, err = chromedp.Run(browser, chromedp.Evaluate[string]("document.body.innerText")); err != nil {
					t.Fatal(err)
				}
			}
		}
		return got
	}
	list := ui + "/namespaces/default/workflows?query=" + url.QueryEscape(`CatsyncStore="DS_PROD" AND CatsyncOutcome="Completed"`)
	listed := text(list, run.GetID())
	shot("runs-filtered.png")
	if !strings.Contains(listed, run.GetID()) {
		t.Fatalf("the filtered run list does not show %s:\n%.2000s", run.GetID(), listed)
	}
	page := ui + "/namespaces/default/workflows/" + url.PathEscape(run.GetID()) + "/" + run.GetRunID() + "/history"
	got := text(page, "Apply: ")
	shot("run-history.png")
	for _, want := range []string{"FULL sync of DS_PROD", "Snapshot FULL of DS_PROD", "Apply: ", "Record Completed in the audit trail"} {
		if !strings.Contains(got, want) {
			t.Errorf("the run's page does not show %q (screenshots in %s):\n%.3000s", want, dir, got)
		}
	}
}
