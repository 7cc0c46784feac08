package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSettingErrorText(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{Bad("CATSYNC_SERVE", "tertiary", "each role must be primary or secondary"), `CATSYNC_SERVE="tertiary": each role must be primary or secondary`},
		{Bad("--type", "weekly", "want update or full"), `--type "weekly": want update or full`},
		{Bad(MasterKeyEnv, "", "want 32 bytes in base64"), MasterKeyEnv + ": want 32 bytes in base64"},
		{Wrap("CATSYNC_CATALOG", "postgres://u:hunter2@h/db", errors.New("login hunter2 refused"), "correct it"),
			`CATSYNC_CATALOG="postgres://u:xxxxx@h/db": login xxxxx refused: correct it`},
		{Wrap("TEMPORAL_NAMESPACE", "ns", errors.New("denied"), ""), `TEMPORAL_NAMESPACE="ns": denied`},
		// A short password, in the value a cause quotes, in a URL or a
		// query of its own, or as a word: hidden, the rest of the text
		// (words holding its letters) intact.
		{Wrap("CATSYNC_CATALOG", "postgres://u:pw@h/db", errors.New(`parse "postgres://u:pw@h/db": pw refused`), ""),
			`CATSYNC_CATALOG="postgres://u:xxxxx@h/db": parse "postgres://u:xxxxx@h/db": xxxxx refused`},
		{Wrap("CATSYNC_CATALOG", "postgres://h/db?password=ab", errors.New("dial h/db?password=ab: no route"), ""),
			`CATSYNC_CATALOG="postgres://h/db?password=xxxxx": dial h/db?password=xxxxx: no route`},
		{Wrap("CATSYNC_CATALOG", "postgres://u:x@h/db", errors.New(`user u:x@h refused: x x,x expired`), ""),
			`CATSYNC_CATALOG="postgres://u:xxxxx@h/db": user u:xxxxx@h refused: xxxxx xxxxx,xxxxx expired`},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
	cause := errors.New("cause")
	if err := Wrap("X", "v", cause, ""); !errors.Is(err, cause) {
		t.Errorf("%v does not wrap its cause", err)
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://catsync:s3cret@db:5432/cat?search_path=prim": "postgres://catsync:xxxxx@db:5432/cat?search_path=prim",
		"postgres://catsync@db/cat?password=s3cret&sslmode=off":  "postgres://catsync@db/cat?password=xxxxx&sslmode=off",
		"postgres://catsync:p%zz@s3cret@db/cat":                  "postgres://catsync:xxxxx@db/cat", // malformed: still masked
		"postgresql://catsync@db/cat":                            "postgresql://catsync@db/cat",
		"/var/catsync/site.db":                                   "/var/catsync/site.db",
		"http://localhost:8233":                                  "http://localhost:8233",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseBool(t *testing.T) {
	for v, want := range map[string]bool{"yes": true, "Y": true, "true": true, "1": true, " TRUE ": true,
		"no": false, "N": false, "false": false, "0": false} {
		if got, err := ParseBool("--wait", v); err != nil || got != want {
			t.Errorf("ParseBool(%q) = %v, %v, want %v", v, got, err, want)
		}
	}
	for _, v := range []string{"yes please", "", "maybe", "2"} {
		_, err := ParseBool(WorkflowsEnv, v)
		var bad *SettingError
		if !errors.As(err, &bad) || bad.Setting != WorkflowsEnv || !strings.Contains(err.Error(), "want yes or no") ||
			strings.Contains(err.Error(), "strconv") {
			t.Errorf("ParseBool(%q): %v", v, err)
		}
	}
}

func TestPathError(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "site.db")
	os.WriteFile(file, nil, 0o600)
	cause := errors.New("unable to open database file (14)")
	for _, c := range []struct {
		path, want string
		cause      bool
	}{
		{filepath.Join(dir, "nope", "site.db"), "folder " + filepath.Join(dir, "nope") + " does not exist: create it, or correct CATSYNC_CATALOG", false},
		{dir, dir + " is a folder: correct CATSYNC_CATALOG", false},
		{file, "unable to open database file (14): correct CATSYNC_CATALOG", true},
	} {
		err := PathError(CatalogEnv, c.path, c.path, cause)
		if !strings.HasPrefix(err.Error(), CatalogEnv+`="`+c.path+`": `) || !strings.Contains(err.Error(), c.want) ||
			errors.Is(err, cause) != c.cause {
			t.Errorf("%s: %v, want it to say %q", c.path, err, c.want)
		}
	}
}

// Read and Load name the variable and the value, and never a secret.
func TestReadNamesTheVariable(t *testing.T) {
	secret := "bm90IGJhc2U2NCBidXQgc2VjcmV0"
	for _, c := range []struct {
		variable, value, want string
	}{
		{WorkflowsEnv, "yes please", `CATSYNC_WORKFLOWS="yes please": want yes or no`},
		{UIEnv, "localhost:8233", `CATSYNC_UI_URL="localhost:8233": want the Temporal Web UI's base URL`},
		{UIEnv, "http://", `CATSYNC_UI_URL="http://"`},
		{UIEnv, "ftp://admin:hunter2@ui.example/", `CATSYNC_UI_URL="ftp://admin:xxxxx@ui.example/"`},
		{MasterKeyEnv, secret, MasterKeyEnv + ": want 32 bytes in base64"},
		{MetricsEnv, "9464", `CATSYNC_METRICS_ADDRESS="9464": want HOST:PORT`},
		{MetricsEnv, "127.0.0.1:metrics", `CATSYNC_METRICS_ADDRESS="127.0.0.1:metrics": want HOST:PORT`},
		{MetricsEnv, "127.0.0.1:99999", `CATSYNC_METRICS_ADDRESS="127.0.0.1:99999": want HOST:PORT`},
	} {
		env := good()
		env[c.variable] = c.value
		setAll(t, env)
		t.Setenv(UIEnv, env[UIEnv])
		_, err := Load()
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), secret) ||
			strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "strconv") {
			t.Errorf("%s=%q: %v, want %q", c.variable, c.value, err, c.want)
		}
	}
	setAll(t, good())
	t.Setenv(WorkflowsEnv, "no")
	t.Setenv(UIEnv, "")
	if c, err := Load(); err != nil || c.Workflows || c.UI != DefaultUI || c.MetricsAddress != "" {
		t.Errorf("CATSYNC_WORKFLOWS=no, CATSYNC_UI_URL and CATSYNC_METRICS_ADDRESS empty: %+v, %v", c, err)
	}
	t.Setenv(MetricsEnv, ":9464")
	if c, err := Load(); err != nil || c.MetricsAddress != ":9464" {
		t.Errorf("CATSYNC_METRICS_ADDRESS=:9464: %+v, %v", c, err)
	}
}
