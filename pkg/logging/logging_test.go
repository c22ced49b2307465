package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
)

func TestNewWritesOneJSONObjectPerEvent(t *testing.T) {
	var b bytes.Buffer
	l := New(&b, slog.LevelInfo)
	l.Debug("dropped")
	l.Warn("record activation", KeyActivationID, "abc", Err(errors.New("disk full")))
	lines := bytes.Split(bytes.TrimSpace(b.Bytes()), []byte("\n"))
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want 1 (debug is below info):\n%s", len(lines), b.String())
	}
	var ev map[string]any
	if err := json.Unmarshal(lines[0], &ev); err != nil {
		t.Fatalf("not JSON: %v: %s", err, lines[0])
	}
	for k, want := range map[string]string{"level": "WARN", "msg": "record activation", KeyActivationID: "abc", KeyError: "disk full"} {
		if ev[k] != want {
			t.Errorf("%s = %v, want %q", k, ev[k], want)
		}
	}
	if _, ok := ev["time"].(string); !ok {
		t.Errorf("no time in %s", lines[0])
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "warn": slog.LevelWarn, "warning": slog.LevelWarn, "error": slog.LevelError} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseLevel("loud"); err == nil {
		t.Error(`ParseLevel("loud") = nil error`)
	}
}
