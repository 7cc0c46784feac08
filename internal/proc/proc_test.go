package proc_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/catsync/catsync/internal/proc"
)

// sh starts script under /bin/sh in a fresh folder, logging to name.log
// there; the test's end kills whatever still runs.
func sh(t *testing.T, name, script string, env map[string]string) *proc.Proc {
	t.Helper()
	dir := t.TempDir()
	p, err := proc.Start(name, filepath.Join(dir, name+".log"), dir, proc.Environ(env), "/bin/sh", "-c", script)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p
}

// wait waits for p's end, failing the test if it runs on.
func wait(t *testing.T, p *proc.Proc) error {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(20 * time.Second):
		t.Fatalf("%s still runs", p.Name)
	}
	done, err := p.Exited()
	if !done {
		t.Fatalf("%s: Done closed, Exited false", p.Name)
	}
	return err
}

// signal is the signal that ended a process, or -1 if none did.
func signal(err error) syscall.Signal {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return ws.Signal()
		}
	}
	return -1
}

// logHas waits until p's log holds s: the script got that far.
func logHas(t *testing.T, p *proc.Proc, s string) {
	t.Helper()
	err := proc.WaitFor(context.Background(), s+" in "+p.Log, 20*time.Second, func() error {
		data, err := os.ReadFile(p.Log)
		if err == nil && !strings.Contains(string(data), s) {
			err = errors.New("not yet")
		}
		return err
	}, p)
	if err != nil {
		t.Fatal(err)
	}
}

func TestStartLogs(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "x.log")
	// The log is appended to: a restarted process keeps its past.
	if err := os.WriteFile(log, []byte("before\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CATSYNC_PROC_LEAK", "x") // the test's own: not the process's
	p, err := proc.Start("x", log, dir, proc.Environ(map[string]string{"GREETING": "hello"}), "/bin/sh", "-c",
		`echo "out $GREETING"; echo "err in $(pwd)" >&2; echo "leak=$CATSYNC_PROC_LEAK"`)
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(t, p); err != nil {
		t.Fatalf("exited %v, want success", err)
	}
	if p.Pid() <= 0 {
		t.Errorf("pid %d", p.Pid())
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.EvalSymlinks(dir) // pwd prints it without links
	if err != nil {
		t.Fatal(err)
	}
	got := string(data)
	for _, want := range []string{"before\n", "out hello\n", "err in " + abs + "\n", "leak=\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("log %q lacks %q", got, want)
		}
	}
}

func TestStartFails(t *testing.T) {
	dir := t.TempDir()
	if _, err := proc.Start("none", filepath.Join(dir, "none.log"), dir, nil, filepath.Join(dir, "no-such-binary")); err == nil || !strings.Contains(err.Error(), "none") {
		t.Errorf("start of a missing binary: %v, want an error naming the process", err)
	}
	if _, err := proc.Start("x", filepath.Join(dir, "no", "such", "x.log"), dir, nil, "/bin/sh", "-c", "true"); err == nil {
		t.Error("start with a log that cannot be opened: no error")
	}
}

func TestKill(t *testing.T) {
	p := sh(t, "sleeper", "exec sleep 30", nil)
	if done, _ := p.Exited(); done {
		t.Fatal("exited before the kill")
	}
	p.Kill()
	done, err := p.Exited()
	if !done {
		t.Fatal("Exited false after Kill")
	}
	if sig := signal(err); sig != syscall.SIGKILL {
		t.Errorf("ended by %v (%v), want SIGKILL", sig, err)
	}
	// Reaped: no process of that id is left.
	if err := syscall.Kill(p.Pid(), 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("signal 0 to pid %d after Kill: %v, want ESRCH", p.Pid(), err)
	}
	p.Kill() // again, on a process gone: returns
}

func TestStopTerm(t *testing.T) {
	p := sh(t, "term", "exec sleep 30", nil)
	start := time.Now()
	p.Stop(syscall.SIGTERM, time.Minute)
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("Stop took %s for a process that exits on SIGTERM", took)
	}
	done, err := p.Exited()
	if !done {
		t.Fatal("Exited false after Stop")
	}
	if sig := signal(err); sig != syscall.SIGTERM {
		t.Errorf("ended by %v (%v), want SIGTERM", sig, err)
	}
	p.Stop(syscall.SIGTERM, time.Minute) // again, on a process gone: returns
}

func TestStopFallsBackToKill(t *testing.T) {
	// exec: the sleep inherits the ignored TERM, and nothing outlives the kill.
	p := sh(t, "stubborn", "trap '' TERM; echo trapped; exec sleep 30", nil)
	logHas(t, p, "trapped") // a TERM before the trap would end it
	grace := time.Second
	start := time.Now()
	p.Stop(syscall.SIGTERM, grace)
	took := time.Since(start)
	done, err := p.Exited()
	if !done {
		t.Fatal("Exited false after Stop")
	}
	if sig := signal(err); sig != syscall.SIGKILL {
		t.Errorf("ended by %v (%v), want SIGKILL", sig, err)
	}
	if took < grace || took > 20*time.Second {
		t.Errorf("Stop took %s, want the grace of %s, then the kill", took, grace)
	}
}

func TestWaitForProbe(t *testing.T) {
	p := sh(t, "running", "exec sleep 30", nil)
	calls := 0
	err := proc.WaitFor(context.Background(), "the third call", 20*time.Second, func() error {
		if calls++; calls < 3 {
			return errors.New("not yet")
		}
		return nil
	}, p)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Errorf("%d calls of the probe, want 3", calls)
	}
}

func TestWaitForExit(t *testing.T) {
	running := sh(t, "running", "exec sleep 30", nil)
	var script strings.Builder
	for i := range 40 {
		script.WriteString("echo line" + strconv.Itoa(i) + "; ")
	}
	script.WriteString("echo last words; exit 7")
	dying := sh(t, "dying", script.String(), nil)
	err := proc.WaitFor(context.Background(), "something", 20*time.Second, func() error { return errors.New("nothing there") }, running, dying)
	if err == nil {
		t.Fatal("no error though a watched process exited")
	}
	msg := err.Error()
	for _, want := range []string{"dying exited", "exit status 7", "something", "nothing there", "line39\nlast words"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	// The last lines only, not the whole log.
	if strings.Contains(msg, "line0\n") {
		t.Errorf("error %q holds the log's first line", msg)
	}
	if done, _ := running.Exited(); done {
		t.Error("the other watched process exited")
	}
}

func TestWaitForLimit(t *testing.T) {
	missing := errors.New("nothing there")
	start := time.Now()
	err := proc.WaitFor(context.Background(), "something", 300*time.Millisecond, func() error { return missing })
	if !errors.Is(err, missing) || !strings.Contains(err.Error(), "something") {
		t.Errorf("WaitFor past its limit: %v, want the probe's error and what was awaited", err)
	}
	if took := time.Since(start); took < 300*time.Millisecond || took > 20*time.Second {
		t.Errorf("WaitFor with a limit of 300ms took %s", took)
	}
}

func TestWaitForContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := proc.WaitFor(ctx, "something", time.Minute, func() error { return errors.New("nothing there") })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("WaitFor with an ended context: %v, want context.Canceled", err)
	}
}

func TestEnviron(t *testing.T) {
	t.Setenv("USER", "alice")
	t.Setenv("CATSYNC_PROC_LEAK", "x")
	env := proc.Environ(map[string]string{"ZED": "1", "ALPHA": "2", "MIDDLE": "3"})
	for _, want := range []string{"PATH=" + os.Getenv("PATH"), "USER=alice", "LANG=C.UTF-8"} {
		if !slices.Contains(env, want) {
			t.Errorf("%q lacks %q", env, want)
		}
	}
	if i := slices.Index(env, "ALPHA=2"); i < 0 || len(env) < i+3 || !slices.Equal(env[i:i+3], []string{"ALPHA=2", "MIDDLE=3", "ZED=1"}) {
		t.Errorf("%q: want ALPHA, MIDDLE, ZED in order", env)
	}
	for _, kv := range env {
		if strings.HasPrefix(kv, "CATSYNC_PROC_LEAK=") {
			t.Errorf("%q holds the test's own %s", env, kv)
		}
	}

	t.Setenv("USER", "")
	if env := proc.Environ(nil); !slices.Contains(env, "USER=operator") {
		t.Errorf("without USER: %q, want USER=operator", env)
	}
}

func TestMerge(t *testing.T) {
	a, b := map[string]string{"X": "a", "Y": "a"}, map[string]string{"Y": "b", "Z": "b"}
	got := proc.Merge(a, b)
	if want := map[string]string{"X": "a", "Y": "b", "Z": "b"}; len(got) != len(want) || got["X"] != "a" || got["Y"] != "b" || got["Z"] != "b" {
		t.Errorf("Merge: %v, want %v", got, want)
	}
	got["X"] = "changed"
	if a["X"] != "a" {
		t.Error("Merge's result shares its first map")
	}
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	if err := os.WriteFile(path, []byte("1\n2\n3\n4\n5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := proc.Tail(path, 3); got != "3\n4\n5" {
		t.Errorf("Tail 3: %q", got)
	}
	if got := proc.Tail(path, 10); got != "1\n2\n3\n4\n5" {
		t.Errorf("Tail 10 of 5 lines: %q", got)
	}
	if got := proc.Tail(path+".missing", 3); !strings.Contains(got, "no such file") {
		t.Errorf("Tail of a missing file: %q, want why", got)
	}
}

func TestFreePorts(t *testing.T) {
	ports, err := proc.FreePorts(20)
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) != 20 {
		t.Fatalf("%d ports, want 20", len(ports))
	}
	seen := map[string]bool{}
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for _, p := range ports {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n >= 32768 {
			t.Errorf("port %q: want a number below 32768", p)
		}
		if seen[p] {
			t.Errorf("port %s twice in %v", p, ports)
		}
		seen[p] = true
		l, err := net.Listen("tcp", "127.0.0.1:"+p)
		if err != nil {
			t.Errorf("port %s: %v", p, err)
			continue
		}
		ls = append(ls, l)
	}
}
