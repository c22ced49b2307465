package api_test

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/kwhisk/kwhisk/pkg/auth"
	"github.com/kwhisk/kwhisk/pkg/metrics"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// scrape reads GET /metrics without credentials and parses it with
// Prometheus' own text parser.
func scrape(t *testing.T, h *harness) map[string]*dto.MetricFamily {
	t.Helper()
	r := do(t, h, "GET", "/metrics", "", "")
	if r.status != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("GET /metrics Content-Type %q, want the text format", ct)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, r.body)
	}
	return fams
}

// sample is the value of the series of family name whose labels include
// labels: a counter's or gauge's value, a histogram's count; summed over
// the series that match. -1 if none does.
func sample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	sum, found := 0.0, false
next:
	for _, m := range f.GetMetric() {
		for k, v := range labels {
			ok := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					ok = true
				}
			}
			if !ok {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	if !found {
		return -1
	}
	return sum
}

type want struct {
	name   string
	labels map[string]string
	value  float64
}

// waitMetrics scrapes until every want holds (rule activations and
// 202-acknowledged ones finish in the background), and reports those that
// do not within 5 s.
func waitMetrics(t *testing.T, h *harness, wants ...want) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		fams := scrape(t, h)
		var bad []string
		for _, w := range wants {
			if got := sample(fams, w.name, w.labels); got != w.value {
				bad = append(bad, w.name+labelString(w.labels)+" = "+ftoa(got)+", want "+ftoa(w.value))
			}
		}
		if len(bad) == 0 {
			return fams
		}
		if time.Now().After(deadline) {
			t.Fatalf("after known requests:\n%s", strings.Join(bad, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func labelString(l map[string]string) string {
	var b strings.Builder
	b.WriteByte('{')
	for k, v := range l {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + `"` + v + `"`)
	}
	b.WriteByte('}')
	return b.String()
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// TestMetrics invokes known actions, sequences, triggers and events and
// reads the counts back from /metrics, without credentials.
func TestMetrics(t *testing.T) {
	m := metrics.New(metrics.Options{})
	h := newHarnessWith(t, harnessOptions{throttles: unthrottled, run: echoRun, blockingWait: testBlockingWait, metrics: m})

	mustStatus(t, do(t, h, "PUT", ns+"/actions/hello", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/packages/tools", guestAuth, `{}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/tools/py", guestAuth, `{"exec":{"kind":"python:3.11","code":"x"}}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/seq", guestAuth, `{"exec":{"kind":"sequence","components":["/guest/hello","/guest/tools/py"]}}`), 200)
	for range 3 {
		mustStatus(t, do(t, h, "POST", ns+"/actions/hello?blocking=true", guestAuth, `{"name":"x"}`), 200)
	}
	mustStatus(t, do(t, h, "POST", ns+"/actions/hello?blocking=true", guestAuth, `{"fail":true}`), 502)
	mustStatus(t, do(t, h, "POST", ns+"/actions/hello?blocking=true", guestAuth, `{"unavailable":true}`), 503)
	mustStatus(t, do(t, h, "POST", ns+"/actions/tools/py?blocking=true", guestAuth, `{}`), 200)
	mustStatus(t, do(t, h, "POST", ns+"/actions/seq?blocking=true", guestAuth, `{}`), 200)
	// Outlasts the blocking wait: 202, and the activation completes later.
	mustStatus(t, do(t, h, "POST", ns+"/actions/hello?blocking=true", guestAuth, `{"slow":true}`), 202)
	// A shared action of another namespace is labelled fully qualified.
	mustStatus(t, do(t, h, "POST", "/api/v1/namespaces/whisk.system/actions/utils/echo?blocking=true", guestAuth, `{}`), 200)

	mustStatus(t, do(t, h, "PUT", ns+"/triggers/t", guestAuth, `{}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/rules/r", guestAuth, `{"trigger":"/_/t","action":"/_/hello"}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/rules/off", guestAuth, `{"trigger":"/_/t","action":"/_/hello","status":"inactive"}`), 200)
	mustStatus(t, do(t, h, "POST", ns+"/rules/off", guestAuth, `{"status":"inactive"}`), 200)
	mustStatus(t, do(t, h, "POST", ns+"/triggers/t", guestAuth, `{}`), 202)

	token := testTokens.Token("guest", "t")
	target := h.url + "/api/v1/events/guest/t?token=" + token
	for range 2 {
		if status, _ := sendEvent(t, target, newEvent("e-1", map[string]any{"n": 1}), false); status != http.StatusAccepted {
			t.Fatalf("event: status %d", status)
		}
	}
	if status, _ := sendEvent(t, h.url+"/api/v1/events/guest/t?token=bogus", newEvent("e-2", nil), false); status != http.StatusUnauthorized {
		t.Fatalf("event with a bad token: status %d, want 401", status)
	}

	guest := auth.WellKnown[0].Namespace
	hello := func(outcome string) map[string]string {
		return map[string]string{"namespace": guest, "action": "hello", "kind": "nodejs:20", "outcome": outcome}
	}
	fams := waitMetrics(t, h,
		// 3 + the slow one + the sequence's + 2 rule activations (the
		// trigger fire's and the event's; the duplicate fires nothing).
		want{"kwhisk_activations_total", hello("success"), 7},
		want{"kwhisk_activations_total", hello("application_error"), 1},
		want{"kwhisk_activations_total", hello("developer_error"), 0},
		want{"kwhisk_activations_total", hello("whisk_error"), 1},
		want{"kwhisk_activations_total", map[string]string{"namespace": guest, "action": "tools/py", "kind": "python:3.11", "outcome": "success"}, 2},
		want{"kwhisk_activations_total", map[string]string{"namespace": guest, "action": "seq", "kind": "sequence", "outcome": "success"}, 1},
		want{"kwhisk_activations_total", map[string]string{"namespace": guest, "action": "/whisk.system/utils/echo", "outcome": "success"}, 1},
		// The fake runner reports every successful run cold; the
		// unavailable one did not run.
		want{"kwhisk_cold_starts_total", map[string]string{"namespace": guest, "action": "hello"}, 7},
		want{"kwhisk_activation_init_seconds", map[string]string{"namespace": guest, "action": "hello"}, 7},
		want{"kwhisk_activation_duration_seconds", map[string]string{"namespace": guest, "action": "hello"}, 9},
		want{"kwhisk_activation_wait_seconds", map[string]string{"namespace": guest, "action": "seq"}, 1},
		want{"kwhisk_blocking_invokes_accepted_total", map[string]string{"namespace": guest}, 1},
		want{"kwhisk_trigger_fires_total", map[string]string{"namespace": guest}, 2},
		want{"kwhisk_rule_activations_total", map[string]string{"namespace": guest, "outcome": "invoked"}, 2},
		want{"kwhisk_rule_activations_total", map[string]string{"namespace": guest, "outcome": "inactive"}, 2},
		want{"kwhisk_cloudevents_received_total", nil, 3},
		want{"kwhisk_cloudevents_deduplicated_total", nil, 1},
		want{"kwhisk_cloudevents_rejected_total", map[string]string{"code": "401"}, 1},
	)
	if n := sample(fams, "kwhisk_store_commit_batch_size", nil); n < 1 {
		t.Errorf("store commits = %v, want some", n)
	}
	if n := sample(fams, "kwhisk_store_commit_duration_seconds", nil); n < 1 {
		t.Errorf("store commit durations = %v, want some", n)
	}
	if fams["go_goroutines"] == nil {
		t.Error("no Go runtime metrics")
	}
	// No activation id is ever a label.
	id, _ := do(t, h, "POST", ns+"/actions/hello?blocking=true", guestAuth, `{}`).json(t)["activationId"].(string)
	if body := do(t, h, "GET", "/metrics", "", "").body; id == "" || bytes.Contains(body, []byte(id)) {
		t.Errorf("/metrics names activation %q", id)
	}
}

// TestMetricsThrottled counts 429s by reason.
func TestMetricsThrottled(t *testing.T) {
	one, zero := 1, 0
	m := metrics.New(metrics.Options{})
	h := newHarnessWith(t, harnessOptions{
		throttles: whisk.Throttles{InvocationsPerMinute: &one, ConcurrentInvocations: unthrottled.ConcurrentInvocations, FiresPerMinute: &zero},
		run:       echoRun, blockingWait: testBlockingWait, metrics: m,
	})
	mustStatus(t, do(t, h, "PUT", ns+"/actions/a", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/triggers/t", guestAuth, `{}`), 200)
	mustStatus(t, do(t, h, "POST", ns+"/actions/a?blocking=true", guestAuth, `{}`), 200)
	mustStatus(t, do(t, h, "POST", ns+"/actions/a?blocking=true", guestAuth, `{}`), 429)
	mustStatus(t, do(t, h, "POST", ns+"/actions/a?blocking=true", guestAuth, `{}`), 429)
	mustStatus(t, do(t, h, "POST", ns+"/triggers/t", guestAuth, `{}`), 429)
	guest := auth.WellKnown[0].Namespace
	waitMetrics(t, h,
		want{"kwhisk_throttled_requests_total", map[string]string{"namespace": guest, "reason": "invocations_per_minute"}, 2},
		want{"kwhisk_throttled_requests_total", map[string]string{"namespace": guest, "reason": "fires_per_minute"}, 1},
		want{"kwhisk_throttled_requests_total", map[string]string{"reason": "concurrent_invocations"}, -1},
		want{"kwhisk_activations_total", map[string]string{"namespace": guest, "action": "a"}, 1},
	)
}

// TestMetricsNotServedWithoutRecorder: a gateway that serves metrics on
// its own address has no /metrics route on the API.
func TestMetricsNotServedWithoutRecorder(t *testing.T) {
	h := newHarness(t)
	if r := do(t, h, "GET", "/metrics", "", ""); r.status != http.StatusNotFound {
		t.Errorf("GET /metrics without metrics: %d, want 404", r.status)
	}
}
