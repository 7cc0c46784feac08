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
	"github.com/catsync/catsync/internal/sim/simtest"
	"github.com/catsync/catsync/internal/snapshot"
)

// asRefused asserts err is a non-retryable refusal saying want.
func asRefused(t *testing.T, what string, err error, want string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != TypeRefused || !appErr.NonRetryable() || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: %v, want a non-retryable %s saying %q", what, err, TypeRefused, want)
	}
}

// presentAgain puts the snapshot id the secondary staged back in the
// primary's outbox, as a replay would, and returns its reference.
func (p *pair) presentAgain(t *testing.T, id string) snapshot.Ref {
	t.Helper()
	staged := p.sec.Site.Staging.Dir("DS_PROD", id)
	_, digest, err := snapshot.ReadManifest(staged, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(p.prim.Site.Staging.Dir("DS_PROD", id), os.DirFS(staged)); err != nil && !errors.Is(err, os.ErrExist) {
		t.Fatal(err)
	}
	return snapshot.Ref{Store: "DS_PROD", ID: id, Digest: digest}
}

// Once a newer snapshot is applied, the older one presented again (put
// back in the primary's outbox) is refused at transfer; the applied one
// again, a retry, is not.
func TestTransferRefusesAReplayedSnapshot(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, smallSite())
	opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
	p.syncOnce(t, "s1", snapshot.Full, opts)
	p.Advance(t, 1)
	p.syncOnce(t, "s2", snapshot.Update, opts)

	err := p.sec.Transfer(ctx, p.presentAgain(t, "s1"))
	asRefused(t, "replayed s1", err, "replayed: snapshot s1")
	asRefused(t, "replayed s1", err, "older than applied s2")

	if err := p.sec.Transfer(ctx, p.presentAgain(t, "s2")); err != nil {
		t.Errorf("the applied snapshot again: %v", err)
	}
}

// A snapshot whose apply began is the one a replay is measured against,
// even when its run never finished (stopped after the apply, before
// Finish): the older snapshot presented again is refused.
func TestReplayRefusedOnceANewerApplyBegan(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, smallSite())
	opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
	p.syncOnce(t, "s1", snapshot.Full, opts)
	p.Advance(t, 1)
	in, _ := p.stageNext(t, "s2", snapshot.Update, opts)
	if _, err := p.sec.Apply(ctx, in); err != nil {
		t.Fatal(err)
	}
	err := p.sec.Transfer(ctx, p.presentAgain(t, "s1"))
	asRefused(t, "s1 after s2's apply", err, "older than applied s2")
	// s2 itself, the unfinished run's retry, goes on.
	if err := p.sec.Transfer(ctx, in.Ref); err != nil {
		t.Errorf("s2 again: %v", err)
	}
}

// A snapshot forged into the staging area, its digests all valid but
// signed by a key the secondary does not trust, is refused by the plan,
// the apply and key parity, before any segment is read (they are gone).
func TestForgedStagedSnapshotIsRefused(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, smallSite())
	forger := simtest.Signing(t, t.TempDir()).Primary
	dir := p.sec.Site.Staging.Dir("DS_PROD", "forged")
	w := snapshot.NewWriter(dir, snapshot.Manifest{ID: "forged", Store: "DS_PROD", Type: snapshot.Full}, 1)
	w.SignWith(forger)
	m, digest, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range m.Segments {
		os.Remove(filepath.Join(dir, s.Name))
	}
	ref := snapshot.Ref{Store: "DS_PROD", ID: "forged", Digest: digest, Type: snapshot.Full}
	in := ImportInput{Ref: ref, Options: importer.Options{StoreID: "DS_PROD"}}
	_, err = p.sec.Plan(ctx, in)
	asRefused(t, "plan", err, "signed by unknown key "+forger.SignerID())
	_, err = p.sec.Apply(ctx, in)
	asRefused(t, "apply", err, "signed by unknown key "+forger.SignerID())
	_, err = p.sec.KeyParity(ctx, ref)
	asRefused(t, "key parity", err, "signed by unknown key "+forger.SignerID())
}

// The staging chain a failover builds on holds only snapshots the site
// trusts: one whose signature is gone since it was staged is refused.
func TestStagedStateRefusesAnUntrustedChain(t *testing.T) {
	ctx := context.Background()
	p := newPair(t, smallSite())
	opts := importer.Options{StoreID: "DS_PROD", CatalogFiles: true}
	p.syncOnce(t, "s1", snapshot.Full, opts)
	if st, err := p.sec.StagedState(ctx, "DS_PROD"); err != nil || len(st.Chain) != 1 {
		t.Fatalf("the chain as staged: %+v, %v", st, err)
	}
	if err := os.Remove(filepath.Join(p.sec.Site.Staging.Dir("DS_PROD", "s1"), snapshot.SignatureFile)); err != nil {
		t.Fatal(err)
	}
	_, err := p.sec.StagedState(ctx, "DS_PROD")
	asRefused(t, "an unsigned snapshot in the chain", err, "unsigned")
}
