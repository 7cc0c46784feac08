package config

import (
	"bytes"
	"encoding/base64"
	"os"
	"strings"
	"testing"
)

// vars are the variables the tests set.
var vars = []string{"TEMPORAL_ADDRESS", "CATSYNC_PRIMARY_NAME", "CATSYNC_SECONDARY_NAME", "CATSYNC_PRIMARY_CATALOG",
	"CATSYNC_PRIMARY_STAGING", "CATSYNC_SECONDARY_CATALOG", "CATSYNC_SECONDARY_STAGING", "CATSYNC_SECONDARY_SOURCE",
	"CATSYNC_SERVE", "CATSYNC_WORKFLOWS", CatalogEnv, MasterKeyEnv, MetricsEnv}

func setAll(t *testing.T, env map[string]string) {
	for _, k := range vars {
		t.Setenv(k, env[k])
	}
}

// unsetAll unsets the variables for the rest of the test.
func unsetAll(t *testing.T) {
	for _, k := range vars {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

var master = bytes.Repeat([]byte{7}, 32)

func good() map[string]string {
	return map[string]string{"TEMPORAL_ADDRESS": "127.0.0.1:7233", "CATSYNC_PRIMARY_NAME": "prim", "CATSYNC_SECONDARY_NAME": "secd",
		"CATSYNC_PRIMARY_CATALOG": "p.db", "CATSYNC_PRIMARY_STAGING": "out", "CATSYNC_SECONDARY_CATALOG": "s.db",
		"CATSYNC_SECONDARY_STAGING": "in", "CATSYNC_SERVE": "primary,secondary", "CATSYNC_WORKFLOWS": "true",
		CatalogEnv: "site.db", MasterKeyEnv: base64.StdEncoding.EncodeToString(master)}
}

func TestLoad(t *testing.T) {
	setAll(t, good())
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Source != "out" || !c.Serves(RolePrimary) || !c.Serves(RoleSecondary) || c.Primary.Catalog != "p.db" ||
		c.Catalog != "site.db" || !bytes.Equal(c.MasterKey, master) {
		t.Errorf("config %+v", c)
	}
	if err := c.RequireSite(RoleSecondary); err != nil {
		t.Error(err)
	}
	if k, err := c.KeystoreMasterKey(); err != nil || !bytes.Equal(k, master) {
		t.Errorf("master key %x, %v", k, err)
	}
}

func TestSite(t *testing.T) {
	c := &Config{Primary: Site{Name: "prim"}, Secondary: Site{Name: "secd"}}
	if c.Site(RolePrimary).Name != "prim" || c.Site(RoleSecondary).Name != "secd" {
		t.Errorf("Site: %+v, %+v", c.Site(RolePrimary), c.Site(RoleSecondary))
	}
}

// Read requires nothing: the CLI's catalog commands need neither Temporal
// nor the site names, and a keystore-less site no master key.
func TestReadRequiresNothing(t *testing.T) {
	unsetAll(t)
	c, err := Read()
	if err != nil {
		t.Fatal(err)
	}
	if c.Catalog != "" || c.MasterKey != nil || c.TemporalAddress != "127.0.0.1:7233" {
		t.Errorf("empty environment: %+v", c)
	}
	if _, err := c.KeystoreMasterKey(); err == nil || !strings.Contains(err.Error(), MasterKeyEnv+" is not set") {
		t.Errorf("no master key: %v", err)
	}
}

func TestErrorsNameTheVariable(t *testing.T) {
	for _, c := range []struct {
		variable, value string
	}{
		{"CATSYNC_PRIMARY_NAME", ""},
		{"CATSYNC_SECONDARY_NAME", "9lives"},
		{"CATSYNC_SECONDARY_NAME", "PRIM"},
		{"CATSYNC_SERVE", "tertiary"},
		{"CATSYNC_WORKFLOWS", "maybe"},
		{"CATSYNC_PRIMARY_CATALOG", ""},
		{"CATSYNC_SECONDARY_STAGING", ""},
		{MasterKeyEnv, "not base64!"},
		{MasterKeyEnv, base64.StdEncoding.EncodeToString([]byte("too short"))},
	} {
		env := good()
		env[c.variable] = c.value
		setAll(t, env)
		cfg, err := Load()
		if err == nil {
			role := RolePrimary
			if strings.Contains(c.variable, "SECONDARY") {
				role = RoleSecondary
			}
			err = cfg.RequireSite(role)
		}
		if err == nil || !strings.Contains(err.Error(), c.variable) {
			t.Errorf("%s=%q: got %v, want an error naming %s", c.variable, c.value, err, c.variable)
		}
		if c.variable == MasterKeyEnv && strings.Contains(err.Error(), c.value) {
			t.Errorf("%s: the error %q shows the secret", c.variable, err)
		}
	}
}
