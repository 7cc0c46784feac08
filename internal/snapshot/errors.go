package snapshot

import (
	"fmt"
	"strings"
)

// CorruptError reports a snapshot file that is missing, damaged or
// malformed; Offset is the byte offset of the bad record, when known.
type CorruptError struct {
	File   string
	Offset int64
	Reason string
}

func (e *CorruptError) Error() string {
	if e.Offset > 0 {
		return fmt.Sprintf("snapshot file %s at offset %d: %s", e.File, e.Offset, e.Reason)
	}
	return fmt.Sprintf("snapshot file %s: %s", e.File, e.Reason)
}

// SetError is an error raised while handling one volume set of a segment
// (an invalid record, a failed write): it says where the set is.
type SetError struct {
	File   string
	Offset int64
	Set    string
	Err    error
}

func (e *SetError) Error() string {
	msg := e.Err.Error()
	if !strings.Contains(msg, "volume set "+e.Set) {
		msg = "volume set " + e.Set + ": " + msg
	}
	return fmt.Sprintf("snapshot file %s at offset %d: %s", e.File, e.Offset, msg)
}

func (e *SetError) Unwrap() error { return e.Err }

// short is a digest as an error message quotes it.
func short(s string) string { return s[:min(len(s), 12)] }
