package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/kwhisk/kwhisk/pkg/logging"
)

// logBuffer collects a logger's output; the handler writes from the
// request goroutines while the test reads.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// events parses every line written so far as one JSON object.
func (l *logBuffer) events(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if line == "" {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("log line is not one JSON object: %v: %s", err, line)
		}
		out = append(out, ev)
	}
	return out
}

// find returns the first event with every field of want.
func find(evs []map[string]any, want map[string]any) map[string]any {
	for _, ev := range evs {
		ok := true
		for k, v := range want {
			if ev[k] != v {
				ok = false
				break
			}
		}
		if ok {
			return ev
		}
	}
	return nil
}

// The gateway logs one JSON object a line: at debug level every request
// with its request id, the caller's namespace and the activation it
// started; at error level a run the data plane refused, with the same
// ids.
func TestLogsAreJSONWithRequestAndActivationIDs(t *testing.T) {
	var buf logBuffer
	h := newHarnessWith(t, harnessOptions{throttles: unthrottled, run: echoRun, blockingWait: testBlockingWait,
		log: logging.New(&buf, slog.LevelDebug)})
	do(t, h, "PUT", ns+"/actions/hello", guestAuth, `{"exec":{"kind":"nodejs:default","code":"x"}}`)

	req, _ := newRequest("POST", h.url+ns+"/actions/hello?blocking=true", `{"name":"x"}`)
	req.Header.Set("Authorization", guestAuth)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-ID", "req-logs-1")
	resp := send(t, req)
	if resp.status != 200 {
		t.Fatalf("invoke: %d %s", resp.status, resp.body)
	}
	id := resp.json(t)["activationId"].(string)
	ev := find(buf.events(t), map[string]any{"msg": "request", "requestId": "req-logs-1"})
	if ev == nil {
		t.Fatalf("no request event with requestId req-logs-1 in:\n%s", buf.b.String())
	}
	want := map[string]any{"level": "DEBUG", "namespace": "guest", "activationId": id, "method": "POST",
		"path": "/api/v1/namespaces/_/actions/hello", "status": float64(200)}
	for k, v := range want {
		if ev[k] != v {
			t.Errorf("request event %s = %v, want %v", k, ev[k], v)
		}
	}
	if _, ok := ev["time"].(string); !ok {
		t.Errorf("request event has no time: %v", ev)
	}

	// The fake data plane refuses a run whose input says "unavailable".
	req, _ = newRequest("POST", h.url+ns+"/actions/hello?blocking=true", `{"unavailable":true}`)
	req.Header.Set("Authorization", guestAuth)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-ID", "req-logs-2")
	resp = send(t, req)
	if resp.status != 503 {
		t.Fatalf("invoke on an unavailable data plane: %d %s, want 503", resp.status, resp.body)
	}
	failed := resp.header.Get("X-Openwhisk-Activation-Id")
	ev = find(buf.events(t), map[string]any{"msg": "run activation", "requestId": "req-logs-2"})
	if ev == nil {
		t.Fatalf("no run activation event with requestId req-logs-2 in:\n%s", buf.b.String())
	}
	if ev["level"] != "ERROR" || ev["namespace"] != "guest" || ev["activationId"] != failed || !strings.Contains(ev["error"].(string), "unavailable") {
		t.Errorf("run activation event = %v, want ERROR for guest's activation %s with the platform's error", ev, failed)
	}
}
