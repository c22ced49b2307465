package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// sendEvent sends ev with the sdk-go client and returns the HTTP status
// and the reply event, if any.
func sendEvent(t *testing.T, target string, ev cloudevents.Event, structured bool) (int, *cloudevents.Event) {
	t.Helper()
	c, err := cloudevents.NewClientHTTP()
	if err != nil {
		t.Fatal(err)
	}
	ctx := cloudevents.ContextWithTarget(context.Background(), target)
	if structured {
		ctx = cloudevents.WithEncodingStructured(ctx)
	}
	reply, res := c.Request(ctx, ev)
	var httpRes *cehttp.Result
	if !cloudevents.ResultAs(res, &httpRes) {
		t.Fatalf("send: %v", res)
	}
	return httpRes.StatusCode, reply
}

func newEvent(id string, data any) cloudevents.Event {
	ev := cloudevents.NewEvent()
	ev.SetID(id)
	ev.SetSource("/test/orders")
	ev.SetType("dev.example.order")
	ev.SetSubject("order-1")
	ev.SetExtension("tenant", "acme")
	if data != nil {
		_ = ev.SetData(cloudevents.ApplicationJSON, data)
	}
	return ev
}

func TestCloudEventsIngress(t *testing.T) {
	h := newHarness(t)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/a", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/triggers/orders", guestAuth, `{"parameters":[{"key":"fromTrigger","value":1}]}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/rules/r", guestAuth, `{"trigger":"/_/orders","action":"/_/a"}`), 200)
	token := testTokens.Token("guest", "orders")
	target := h.url + "/api/v1/events/guest/orders?token=" + token

	for _, structured := range []bool{false, true} {
		id := "e-binary"
		if structured {
			id = "e-structured"
		}
		status, _ := sendEvent(t, target, newEvent(id, map[string]any{"item": "book", "qty": 2}), structured)
		if status != http.StatusAccepted {
			t.Fatalf("structured=%v: status %d", structured, status)
		}
	}
	// The rule ran with the event's data and attributes as parameters.
	// Rule activations are non-blocking, and the trigger records may not
	// be stored yet either: poll until both action records are there.
	var r response
	var recs []map[string]any
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		r = do(t, h, "GET", ns+"/activations?name=a&docs=true", guestAuth, "")
		recs = nil
		_ = json.Unmarshal(r.body, &recs)
		if len(recs) >= 2 || time.Now().After(deadline) {
			break
		}
	}
	if len(recs) != 2 {
		t.Fatalf("action activations = %d, want 2: %s", len(recs), r.body)
	}
	res := recs[0]["response"].(map[string]any)["result"].(map[string]any)
	for k, want := range map[string]any{"item": "book", "qty": float64(2), "fromTrigger": float64(1), "__ce_type": "dev.example.order",
		"__ce_source": "/test/orders", "__ce_subject": "order-1", "__ce_tenant": "acme", "__ce_specversion": "1.0"} {
		if res[k] != want {
			t.Errorf("parameter %s = %v, want %v", k, res[k], want)
		}
	}
	// A redelivery is acknowledged without firing again.
	status, _ := sendEvent(t, target, newEvent("e-binary", map[string]any{"item": "book"}), false)
	if status != http.StatusAccepted {
		t.Errorf("duplicate: status %d", status)
	}
	if r := do(t, h, "GET", ns+"/activations?name=orders&count=true", guestAuth, ""); !strings.Contains(string(r.body), `"activations":2`) {
		t.Errorf("trigger activations after a duplicate = %s", r.body)
	}
	// A Knative sender (Prefer: reply) takes any body for a reply event:
	// it gets none, the activation id in the header alone, also for a
	// redelivery.
	for i, want := range []string{"activation id", "no activation id (a duplicate)"} {
		req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(`{"item":"pen"}`))
		for k, v := range map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "e-knative", "Ce-Source": "/test/orders",
			"Ce-Type": "dev.example.order", "Content-Type": "application/json", "Prefer": "reply"} {
			req.Header.Set(k, v)
		}
		r := send(t, req)
		if r.status != http.StatusAccepted || len(r.body) != 0 || (i == 0) != (r.header.Get("X-Openwhisk-Activation-Id") != "") {
			t.Errorf("Knative delivery %d: %d %q %v; want 202, no body, %s", i, r.status, r.body, r.header, want)
		}
	}
	// Credentials: a wrong token or another namespace's key is 401; the
	// namespace's own Basic credentials work.
	if status, _ := sendEvent(t, h.url+"/api/v1/events/guest/orders?token=00", newEvent("x1", nil), false); status != 401 {
		t.Errorf("bad token: %d", status)
	}
	if status, _ := sendEvent(t, h.url+"/api/v1/events/guest/orders", newEvent("x2", nil), false); status != 401 {
		t.Errorf("no credentials: %d", status)
	}
	if status, _ := sendEvent(t, h.url+"/api/v1/events/guest/nope?token="+testTokens.Token("guest", "nope"), newEvent("x3", nil), false); status != 404 {
		t.Errorf("unknown trigger: %d", status)
	}
	// Malformed events are 400 with a clear message.
	req, _ := http.NewRequest("POST", target, strings.NewReader(`{"data":1}`))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	if r := send(t, req); r.status != 400 || !strings.Contains(string(r.body), "not a valid CloudEvent") {
		t.Errorf("malformed structured event: %d %s", r.status, r.body)
	}
	req, _ = http.NewRequest("POST", target, strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	if r := send(t, req); r.status != 400 {
		t.Errorf("plain JSON without ce- headers: %d %s", r.status, r.body)
	}
	// With the reply annotation, the action's result comes back as an event.
	mustStatus(t, do(t, h, "PUT", ns+"/triggers/orders?overwrite=true", guestAuth, `{"annotations":[{"key":"cloudevents-reply","value":true}]}`), 200)
	status, reply := sendEvent(t, target, newEvent("e-reply", map[string]any{"item": "pen"}), false)
	if status != 200 || reply == nil {
		t.Fatalf("reply: status %d, event %v", status, reply)
	}
	var data map[string]any
	if err := reply.DataAs(&data); err != nil || data["item"] != "pen" || reply.Type() != "dev.kwhisk.activation.result" || reply.Source() != "/guest/a" {
		t.Errorf("reply = %v (data %v, err %v)", reply, data, err)
	}
}
