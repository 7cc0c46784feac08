package importer

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/catsync/catsync/internal/store"
)

// Watermark is what the secondary has applied of a data store: the change
// sequence of the primary up to which its catalogs are current, and whether
// the next UPDATE must re-import every volume (a set failed, was left out
// in conflict, or a key was not in parity).
type Watermark struct {
	Seq      int64 `json:"seq"`
	Reimport bool  `json:"reimport"`
}

func watermarkKey(storeID string) string { return "sync." + storeID + ".watermark" }
func reimportKey(storeID string) string  { return "sync." + storeID + ".reimport" }

// ReadWatermark returns the secondary's watermark for a data store; a store
// never imported has the zero watermark.
func ReadWatermark(ctx context.Context, r store.Reader, storeID string) (Watermark, error) {
	var w Watermark
	v, err := r.Meta(ctx, watermarkKey(storeID))
	if errors.Is(err, store.ErrNotFound) {
		return w, nil
	}
	if err != nil {
		return w, err
	}
	if w.Seq, err = strconv.ParseInt(v, 10, 64); err != nil {
		return w, fmt.Errorf("watermark of %s: %q: %w", storeID, v, err)
	}
	flag, err := r.Meta(ctx, reimportKey(storeID))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return w, err
	}
	w.Reimport = flag == "true"
	return w, nil
}

// AdvanceWatermark records the end of an import of a snapshot that covers
// the primary's changes up to toSeq, in one transaction: after a clean
// import the watermark moves to toSeq and the re-import flag clears; after
// an unclean one the watermark stays and the flag is set.
func AdvanceWatermark(ctx context.Context, st store.Store, storeID string, toSeq int64, clean bool) (Watermark, error) {
	var w Watermark
	err := st.Update(ctx, func(tx store.Tx) error {
		var err error
		if w, err = ReadWatermark(ctx, tx, storeID); err != nil {
			return err
		}
		if clean {
			w = Watermark{Seq: toSeq}
		} else {
			w.Reimport = true
		}
		if err := tx.PutMeta(ctx, watermarkKey(storeID), strconv.FormatInt(w.Seq, 10)); err != nil {
			return err
		}
		return tx.PutMeta(ctx, reimportKey(storeID), strconv.FormatBool(w.Reimport))
	})
	return w, err
}
