package metrics

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"sigs.k8s.io/yaml"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// scrape serves m's exposition and parses it with Prometheus' parser.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// actionsOf lists the action labels of family name's series, sorted.
func actionsOf(fams map[string]*dto.MetricFamily, name string) []string {
	var got []string
	for _, m := range fams[name].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "action" {
				got = append(got, l.GetValue())
			}
		}
	}
	sort.Strings(got)
	return got
}

func action(ns, name string) *whisk.Action {
	return &whisk.Action{Namespace: ns, Name: name, Exec: whisk.Exec{Kind: "nodejs:20"}}
}

// TestActionBound: past MaxActionsPerNamespace, a namespace's further
// actions share the OtherActions series, and other namespaces keep
// their own bound; the counts stay exact.
func TestActionBound(t *testing.T) {
	m := New(Options{MaxActionsPerNamespace: 2, NoRuntime: true})
	for _, a := range []*whisk.Action{action("a", "one"), action("a/pkg", "two"), action("a", "three"), action("a", "four"), action("a", "one")} {
		m.Activation("a", a, "nodejs:20", whisk.StatusSuccess, time.Millisecond, 0, false, 0)
	}
	// The same action under another kind (updated) is not a new action.
	m.Activation("a", action("a", "one"), "python:3.11", whisk.StatusSuccess, time.Millisecond, 0, false, 0)
	m.Activation("b", action("whisk.system/utils", "echo"), "nodejs:20", whisk.StatusApplicationError, time.Millisecond, 0, false, 0)

	fams := scrape(t, m)
	got := actionsOf(fams, "kwhisk_activation_duration_seconds")
	want := []string{OtherActions, "/whisk.system/utils/echo", "one", "pkg/two"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("action labels (-want, +got):\n%s", diff)
	}
	total := 0.0
	for _, s := range fams["kwhisk_activations_total"].GetMetric() {
		total += s.GetCounter().GetValue()
	}
	if total != 7 {
		t.Errorf("activations counted %v, want 7", total)
	}
}

// TestActivationAllocatesNothing: once an action's series exist,
// recording one of its activations allocates nothing (the invoke path).
func TestActivationAllocatesNothing(t *testing.T) {
	m := New(Options{NoRuntime: true})
	a := action("guest", "hello")
	m.Activation("guest", a, "nodejs:20", whisk.StatusSuccess, time.Millisecond, time.Millisecond, true, time.Millisecond)
	allocs := testing.AllocsPerRun(1000, func() {
		m.Activation("guest", a, "nodejs:20", whisk.StatusSuccess, 3*time.Millisecond, time.Millisecond, true, 2*time.Millisecond)
	})
	if allocs != 0 {
		t.Errorf("Activation allocates %v times per call, want 0", allocs)
	}
}

// TestActivationConcurrent: series made by concurrent first activations
// of many actions lose no count (run with -race).
func TestActivationConcurrent(t *testing.T) {
	m := New(Options{MaxActionsPerNamespace: 20, NoRuntime: true})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				m.Activation("guest", action("guest", "a"+strconv.Itoa((g*7+i)%30)), "nodejs:20", whisk.StatusSuccess, time.Millisecond, 0, false, 0)
			}
		})
	}
	wg.Wait()
	fams := scrape(t, m)
	total, series := 0.0, 0
	for _, s := range fams["kwhisk_activations_total"].GetMetric() {
		total += s.GetCounter().GetValue()
		series++
	}
	if total != 8*200 {
		t.Errorf("activations counted %v, want %d", total, 8*200)
	}
	if got := len(actionsOf(fams, "kwhisk_activation_duration_seconds")); got != 21 {
		t.Errorf("%d action series, want the bound (20) and %s", got, OtherActions)
	}
}

func BenchmarkActivation(b *testing.B) {
	m := New(Options{NoRuntime: true})
	a := action("guest", "hello")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Activation("guest", a, "nodejs:20", whisk.StatusSuccess, 3*time.Millisecond, time.Millisecond, false, 0)
		}
	})
}

// TestRegistriesApart: two gateways in one process keep their series.
func TestRegistriesApart(t *testing.T) {
	m1, m2 := New(Options{}), New(Options{})
	m1.BlockingAccepted("guest")
	if got := scrape(t, m2)["kwhisk_blocking_invokes_accepted_total"]; len(got.GetMetric()) != 0 {
		t.Errorf("a second registry sees the first one's series: %v", got)
	}
	if got := scrape(t, m1)["kwhisk_blocking_invokes_accepted_total"].GetMetric(); len(got) != 1 || got[0].GetCounter().GetValue() != 1 {
		t.Errorf("blocking accepted = %v", got)
	}
}

// TestPlatformGauges: the platforms' gauges are read at scrape time.
func TestPlatformGauges(t *testing.T) {
	m := New(Options{NoRuntime: true})
	n := 1
	m.WatchLocalInstances(func() LocalInstances { return LocalInstances{Running: n, Starting: 2, Idle: 3} })
	m.WatchKnativeServices(func() ServiceReadiness { return ServiceReadiness{Ready: 4, NotReady: 5, Unknown: n} })
	n = 7
	got := map[string]float64{}
	fams := scrape(t, m)
	for _, name := range []string{"kwhisk_local_instances", "kwhisk_knative_services"} {
		for _, s := range fams[name].GetMetric() {
			got[name+"/"+s.GetLabel()[0].GetValue()] = s.GetGauge().GetValue()
		}
	}
	want := map[string]float64{
		"kwhisk_local_instances/running": 7, "kwhisk_local_instances/starting": 2, "kwhisk_local_instances/idle": 3,
		"kwhisk_knative_services/true": 4, "kwhisk_knative_services/false": 5, "kwhisk_knative_services/unknown": 7,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("gauges (-want, +got):\n%s", diff)
	}
}

// TestNaming: every kwhisk series follows Prometheus' naming: the
// prefix, counters ending in _total, durations in seconds.
func TestNaming(t *testing.T) {
	m := New(Options{NoRuntime: true})
	m.Activation("guest", action("guest", "a"), "nodejs:20", whisk.StatusSuccess, time.Millisecond, 0, true, time.Millisecond)
	m.Throttled("guest", "invocations_per_minute")
	m.BlockingAccepted("guest")
	m.TriggerFired("guest")
	m.RuleActivation("guest", "invoked")
	m.CloudEventReceived()
	m.CloudEventDeduplicated()
	m.CloudEventRejected(whisk.KindUnauthorized)
	m.Commit(3, time.Millisecond, nil)
	m.WatchLocalInstances(func() LocalInstances { return LocalInstances{} })
	m.WatchKnativeServices(func() ServiceReadiness { return ServiceReadiness{} })
	name := regexp.MustCompile(`^kwhisk_[a-z_]+$`)
	for n, f := range scrape(t, m) {
		if strings.HasPrefix(n, "promhttp_") { // the handler's own
			continue
		}
		if !name.MatchString(n) {
			t.Errorf("%s: not kwhisk_<snake_case>", n)
		}
		isTotal := regexp.MustCompile(`_total$`).MatchString(n)
		if (f.GetType() == dto.MetricType_COUNTER) != isTotal {
			t.Errorf("%s: a %v; counters and only counters end in _total", n, f.GetType())
		}
		if regexp.MustCompile(`_(ms|milliseconds|seconds_total)$`).MatchString(n) {
			t.Errorf("%s: durations are in seconds", n)
		}
		if f.GetHelp() == "" {
			t.Errorf("%s has no help", n)
		}
	}
}

// TestDashboard: the Grafana dashboard shipped in config/optional is a
// ConfigMap for Grafana's sidecar holding valid dashboard JSON, and
// every kwhisk series its panels query exists.
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile("../../config/optional/grafana-dashboard.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Kind     string
		Metadata struct {
			Name   string
			Labels map[string]string
		}
		Data map[string]string
	}
	if err := yaml.Unmarshal(b, &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Kind != "ConfigMap" || cm.Metadata.Labels["grafana_dashboard"] != "1" || len(cm.Data) != 1 {
		t.Fatalf("want a ConfigMap labelled grafana_dashboard: \"1\" with one dashboard, got %+v", cm)
	}
	m := New(Options{NoRuntime: true})
	m.Activation("guest", action("guest", "a"), "nodejs:20", whisk.StatusSuccess, time.Millisecond, 0, true, time.Millisecond)
	m.Throttled("guest", "invocations_per_minute")
	m.BlockingAccepted("guest")
	m.TriggerFired("guest")
	m.RuleActivation("guest", "invoked")
	m.CloudEventReceived()
	m.CloudEventDeduplicated()
	m.CloudEventRejected(whisk.KindUnauthorized)
	m.Commit(3, time.Millisecond, nil)
	m.WatchLocalInstances(func() LocalInstances { return LocalInstances{} })
	m.WatchKnativeServices(func() ServiceReadiness { return ServiceReadiness{} })
	fams := scrape(t, m)
	exists := func(series string) bool {
		if fams[series] != nil {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(series, suffix); ok && fams[base] != nil && fams[base].GetType() == dto.MetricType_HISTOGRAM {
				return true
			}
		}
		return false
	}
	for file, text := range cm.Data {
		var dash struct {
			Title  string
			Panels []struct {
				Title   string
				Targets []struct{ Expr string }
			}
		}
		if err := json.Unmarshal([]byte(text), &dash); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if dash.Title == "" || len(dash.Panels) < 5 {
			t.Errorf("%s: title %q, %d panels", file, dash.Title, len(dash.Panels))
		}
		used := map[string]bool{}
		for _, p := range dash.Panels {
			for _, tg := range p.Targets {
				for _, s := range regexp.MustCompile(`kwhisk_[a-z_]+`).FindAllString(tg.Expr, -1) {
					used[s] = true
					if !exists(s) {
						t.Errorf("%s: panel %q queries %s, which kwhisk does not export", file, p.Title, s)
					}
				}
			}
		}
		for _, s := range []string{"kwhisk_activations_total", "kwhisk_activation_duration_seconds_bucket", "kwhisk_cold_starts_total", "kwhisk_throttled_requests_total"} {
			if !used[s] {
				t.Errorf("%s: no panel shows %s", file, s)
			}
		}
	}
}
