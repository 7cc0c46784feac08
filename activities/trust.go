package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/snapshot"
	"github.com/catsync/catsync/internal/store"
)

// appliedKey is the site metadata holding the snapshot of a store the
// site applied last, against which a replayed snapshot is refused.
func appliedKey(storeID string) string { return "sync." + storeID + ".applied" }

// lastApplied is the snapshot of storeID this site applied last; a store
// imported only by a release that did not record it gives its watermark.
func (a *Activities) lastApplied(ctx context.Context, storeID string) (snapshot.Applied, error) {
	var last snapshot.Applied
	v, err := a.Site.Catalog.Meta(ctx, appliedKey(storeID))
	if errors.Is(err, store.ErrNotFound) {
		w, err := importer.ReadWatermark(ctx, a.Site.Catalog, storeID)
		return snapshot.Applied{ToSeq: w.Seq}, err
	}
	if err != nil {
		return last, err
	}
	if err := json.Unmarshal([]byte(v), &last); err != nil || last.ID == "" {
		return last, fmt.Errorf("last snapshot applied to %s (site metadata %s): unreadable %q", storeID, appliedKey(storeID), v)
	}
	return last, nil
}

// recordApplied keeps m as the snapshot of its store applied last, in w:
// from the apply's first write on, an older snapshot is a replay, even if
// this one's import then fails or is left unfinished.
func recordApplied(ctx context.Context, w store.Writer, m snapshot.Manifest) error {
	b, err := json.Marshal(snapshot.Applied{ID: m.ID, Created: m.Created, ToSeq: m.ToSeq})
	if err != nil {
		return err
	}
	return w.PutMeta(ctx, appliedKey(m.Store), string(b))
}
