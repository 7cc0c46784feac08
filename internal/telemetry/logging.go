package telemetry

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"
)

// Variables of the logs.
const (
	LogFormatEnv = "CATSYNC_LOG_FORMAT" // json or text; default json, text on a terminal
	LogLevelEnv  = "CATSYNC_LOG_LEVEL"  // debug, info, warn or error; default info
)

// NewLogger is a process's logger on w: JSON lines for a log collector,
// text when w is a terminal, either as CATSYNC_LOG_FORMAT says; at
// CATSYNC_LOG_LEVEL, or at level when that is unset. The error names the
// variable that is wrong.
func NewLogger(w io.Writer, level slog.Level) (*slog.Logger, error) {
	if v := os.Getenv(LogLevelEnv); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			return nil, fmt.Errorf("%s=%q: want debug, info, warn or error", LogLevelEnv, v)
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	format := strings.ToLower(os.Getenv(LogFormatEnv))
	if format == "" {
		format = "json"
		if IsTerminal(w) {
			format = "text"
		}
	}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("%s=%q: want json or text", LogFormatEnv, os.Getenv(LogFormatEnv))
}

// IsTerminal tells whether w is a terminal (not a file, a pipe, or a
// character device such as /dev/null).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
