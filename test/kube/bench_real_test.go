package kubetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kwhisk/kwhisk/pkg/runtime/wire"
)

// The real tier's sizes: smaller than BenchmarkKnative's, as Knative's
// components, the API server and the pods share the machine's cores.
const (
	servingWarmup = 100  // uncounted calls per path
	servingWarm   = 1000 // counted calls per path
	// servingCold is the number of rounds of cold starts: each round one
	// through the gateway and one straight to a tag URL, of two revisions
	// in turn, first one path then the other.
	servingCold = 8
)

// burstCapacityAnnotation is Knative's target-burst-capacity. At its
// default (200) a revision with containerConcurrency 1 keeps the
// activator in its path until it has 200 pods; at 0 the activator is in
// the path only while the revision has no pod.
const burstCapacityAnnotation = "autoscaling.knative.dev/target-burst-capacity"

const (
	servingWarmName = "bench-serve"
	queuePort       = "8012" // queue-proxy's and the activator's HTTP port
)

// servingColdNames are the two actions the cold starts alternate between.
var servingColdNames = [2]string{"bench-cold-0", "bench-cold-1"}

// BenchmarkKnativeServing measures the knative path on the real tier
// (issue 10): Knative Serving v0.42's own activator and queue-proxy, its
// autoscaler scaling to zero, the harness's test ingress standing in for
// the KIngress and kube-proxy; see doc.go.
//
// The gateway runs with target-burst-capacity 0 as its default revision
// annotation (--annotations), so a revision with a pod is served by the
// ingress straight to the pod's queue-proxy (Knative's "serve" mode), and
// by the activator only at zero.
//
//   - warm: a no-op nodejs action with min-scale and max-scale 1 (one pod,
//     all along), servingWarm calls per path after servingWarmup,
//     interleaved in rotating order: blocking invokes through the gateway's
//     HTTP API; POSTs of the same run body to the revision's tag URL
//     (through the test ingress, where the gateway sends it); to the pod's
//     queue-proxy directly; to the activator directly (the path at
//     Knative's default target-burst-capacity); GET /ping on the gateway.
//     The revision's public Endpoints are watched: the ingress must reach
//     the pod itself throughout, not the activator;
//   - cold: two no-op actions scaled to zero by the real autoscaler; in
//     each round, one is invoked through the gateway and the other gets a
//     POST of a run body to its tag URL, which Knative's activator holds
//     until a new pod is ready. The gateway's share of a cold start is the
//     difference of the two in the same round. Each is also split at the
//     runtime's own timestamps (its init's start, its run's end; whole
//     milliseconds): the part before the init holds the pod's start, whose
//     spread hides a few milliseconds; the part after the run's end holds
//     no start, so the gateway's share of it is resolved to about 1 ms.
func BenchmarkKnativeServing(b *testing.B) {
	h := needReal(b)
	if h.runtimes[benchKind] == "" {
		b.Skipf("no runtime main for %s (missing: %v)", benchKind, h.missing)
	}
	quiet := rest.CopyConfig(h.admin)
	quiet.WarningHandler = rest.NoWarnings{} // v1 Endpoints are deprecated, and what Knative v0.42 writes
	kube, err := kubernetes.NewForConfig(quiet)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		load := loadAverage()
		g := startGateway(b, h, b.TempDir(),
			"--invocations-per-minute", "1000000", "--concurrent-invocations", "100000",
			"--annotations", burstCapacityAnnotation+"=0")
		c := newBenchClient()
		c.readRunKey(b, h)
		warm := benchServingWarm(b, h, kube, g, c)
		loadWarm := loadAverage()
		cold, discarded := benchServingCold(b, h, kube, g, c)
		c.deleteActions(b, h, g, servingWarmName, servingColdNames[0], servingColdNames[1])

		w := os.Stdout
		fmt.Fprintf(w, "\nkwhisk on Knative Serving benchmark (%s; load average %s → %s after the warm calls → %s)\n", benchMachine(), load, loadWarm, loadAverage())
		fmt.Fprintf(w, "Knative Serving's own activator, queue-proxy and autoscaler as pods of the harness's pod runner, the test ingress for the KIngress; all on this machine\n")

		const col = 74
		head := func(title string, cols ...string) {
			fmt.Fprintf(w, "\n%s", pad(title, col+2))
			for _, c := range cols {
				fmt.Fprintf(w, " %9s", c)
			}
			fmt.Fprintln(w)
		}
		usRow := func(name string, p50, p99 time.Duration, note string) {
			fmt.Fprintf(w, "  %s %7.0fµs %7.0fµs%s\n", pad(name, col), us(p50), us(p99), note)
		}
		msRow := func(name string, d durations, note string) {
			fmt.Fprintf(w, "  %s %9.2f %9.2f %9.2f%s\n", pad(name, col), ms(d.pct(0.5)), ms(d.pct(1)), ms(d.pct(0)), note)
		}
		target := func(got, want time.Duration) string {
			return fmt.Sprintf("  (target p50 ≤%v: %s)", want, benchVerdict(got, want))
		}
		diff := func(a, b durations) (time.Duration, time.Duration) {
			return a.pct(0.5) - b.pct(0.5), a.pct(0.99) - b.pct(0.99)
		}

		head(fmt.Sprintf("warm blocking invoke, %s no-op, %d calls per path, interleaved", benchKind, servingWarm), "p50", "p99")
		usRow("through the gateway (API → gateway → test ingress → queue-proxy → runtime)", warm.gateway.pct(0.5), warm.gateway.pct(0.99), "")
		usRow("POST /run to the tag URL (test ingress → queue-proxy → runtime)", warm.ingress.pct(0.5), warm.ingress.pct(0.99), "")
		usRow("POST /run to the pod's queue-proxy directly", warm.queue.pct(0.5), warm.queue.pct(0.99), "")
		usRow("POST /run to the activator directly (→ queue-proxy → runtime)", warm.activator.pct(0.5), warm.activator.pct(0.99), "")
		usRow("GET /ping on the gateway (an HTTP exchange between processes)", warm.ping.pct(0.5), warm.ping.pct(0.99), "")
		over50, over99 := diff(warm.gateway, warm.queue)
		usRow("gateway's added latency (gateway − queue-proxy)", over50, over99, target(over50, warmOverheadTarget))
		own50, own99 := diff(warm.gateway, warm.ingress)
		usRow("  of which kwhisk's own (gateway − tag URL)", own50, own99, "")
		ing50, ing99 := diff(warm.ingress, warm.queue)
		usRow("  of which the test ingress's hop (tag URL − queue-proxy)", ing50, ing99, "")
		work := own50 - warm.ping.pct(0.5)
		fmt.Fprintf(w, "  %s %7.0fµs\n", pad("  kwhisk's own less one exchange (− /ping), p50: the gateway's work", col), us(work))
		act50, act99 := diff(warm.activator, warm.queue)
		usRow("the activator's hop (activator − queue-proxy)", act50, act99, "")
		fmt.Fprintf(w, "  the ingress reached %s (pod %s) throughout: %v (%d Endpoints events without it)\n",
			warm.podIP, warm.pod, warm.notServing == 0, warm.notServing)

		head(fmt.Sprintf("cold start of a revision the autoscaler scaled to zero, %s, %d rounds (ms)", benchKind, servingCold), "p50", "max", "min")
		f := cold.field
		gw := f(func(s servingColdSample) time.Duration { return s.gateway.total })
		direct := f(func(s servingColdSample) time.Duration { return s.direct.total })
		split := func(p func(servingColdSample) coldSplit) {
			msRow("  send → the runtime's init began (hops, the pod's start)", f(func(s servingColdSample) time.Duration { return p(s).toInit }), "")
			msRow("  the runtime's init and run (its own timestamps)", f(func(s servingColdSample) time.Duration { return p(s).runtime }), "")
			msRow("    of which its initTime", f(func(s servingColdSample) time.Duration { return p(s).init }), "")
			msRow("  the runtime's end → the answer read", f(func(s servingColdSample) time.Duration { return p(s).fromEnd }), "")
		}
		msRow("invoke through the gateway (→ test ingress → activator → new pod)", gw, "")
		split(func(s servingColdSample) coldSplit { return s.gateway })
		msRow("POST /run to the tag URL (test ingress → activator → new pod)", direct, "")
		split(func(s servingColdSample) coldSplit { return s.direct })
		added := f(func(s servingColdSample) time.Duration { return s.gateway.total - s.direct.total })
		// The tag URL's own cold starts spread over more than the target:
		// then a difference of cold starts does not resolve it.
		spread := direct.pct(1) - direct.pct(0)
		verdict := target(added.pct(0.5), coldAddedTarget)
		if spread > coldAddedTarget {
			verdict = fmt.Sprintf("  (target p50 ≤%v: not resolved, the tag URL's cold starts alone spread over %.0f ms)", coldAddedTarget, ms(spread))
		}
		msRow("gateway's share (gateway − tag URL, same round)", added, verdict)
		fmt.Fprintf(w, "  %s %9.2f\n", pad("  difference of the medians", col), ms(gw.pct(0.5)-direct.pct(0.5)))
		before := f(func(s servingColdSample) time.Duration { return s.gateway.toInit - s.direct.toInit })
		msRow("  its part before the init (send → init, gateway − tag URL)", before, "")
		tail := f(func(s servingColdSample) time.Duration { return s.gateway.fromEnd - s.direct.fromEnd })
		msRow("  its part after the runtime's end (end → answer, gateway − tag URL)", tail, "")
		fmt.Fprintf(w, "  rounds done again because a call was served warm (by a pod being deleted): %d\n", discarded)
		for j, s := range cold {
			first := "gateway first"
			if !s.gatewayFirst {
				first = "tag URL first"
			}
			fmt.Fprintf(w, "  round %d: gateway %s %.1f ms (init %.0f), tag URL %s %.1f ms (init %.0f), %s\n", j+1,
				s.gatewayAction, ms(s.gateway.total), ms(s.gateway.init), s.directAction, ms(s.direct.total), ms(s.direct.init), first)
		}
		fmt.Fprintln(w, strings.Repeat("-", 40))

		b.ReportMetric(us(over50), "warm-overhead-p50-µs")
		b.ReportMetric(us(over99), "warm-overhead-p99-µs")
		b.ReportMetric(us(own50), "warm-kwhisk-p50-µs")
		b.ReportMetric(us(ing50), "warm-ingress-hop-p50-µs")
		b.ReportMetric(us(act50), "warm-activator-hop-p50-µs")
		b.ReportMetric(us(work), "warm-gateway-work-p50-µs")
		b.ReportMetric(ms(gw.pct(0.5)), "cold-gateway-p50-ms")
		b.ReportMetric(ms(direct.pct(0.5)), "cold-direct-p50-ms")
		b.ReportMetric(ms(added.pct(0.5)), "cold-added-p50-ms")
		b.ReportMetric(ms(tail.pct(0.5)), "cold-added-after-end-p50-ms")
		g.stop()
	}
}

type servingWarmResult struct {
	rev, pod, podIP                          string
	gateway, ingress, queue, activator, ping durations
	// notServing counts the watch events of the revision's public
	// Endpoints that did not hold the pod's address alone: the ingress
	// would then have gone through the activator.
	notServing int64
}

// revisionPod returns the one running pod of rev and its address.
func revisionPod(b testing.TB, kube kubernetes.Interface, rev string) (string, string) {
	b.Helper()
	pods, err := kube.CoreV1().Pods(actionsNamespace).List(context.Background(), metav1.ListOptions{LabelSelector: "serving.knative.dev/revision=" + rev})
	if err != nil {
		b.Fatal(err)
	}
	var running []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
			running = append(running, p)
		}
	}
	if len(running) != 1 {
		b.Fatalf("revision %s has %d running pods; want the one of min-scale and max-scale 1", rev, len(running))
	}
	return running[0].Name, running[0].Status.PodIP
}

// activatorIP is the address of the activator's pod.
func activatorIP(b *testing.B, kube kubernetes.Interface) string {
	b.Helper()
	pods, err := kube.CoreV1().Pods(servingNamespace).List(context.Background(), metav1.ListOptions{LabelSelector: "app=activator"})
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
			return p.Status.PodIP
		}
	}
	b.Fatal("no running activator pod")
	return ""
}

// endpointIPs are the addresses of an Endpoints object.
func endpointIPs(ep *corev1.Endpoints) []string {
	var ips []string
	for _, s := range ep.Subsets {
		for _, a := range s.Addresses {
			ips = append(ips, a.IP)
		}
	}
	return ips
}

// onlyPod reports whether the Endpoints hold ip alone: Knative's serve
// mode, where the revision's public Service leads to its pod and not to
// the activator.
func onlyPod(ep *corev1.Endpoints, ip string) bool {
	ips := endpointIPs(ep)
	return len(ips) == 1 && ips[0] == ip
}

// benchServingWarm times warm calls of one revision with one pod, five
// ways, interleaved in rotating order.
func benchServingWarm(b *testing.B, h *harness, kube kubernetes.Interface, g *gateway, c *benchClient) servingWarmResult {
	const name = servingWarmName
	g.putAction(name, benchKind, benchCode, map[string]any{"annotations": []map[string]any{
		{"key": "autoscaling.knative.dev/min-scale", "value": "1"},
		{"key": "autoscaling.knative.dev/max-scale", "value": "1"},
	}})
	h.revisionReady(b, name, "", 2*time.Minute)
	if _, _, err := c.invoke(g, name, true); err != nil {
		b.Fatal(err)
	}
	rev, tag := revisionRoute(b, h, name)
	pod, ip := revisionPod(b, kube, rev)
	res := servingWarmResult{rev: rev, pod: pod, podIP: ip}

	// The revision is in serve mode once its public Endpoints are the pod's.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var last []string
	err := poll(ctx, time.Minute, func() (bool, error) {
		ep, err := kube.CoreV1().Endpoints(actionsNamespace).Get(ctx, rev, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = endpointIPs(ep)
		return onlyPod(ep, ip), nil
	})
	if err != nil {
		b.Fatalf("the public Endpoints of %s are %v, not its pod %s alone: not in serve mode with %s 0", rev, last, ip, burstCapacityAnnotation)
	}
	wt, err := kube.CoreV1().Endpoints(actionsNamespace).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + rev})
	if err != nil {
		b.Fatal(err)
	}
	var notServing atomic.Int64
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for ev := range wt.ResultChan() {
			if ep, ok := ev.Object.(*corev1.Endpoints); ok && !onlyPod(ep, ip) {
				notServing.Add(1)
			}
		}
	}()

	runTo := func(url string, header http.Header) func() (time.Duration, error) {
		return func() (time.Duration, error) {
			d, status, out, err := c.run(url, name, header)
			if err == nil {
				err = checkRun(status, out)
			}
			return d, err
		}
	}
	paths := []struct {
		out *durations
		do  func() (time.Duration, error)
	}{
		{&res.gateway, func() (time.Duration, error) { d, _, err := c.invoke(g, name, false); return d, err }},
		{&res.ingress, runTo(tag, nil)},
		{&res.queue, runTo("http://"+net.JoinHostPort(ip, queuePort), nil)},
		// The activator finds the revision by these headers, which the
		// ingress adds on the way from a tag URL.
		{&res.activator, runTo("http://"+net.JoinHostPort(activatorIP(b, kube), queuePort), http.Header{
			"Knative-Serving-Namespace": {actionsNamespace}, "Knative-Serving-Revision": {rev}})},
		{&res.ping, c.ping(g)},
	}
	for i := 0; i < servingWarmup+servingWarm; i++ {
		for j := range paths {
			p := paths[(i+j)%len(paths)]
			d, err := p.do()
			if err != nil {
				b.Fatal(err)
			}
			if i >= servingWarmup {
				*p.out = append(*p.out, d)
			}
		}
	}
	cancel()
	<-watched
	res.notServing = notServing.Load()
	if now, nowIP := revisionPod(b, kube, rev); now != pod || nowIP != ip {
		b.Fatalf("the pod of %s changed during the warm calls (%s %s → %s %s)", rev, pod, ip, now, nowIP)
	}
	return res
}

// coldSplit is one cold start's latency split at the runtime's own
// timestamps (milliseconds, on the machine's one clock): from sending to
// the start of the runtime's init (the hops on the way, and the pod's
// start while the activator holds the request), the runtime's init and
// run, and from the runtime's end to the answer read.
type coldSplit struct {
	total, toInit, runtime, fromEnd, init time.Duration
}

// splitCold splits a cold call sent at t0 and answered d later by a
// runtime whose init began at initStart and whose run ended at end
// (Unix milliseconds).
func splitCold(t0 time.Time, d time.Duration, initStart, end int64, init time.Duration) coldSplit {
	s, e := time.UnixMilli(initStart), time.UnixMilli(end)
	return coldSplit{total: d, toInit: s.Sub(t0), runtime: e.Sub(s), fromEnd: t0.Add(d).Sub(e), init: init}
}

type servingColdSample struct {
	gateway, direct             coldSplit // the two cold starts of a round
	gatewayAction, directAction string
	gatewayFirst                bool
}

type servingColdSamples []servingColdSample

func (c servingColdSamples) field(f func(servingColdSample) time.Duration) durations {
	var d durations
	for _, s := range c {
		d = append(d, f(s))
	}
	return d
}

// waitZero waits until the real autoscaler has scaled rev to zero and
// the revision's private Endpoints, by which the activator finds its
// pods, hold none: a pod being deleted serves what reaches it while its
// queue-proxy drains, and the activator sends it requests until it
// learns the pod is gone.
func waitZero(b *testing.B, h *harness, kube kubernetes.Interface, rev string) {
	b.Helper()
	err := poll(context.Background(), 3*time.Minute, func() (bool, error) {
		if h.revisionPods(b, rev) != 0 {
			return false, nil
		}
		ep, err := kube.CoreV1().Endpoints(actionsNamespace).Get(context.Background(), rev+"-private", metav1.GetOptions{})
		return err == nil && len(endpointIPs(ep)) == 0, nil
	})
	if err != nil {
		b.Fatalf("revision %s not scaled to zero: %v", rev, err)
	}
}

// benchServingCold times cold starts of two revisions at zero, through
// the gateway and straight to their tag URLs, servingCold rounds. Each
// revision is started from zero once, uncounted, first: the activator's
// and the autoscaler's first sight of a revision is not what is measured.
// A round in which a call was served warm is done again; it returns how
// many were.
func benchServingCold(b *testing.B, h *harness, kube kubernetes.Interface, g *gateway, c *benchClient) (servingColdSamples, int) {
	var revs, tags [2]string
	for _, name := range servingColdNames {
		c.putAction(b, g, name)
	}
	for j, name := range servingColdNames {
		h.revisionReady(b, name, "", 2*time.Minute)
		revs[j], tags[j] = revisionRoute(b, h, name)
	}
	for _, name := range servingColdNames {
		if _, _, err := c.invoke(g, name, true); err != nil {
			b.Fatal(err)
		}
	}
	var out servingColdSamples
	discarded := 0
	for i := 0; i < servingCold; i++ {
		waitZero(b, h, kube, revs[0])
		waitZero(b, h, kube, revs[1])
		// The activator's informer learns of the Endpoints' change.
		time.Sleep(time.Second)
		gw := (i / 2) % 2 // the revision invoked through the gateway
		s := servingColdSample{gatewayAction: servingColdNames[gw], directAction: servingColdNames[1-gw], gatewayFirst: i%2 == 0}
		viaGateway := func() error {
			t0 := time.Now()
			d, init, out, err := c.invokeRecord(g, servingColdNames[gw], true)
			if err != nil {
				return err
			}
			// The record's start is the runtime's init start, its end the
			// run's end, as the runtime reported them.
			var rec struct{ Start, End int64 }
			if err := json.Unmarshal(out, &rec); err != nil {
				return err
			}
			s.gateway = splitCold(t0, d, rec.Start, rec.End, init)
			return nil
		}
		direct := func() error {
			t0 := time.Now()
			d, status, body, err := c.run(tags[1-gw], servingColdNames[1-gw], nil)
			if err != nil {
				return fmt.Errorf("cold POST to %s: %w", tags[1-gw], err)
			}
			init, err := checkRunCold(status, body, true)
			if err != nil {
				return fmt.Errorf("cold POST to %s: %w", tags[1-gw], err)
			}
			// The runtime's start is its run's, after the init.
			var run wire.RunResponse
			if err := json.Unmarshal(body, &run); err != nil {
				return err
			}
			s.direct = splitCold(t0, d, run.Start-init.Milliseconds(), run.End, init)
			return nil
		}
		calls := []func() error{viaGateway, direct}
		if !s.gatewayFirst {
			calls[0], calls[1] = direct, viaGateway
		}
		var errs []error
		for _, call := range calls {
			errs = append(errs, call())
		}
		if err := errors.Join(errs...); err != nil {
			// A pod the activator still knew of served a call warm: the
			// round is done again.
			if errors.Is(err, errColdness) && discarded < servingCold {
				b.Logf("round %d again: %v", i+1, err)
				discarded++
				i--
				continue
			}
			b.Fatal(err)
		}
		out = append(out, s)
	}
	return out, discarded
}
