// Package audit keeps the audit trail of catalog syncs in the secondary's
// catalog: one record per workflow run, appended, never changed, each
// carrying the hash of the one before, so that any edit or removal breaks
// the chain where it happened.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/restore"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/store"
)

// Entry is what a run records.
type Entry struct {
	WorkflowID string           `json:"workflow_id"`
	RunID      string           `json:"run_id"`
	Trigger    string           `json:"trigger,omitempty"` // who or what started the run
	Store      string           `json:"store"`
	Type       string           `json:"type"`
	Outcome    string           `json:"outcome"`
	Snapshot   string           `json:"snapshot,omitempty"` // manifest digest
	FromSeq    int64            `json:"from_seq"`
	ToSeq      int64            `json:"to_seq"`
	Counts     map[string]int64 `json:"counts,omitempty"`
	Failed     []string         `json:"failed,omitempty"` // volume sets that failed
	Conflicts  *safety.Report   `json:"conflicts,omitempty"`
	Keys       *parity.Report   `json:"keys,omitempty"`    // key-manager parity, when checked
	Restore    *restore.Report  `json:"restore,omitempty"` // the restore test, when run
	Error      string           `json:"error,omitempty"`
	Started    time.Time        `json:"started"`
	Finished   time.Time        `json:"finished"`
}

func hash(seq int64, prev, entry string) string {
	h := sha256.New()
	h.Write([]byte(strconv.FormatInt(seq, 10)))
	h.Write([]byte{0})
	h.Write([]byte(prev))
	h.Write([]byte{0})
	h.Write([]byte(entry))
	return hex.EncodeToString(h.Sum(nil))
}

// Append records e after the newest record, in one transaction. A run that
// already has its record (a retried activity) is not recorded twice.
func Append(ctx context.Context, st store.Store, e Entry) (store.AuditRecord, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return store.AuditRecord{}, err
	}
	var rec store.AuditRecord
	err = st.Update(ctx, func(tx store.Tx) error {
		last, err := tx.LastAudit(ctx)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		rec = store.AuditRecord{Seq: last.Seq + 1, RunID: e.RunID, Entry: string(b), Prev: last.Hash}
		rec.Hash = hash(rec.Seq, rec.Prev, rec.Entry)
		_, err = tx.AppendAudit(ctx, &rec)
		return err
	})
	return rec, err
}

// BrokenError says where the chain does not hold.
type BrokenError struct {
	Seq    int64
	Reason string
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("audit trail broken at record %d: %s", e.Seq, e.Reason)
}

// Verify walks the whole trail and checks every link; fn, if set, sees
// each record. It returns the number of records.
func Verify(ctx context.Context, r store.Reader, fn func(store.AuditRecord, Entry) error) (int64, error) {
	var n int64
	prev := ""
	err := r.ScanAudit(ctx, func(a *store.AuditRecord) error {
		n++
		switch {
		case a.Seq != n:
			return &BrokenError{a.Seq, fmt.Sprintf("sequence %d follows %d", a.Seq, n-1)}
		case a.Prev != prev:
			return &BrokenError{a.Seq, "does not carry the hash of the record before it"}
		case hash(a.Seq, a.Prev, a.Entry) != a.Hash:
			return &BrokenError{a.Seq, "its content does not match its hash"}
		}
		prev = a.Hash
		var e Entry
		if err := json.Unmarshal([]byte(a.Entry), &e); err != nil {
			return &BrokenError{a.Seq, "entry is not readable: " + err.Error()}
		}
		if fn != nil {
			return fn(*a, e)
		}
		return nil
	})
	return n, err
}
