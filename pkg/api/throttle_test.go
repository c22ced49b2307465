package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/activation"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func limits(perMinute, concurrent, fires int) whisk.Throttles {
	return whisk.Throttles{InvocationsPerMinute: &perMinute, ConcurrentInvocations: &concurrent, FiresPerMinute: &fires}
}

// inOneMinute runs f against fresh harnesses until a run starts and ends
// in the same calendar minute, the window per-minute throttles count in.
func inOneMinute(t *testing.T, o harnessOptions, f func(h *harness) []response) []response {
	t.Helper()
	for {
		minute := time.Now().Unix() / 60
		got := f(newHarnessWith(t, o))
		if time.Now().Unix()/60 == minute {
			return got
		}
	}
}

// wantThrottled checks a 429 with OpenWhisk's message in its error body.
func wantThrottled(t *testing.T, r response, msg string) {
	t.Helper()
	if r.status != 429 {
		t.Fatalf("status %d (%s), want 429", r.status, r.body)
	}
	var body map[string]string
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if body["error"] != msg || body["code"] == "" || body["code"] != r.header.Get("X-Request-ID") {
		t.Errorf("body %s, want error %q and the transaction id as code", r.body, msg)
	}
}

func statuses(rs []response) []int {
	out := make([]int, len(rs))
	for i, r := range rs {
		out[i] = r.status
	}
	return out
}

func TestInvokesPerMinuteAreThrottled(t *testing.T) {
	o := harnessOptions{throttles: limits(2, 100, 100), run: echoRun, blockingWait: time.Minute}
	got := inOneMinute(t, o, func(h *harness) []response {
		mustStatus(t, do(t, h, "PUT", ns+"/actions/a", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
		var rs []response
		for range 3 {
			rs = append(rs, do(t, h, "POST", ns+"/actions/a", guestAuth, `{}`))
		}
		// Throttled before the action is looked up, like OpenWhisk.
		return append(rs, do(t, h, "POST", ns+"/actions/missing", guestAuth, `{}`))
	})
	if diff := cmp.Diff([]int{202, 202, 429, 429}, statuses(got)); diff != "" {
		t.Fatalf("statuses (-want +got):\n%s", diff)
	}
	wantThrottled(t, got[2], "Too many requests in the last minute (count: 3, allowed: 2).")
	wantThrottled(t, got[3], "Too many requests in the last minute (count: 4, allowed: 2).")
}

func TestConcurrentInvokesAreThrottled(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	gated := func(a *platform.Action, req *platform.RunRequest) *platform.Result {
		if strings.Contains(string(req.Value), `"gate"`) {
			started <- struct{}{}
			<-release
		}
		return echoRun(a, req)
	}
	h := newHarnessWith(t, harnessOptions{throttles: limits(100, 1, 100), run: gated, blockingWait: time.Minute})
	mustStatus(t, do(t, h, "PUT", ns+"/actions/a", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
	first := make(chan response, 1)
	go func() { first <- do(t, h, "POST", ns+"/actions/a?blocking=true", guestAuth, `{"gate":1}`) }()
	<-started
	wantThrottled(t, do(t, h, "POST", ns+"/actions/a", guestAuth, `{}`), "Too many concurrent requests in flight (count: 1, allowed: 1).")
	close(release)
	mustStatus(t, <-first, 200)
	// The first activation's slot is free once its record is.
	mustStatus(t, do(t, h, "POST", ns+"/actions/a?blocking=true", guestAuth, `{}`), 200)
}

func TestFiresPerMinuteAreThrottled(t *testing.T) {
	o := harnessOptions{throttles: limits(100, 100, 2), run: echoRun, blockingWait: time.Minute}
	got := inOneMinute(t, o, func(h *harness) []response {
		mustStatus(t, do(t, h, "PUT", ns+"/actions/a", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
		mustStatus(t, do(t, h, "PUT", ns+"/triggers/t", guestAuth, `{}`), 200)
		mustStatus(t, do(t, h, "PUT", ns+"/rules/r", guestAuth, `{"trigger":"/_/t","action":"/_/a"}`), 200)
		var rs []response
		for range 3 {
			rs = append(rs, do(t, h, "POST", ns+"/triggers/t", guestAuth, `{}`))
		}
		return rs
	})
	if diff := cmp.Diff([]int{202, 202, 429}, statuses(got)); diff != "" {
		t.Fatalf("statuses (-want +got):\n%s", diff)
	}
	wantThrottled(t, got[2], "Too many requests in the last minute (count: 3, allowed: 2).")
}

func TestRuleInvokesAreThrottled(t *testing.T) {
	o := harnessOptions{throttles: limits(1, 100, 100), run: echoRun, blockingWait: time.Minute}
	var logs string
	inOneMinute(t, o, func(h *harness) []response {
		for _, name := range []string{"a", "b"} {
			mustStatus(t, do(t, h, "PUT", ns+"/actions/"+name, guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
		}
		mustStatus(t, do(t, h, "PUT", ns+"/triggers/t", guestAuth, `{}`), 200)
		mustStatus(t, do(t, h, "PUT", ns+"/rules/ra", guestAuth, `{"trigger":"/_/t","action":"/_/a"}`), 200)
		mustStatus(t, do(t, h, "PUT", ns+"/rules/rb", guestAuth, `{"trigger":"/_/t","action":"/_/b"}`), 200)
		r := do(t, h, "POST", ns+"/triggers/t", guestAuth, `{}`)
		mustStatus(t, r, 202)
		logs = mustJSON(waitFor(t, h, r.json(t)["activationId"].(string))["logs"])
		return nil
	})
	// Two rules, one invoke allowed a minute: the second rule's invoke is refused.
	if !strings.Contains(logs, `\"success\":true`) || !strings.Contains(logs, "Too many requests in the last minute (count: 2, allowed: 1).") {
		t.Errorf("trigger logs %s, want one rule run and one throttled", logs)
	}
}

func TestSequenceComponentsAreNotThrottled(t *testing.T) {
	o := harnessOptions{throttles: limits(1, 1, 100), run: echoRun, blockingWait: time.Minute}
	got := inOneMinute(t, o, func(h *harness) []response {
		for _, name := range []string{"a", "b", "c"} {
			mustStatus(t, do(t, h, "PUT", ns+"/actions/"+name, guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
		}
		mustStatus(t, do(t, h, "PUT", ns+"/actions/seq", guestAuth, `{"exec":{"kind":"sequence","components":["/_/a","/_/b","/_/c"]}}`), 200)
		return []response{
			do(t, h, "POST", ns+"/actions/seq?blocking=true", guestAuth, `{"x":1}`),
			do(t, h, "POST", ns+"/actions/seq?blocking=true", guestAuth, `{"x":1}`),
		}
	})
	if diff := cmp.Diff([]int{200, 429}, statuses(got)); diff != "" {
		t.Fatalf("statuses (-want +got):\n%s (first: %s)", diff, got[0].body)
	}
}

func TestNamespaceLimitsOverrideTheGateway(t *testing.T) {
	o := harnessOptions{throttles: limits(50, 40, 30), run: echoRun, blockingWait: time.Minute}
	var lim map[string]any
	got := inOneMinute(t, o, func(h *harness) []response {
		guest, err := h.st.GetNamespace(context.Background(), "guest")
		if err != nil {
			t.Fatal(err)
		}
		one, five := 1, 5
		guest.Throttles = whisk.Throttles{InvocationsPerMinute: &one, FiresPerMinute: &five}
		if err := h.st.PutNamespace(context.Background(), guest); err != nil {
			t.Fatal(err)
		}
		lim = do(t, h, "GET", ns+"/limits", guestAuth, "").json(t)
		mustStatus(t, do(t, h, "PUT", ns+"/actions/a", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
		return []response{
			do(t, h, "POST", ns+"/actions/a", guestAuth, `{}`),
			do(t, h, "POST", ns+"/actions/a", guestAuth, `{}`),
		}
	})
	want := map[string]any{"invocationsPerMinute": 1.0, "concurrentInvocations": 40.0, "firesPerMinute": 5.0}
	for k, v := range want {
		if lim[k] != v {
			t.Errorf("/limits %s = %v, want %v (all: %v)", k, lim[k], v, lim)
		}
	}
	if got[0].status != 202 {
		t.Fatalf("first invoke: %d %s", got[0].status, got[0].body)
	}
	wantThrottled(t, got[1], activation.TooManyPerMinute(2, 1))
}

// CloudEvents deliveries fire through the namespace's fire rate: past it
// a broker gets 429, which it retries.
func TestEventDeliveriesAreThrottled(t *testing.T) {
	o := harnessOptions{throttles: limits(100, 100, 100), run: echoRun, blockingWait: time.Minute}
	var statuses []int
	inOneMinute(t, o, func(h *harness) []response {
		guest, err := h.st.GetNamespace(context.Background(), "guest")
		if err != nil {
			t.Fatal(err)
		}
		two := 2
		guest.Throttles = whisk.Throttles{FiresPerMinute: &two}
		if err := h.st.PutNamespace(context.Background(), guest); err != nil {
			t.Fatal(err)
		}
		mustStatus(t, do(t, h, "PUT", ns+"/actions/a", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
		mustStatus(t, do(t, h, "PUT", ns+"/triggers/t", guestAuth, `{}`), 200)
		mustStatus(t, do(t, h, "PUT", ns+"/rules/r", guestAuth, `{"trigger":"/_/t","action":"/_/a"}`), 200)
		target := h.url + "/api/v1/events/guest/t?token=" + testTokens.Token("guest", "t")
		statuses = nil
		for i := 0; i < 3; i++ {
			status, _ := sendEvent(t, target, newEvent(fmt.Sprintf("thr-%d", i), map[string]any{"i": i}), false)
			statuses = append(statuses, status)
		}
		return nil
	})
	if diff := cmp.Diff([]int{202, 202, 429}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

// A web action runs as its owner and counts against the owner's own
// invoke rate, whoever calls it.
func TestWebActionsUseTheOwnersLimits(t *testing.T) {
	o := harnessOptions{throttles: limits(100, 100, 100), run: echoRun, blockingWait: time.Minute}
	var statuses []int
	inOneMinute(t, o, func(h *harness) []response {
		guest, err := h.st.GetNamespace(context.Background(), "guest")
		if err != nil {
			t.Fatal(err)
		}
		two := 2
		guest.Throttles = whisk.Throttles{InvocationsPerMinute: &two}
		if err := h.st.PutNamespace(context.Background(), guest); err != nil {
			t.Fatal(err)
		}
		mustStatus(t, do(t, h, "PUT", ns+"/actions/w", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"},"annotations":[{"key":"web-export","value":true}]}`), 200)
		statuses = nil
		for i := 0; i < 3; i++ {
			statuses = append(statuses, do(t, h, "GET", "/api/v1/web/guest/default/w.json", "", "").status)
		}
		return nil
	})
	if diff := cmp.Diff([]int{200, 200, 429}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

// An API route runs its web action as the action's owner, within the
// owner's limits, whoever calls it.
func TestAPIRoutesUseTheOwnersLimits(t *testing.T) {
	o := harnessOptions{throttles: limits(100, 100, 100), run: echoRun, blockingWait: time.Minute}
	var statuses []int
	inOneMinute(t, o, func(h *harness) []response {
		guest, err := h.st.GetNamespace(context.Background(), "guest")
		if err != nil {
			t.Fatal(err)
		}
		two := 2
		guest.Throttles = whisk.Throttles{InvocationsPerMinute: &two}
		if err := h.st.PutNamespace(context.Background(), guest); err != nil {
			t.Fatal(err)
		}
		mustStatus(t, do(t, h, "PUT", ns+"/actions/w", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"},"annotations":[{"key":"web-export","value":true}]}`), 200)
		mustStatus(t, do(t, h, "POST", createAPI, guestAuth, cliAPIDoc("/lim", "/w", "get", "w", "")), 200)
		statuses = nil
		for i := 0; i < 3; i++ {
			statuses = append(statuses, do(t, h, "GET", "/api/"+guestUUID+"/lim/w", "", "").status)
		}
		return nil
	})
	if diff := cmp.Diff([]int{200, 200, 429}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}
