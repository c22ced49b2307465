package events

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func TestEmitterSendsCompletedActivations(t *testing.T) {
	got := make(chan map[string]any, 4)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			t.Errorf("sink got a non-event: %v", err)
			w.WriteHeader(400)
			return
		}
		var data map[string]any
		_ = json.Unmarshal(ev.Data(), &data)
		data["_type"], data["_source"], data["_id"] = ev.Type(), ev.Source(), ev.ID()
		got <- data
		w.WriteHeader(202)
	}))
	defer sink.Close()
	e := NewEmitter(sink.URL, 8, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = e.Start(ctx) }()
	rec := &whisk.Activation{Namespace: "guest", Name: "a", ActivationID: "0123456789abcdef0123456789abcdef", Start: 1, End: 5, Duration: 4,
		Response:    whisk.Response{StatusCode: 1, Result: json.RawMessage(`{"error":"x"}`)},
		Annotations: whisk.KeyValues{{Key: "path", Value: json.RawMessage(`"guest/pkg/a"`)}}}
	e.Emit(rec)
	select {
	case d := <-got:
		if d["_type"] != CompletedType || d["_source"] != "/guest/pkg/a" || d["_id"] != string(rec.ActivationID) || d["statusCode"] != float64(1) || d["duration"] != float64(4) {
			t.Errorf("event = %v", d)
		}
		if _, ok := d["response"]; ok {
			t.Errorf("event data is the summary, not the record: %v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event reached the sink")
	}
}

func TestEmitterNeverBlocks(t *testing.T) {
	// Nothing drains the queue: Emit must still return at once.
	e := NewEmitter("http://127.0.0.1:1", 2, nil)
	done := make(chan struct{})
	go func() {
		for i := 0; i < 100; i++ {
			e.Emit(&whisk.Activation{ActivationID: whisk.NewActivationID()})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Emit blocked on a full queue")
	}
	if e.Dropped() != 98 {
		t.Errorf("dropped = %d, want 98", e.Dropped())
	}
}
