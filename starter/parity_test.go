package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/store"
)

func TestParityCommand(t *testing.T) {
	prim, sec, _ := smallPair(t)
	enc := encryptedLabels(t, prim)
	labels := slices.Sorted(maps.Keys(enc))
	missing, altered := labels[0], labels[1]
	mustRun(t, "sim", "replicate-keys", "--catalog", prim, "--omit", missing, "--alter", altered)
	out, errs, code := catsync(t, "parity", "--store", "DS_PROD", "--primary", prim, "--secondary", sec)
	want := fmt.Sprintf("data store DS_PROD: 2 of %d encrypted volumes' keys not in parity", len(enc))
	if code != 1 || !strings.Contains(errs, want) {
		t.Errorf("parity: exit %d, %q, want %q", code, errs, want)
	}
	for _, line := range []string{
		fmt.Sprintf("%d encrypted volumes under BPPRIM01: %d in parity, MISMATCHED 1, MISSING 1\n", len(enc), len(enc)-2),
		"MISSING " + missing + "/LABELED key " + enc[missing] + ": no key of this name under BackPak id BPPRIM01\n  do: ",
		"MISMATCHED " + altered + "/LABELED key " + enc[altered] + ": fingerprint kcv:",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("parity output lacks %q:\n%s", line, out)
		}
	}
	out, _, code = catsync(t, "parity", "--store", "DS_PROD", "--primary", prim, "--secondary", sec, "--json")
	r := jsonValue[parity.Report](t, out)
	if code != 1 {
		t.Errorf("parity --json not in parity: exit %d", code)
	}
	if r.Total != 2 || len(r.Findings) != 2 || r.Volumes != len(enc) {
		t.Errorf("parity --json: %+v", r)
	}
	// A secondary domain without the primary's BackPak id: said once, with
	// what to do.
	editSite(t, sec, func(ctx context.Context, tx store.Tx) error {
		site, err := tx.Site(ctx)
		if err != nil {
			return err
		}
		site.KeyManagers = []catalog.KeyManagerEntry{{BackPakID: "BPWRONG", Server: "kms.secd:5696"}}
		return tx.PutSite(ctx, &site)
	})
	out, _, code = catsync(t, "parity", "--store", "DS_PROD", "--primary", prim, "--secondary", sec)
	if code != 1 || strings.Count(out, "no key-manager entry with the primary's BackPak id BPPRIM01") != 1 ||
		!strings.Contains(out, "\n  do: add to the secondary BackPak domain a key-manager entry with BackPak id BPPRIM01") {
		t.Errorf("parity with a misconfigured domain: exit %d\n%s", code, out)
	}

	// A data store that does not exist is an error, not "no encrypted
	// volumes".
	mustFail(t, []string{`data store DS_NOPE is not defined on the primary \PRIM`}, "parity", "--store", "DS_NOPE", "--primary", prim, "--secondary", sec)

	t.Setenv("CATSYNC_SECONDARY_KEYS", "")
	mustFail(t, []string{"CATSYNC_SECONDARY_KEYS is not set"}, "parity", "--store", "DS_PROD", "--primary", prim, "--secondary", sec)
}

// parity proves keys, not an import: it takes none of the import's flags,
// which check and verify take.
func TestParityTakesNoImportFlags(t *testing.T) {
	prim, sec, _ := smallPair(t)
	for _, flag := range [][]string{{"--catalogfiles", "no"}, {"--node-map", `\PRIM=\PRIMDR`}} {
		args := append([]string{"parity", "--store", "DS_PROD", "--primary", prim, "--secondary", sec}, flag...)
		mustFail(t, []string{"unknown flag: " + flag[0]}, args...)
		for _, cmd := range []string{"check", "verify"} {
			if _, errs, _ := catsync(t, append([]string{cmd}, args[1:]...)...); strings.Contains(errs, "unknown flag") {
				t.Errorf("%s %s: %s", cmd, flag[0], errs)
			}
		}
	}
	if out := mustRun(t, "parity", "--help"); strings.Contains(out, "--catalogfiles") || strings.Contains(out, "--node-map") {
		t.Errorf("parity --help lists an import flag:\n%s", out)
	}
}
