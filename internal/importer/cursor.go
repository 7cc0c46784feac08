package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/catsync/catsync/internal/store"
)

// Checkpoint is called inside the transaction that writes a volume set (or
// removes a volume of a FULL), with what that write changed, so that the
// caller commits its progress together with the write: a retry then
// resumes after the last write committed and counts each exactly once,
// however long ago its last heartbeat was recorded.
type Checkpoint func(ctx context.Context, tx store.Tx, changed Counts) error

func cursorKey(storeID string) string { return "import." + storeID + ".cursor" }

// savedCursor is a run's progress as the secondary keeps it.
type savedCursor struct {
	Run    string          `json:"run"`
	Cursor json.RawMessage `json:"cursor"`
}

// SaveCursor records, in tx, how far run's import of storeID has gone.
func SaveCursor(ctx context.Context, tx store.Writer, storeID, run string, cursor any) error {
	b, err := json.Marshal(cursor)
	if err != nil {
		return err
	}
	b, err = json.Marshal(savedCursor{Run: run, Cursor: b})
	if err != nil {
		return err
	}
	return tx.PutMeta(ctx, cursorKey(storeID), string(b))
}

// LoadCursor reads the progress run committed for storeID into cursor,
// and reports false when there is none (a new run, or another run's).
func LoadCursor(ctx context.Context, r store.Reader, storeID, run string, cursor any) (bool, error) {
	v, err := r.Meta(ctx, cursorKey(storeID))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var s savedCursor
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return false, fmt.Errorf("import progress of %s (site metadata %s): unreadable: %w", storeID, cursorKey(storeID), err)
	}
	if s.Run != run {
		return false, nil
	}
	if err := json.Unmarshal(s.Cursor, cursor); err != nil {
		return false, fmt.Errorf("import progress of %s for %s: %w", storeID, run, err)
	}
	return true, nil
}
