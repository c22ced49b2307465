package kubetest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	eventingclient "knative.dev/eventing/pkg/client/clientset/versioned"
)

// Rounds of BenchmarkKnativeEventing.
const (
	eventingWarm = 40
	eventingCold = 5
)

// BenchmarkKnativeEventing times a CloudEvent from the moment it is posted
// to a Broker's ingress to the start of the action its trigger's rule
// runs: through Knative Eventing's broker ingress, in-memory channel and
// broker filter, kwhisk's event ingress, the trigger's fire and the
// rule's invoke, to the runtime. Warm: the action's pod is up. Cold: its
// revision is at zero, and the start is the runtime's init. Times are
// the activation record's start (milliseconds) less the send.
func BenchmarkKnativeEventing(b *testing.B) {
	h := needEventing(b)
	if h.runtimes[benchKind] == "" {
		b.Skipf("no runtime main for %s (missing: %v)", benchKind, h.missing)
	}
	ec, err := eventingclient.NewForConfig(h.admin)
	if err != nil {
		b.Fatal(err)
	}
	quiet := rest.CopyConfig(h.admin)
	quiet.WarningHandler = rest.NoWarnings{}
	kube, err := kubernetes.NewForConfig(quiet)
	if err != nil {
		b.Fatal(err)
	}
	h.broker(b, ec, "bench")
	for i := 0; i < b.N; i++ {
		load := loadAverage()
		g := startGateway(b, h, b.TempDir(), "--invocations-per-minute", "1000000", "--concurrent-invocations", "100000",
			"--fires-per-minute", "1000000")
		g.putAction("ev-warm", benchKind, benchCode, onePod)
		g.putAction("ev-cold", benchKind, benchCode, nil)
		g.subscribed("ev-warm-events", "ev-warm", nil, map[string]any{"broker": "bench", "type": "dev.bench.warm"})
		g.subscribed("ev-cold-events", "ev-cold", nil, map[string]any{"broker": "bench", "type": "dev.bench.cold"})
		knativeTriggerReady(b, ec, "ev-warm-events")
		knativeTriggerReady(b, ec, "ev-cold-events")
		h.revisionReady(b, "ev-warm", "", 2*time.Minute)
		coldRev := h.revisionReady(b, "ev-cold", "", 2*time.Minute)

		// One uncounted event each: the first sight of a route is not
		// what is measured.
		eventToStart(b, g, "ev-warm", "dev.bench.warm", "warm-0", 1)
		eventToStart(b, g, "ev-cold", "dev.bench.cold", "cold-0", 1)
		var warm, cold durations
		for j := 1; j <= eventingWarm; j++ {
			warm = append(warm, eventToStart(b, g, "ev-warm", "dev.bench.warm", "warm-"+strconv.Itoa(j), j+1))
		}
		for j := 1; j <= eventingCold; j++ {
			waitZero(b, h, kube, coldRev)
			time.Sleep(time.Second) // the activator's informer learns of the change
			cold = append(cold, eventToStart(b, g, "ev-cold", "dev.bench.cold", "cold-"+strconv.Itoa(j), j+1))
		}

		w := os.Stdout
		fmt.Fprintf(w, "\nkwhisk with Knative Eventing benchmark (%s; load average %s → %s)\n", benchMachine(), load, loadAverage())
		fmt.Fprintf(w, "a CloudEvent posted to the Broker's ingress → the start of its rule's action (the activation record's start, ms resolution)\n")
		fmt.Fprintf(w, "Eventing's broker ingress, in-memory channel and filter, Serving's activator and queue-proxy as pods of the harness's pod runner\n\n")
		fmt.Fprintf(w, "  %s %9s %9s %9s\n", pad("", 60), "p50", "p99", "max")
		row := func(name string, d durations) {
			fmt.Fprintf(w, "  %s %7.0fms %7.0fms %7.0fms\n", pad(name, 60), ms(d.pct(0.5)), ms(d.pct(0.99)), ms(d.pct(1)))
		}
		row(fmt.Sprintf("warm, %s, %d events one after another", benchKind, eventingWarm), warm)
		row(fmt.Sprintf("cold (revision at zero; start = the init's), %d events", eventingCold), cold)
		fmt.Fprintln(w, strings.Repeat("-", 40))
		b.ReportMetric(ms(warm.pct(0.5)), "warm-p50-ms")
		b.ReportMetric(ms(warm.pct(0.99)), "warm-p99-ms")
		b.ReportMetric(ms(cold.pct(0.5)), "cold-p50-ms")
		b.ReportMetric(ms(cold.pct(1)), "cold-max-ms")
		g.stop()
	}
}

// eventToStart posts one event of type typ to the bench Broker and waits
// for action's n-th activation; it returns the time from the send to
// that activation's start.
func eventToStart(b *testing.B, g *gateway, action, typ, id string, n int) time.Duration {
	b.Helper()
	t0 := time.Now()
	if status, err := postEvent("bench", id, "/bench", typ, `{}`); err != nil || status != http.StatusAccepted {
		b.Fatalf("event %s: broker answered %d (%v)", id, status, err)
	}
	var start int64
	err := poll(context.Background(), 2*time.Minute, func() (bool, error) {
		var list []struct {
			Start int64 `json:"start"`
		}
		if status := g.call(http.MethodGet, "/api/v1/namespaces/_/activations?limit=1&name="+action, nil, &list); status != http.StatusOK {
			return false, fmt.Errorf("list activations: %d", status)
		}
		var count struct{ Activations int }
		g.call(http.MethodGet, "/api/v1/namespaces/_/activations?count=true&name="+action, nil, &count)
		if count.Activations < n || len(list) == 0 {
			return false, nil
		}
		start = list[0].Start
		return true, nil
	})
	if err != nil {
		b.Fatalf("event %s: no activation %d of %s: %v", id, n, action, err)
	}
	return time.UnixMilli(start).Sub(t0)
}
