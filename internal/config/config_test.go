package config

import (
	"strings"
	"testing"
)

func setAll(t *testing.T, env map[string]string) {
	for _, k := range []string{"TEMPORAL_ADDRESS", "CATSYNC_PRIMARY_NAME", "CATSYNC_SECONDARY_NAME", "CATSYNC_PRIMARY_CATALOG",
		"CATSYNC_PRIMARY_STAGING", "CATSYNC_SECONDARY_CATALOG", "CATSYNC_SECONDARY_STAGING", "CATSYNC_SECONDARY_SOURCE",
		"CATSYNC_SERVE", "CATSYNC_WORKFLOWS"} {
		t.Setenv(k, env[k])
	}
}

func good() map[string]string {
	return map[string]string{"TEMPORAL_ADDRESS": "127.0.0.1:7233", "CATSYNC_PRIMARY_NAME": "prim", "CATSYNC_SECONDARY_NAME": "secd",
		"CATSYNC_PRIMARY_CATALOG": "p.db", "CATSYNC_PRIMARY_STAGING": "out", "CATSYNC_SECONDARY_CATALOG": "s.db",
		"CATSYNC_SECONDARY_STAGING": "in", "CATSYNC_SERVE": "primary,secondary", "CATSYNC_WORKFLOWS": "true"}
}

func TestLoad(t *testing.T) {
	setAll(t, good())
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Source != "out" || !c.Serves(RolePrimary) || !c.Serves(RoleSecondary) || c.Primary.Catalog != "p.db" {
		t.Errorf("config %+v", c)
	}
	if err := c.RequireSite(RoleSecondary); err != nil {
		t.Error(err)
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
	}
}
