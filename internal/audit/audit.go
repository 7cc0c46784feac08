// Package audit keeps the audit trail in the secondary's catalog: one record
// per workflow run (syncs, drills, failovers, failbacks) and per operator's
// act (approvals, schedule changes), appended, never changed, each carrying
// the hash of the one before, so that any edit or removal breaks the chain
// where it happened; an anchor kept with each append shows the removal of
// the newest.
package audit

import (
	"context"
	"crypto/rand"
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

// Kinds of record: what was done.
const (
	KindSync     = "sync"     // a CatalogSync run (records without a kind are syncs)
	KindDrill    = "drill"    // a DRDrill run
	KindFailover = "failover" // a DRFailover run
	KindFailback = "failback" // a failback run
	KindSchedule = "schedule" // schedules created, updated, paused, resumed, triggered or deleted
	KindApproval = "approval" // an operator's approval or refusal of a promotion
)

// Entry is what a run, or an operator's act, records.
type Entry struct {
	// Kind is one of the Kind constants; empty in records of syncs written
	// before there were other kinds.
	Kind string `json:"kind,omitempty"`
	// ID identifies a record that is not a workflow run's (an act outside
	// any run): give the same ID when retrying the same act, so that it is
	// recorded once. Append makes one when neither ID nor RunID is set.
	ID         string           `json:"id,omitempty"`
	WorkflowID string           `json:"workflow_id"`
	RunID      string           `json:"run_id"`
	Trigger    string           `json:"trigger,omitempty"`  // who or what started the run
	Operator   string           `json:"operator,omitempty"` // who acted: an approval's, a schedule change's
	Reason     string           `json:"reason,omitempty"`   // the operator's reason
	Detail     string           `json:"detail,omitempty"`   // what was done, in words: schedules changed, findings
	RPO        *time.Duration   `json:"rpo,omitempty"`      // a failover's recovery point: newest primary change known against newest applied
	RTO        *time.Duration   `json:"rto,omitempty"`      // a failover's recovery time: start to promotion
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

// kinds are the kinds Append takes.
var kinds = map[string]bool{"": true, KindSync: true, KindDrill: true, KindFailover: true, KindFailback: true,
	KindSchedule: true, KindApproval: true}

// Key is the identity of e's record: the trail holds one record per key. A
// run's own record is keyed by the run id, so a retried activity does not
// record twice (and records written before there were keys keep theirs); an
// approval or a schedule change within a run by run id "/" kind, so it does
// not take the run's own record's place; an act outside any run by its ID.
// An explicit ID wins.
func Key(e Entry) string {
	switch {
	case e.ID != "":
		return e.ID
	case e.RunID == "":
		return ""
	case e.Kind == KindApproval || e.Kind == KindSchedule:
		return e.RunID + "/" + e.Kind
	}
	return e.RunID
}

// who names e's run or act in errors.
func who(e Entry) string {
	switch {
	case e.ID != "":
		return "act " + e.ID
	case e.RunID != "":
		return "run " + e.RunID
	}
	return "an act without an id"
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

// maxAppendTries bounds the appends made again after a concurrent one:
// each retry follows a commit of another writer, so many writers at once
// all get through within as many tries.
const maxAppendTries = 50

// Append records e after the newest record, in one transaction, under
// Key(e); an entry with neither RunID nor ID is given a random ID (in the
// record, which its hash covers). A key that already has its record (a
// retried activity, a retried act) is not recorded twice: nothing is
// written and the record returned has Seq 0.
func Append(ctx context.Context, st store.Store, e Entry) (store.AuditRecord, error) {
	if !kinds[e.Kind] {
		return store.AuditRecord{}, fmt.Errorf("audit record of %s: unknown kind %q", who(e), e.Kind)
	}
	if e.ID == "" && e.RunID == "" {
		e.ID = "act-" + rand.Text()
	}
	key := Key(e)
	b, err := json.Marshal(e)
	if err != nil {
		return store.AuditRecord{}, fmt.Errorf("audit record of %s: %w", who(e), err)
	}
	var rec store.AuditRecord
	// Another writer may take the next sequence number between the read
	// of the head and the insert (PostgreSQL reads committed): then the
	// append is made again, after the new head.
	for try := 1; ; try++ {
		err = st.Update(ctx, func(tx store.Tx) error {
			last, err := tx.LastAudit(ctx)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			rec = store.AuditRecord{Seq: last.Seq + 1, Key: key, Entry: string(b), Prev: last.Hash}
			rec.Hash = hash(rec.Seq, rec.Prev, rec.Entry)
			added, err := tx.AppendAudit(ctx, &rec)
			if err == nil && !added {
				rec = store.AuditRecord{Key: key}
			}
			return err
		})
		if !errors.Is(err, store.ErrConcurrent) || try == maxAppendTries {
			break
		}
	}
	if err != nil {
		return store.AuditRecord{}, fmt.Errorf("audit record of %s: %w", who(e), err)
	}
	return rec, nil
}
