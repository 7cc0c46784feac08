package snapshot

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// CorruptError reports a snapshot file that is missing, damaged or
// malformed; Offset is the byte offset of the bad record, when known.
type CorruptError struct {
	File   string
	Offset int64
	Reason string
	// Dir is the folder holding File, when known: the message then gives
	// the whole path, so the operator knows which copy is bad.
	Dir string
	// Err is the error behind Reason, if any (a missing file's).
	Err error
}

func (e *CorruptError) Error() string {
	file := e.File
	if e.Dir != "" {
		file = filepath.Join(e.Dir, e.File)
	}
	if e.Offset > 0 {
		return fmt.Sprintf("snapshot file %s at offset %d: %s", file, e.Offset, e.Reason)
	}
	return fmt.Sprintf("snapshot file %s: %s", file, e.Reason)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// inDir gives a *CorruptError in err the folder of its file, unless it has one.
func inDir(dir string, err error) error {
	var ce *CorruptError
	if errors.As(err, &ce) && ce.Dir == "" {
		ce.Dir = dir
	}
	return err
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
