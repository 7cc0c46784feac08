package deploytest

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// repo is the repository's root.
func repo(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// envFile is an environment file as systemd's EnvironmentFile and
// compose's env_file read it: NAME=VALUE lines, # comments, in order.
type envFile struct {
	path  string
	names []string
	vals  map[string]string
}

func readEnv(t testing.TB, path string) *envFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e := &envFile{path: path, vals: map[string]string{}}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		if !ok || name == "" || strings.ContainsAny(name, " \t\"'") {
			t.Fatalf("%s:%d: not NAME=VALUE: %q", path, n, line)
		}
		// Quotes mean different things to systemd and to compose: none.
		if strings.ContainsAny(val, "\"'`$ ") {
			t.Fatalf("%s:%d: %s: a value with quotes, spaces or $ reads differently in systemd and compose", path, n, name)
		}
		if _, dup := e.vals[name]; dup {
			t.Fatalf("%s:%d: %s set twice", path, n, name)
		}
		e.names = append(e.names, name)
		e.vals[name] = val
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return e
}

// deployEnv reads deploy/env/NAME.env.
func deployEnv(t testing.TB, name string) *envFile {
	return readEnv(t, filepath.Join(repo(t), "deploy", "env", name+".env"))
}

// host is one machine of the deployment, simulated by a folder: every
// absolute path of its environment files lives under root.
type host struct {
	name, root string
}

// path is where the host's absolute path p lives on this machine.
func (h host) path(p string) string { return filepath.Join(h.root, filepath.FromSlash(p)) }

// env is e as it runs on h: its paths under h's root, then the settings
// of this machine (addresses, the local PostgreSQL) from over; an empty
// value in over unsets the variable. It fails on an override the file
// does not have, so a renamed variable cannot go unnoticed.
func (h host) env(t testing.TB, e *envFile, over map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, k := range e.names {
		v := e.vals[k]
		switch {
		case strings.HasPrefix(v, "/"):
			v = h.path(v)
		case strings.HasPrefix(v, "keystore:/"):
			v = "keystore:" + h.path(strings.TrimPrefix(v, "keystore:"))
		}
		out[k] = v
	}
	for k, v := range over {
		if _, ok := e.vals[k]; !ok && !strings.HasPrefix(k, "+") {
			t.Fatalf("%s has no %s to set for this machine", e.path, k)
		}
		k = strings.TrimPrefix(k, "+") // + adds a variable the file lacks
		if v == "" {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}
