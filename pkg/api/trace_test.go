package api_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/tracing"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// traceRunner is echoRun that remembers the traceparent each activation
// was run with.
type traceRunner struct{ seen sync.Map } // activation id → traceparent

func (r *traceRunner) run(a *platform.Action, req *platform.RunRequest) *platform.Result {
	r.seen.Store(string(req.ActivationID), req.TraceParent)
	if a.Path.Name == "conductor" || a.Path.Name == "step" {
		return conductorRun(a, req)
	}
	return echoRun(a, req)
}

func (r *traceRunner) traceParent(id string) string {
	v, _ := r.seen.Load(id)
	s, _ := v.(string)
	return s
}

// invokeTraced invokes path blocking with traceparent tp (none if "") and
// returns the record.
func invokeTraced(t *testing.T, h *harness, path, tp string) map[string]any {
	t.Helper()
	req, _ := newRequest("POST", h.url+ns+"/actions/"+path+"?blocking=true", `{"name":"x"}`)
	req.Header.Set("Authorization", guestAuth)
	req.Header.Set("Content-Type", "application/json")
	if tp != "" {
		req.Header.Set("traceparent", tp)
	}
	r := send(t, req)
	mustStatus(t, r, 200)
	return r.json(t)
}

// record waits for the activation id to be stored and returns it.
func record(t *testing.T, h *harness, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := do(t, h, "GET", ns+"/activations/"+id, guestAuth, "")
		if r.status == 200 {
			return r.json(t)
		}
		if time.Now().After(deadline) {
			t.Fatalf("activation %s: %d %s", id, r.status, r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// traceParentOf returns a record's traceparent annotation ("" if none).
func traceParentOf(rec map[string]any) string {
	s, _ := annotation(rec, "traceparent").(string)
	return s
}

// componentIDs are the ids a sequence's record lists as its logs.
func componentIDs(rec map[string]any) []string {
	var ids []string
	logs, _ := rec["logs"].([]any)
	for _, l := range logs {
		ids = append(ids, l.(string))
	}
	return ids
}

// Without a tracer, the caller's traceparent is passed on unchanged: the
// runtime gets it, the record and every component's record carry it as
// the traceparent annotation; an invalid one, or none, leaves no trace.
func TestTraceParentIsRecordedAndPassedOnWithTracingOff(t *testing.T) {
	var runner traceRunner
	h := newHarnessWith(t, harnessOptions{throttles: unthrottled, run: runner.run, blockingWait: testBlockingWait})
	mustStatus(t, do(t, h, "PUT", ns+"/actions/hello", guestAuth, `{"exec":{"kind":"nodejs:default","code":"x"}}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/twice", guestAuth, `{"exec":{"kind":"sequence","components":["/_/hello","/_/hello"]}}`), 200)

	rec := invokeTraced(t, h, "hello", incoming)
	id := rec["activationId"].(string)
	if got := traceParentOf(rec); got != incoming {
		t.Errorf("traceparent annotation = %q, want %q", got, incoming)
	}
	if got := runner.traceParent(id); got != incoming {
		t.Errorf("the runtime got traceparent %q, want %q", got, incoming)
	}

	seq := invokeTraced(t, h, "twice", incoming)
	if got := traceParentOf(seq); got != incoming {
		t.Errorf("sequence traceparent = %q, want %q", got, incoming)
	}
	comps := componentIDs(seq)
	if len(comps) != 2 {
		t.Fatalf("sequence components = %v, want 2", comps)
	}
	for _, c := range comps {
		if got := traceParentOf(record(t, h, c)); got != incoming {
			t.Errorf("component %s traceparent = %q, want %q", c, got, incoming)
		}
		if got := runner.traceParent(c); got != incoming {
			t.Errorf("component %s ran with traceparent %q, want %q", c, got, incoming)
		}
	}

	for _, tp := range []string{"", "00-nonsense", strings.ToUpper(incoming)} {
		rec := invokeTraced(t, h, "hello", tp)
		if got := traceParentOf(rec); got != "" {
			t.Errorf("traceparent %q: annotation %q, want none", tp, got)
		}
		if got := runner.traceParent(rec["activationId"].(string)); got != "" {
			t.Errorf("traceparent %q: the runtime got %q, want none", tp, got)
		}
	}
}

// collector is an OTLP/HTTP trace receiver: it decodes every
// ExportTraceServiceRequest and keeps its spans.
type collector struct {
	mu    sync.Mutex
	spans map[string]span // by span id
}

type span struct {
	name, traceID, spanID, parentID string
	attrs                           map[string]string
}

func newCollector(t *testing.T) (*collector, string) {
	c := &collector{spans: map[string]span{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != tracing.TracesPath || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "want a protobuf POST to "+tracing.TracesPath, http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var req coltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					sp := span{name: s.Name, traceID: hex.EncodeToString(s.TraceId), spanID: hex.EncodeToString(s.SpanId),
						parentID: hex.EncodeToString(s.ParentSpanId), attrs: map[string]string{}}
					for _, kv := range s.Attributes {
						sp.attrs[kv.Key] = kv.Value.GetStringValue()
					}
					c.spans[sp.spanID] = sp
				}
			}
		}
		c.mu.Unlock()
		b, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return c, srv.URL
}

// spanOf returns the span an activation's traceparent annotation names.
func (c *collector) spanOf(t *testing.T, rec map[string]any) span {
	t.Helper()
	tp := traceParentOf(rec)
	if tracing.Normalize(tp) == "" {
		t.Fatalf("activation %v has no valid traceparent annotation: %q", rec["activationId"], tp)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	sp, ok := c.spans[tp[36:52]]
	if !ok {
		t.Fatalf("no span %s (activation %v) reached the collector", tp[36:52], rec["activationId"])
	}
	if sp.traceID != tp[3:35] {
		t.Errorf("span %s: trace %s, the annotation says %s", sp.spanID, sp.traceID, tp[3:35])
	}
	if sp.attrs["faas.invocation_id"] != rec["activationId"] {
		t.Errorf("span %s: faas.invocation_id %q, want %v", sp.spanID, sp.attrs["faas.invocation_id"], rec["activationId"])
	}
	return sp
}

// With --otlp-endpoint, every activation is a span exported over
// OTLP/HTTP: an invoke's is the child of the caller's traceparent, a
// sequence's components are children of the sequence's span, a rule's
// activation the child of its trigger's, a conductor's runs children of
// its composition's; each record's traceparent
// annotation, and the runtime's, name the activation's own span.
func TestSpansAreExportedOverOTLPWithParentLinks(t *testing.T) {
	col, url := newCollector(t)
	ctx := context.Background()
	exp, err := tracing.NewExporter(ctx, url, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	var runner traceRunner
	h := newHarnessWith(t, harnessOptions{throttles: unthrottled, run: runner.run, blockingWait: testBlockingWait, tracer: exp.Tracer()})
	mustStatus(t, do(t, h, "PUT", ns+"/actions/hello", guestAuth, `{"exec":{"kind":"nodejs:default","code":"x"}}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/twice", guestAuth, `{"exec":{"kind":"sequence","components":["/_/hello","/_/hello"]}}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/conductor", guestAuth, `{"exec":{"kind":"nodejs:default","code":"x"},"annotations":[{"key":"conductor","value":true}]}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/step", guestAuth, `{"exec":{"kind":"nodejs:default","code":"x"}}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/triggers/tick", guestAuth, `{}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/rules/tickHello", guestAuth, `{"trigger":"/_/tick","action":"/_/hello"}`), 200)

	seq := invokeTraced(t, h, "twice", incoming)
	comps := componentIDs(seq)
	var compRecs []map[string]any
	for _, c := range comps {
		compRecs = append(compRecs, record(t, h, c))
	}
	plain := invokeTraced(t, h, "hello", "")

	req, _ := newRequest("POST", h.url+ns+"/actions/conductor?blocking=true", `{"action":"/_/step","params":{"n":1}}`)
	req.Header.Set("Authorization", guestAuth)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", incoming)
	composed := send(t, req)
	mustStatus(t, composed, 200)
	comp := composed.json(t)
	var runs []map[string]any // conductor, step, conductor
	for _, id := range componentIDs(comp) {
		runs = append(runs, record(t, h, id))
	}
	if len(runs) != 3 {
		t.Fatalf("composition runs = %d, want 3 (conductor, step, conductor)", len(runs))
	}

	req, _ = newRequest("POST", h.url+ns+"/triggers/tick", `{}`)
	req.Header.Set("Authorization", guestAuth)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", incoming)
	fired := send(t, req)
	mustStatus(t, fired, 202)
	trig := record(t, h, fired.json(t)["activationId"].(string))
	var entry struct {
		ActivationID string `json:"activationId"`
	}
	if logs := componentIDs(trig); len(logs) != 1 || json.Unmarshal([]byte(logs[0]), &entry) != nil || entry.ActivationID == "" {
		t.Fatalf("trigger activation logs = %v, want one rule entry with its activation", logs)
	}
	ruled := record(t, h, entry.ActivationID)

	if err := exp.Shutdown(ctx); err != nil { // flushes every span
		t.Fatal(err)
	}

	traceID, callerSpan := incoming[3:35], incoming[36:52]
	seqSpan := col.spanOf(t, seq)
	if seqSpan.traceID != traceID || seqSpan.parentID != callerSpan || seqSpan.name != "/guest/twice" {
		t.Errorf("sequence span = %+v, want %q in trace %s under the caller's span %s", seqSpan, "/guest/twice", traceID, callerSpan)
	}
	for i, c := range compRecs {
		sp := col.spanOf(t, c)
		if sp.traceID != traceID || sp.parentID != seqSpan.spanID {
			t.Errorf("component %d span = %+v, want a child of the sequence's span %s in trace %s", i, sp, seqSpan.spanID, traceID)
		}
		if got, want := runner.traceParent(comps[i]), traceParentOf(c); got != want {
			t.Errorf("component %d ran with traceparent %q, its record says %q", i, got, want)
		}
	}
	root := col.spanOf(t, plain)
	if root.traceID == traceID || root.parentID != "" {
		t.Errorf("span of an invoke without traceparent = %+v, want the root of a new trace", root)
	}
	compSpan := col.spanOf(t, comp)
	if compSpan.traceID != traceID || compSpan.parentID != callerSpan {
		t.Errorf("composition span = %+v, want a child of the caller's span", compSpan)
	}
	for i, run := range runs {
		if sp := col.spanOf(t, run); sp.traceID != traceID || sp.parentID != compSpan.spanID {
			t.Errorf("composition run %d span = %+v, want a child of the composition's span %s", i, sp, compSpan.spanID)
		}
	}
	trigSpan := col.spanOf(t, trig)
	if trigSpan.traceID != traceID || trigSpan.parentID != callerSpan || trigSpan.name != "/guest/tick" {
		t.Errorf("trigger span = %+v, want /guest/tick under the caller's span", trigSpan)
	}
	if sp := col.spanOf(t, ruled); sp.traceID != traceID || sp.parentID != trigSpan.spanID {
		t.Errorf("rule activation span = %+v, want a child of the trigger's span %s", sp, trigSpan.spanID)
	}
	if got := whisk.ActivationID(ruled["activationId"].(string)); runner.traceParent(string(got)) != traceParentOf(ruled) {
		t.Errorf("the rule's activation ran with traceparent %q, its record says %q", runner.traceParent(string(got)), traceParentOf(ruled))
	}
}

// A CloudEvent's Distributed Tracing extension (ce-traceparent in binary
// mode, the traceparent attribute in structured mode) is its trigger
// activation's parent, as a traceparent header would be.
func TestCloudEventTraceParentExtension(t *testing.T) {
	h := newHarness(t)
	mustStatus(t, do(t, h, "PUT", ns+"/triggers/orders", guestAuth, `{}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/a", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/rules/r", guestAuth, `{"trigger":"/_/orders","action":"/_/a"}`), 200)
	target := h.url + "/api/v1/events/guest/orders?token=" + testTokens.Token("guest", "orders")
	for _, structured := range []bool{false, true} {
		ev := newEvent(fmt.Sprintf("tp-%v", structured), map[string]any{"item": "book"})
		ev.SetExtension("traceparent", incoming)
		req, err := cehttp.NewHTTPRequestFromEvent(context.Background(), target, ev)
		if err != nil {
			t.Fatal(err)
		}
		if structured {
			b, _ := json.Marshal(ev)
			req, _ = http.NewRequest("POST", target, bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/cloudevents+json")
		}
		r := send(t, req)
		mustStatus(t, r, 202)
		id := r.header.Get("X-Openwhisk-Activation-Id")
		if id == "" {
			t.Fatalf("structured=%v: no trigger activation id", structured)
		}
		if got := traceParentOf(record(t, h, id)); got != incoming {
			t.Errorf("structured=%v: trigger activation traceparent %q, want %q", structured, got, incoming)
		}
	}
}
