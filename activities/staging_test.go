package activities

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/snapshot"
)

// nonRetryable asserts err is a non-retryable application error of type
// typ whose message holds every want.
func nonRetryable(t *testing.T, what string, err error, typ string, want ...string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != typ || !appErr.NonRetryable() {
		t.Fatalf("%s: %v (%T), want a non-retryable %s", what, err, err, typ)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: %q does not say %q", what, err, w)
		}
	}
}

// snapshotted exports a FULL of DS_PROD from the pair's primary.
func snapshotted(t *testing.T, p *pair, id string) snapshot.Ref {
	t.Helper()
	ref, err := p.prim.Snapshot(context.Background(), SnapshotInput{ID: id, Store: "DS_PROD", Type: snapshot.Full, CatalogFiles: true})
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// A source that is not there, or a staging area that cannot be written,
// fails the transfer at once, naming the variable, the path and the
// remedy; sites built without the variables' names get them from the step.
func TestTransferConfigFaults(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, smallSite())
	ref := snapshotted(t, p, "run-1")
	source, staging := p.sec.Site.Source, p.sec.Site.Staging

	missing := filepath.Join(t.TempDir(), "outbox-not-mounted")
	p.sec.Site.Source = snapshot.Area{Root: missing, Keys: p.sec.Site.Source.Keys}
	nonRetryable(t, "missing source", p.sec.Transfer(ctx, ref), TypeConfig,
		"CATSYNC_SECONDARY_SOURCE="+missing, "does not exist", "mount the primary's outbox there")

	file := filepath.Join(t.TempDir(), "outbox")
	os.WriteFile(file, nil, 0o644)
	p.sec.Site.Source = snapshot.Area{Root: file, Keys: p.sec.Site.Source.Keys}
	nonRetryable(t, "source a file", p.sec.Transfer(ctx, ref), TypeConfig, "CATSYNC_SECONDARY_SOURCE="+file, "is not a folder")

	// A site that names its variable is quoted by it.
	p.sec.Site.Source = snapshot.Area{Root: missing, Env: "CATSYNC_PRIMARY_STAGING", Keys: p.sec.Site.Source.Keys}
	nonRetryable(t, "missing source, named", p.sec.Transfer(ctx, ref), TypeConfig, "CATSYNC_PRIMARY_STAGING="+missing)

	p.sec.Site.Source = source
	p.sec.Site.Staging = snapshot.Area{Root: file, Keys: p.sec.Site.Staging.Keys}
	nonRetryable(t, "staging a file", p.sec.Transfer(ctx, ref), TypeConfig, "CATSYNC_SECONDARY_STAGING="+file, "cannot be written")

	p.sec.Site.Staging = staging
	if err := p.sec.Transfer(ctx, ref); err != nil {
		t.Fatalf("transfer once configured: %v", err)
	}
	// The outbox lost the snapshot: said so, not retried.
	other := snapshotted(t, p, "run-2") // the primary keeps only its latest export
	nonRetryable(t, "snapshot gone", p.sec.Transfer(ctx, ref), TypeCorrupt, "no longer holds snapshot run-1 of DS_PROD")
	if err := p.sec.Transfer(ctx, other); err != nil {
		t.Fatal(err)
	}
}

// A staged file turned to garbage fails the plan naming it, not retried;
// the workflow transfers the snapshot again.
func TestPlanStagedGarbage(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, smallSite())
	withKeys(t, p)
	ref := snapshotted(t, p, "run-1")
	for _, file := range []string{snapshot.ManifestFile, snapshot.SegmentName(1)} {
		if err := p.sec.Transfer(ctx, ref); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(p.sec.Site.Staging.Dir(ref.Store, ref.ID), file)
		os.WriteFile(path, []byte("garbage\n"), 0o644)
		in := ImportInput{Ref: ref, Options: importer.Options{StoreID: "DS_PROD", CatalogFiles: true}, Groups: groups(t, p)}
		_, err := p.sec.Plan(ctx, in)
		nonRetryable(t, "plan over garbage "+file, err, TypeCorrupt, path)
		_, err = p.sec.KeyParity(ctx, ref)
		nonRetryable(t, "key parity over garbage "+file, err, TypeCorrupt, path)
	}
}

// Finish rebuilds a damaged chain file from the snapshots staged, and
// refuses, not retried and naming the file, when they cannot rebuild it.
func TestFinishOverADamagedChain(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, smallSite())
	opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
	p.syncOnce(t, "full-1", snapshot.Full, opts)
	chainFile := filepath.Join(p.Config.Secondary.Staging, "DS_PROD", "chain.json")
	os.WriteFile(chainFile, []byte("{garbage"), 0o644)
	p.Advance(t, 1)
	p.syncOnce(t, "upd-1", snapshot.Update, opts)
	if chain, err := p.sec.Site.Staging.Chain("DS_PROD"); err != nil || strings.Join(chain, ",") != "full-1,upd-1" {
		t.Fatalf("chain after the damage: %v, %v; want it rebuilt as full-1,upd-1", chain, err)
	}

	// With the FULL gone as well, the chain cannot be rebuilt.
	os.WriteFile(chainFile, []byte("{garbage"), 0o644)
	os.RemoveAll(p.sec.Site.Staging.Dir("DS_PROD", "full-1"))
	p.Advance(t, 1)
	in, _ := p.stageNext(t, "upd-2", snapshot.Update, opts)
	if _, err := p.sec.Apply(ctx, in); err != nil {
		t.Fatal(err)
	}
	_, err := p.sec.Finish(ctx, FinishInput{Ref: in.Ref})
	nonRetryable(t, "finish over a chain it cannot rebuild", err, TypeCorrupt, chainFile, "remove the file and run a FULL sync of DS_PROD")
	if wm, err := importer.ReadWatermark(ctx, p.Secondary, "DS_PROD"); err != nil || wm.Seq == in.Ref.ToSeq {
		t.Errorf("watermark %+v (%v) moved past a refused chain", wm, err)
	}
}

// A primary's outbox that cannot hold files fails the snapshot at once,
// naming its variable; it is not retried for minutes.
func TestSnapshotOutboxFaults(t *testing.T) {
	p := newPair(t, smallSite())
	file := filepath.Join(t.TempDir(), "outbox")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p.prim.Site.Staging = snapshot.Area{Root: file, Env: "CATSYNC_PRIMARY_STAGING", Keys: p.prim.Site.Staging.Keys}
	_, err := p.prim.Snapshot(context.Background(), SnapshotInput{ID: "run-1", Store: "DS_PROD", Type: snapshot.Full, CatalogFiles: true})
	nonRetryable(t, "outbox a file", err, TypeConfig, "CATSYNC_PRIMARY_STAGING="+file, "cannot be written")
}
