package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// invokeFeed runs a feed action the way wsk does: blocking, with the
// lifecycle event, the trigger name and the caller's key.
func invokeFeed(t *testing.T, h *harness, feed, event, trigger string, params map[string]any) response {
	t.Helper()
	body := map[string]any{"lifecycleEvent": event, "triggerName": trigger, "authKey": "x"}
	for k, v := range params {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	return do(t, h, "POST", "/api/v1/namespaces/whisk.system/actions/"+feed+"?blocking=true", guestAuth, string(b))
}

func TestCatalog(t *testing.T) {
	h := newHarness(t)
	for _, pkg := range []string{"cloudevents", "alarms"} {
		r := do(t, h, "GET", "/api/v1/namespaces/whisk.system/packages/"+pkg, guestAuth, "")
		mustStatus(t, r, 200)
		var view struct {
			Annotations []map[string]any `json:"annotations"`
			Feeds       []map[string]any `json:"feeds"`
		}
		_ = json.Unmarshal(r.body, &view)
		if len(view.Feeds) != 1 || !strings.Contains(mustJSON(view.Feeds[0]["annotations"]), `"parameters"`) || !strings.Contains(mustJSON(view.Annotations), "description") {
			t.Errorf("%s = %s", pkg, r.body)
		}
	}
	// Users cannot create actions of the built-in kind.
	r := do(t, h, "PUT", ns+"/actions/fake", guestAuth, `{"exec":{"kind":"kwhisk:builtin","main":"alarms/alarm"}}`)
	mustStatus(t, r, 400)
}

func TestSubscribeFeed(t *testing.T) {
	h := newHarness(t)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/a", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/triggers/orders", guestAuth, `{"annotations":[{"key":"feed","value":"/whisk.system/cloudevents/subscribe"}]}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/rules/r", guestAuth, `{"trigger":"/_/orders","action":"/_/a"}`), 200)
	r := invokeFeed(t, h, "cloudevents/subscribe", "CREATE", "/guest/orders", map[string]any{"broker": "default", "type": "dev.example.order"})
	mustStatus(t, r, 200)
	res := r.json(t)["response"].(map[string]any)["result"].(map[string]any)
	uri, _ := res["subscriberURI"].(string)
	if !strings.HasPrefix(uri, "http://gateway.test/api/v1/events/guest/orders?token=") || res["status"] != "active" {
		t.Fatalf("CREATE result = %v", res)
	}
	r = invokeFeed(t, h, "cloudevents/subscribe", "READ", "/guest/orders", nil)
	if got := mustJSON(r.json(t)["response"].(map[string]any)["result"].(map[string]any)["config"]); got != `{"broker":"default","type":"dev.example.order"}` {
		t.Errorf("READ config = %s", got)
	}
	// The subscriber URI's token is what the ingress accepts.
	target := h.url + strings.TrimPrefix(uri, "http://gateway.test")
	if status, _ := sendEvent(t, target, newEvent("s1", map[string]any{"n": 1}), false); status != 202 {
		t.Errorf("event with the subscriber token: %d", status)
	}
	// Paused subscriptions drop events; unpaused ones fire again.
	mustStatus(t, invokeFeed(t, h, "cloudevents/subscribe", "PAUSE", "/guest/orders", nil), 200)
	if status, _ := sendEvent(t, target, newEvent("s2", nil), false); status != 204 {
		t.Errorf("event while paused: %d", status)
	}
	mustStatus(t, invokeFeed(t, h, "cloudevents/subscribe", "UNPAUSE", "/guest/orders", nil), 200)
	if status, _ := sendEvent(t, target, newEvent("s3", nil), false); status != 202 {
		t.Errorf("event after unpause: %d", status)
	}
	// Bad parameters are an application error (the CLI then deletes the trigger).
	r = invokeFeed(t, h, "cloudevents/subscribe", "UPDATE", "/guest/orders", map[string]any{"filters": "not an object"})
	if r.status != 502 {
		t.Errorf("bad UPDATE: %d %s", r.status, r.body)
	}
	// Another namespace's trigger is refused.
	r = invokeFeed(t, h, "cloudevents/subscribe", "CREATE", "/other/orders", nil)
	if r.status != 502 || !strings.Contains(string(r.body), "not authorized") {
		t.Errorf("foreign trigger: %d %s", r.status, r.body)
	}
	mustStatus(t, invokeFeed(t, h, "cloudevents/subscribe", "DELETE", "/guest/orders", nil), 200)
	if r := invokeFeed(t, h, "cloudevents/subscribe", "READ", "/guest/orders", nil); r.status != 502 {
		t.Errorf("READ after DELETE: %d %s", r.status, r.body)
	}
}

func TestAlarmFeed(t *testing.T) {
	h := newHarness(t)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/a", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/triggers/tick", guestAuth, `{}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/rules/r", guestAuth, `{"trigger":"/_/tick","action":"/_/a"}`), 200)
	for _, bad := range []map[string]any{{}, {"cron": "not cron"}, {"interval": "0.5"}, {"cron": "* * * * *", "interval": 5}, {"interval": 1, "trigger_payload": "x"}} {
		if r := invokeFeed(t, h, "alarms/alarm", "CREATE", "/guest/tick", bad); r.status != 502 {
			t.Errorf("CREATE %v = %d %s", bad, r.status, r.body)
		}
	}
	mustStatus(t, invokeFeed(t, h, "alarms/alarm", "CREATE", "/guest/tick", map[string]any{"interval": 1, "trigger_payload": map[string]any{"beat": true}}), 200)
	count := func() int {
		r := do(t, h, "GET", ns+"/activations?name=tick&count=true", guestAuth, "")
		var m map[string]int
		_ = json.Unmarshal(r.body, &m)
		return m["activations"]
	}
	waitCount := func(want int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for count() < want && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if got := count(); got != want {
			t.Fatalf("trigger activations = %d, want %d", got, want)
		}
	}
	for i := 1; i <= 3; i++ {
		h.clock.Advance(time.Second)
		waitCount(i)
	}
	// A paused alarm does not fire; a deleted one never again.
	mustStatus(t, invokeFeed(t, h, "alarms/alarm", "PAUSE", "/guest/tick", nil), 200)
	h.clock.Advance(time.Second)
	mustStatus(t, invokeFeed(t, h, "alarms/alarm", "UNPAUSE", "/guest/tick", nil), 200)
	h.clock.Advance(time.Second)
	waitCount(4)
	r := do(t, h, "GET", ns+"/activations?name=tick&docs=true&limit=1", guestAuth, "")
	if !strings.Contains(string(r.body), `"beat":true`) {
		t.Errorf("alarm payload missing: %s", r.body)
	}
	mustStatus(t, invokeFeed(t, h, "alarms/alarm", "DELETE", "/guest/tick", nil), 200)
	h.clock.Advance(10 * time.Second)
	mustStatus(t, do(t, h, "PUT", ns+"/triggers/sync", guestAuth, `{}`), 200) // a round trip for the scheduler to act
	if got := count(); got != 4 {
		t.Errorf("fires after delete: %d", got)
	}
}

// The alarm feed takes a 6-field cron (a leading seconds field) as the
// alarms package does, and READ answers the package's {config, status}.
func TestAlarmFeedSecondsAndRead(t *testing.T) {
	h := newHarness(t)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/a", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/triggers/tick", guestAuth, `{}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/rules/r", guestAuth, `{"trigger":"/_/tick","action":"/_/a"}`), 200)
	if r := invokeFeed(t, h, "alarms/alarm", "CREATE", "/guest/tick", map[string]any{"cron": "61 * * * * *"}); r.status != 502 {
		t.Errorf("CREATE with a bad seconds field = %d %s", r.status, r.body)
	}
	created := h.clock.Now()
	mustStatus(t, invokeFeed(t, h, "alarms/alarm", "CREATE", "/guest/tick", map[string]any{
		"cron": "*/8 * * * * *", "trigger_payload": map[string]any{"beat": 1}, "stopDate": "2027-01-01T00:00:00Z",
	}), 200)
	count := func() int {
		r := do(t, h, "GET", ns+"/activations?name=tick&count=true", guestAuth, "")
		var m map[string]int
		_ = json.Unmarshal(r.body, &m)
		return m["activations"]
	}
	h.clock.Advance(8 * time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for count() < 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := count(); got != 1 {
		t.Fatalf("fires after 8 s of */8 seconds = %d, want 1", got)
	}
	read := func() map[string]any {
		t.Helper()
		r := invokeFeed(t, h, "alarms/alarm", "READ", "/guest/tick", nil)
		mustStatus(t, r, 200)
		return r.json(t)["response"].(map[string]any)["result"].(map[string]any)
	}
	res := read()
	if got, want := mustJSON(res["config"]), `{"cron":"*/8 * * * * *","name":"tick","namespace":"guest","payload":{"beat":1},"stopDate":"2027-01-01T00:00:00Z"}`; got != want {
		t.Errorf("READ config = %s, want %s", got, want)
	}
	iso := created.UTC().Format("2006-01-02T15:04:05Z")
	if got, want := mustJSON(res["status"]), fmt.Sprintf(`{"active":true,"dateChanged":%d,"dateChangedISO":"%s"}`, created.UnixMilli(), iso); got != want {
		t.Errorf("READ status = %s, want %s", got, want)
	}
	// Paused: inactive since the pause, with a reason.
	h.clock.Advance(time.Minute)
	mustStatus(t, invokeFeed(t, h, "alarms/alarm", "PAUSE", "/guest/tick", nil), 200)
	st := read()["status"].(map[string]any)
	if st["active"] != false || st["dateChanged"] != float64(h.clock.Now().UnixMilli()) || st["reason"] == nil {
		t.Errorf("READ status when paused = %v", st)
	}
}
