package events

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
)

func TestTokensRotate(t *testing.T) {
	old, cur := []byte("old-secret-0123456789"), []byte("new-secret-0123456789")
	before := NewTokens(old)
	after := NewTokens(cur, old)
	tok := before.Token("guest", "t")
	if !after.Verify("guest", "t", tok) {
		t.Error("a token of the previous secret is refused after rotation")
	}
	if after.Verify("guest", "other", tok) || after.Verify("other", "t", tok) || after.Verify("guest", "t", "zz") {
		t.Error("a token verifies for another trigger or when malformed")
	}
	if NewTokens(cur).Verify("guest", "t", tok) {
		t.Error("a retired secret still verifies")
	}
	path := filepath.Join(t.TempDir(), "events.key")
	a, err := LoadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Token("n", "t") != b.Token("n", "t") {
		t.Error("the secret file does not keep the secret")
	}
}

func TestDedupWindow(t *testing.T) {
	now := time.Unix(0, 0)
	d := newDedup(time.Minute, 2, func() time.Time { return now })
	if d.claim("a") != claimNew {
		t.Fatal("a first delivery is not new")
	}
	if got := d.claim("a"); got != claimPending {
		t.Fatalf("a second delivery while the first fires: %v, want pending", got)
	}
	d.settle("a")
	if got := d.claim("a"); got != claimDone {
		t.Fatalf("a second delivery after the first fired: %v, want done", got)
	}
	now = now.Add(2 * time.Minute)
	if d.claim("a") != claimNew {
		t.Error("a delivery after the window is a duplicate")
	}
	d.claim("b")
	d.claim("c")
	d.claim("d")
	if len(d.seen) > 3 {
		t.Errorf("dedup grew past its bound: %d", len(d.seen))
	}
	d.forget("d")
	if d.claim("d") != claimNew {
		t.Error("a forgotten key is still a duplicate")
	}
}

func TestSchedule(t *testing.T) {
	base := time.Date(2026, 1, 1, 10, 0, 30, 0, time.UTC)
	s, err := parseSchedule(map[string]json.RawMessage{"cron": json.RawMessage(`"*/5 * * * *"`)})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.next(base); !got.Equal(time.Date(2026, 1, 1, 10, 5, 0, 0, time.UTC)) {
		t.Errorf("cron next = %v", got)
	}
	s, err = parseSchedule(map[string]json.RawMessage{"interval": json.RawMessage(`"90s"`), "stopDate": json.RawMessage(`"2026-01-01T10:02:00Z"`)})
	if err != nil {
		t.Fatal(err)
	}
	n := s.next(base)
	if n.Sub(base) <= 0 || n.Sub(base) > 90*time.Second {
		t.Errorf("interval next = %v", n)
	}
	if got := s.next(time.Date(2026, 1, 1, 10, 1, 59, 0, time.UTC)); !got.IsZero() {
		t.Errorf("fire after stopDate: %v", got)
	}
	start := "2026-01-01T11:00:00Z"
	s, _ = parseSchedule(map[string]json.RawMessage{"interval": json.RawMessage(`60`), "startDate": json.RawMessage(`"` + start + `"`)})
	if got := s.next(base); !got.Equal(time.Date(2026, 1, 1, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("next before startDate = %v", got)
	}
}

func TestParameters(t *testing.T) {
	ev := cloudevents.New()
	ev.SetID("1")
	ev.SetSource("/s")
	ev.SetType("t")
	_ = ev.SetData("text/plain", []byte("héllo"))
	p, err := Parameters(&ev)
	if err != nil || string(p["__ce_data"]) != `"héllo"` || string(p["__ce_type"]) != `"t"` {
		t.Errorf("text data: %v %v", p, err)
	}
	_ = ev.SetData("application/octet-stream", []byte{0, 1, 2})
	p, _ = Parameters(&ev)
	if string(p["__ce_data"]) != `"AAEC"` {
		t.Errorf("binary data = %s", p["__ce_data"])
	}
	_ = ev.SetData("application/json", []byte(`[1,2]`))
	p, _ = Parameters(&ev)
	if string(p["__ce_data"]) != `[1,2]` {
		t.Errorf("array data = %s", p["__ce_data"])
	}
}
