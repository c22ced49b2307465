package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// The attribute keys of the gateway's events, in OpenWhisk's camelCase:
// the request id is the transaction id (X-Request-ID), also the "code" of
// an error body.
const (
	KeyRequestID    = "requestId"
	KeyNamespace    = "namespace"
	KeyActivationID = "activationId"
	KeyAction       = "action"
	KeyTrigger      = "trigger"
	KeyError        = "error"
)

// New returns a logger writing events of level and above to w: JSON, one
// object a line with "time", "level" and "msg" first, unless w is a
// terminal, where people read it and get slog's key=value text.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if isTerminal(w) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// OrDiscard returns l, or a logger that drops everything when l is nil:
// the default of every Options that takes a logger.
func OrDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// Err is the attribute of an error.
func Err(err error) slog.Attr { return slog.Any(KeyError, err) }

// Levels are the names ParseLevel takes, as --log-level documents them.
const Levels = "debug, info, warn or error"

// ParseLevel reads a level name (case-insensitive; "warning" too).
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("want %s", Levels)
}

// isTerminal reports whether w is a character device (a terminal), by the
// standard library alone.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
