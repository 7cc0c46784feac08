package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/catsync/catsync/internal/catalog"
	"github.com/catsync/catsync/internal/store"
	"github.com/catsync/catsync/internal/store/sqlstore"
)

// smallPair simulates a small primary and its secondary. The secondary runs
// local backups of its own (data store DS_LOCAL, groups VG_LOCAL_*), so the
// check has local catalogs to tell from the replicated ones.
func smallPair(t *testing.T) (prim, sec string) {
	t.Helper()
	dir := t.TempDir()
	prim, sec = filepath.Join(dir, "primary.db"), filepath.Join(dir, "secondary.db")
	mustRun(t, "sim", "init", "--catalog", prim, "--volumes", "40", "--days", "5")
	mustRun(t, "sim", "init-secondary", "--catalog", sec, "--primary", prim, "--volumes", "10", "--days", "2", "--backups-per-day", "2")
	return prim, sec
}

// editSite changes a site's catalog in one transaction and closes it before
// the command under test opens it.
func editSite(t *testing.T, path string, fn func(context.Context, store.Tx) error) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, path)
	must(t, err)
	defer st.Close()
	must(t, st.Update(ctx, func(tx store.Tx) error { return fn(ctx, tx) }))
}

// plantLocal makes label a volume of the secondary's local data store: the
// label was created on both sides before an import.
func plantLocal(t *testing.T, sec, label string) {
	t.Helper()
	editSite(t, sec, func(ctx context.Context, tx store.Tx) error {
		return tx.PutVolume(ctx, &catalog.Volume{Label: label, LabelType: catalog.Labeled, StoreID: "DS_LOCAL", Group: "VG_LOCAL_1",
			Access: catalog.AccessPrimary, Auth: "GGO", Compression: catalog.CompressNone})
	})
}

// digest fingerprints a site's catalog records, to show a command wrote none.
func digest(t *testing.T, path string) string {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, path)
	must(t, err)
	defer st.Close()
	d, err := store.Digest(ctx, st)
	must(t, err)
	return d
}
