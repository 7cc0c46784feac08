package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestBadArguments runs the CLI with a bad argument or flag: it must exit
// non-zero, name the argument or flag and the value, and say it in its own
// words, not the flag library's.
func TestBadArguments(t *testing.T) {
	prim, sec, _ := smallPair(t)
	missing := filepath.Join(t.TempDir(), "no such folder")
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"bogus"}, []string{`unknown command "bogus"`}},
		{[]string{"sim", "bogus"}, []string{`unknown command "bogus" for "catsync sim"`}},
		{[]string{"counts", "extra", "--catalog", prim}, []string{`"extra"`}},
		{[]string{"counts", "--bogus"}, []string{"unknown flag: --bogus"}},
		{[]string{"counts", "--json=maybe", "--catalog", prim}, []string{`--json "maybe": want yes or no`}},
		{[]string{"sync", "--store", "DS_PROD", "--wait=sometimes"}, []string{`--wait "sometimes": want yes or no`}},
		{[]string{"sync", "--store", "DS_PROD", "--strict=2"}, []string{`--strict "2": want yes or no`}},
		{[]string{"sync", "--store"}, []string{"flag needs an argument: --store"}},
		{[]string{"sync", "--type", "full"}, []string{"--store is required"}},
		{[]string{"sync", "--store", "DS_PROD", "--type", "weekly"}, []string{`--type "weekly"`}},
		{[]string{"sync", "--store", "DS_PROD", "--catalogfiles", "maybe"}, []string{`--catalogfiles "maybe": want yes or no`}},
		{[]string{"sync", "--store", "DS_PROD", "--key-parity", "sometimes"}, []string{`--key-parity "sometimes"`}},
		{[]string{"sync", "--store", "DS_PROD", "--node-map", "PRIM=SECD"}, []string{"--node-map"}},
		{[]string{"sim", "init", "--volumes", "many", "--catalog", filepath.Join(missing, "p.db")}, []string{`--volumes "many": want a whole number`}},
		{[]string{"sim", "init", "--keys", "none", "--catalog", filepath.Join(missing, "p.db")},
			[]string{"--catalog", "folder " + missing + " does not exist"}},
		{[]string{"sim", "advance", "--days", "1.5", "--catalog", prim}, []string{`--days "1.5": want a whole number`}},
		{[]string{"info", "tapefile", "F", "--gen", "latest", "--catalog", prim}, []string{`--gen "latest": want a whole number`}},
		{[]string{"info", "tapevolume", "--catalog", prim}, []string{"one LABEL argument, got 0"}},
		{[]string{"conflicts"}, []string{"one WORKFLOW_ID argument, got 0"}},
		{[]string{"keys", "a", "b"}, []string{"one WORKFLOW_ID argument, got 2"}},
		{[]string{"audit", "--catalog", filepath.Join(missing, "s.db")}, []string{"--catalog", "no such catalog file"}},
		{[]string{"check", "--store", "DS_PROD", "--primary", prim, "--secondary", sec, "--catalogfiles", "perhaps"},
			[]string{`--catalogfiles "perhaps"`}},
		{[]string{"check", "--store", "DS_PROD", "--primary", prim, "--secondary", filepath.Join(missing, "s.db")},
			[]string{"--secondary", "no such catalog file"}},
		{[]string{"verify", "--store", "DS_PROD", "--primary", "postgres://catsync:hunter2@[::1/x", "--secondary", sec},
			[]string{"--primary", "postgres://catsync:xxxxx@"}},
		{[]string{"parity", "--store", "DS_PROD", "--primary", prim, "--secondary", sec, "--json=perhaps"}, []string{`--json "perhaps"`}},
	} {
		_, errs, code := catsync(t, c.args...)
		if code == 0 {
			t.Errorf("catsync %s: exit 0", strings.Join(c.args, " "))
		}
		for _, w := range c.want {
			if !strings.Contains(errs, w) {
				t.Errorf("catsync %s: stderr %q does not say %q", strings.Join(c.args, " "), errs, w)
			}
		}
		for _, leak := range []string{"strconv", "invalid argument", "hunter2"} {
			if strings.Contains(errs, leak) {
				t.Errorf("catsync %s: stderr %q shows %q", strings.Join(c.args, " "), errs, leak)
			}
		}
	}
}
