package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/catsync/catsync/internal/store"
)

// The options of a data store's last import are kept on the secondary, so
// that what compares the store with the primary later (catsync verify)
// transforms it as that import did, without being told again.

func optionsKey(storeID string) string { return "import." + storeID + ".options" }

// RecordOptions keeps, in tx, the options an import of o.StoreID writes
// with.
func RecordOptions(ctx context.Context, tx store.Writer, o Options) error {
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return tx.PutMeta(ctx, optionsKey(o.StoreID), string(b))
}

// RecordedOptions returns the options of the last import of storeID, and
// false when the store was never imported (or only by a version that did
// not record them).
func RecordedOptions(ctx context.Context, r store.Reader, storeID string) (Options, bool, error) {
	var o Options
	v, err := r.Meta(ctx, optionsKey(storeID))
	if errors.Is(err, store.ErrNotFound) {
		return o, false, nil
	}
	if err != nil {
		return o, false, err
	}
	if err := json.Unmarshal([]byte(v), &o); err != nil || o.StoreID != storeID {
		return o, false, fmt.Errorf("options of the last import of %s (site metadata %s): unreadable %q: the next sync rewrites them; meanwhile give --catalogfiles and --node-map", storeID, optionsKey(storeID), v)
	}
	return o, true, nil
}
