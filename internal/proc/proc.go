// Package proc runs catsync's binaries and the servers they need as
// separate processes, for the tests that treat them as a deployment does:
// started from an environment, probed until ready, stopped as systemd
// stops them, or killed.
package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Proc is a running process, its output appended to a log file.
type Proc struct {
	Name string
	Log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // how it exited, once done is closed
}

// Start starts bin with args in dir, with exactly the environment env
// (see Environ), its stdout and stderr appended to the file log.
func Start(name, log, dir string, env []string, bin string, args ...string) (*Proc, error) {
	f, err := os.OpenFile(log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, dir, f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, Log: log, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the process exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited tells whether the process exited, and how.
func (p *Proc) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Stop ends the process as systemd would: sig (SIGTERM for most, SIGINT
// for servers that ignore it), then SIGKILL after grace.
func (p *Proc) Stop(sig os.Signal, grace time.Duration) {
	if done, _ := p.Exited(); done {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.Kill()
	}
}

// Kill sends SIGKILL and waits for the process to be gone: nothing of it
// runs once Kill returns.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// WaitFor retries probe every 250 ms until it succeeds, and fails with the
// probe's last error after limit, when ctx ends, or as soon as one of
// watched exits (with the last lines of its log).
func WaitFor(ctx context.Context, what string, limit time.Duration, probe func() error, watched ...*Proc) error {
	deadline := time.Now().Add(limit)
	for {
		err := probe()
		if err == nil {
			return nil
		}
		for _, p := range watched {
			if done, how := p.Exited(); done {
				return fmt.Errorf("%s exited (%v) while waiting for %s: %v\n%s", p.Name, how, what, err, Tail(p.Log, 30))
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not there after %s: %w", what, limit, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last: %v)", what, ctx.Err(), err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Get returns the body of an HTTP GET of u that answered 200 within 10 s;
// another status is an error with the body's text.
func Get(ctx context.Context, u string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return string(body), err
}

// Environ is the whole environment of a process: the few variables a
// login sets (USER too, for the audit trail's operator) and env, sorted.
func Environ(env map[string]string) []string {
	user := os.Getenv("USER")
	if user == "" {
		user = "operator"
	}
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "LANG=C.UTF-8", "USER=" + user}
	if d := os.Getenv("TMPDIR"); d != "" {
		out = append(out, "TMPDIR="+d)
	}
	var keys []string
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

// Merge is the union of envs, later ones winning.
func Merge(envs ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, e := range envs {
		for k, v := range e {
			out[k] = v
		}
	}
	return out
}

// Tail is the last lines of the file at path (or why it cannot be read).
func Tail(path string, lines int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// FreePorts finds n free TCP ports of the loopback below 32768 (Temporal
// keeps its membership ports in a smallint column, and the kernel's
// ephemeral ports lie above), held together so that they differ. It
// starts at a random port: ports of separate calls are unlikely to meet,
// but only those of one call are sure to differ.
func FreePorts(n int) ([]string, error) {
	var ports []string
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	first := rand.IntN(12000)
	for i := 0; len(ports) < n; i++ {
		if i >= 12000 {
			return nil, errors.New("no free ports between 20000 and 32000")
		}
		port := 20000 + (first+i)%12000
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		ls = append(ls, l)
		ports = append(ports, fmt.Sprint(port))
	}
	return ports, nil
}
