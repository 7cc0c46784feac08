package workflows

import (
	"errors"
	"strings"

	"go.temporal.io/sdk/temporal"
)

// Reason is what a run's error says without Temporal's wrappers (workflow
// and activity errors, which name events and retry states): the message of
// the application error at its root, or how the run or step ended
// (cancelled, timed out, with the last error it had before).
func Reason(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch t := e.(type) {
		case *temporal.ApplicationError:
			return t.Message()
		case *temporal.CanceledError:
			return "cancelled"
		case *temporal.TimeoutError:
			kind := strings.TrimPrefix(t.TimeoutType().String(), "TIMEOUT_TYPE_")
			why := "timed out (" + strings.ToLower(strings.ReplaceAll(kind, "_", " ")) + ")"
			if cause := t.Unwrap(); cause != nil {
				why += ", after: " + Reason(cause)
			}
			return why
		case *temporal.TerminatedError:
			return "terminated"
		}
	}
	if err == nil {
		return ""
	}
	return err.Error()
}
