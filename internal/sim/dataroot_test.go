package sim

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A replication into the primary's own folders, named as they are or
// through a link, is refused before anything is touched: its copies and
// removals would destroy the images they copy.
func TestReplicateDataOntoItself(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newImaged(t, 1)
	before := treeOf(t, s.root)
	link := filepath.Join(t.TempDir(), "link")
	must(t, os.Symlink(s.root, link))
	opts := DataReplication{Missing: pick(s.written(t), 1, false), Keys: s.km}
	for _, to := range []string{s.root, link} {
		_, err := ReplicateData(ctx, s.st, s.root, to, opts)
		if err == nil || !strings.Contains(err.Error(), "is the primary's") || !strings.Contains(err.Error(), to) {
			t.Errorf("replication into %s: %v", to, err)
		}
	}
	if !maps.Equal(treeOf(t, s.root), before) {
		t.Error("a refused replication changed the primary's images")
	}
}

// AdvanceImages writes the days' images where it is told, none for "",
// and leaves the root the site's parameters keep for Advance.
func TestAdvanceImagesRoot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := busyParams()
	p.Days, p.DataRoot = 3, filepath.Join(t.TempDir(), "kept")
	st, km := openSite(t, "primary"), openKeys(t)
	must(t, Init(ctx, st, p, km))
	kept := treeOf(t, p.DataRoot)
	if len(kept) == 0 {
		t.Fatal("init wrote no images")
	}
	must(t, AdvanceImages(ctx, st, 2, km, ""))
	if !maps.Equal(treeOf(t, p.DataRoot), kept) {
		t.Error("advancing without a data root changed the images")
	}
	other := filepath.Join(t.TempDir(), "other")
	must(t, AdvanceImages(ctx, st, 1, km, other))
	if len(treeOf(t, other)) == 0 || !maps.Equal(treeOf(t, p.DataRoot), kept) {
		t.Error("a day advanced into another root did not write there alone")
	}
	must(t, Advance(ctx, st, 1, km))
	if maps.Equal(treeOf(t, p.DataRoot), kept) {
		t.Error("Advance no longer writes under the root of the site's parameters")
	}
}
