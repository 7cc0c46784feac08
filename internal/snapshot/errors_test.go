package snapshot

import (
	"errors"
	"testing"
)

// asCorrupt asserts err is (or wraps) a *CorruptError about file.
func asCorrupt(t *testing.T, what string, err error, file string) *CorruptError {
	t.Helper()
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("%s: got %v (%T), want a *CorruptError", what, err, err)
	}
	if ce.File != file {
		t.Errorf("%s: CorruptError names %q, want %q (%v)", what, ce.File, file, err)
	}
	return ce
}

func TestCorruptErrorMessage(t *testing.T) {
	if got := (&CorruptError{File: "seg-000001.jsonl", Offset: 18, Reason: "volume set without id"}).Error(); got != "snapshot file seg-000001.jsonl at offset 18: volume set without id" {
		t.Errorf("%q", got)
	}
	if got := (&CorruptError{File: ManifestFile, Reason: "bad"}).Error(); got != "snapshot file manifest.json: bad" {
		t.Errorf("%q", got)
	}
}
