package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// A simulated primary files its encrypted volumes' keys; replicate-keys
// copies them, with the faults asked for, and says what it did.
func TestSimReplicateKeys(t *testing.T) {
	prim := newPrimary(t)
	out := mustRun(t, "sim", "replicate-keys", "--catalog", prim)
	if !strings.HasSuffix(out, "already present, 0 left out, 0 deactivated, 0 altered, 0 missing at the primary\n") ||
		strings.HasPrefix(out, "0 keys replicated") {
		t.Errorf("first replication: %q", out)
	}
	out = mustRun(t, "sim", "replicate-keys", "--catalog", prim)
	if !strings.HasPrefix(out, "0 keys replicated, ") {
		t.Errorf("a second replication copied again: %q", out)
	}
	mustFail(t, []string{"label ZZZ999: not an encrypted volume"}, "sim", "replicate-keys", "--catalog", prim, "--omit", "zzz999")
}

func TestSimKeysNeedAKeyManager(t *testing.T) {
	t.Setenv("CATSYNC_PRIMARY_KEYS", "")
	dir := t.TempDir()
	mustFail(t, []string{"CATSYNC_PRIMARY_KEYS is not set", "--keys none"}, "sim", "init", "--catalog", filepath.Join(dir, "p.db"), "--volumes", "10")
	mustRun(t, "sim", "init", "--catalog", filepath.Join(dir, "p.db"), "--volumes", "10", "--days", "2", "--keys", "none")
	mustFail(t, []string{"CATSYNC_PRIMARY_KEYS is not set"}, "sim", "replicate-keys", "--catalog", filepath.Join(dir, "p.db"))
	mustFail(t, []string{`--keys "both"`}, "sim", "advance", "--catalog", filepath.Join(dir, "p.db"), "--keys", "both")
	t.Setenv("CATSYNC_PRIMARY_KEYS", "vault://x")
	mustFail(t, []string{`CATSYNC_PRIMARY_KEYS="vault://x": want keystore:PATH or kmip://HOST:PORT`}, "sim", "advance", "--catalog", filepath.Join(dir, "p.db"))
}
