package kubetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/kwhisk/kwhisk/pkg/auth"
	"github.com/kwhisk/kwhisk/pkg/platform/knative"
	"github.com/kwhisk/kwhisk/pkg/runtime/runauth"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Issue 5's targets for the knative path: what the gateway adds to a warm
// call (p50, against the runtime main's /run driven directly) and to a
// cold start (p50).
const (
	warmOverheadTarget = 150 * time.Microsecond
	coldAddedTarget    = 5 * time.Millisecond
)

const (
	benchKind   = "nodejs:20"
	benchCode   = "function main(params) { return params }"
	benchInput  = `{"n":1}`
	benchWarmup = 200  // uncounted calls per path, to warm processes and connections
	benchWarm   = 2000 // counted calls per path
	benchCold   = 10   // creates, and starts from zero
)

// BenchmarkKnative measures the knative path through the harness (issue
// 5): a real API server, the gateway as its service account, and the fake
// Knative that runs each revision's runtime main as a local process.
//
//   - warm: blocking invokes of a no-op nodejs action through the gateway's
//     HTTP API against POSTs of the same run body to the revision's route
//     (the fake Knative's proxy, where the gateway sends it) and to the
//     runtime main's /run directly, interleaved with GET /ping on the
//     gateway (the cost of one HTTP exchange between processes, to tell
//     transport from the gateway's own work);
//   - create: PUT of a new action → its Service exists → Ready (as the fake
//     controller sets it, seen through a watch) → the first blocking
//     invoke, sent as soon as the PUT answered, answered;
//   - cold: an invoke of an existing revision scaled to zero, the request
//     held until a new process is ready (as Knative's activator holds it).
//
// What the gateway adds to a cold start is the invoke's latency less the
// revision's own time (request arrival to answer at the fake Knative), and
// on create also the time from Ready to the request's arrival.
func BenchmarkKnative(b *testing.B) {
	h := needFake(b)
	if h.runtimes[benchKind] == "" {
		b.Skipf("no runtime main for %s (missing: %v)", benchKind, h.missing)
	}
	for i := 0; i < b.N; i++ {
		load := loadAverage()
		g := startGateway(b, h, b.TempDir(),
			"--invocations-per-minute", "1000000", "--concurrent-invocations", "100000")
		c := newBenchClient()
		c.readRunKey(b, h)
		warm := benchWarmPath(b, h, g, c)
		creates := benchCreates(b, h, g, c)
		cold := benchColdStarts(b, h, g, c, warm.rev)
		names := []string{benchWarmName}
		for j := range creates {
			names = append(names, createName(j))
		}
		c.deleteActions(b, h, g, names...)

		w := os.Stdout
		fmt.Fprintf(w, "\nkwhisk knative path benchmark (%s; load average %s → %s)\n", benchMachine(), load, loadAverage())
		fmt.Fprintf(w, "revisions are local processes started by the harness's fake Knative, on this machine\n")

		const col = 70
		head := func(title string, cols ...string) {
			fmt.Fprintf(w, "\n%s", pad(title, col+2))
			for _, c := range cols {
				fmt.Fprintf(w, " %9s", c)
			}
			fmt.Fprintln(w)
		}
		usRow := func(name string, d durations) {
			fmt.Fprintf(w, "  %s %7.0fµs %7.0fµs\n", pad(name, col), us(d.pct(0.5)), us(d.pct(0.99)))
		}
		msRow := func(name string, d durations, note string) {
			fmt.Fprintf(w, "  %s %9.2f %9.2f %9.2f%s\n", pad(name, col), ms(d.pct(0.5)), ms(d.pct(1)), ms(d.pct(0)), note)
		}
		target := func(got, want time.Duration) string {
			return fmt.Sprintf("  (target p50 ≤%v: %s)", want, benchVerdict(got, want))
		}

		head(fmt.Sprintf("warm blocking invoke, %s no-op, %d calls per path, interleaved", benchKind, benchWarm), "p50", "p99")
		usRow("through the gateway (HTTP API, auth, record, revision route)", warm.gateway)
		usRow("POST /run to the revision's route (the fake Knative's proxy)", warm.route)
		usRow("POST /run to the runtime main directly", warm.direct)
		over := durations{warm.gateway.pct(0.5) - warm.direct.pct(0.5), warm.gateway.pct(0.99) - warm.direct.pct(0.99)}
		fmt.Fprintf(w, "  %s %7.0fµs %7.0fµs%s\n", pad("gateway overhead (gateway − runtime /run)", col), us(over[0]), us(over[1]), target(over[0], warmOverheadTarget))
		own := durations{warm.gateway.pct(0.5) - warm.route.pct(0.5), warm.gateway.pct(0.99) - warm.route.pct(0.99)}
		fmt.Fprintf(w, "  %s %7.0fµs %7.0fµs\n", pad("  of which kwhisk's own (gateway − revision route)", col), us(own[0]), us(own[1]))
		fmt.Fprintf(w, "  %s %7.0fµs %7.0fµs\n", pad("  of which the fake Knative's proxy hop (route − runtime /run)", col),
			us(warm.route.pct(0.5)-warm.direct.pct(0.5)), us(warm.route.pct(0.99)-warm.direct.pct(0.99)))
		usRow("per call, outside the revision's backend: through the gateway", warm.gatewayOutside)
		usRow("per call, outside the revision's backend: the route", warm.routeOutside)
		usRow("GET /ping on the gateway (an HTTP exchange between processes)", warm.ping)
		gwWork := warm.gatewayOutside.pct(0.5) - 2*warm.ping.pct(0.5)
		fmt.Fprintf(w, "  %s %7.0fµs\n", pad("  the gateway's own work, p50 (gateway outside − 2 × /ping)", col), us(gwWork))

		head(fmt.Sprintf("create → first invoke, %s, %d new actions (ms since the PUT was sent)", benchKind, benchCold), "p50", "max", "min")
		cf := creates.field
		msRow("PUT answered (action stored; the Service is written after)", cf(func(s createSample) time.Duration { return s.put }), "")
		msRow("Service exists (watch)", cf(func(s createSample) time.Duration { return s.exists }), "")
		msRow("Service Ready (the fake controller's status write answered)", cf(func(s createSample) time.Duration { return s.ready }), "")
		msRow("Service Ready (watch)", cf(func(s createSample) time.Duration { return s.readySeen }), "")
		msRow("/run arrived at the revision", cf(func(s createSample) time.Duration { return s.arrived }), "")
		msRow("runtime process ready (started, code loaded)", cf(func(s createSample) time.Duration { return s.procReady }), "")
		msRow("revision answered", cf(func(s createSample) time.Duration { return s.answered }), "")
		msRow("first invoke answered (create → first successful invoke)", cf(func(s createSample) time.Duration { return s.invoked }), "")
		msRow("  its initTime (runtime init, as recorded)", cf(func(s createSample) time.Duration { return s.initTime }), "")
		msRow("  Ready written → /run arrived (< 0: before the write's answer)", cf(func(s createSample) time.Duration { return s.arrived - s.ready }), "")
		msRow("  revision answered → invoke answered", cf(func(s createSample) time.Duration { return s.invoked - s.answered }), "")
		createAdded := cf(createSample.gatewayAdded)
		msRow("gateway's share after the PUT (the two above)", createAdded, target(createAdded.pct(0.5), coldAddedTarget))

		head(fmt.Sprintf("cold start of a revision scaled to zero, %s, %d starts (ms)", benchKind, benchCold), "p50", "max", "min")
		kf := cold.field
		msRow("invoke through the gateway", kf(func(s coldSample) time.Duration { return s.invoke }), "")
		msRow("the revision's time (/run arrived → answered)", kf(func(s coldSample) time.Duration { return s.revision }), "")
		msRow("  of which the process start (arrived → ready)", kf(func(s coldSample) time.Duration { return s.start }), "")
		msRow("  its initTime (runtime init, as recorded)", kf(func(s coldSample) time.Duration { return s.initTime }), "")
		coldAdded := kf(func(s coldSample) time.Duration { return s.invoke - s.revision })
		msRow("gateway added (invoke − revision's time)", coldAdded, target(coldAdded.pct(0.5), coldAddedTarget))
		fmt.Fprintln(w, strings.Repeat("-", 40))

		b.ReportMetric(us(over[0]), "warm-overhead-p50-µs")
		b.ReportMetric(us(over[1]), "warm-overhead-p99-µs")
		b.ReportMetric(us(own[0]), "warm-kwhisk-p50-µs")
		b.ReportMetric(us(gwWork), "warm-gateway-work-p50-µs")
		b.ReportMetric(ms(cf(func(s createSample) time.Duration { return s.ready }).pct(0.5)), "create-ready-p50-ms")
		b.ReportMetric(ms(cf(func(s createSample) time.Duration { return s.invoked }).pct(0.5)), "create-invoke-p50-ms")
		b.ReportMetric(ms(coldAdded.pct(0.5)), "cold-added-p50-ms")
		g.stop()
	}
}

type durations []time.Duration

// pct returns the p-quantile (0: min, 1: max), nearest rank below.
func (d durations) pct(p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append(durations(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(p*float64(len(s)-1))]
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// pad pads s with spaces to n runes.
func pad(s string, n int) string {
	return s + strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s)))
}

func benchVerdict(got, target time.Duration) string {
	if got <= target {
		return "ok"
	}
	return "MISSED"
}

// benchClient times POSTs over keep-alive connections, one pool per host.
type benchClient struct {
	http  *http.Client
	authz string
	// master is the gateway's run key (readRunKey): the benchmarks call
	// revisions directly, signed as the gateway signs.
	master []byte
}

// readRunKey reads the key the gateway signs run requests with from its
// Secret, which the gateway makes at start.
func (c *benchClient) readRunKey(b testing.TB, h *harness) {
	b.Helper()
	s, err := h.core.CoreV1().Secrets(actionsNamespace).Get(context.Background(), knative.RunKeysSecret, metav1.GetOptions{})
	if err != nil {
		b.Fatalf("the gateway's run keys: %v", err)
	}
	if c.master, err = hex.DecodeString(strings.Fields(string(s.Data[knative.RunKeysField]))[0]); err != nil {
		b.Fatal(err)
	}
}

// run POSTs a fresh activation of /guest/name to the revision at url,
// signed as the gateway signs it (readRunKey first), with more headers.
func (c *benchClient) run(url, name string, header http.Header) (time.Duration, int, []byte, error) {
	body := runBody(name)
	h := header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set(runauth.Header, runauth.Sign(runauth.Derive(c.master, "/guest/"+name), time.Now().Add(time.Minute), body))
	return c.sendHeader(http.MethodPost, url+"/run", body, false, h)
}

func newBenchClient() *benchClient {
	g := auth.WellKnown[0]
	return &benchClient{
		http:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: 3 * time.Minute},
		authz: "Basic " + base64.StdEncoding.EncodeToString([]byte(g.UUID+":"+g.Key)),
	}
}

// post sends body to url (as the guest when authz) and returns how long
// it took until the answer was read, its status and its body.
func (c *benchClient) post(url string, body []byte, authz bool) (time.Duration, int, []byte, error) {
	return c.send(http.MethodPost, url, body, authz)
}

// ping times GET /ping on the gateway: one HTTP exchange between
// processes, to tell transport from the gateway's own work.
func (c *benchClient) ping(g *gateway) func() (time.Duration, error) {
	return func() (time.Duration, error) {
		d, status, out, err := c.send(http.MethodGet, g.url+"/ping", nil, false)
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("GET /ping: %d %s", status, out)
		}
		return d, err
	}
}

func (c *benchClient) send(method, url string, body []byte, authz bool) (time.Duration, int, []byte, error) {
	return c.sendHeader(method, url, body, authz, nil)
}

// sendHeader is send with more request headers.
func (c *benchClient) sendHeader(method, url string, body []byte, authz bool, header http.Header) (time.Duration, int, []byte, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if authz {
		req.Header.Set("Authorization", c.authz)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, 0, nil, err
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return time.Since(start), resp.StatusCode, out, err
}

// putAction creates (or replaces) the no-op action name through the API.
func (c *benchClient) putAction(b *testing.B, g *gateway, name string) time.Duration {
	b.Helper()
	body, _ := json.Marshal(map[string]any{"exec": map[string]any{"kind": benchKind, "code": benchCode}})
	req, err := http.NewRequest(http.MethodPut, g.url+"/api/v1/namespaces/_/actions/"+name+"?overwrite=true", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", c.authz)
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		b.Fatalf("put %s: %v", name, err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("put %s: %d %s", name, resp.StatusCode, out)
	}
	return d
}

// invoke runs name through the gateway, blocking, and checks that it
// succeeded with the no-op's result and was cold (an initTime) or warm as
// wanted; it returns the latency and the record's initTime.
func (c *benchClient) invoke(g *gateway, name string, cold bool) (time.Duration, time.Duration, error) {
	d, init, _, err := c.invokeRecord(g, name, cold)
	return d, init, err
}

// invokeRecord is invoke that also returns the activation record as
// answered.
func (c *benchClient) invokeRecord(g *gateway, name string, cold bool) (time.Duration, time.Duration, []byte, error) {
	d, status, out, err := c.post(g.url+"/api/v1/namespaces/_/actions/"+name+"?blocking=true", []byte(benchInput), true)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("invoke %s: %w", name, err)
	}
	var rec activation
	if err := json.Unmarshal(out, &rec); err != nil || status != http.StatusOK {
		return 0, 0, nil, fmt.Errorf("invoke %s: status %d: %.300s", name, status, out)
	}
	if rec.Response.Status != "success" || string(rec.Response.Result) != benchInput {
		return 0, 0, nil, fmt.Errorf("invoke %s: response %q %s, want success %s", name, rec.Response.Status, rec.Response.Result, benchInput)
	}
	var init int64
	if raw := rec.Annotations.Get("initTime"); raw != nil {
		_ = json.Unmarshal(raw, &init)
	}
	if got := rec.Annotations.Has("initTime"); got != cold {
		return 0, 0, nil, fmt.Errorf("invoke %s: cold %v (annotations %s), want cold %v: %w", name, got, mustJSON(rec.Annotations), cold, errColdness)
	}
	return d, time.Duration(init) * time.Millisecond, out, nil
}

// errColdness is the error of a run that was warm when a cold one was
// wanted, or cold when a warm one was.
var errColdness = errors.New("not the start wanted")

// runBody is the body the gateway POSTs to a revision's /run
// (docs/runtime-protocol.md), for a fresh activation of /guest/name.
func runBody(name string) []byte {
	id := whisk.NewActivationID()
	b, _ := json.Marshal(map[string]any{
		"value": json.RawMessage(benchInput), "namespace": "guest", "action_name": "/guest/" + name,
		"action_version": whisk.DefaultVersion.String(), "activation_id": id, "transaction_id": "bench-" + string(id),
		"deadline": strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10),
	})
	return b
}

// checkRun checks a runtime's answer to a warm /run of the no-op.
func checkRun(status int, out []byte) error {
	_, err := checkRunCold(status, out, false)
	return err
}

// checkRunCold checks a runtime's answer to a /run of the no-op, cold (the
// runtime's first run, with an initTime) or warm as wanted, and returns
// its initTime.
func checkRunCold(status int, out []byte, cold bool) (time.Duration, error) {
	var res struct {
		Response struct {
			StatusCode int             `json:"statusCode"`
			Result     json.RawMessage `json:"result"`
		} `json:"response"`
		InitTime *int64 `json:"initTime"`
	}
	if err := json.Unmarshal(out, &res); err != nil || status != http.StatusOK {
		return 0, fmt.Errorf("/run: status %d: %.300s", status, out)
	}
	if res.Response.StatusCode != 0 || string(res.Response.Result) != benchInput {
		return 0, fmt.Errorf("/run answered %.300s; want a success with %s", out, benchInput)
	}
	if (res.InitTime != nil) != cold {
		return 0, fmt.Errorf("/run answered %.300s; want cold %v: %w", out, cold, errColdness)
	}
	if res.InitTime == nil {
		return 0, nil
	}
	return time.Duration(*res.InitTime) * time.Millisecond, nil
}

// revisionRoute returns the revision of the Service of /guest/name and
// the URL the Service routes that revision's tag to.
func revisionRoute(b testing.TB, h *harness, name string) (string, string) {
	b.Helper()
	svc, err := h.serving.ServingV1().Services(actionsNamespace).Get(context.Background(),
		knative.ServiceName(whisk.EntityPath{Namespace: "guest", Name: name}), metav1.GetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	rev := svc.Spec.Template.Name
	for _, t := range svc.Status.Traffic {
		if t.RevisionName == rev && t.Tag != "" && t.URL != nil {
			return rev, t.URL.String()
		}
	}
	b.Fatalf("Service %s routes no tag to its revision %s: %+v", svc.Name, rev, svc.Status.Traffic)
	return "", ""
}

type warmResult struct {
	rev                    string
	gateway, route, direct durations
	// Outside the revision's backend: each call's latency less the time
	// the fake Knative's backend spent on it (arrival to answer), for the
	// calls that go through it.
	gatewayOutside, routeOutside durations
	// ping is GET /ping on the gateway: one HTTP exchange between two
	// processes, next to no work.
	ping durations
}

// benchWarmPath times warm calls of one revision three ways, interleaved
// (each round in a rotating order) so that the host's load weighs on all
// alike.
func benchWarmPath(b *testing.B, h *harness, g *gateway, c *benchClient) warmResult {
	const name = benchWarmName
	c.putAction(b, g, name)
	if _, _, err := c.invoke(g, name, true); err != nil {
		b.Fatal(err)
	}
	rev, route := revisionRoute(b, h, name)
	proc, ok := h.knative.instanceURL(actionsNamespace, rev)
	if !ok {
		b.Fatalf("revision %s has no running process after an invoke", rev)
	}
	spans := make(chan span, 16)
	var overflow atomic.Int64 // spans that found the channel full: never expected
	stop := h.knative.observe(observer{served: func(s span) {
		if s.rev != rev {
			return
		}
		select {
		case spans <- s:
		default:
			overflow.Add(1)
		}
	}})
	defer stop()

	res := warmResult{rev: rev}
	runVia := func(url string) func() (time.Duration, error) {
		return func() (time.Duration, error) {
			d, status, out, err := c.run(url, name, nil)
			if err == nil {
				err = checkRun(status, out)
			}
			return d, err
		}
	}
	paths := []struct {
		out, outside *durations // outside: nil for the calls that bypass the backend
		do           func() (time.Duration, error)
	}{
		{&res.gateway, &res.gatewayOutside, func() (time.Duration, error) { d, _, err := c.invoke(g, name, false); return d, err }},
		{&res.route, &res.routeOutside, runVia(route)},
		{&res.direct, nil, runVia(proc.String())},
		{&res.ping, nil, c.ping(g)},
	}
	for i := 0; i < benchWarmup+benchWarm; i++ {
		for j := range paths {
			p := paths[(i+j)%len(paths)]
			d, err := p.do()
			if err != nil {
				b.Fatal(err)
			}
			var inside time.Duration
			if p.outside != nil {
				// The backend reports the call before its handler returns.
				select {
				case s := <-spans:
					inside = s.done.Sub(s.arrived)
				case <-time.After(30 * time.Second):
					b.Fatalf("the revision's backend never reported a call that went through it")
				}
			}
			if i >= benchWarmup {
				*p.out = append(*p.out, d)
				if p.outside != nil {
					*p.outside = append(*p.outside, d-inside)
				}
			}
		}
	}
	// Only the gateway's and the route's calls reached the backend.
	if n := int64(len(spans)) + overflow.Load(); n != 0 {
		b.Fatalf("the revision's backend served %d requests more than the gateway and route calls", n)
	}
	if now, ok := h.knative.instanceURL(actionsNamespace, rev); !ok || now.String() != proc.String() {
		b.Fatalf("the revision's process changed during the warm calls (%v → %v)", proc, now)
	}
	return res
}

// createSample is one create, in time since its PUT was sent.
type createSample struct {
	put, exists, ready, readySeen, arrived, procReady, answered, invoked time.Duration
	initTime                                                             time.Duration
}

// gatewayAdded is the gateway's part of the time from create to the first
// answer, after the PUT: from the API server's acceptance of the Service's
// Ready status (which the gateway learns through its watch) to the run
// request's arrival at the revision, and from the revision's answer to the
// invoke's.
func (s createSample) gatewayAdded() time.Duration {
	return (s.arrived - s.ready) + (s.invoked - s.answered)
}

type createSamples []createSample

// benchWarmName is the action of the warm calls and the starts from zero.
const benchWarmName = "bench-warm"

// createName is the action of the i-th create.
func createName(i int) string { return fmt.Sprintf("bench-create-%d", i) }

func (c createSamples) field(f func(createSample) time.Duration) durations {
	var d durations
	for _, s := range c {
		d = append(d, f(s))
	}
	return d
}

// serviceSeen is what a watch of one Service saw, on the test's clock.
type serviceSeen struct {
	exists, ready time.Time
	revision      string
	err           error
}

// watchService reports when the Service name first exists and when it is
// first Ready for its current generation.
func watchService(ctx context.Context, h *harness, name string) (<-chan serviceSeen, error) {
	w, err := h.serving.ServingV1().Services(actionsNamespace).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		return nil, err
	}
	out := make(chan serviceSeen, 1)
	go func() {
		defer w.Stop()
		var seen serviceSeen
		for ev := range w.ResultChan() {
			now := time.Now()
			svc, ok := ev.Object.(*servingv1.Service)
			if !ok {
				continue
			}
			if seen.exists.IsZero() {
				seen.exists = now
			}
			c := svc.Status.GetCondition(apis.ConditionReady)
			if svc.Status.ObservedGeneration == svc.Generation && c != nil && c.Status == corev1.ConditionTrue {
				seen.ready, seen.revision = now, svc.Status.LatestReadyRevisionName
				out <- seen
				return
			}
		}
		seen.err = fmt.Errorf("the watch of Service %s ended before it was Ready: %v", name, ctx.Err())
		out <- seen
	}()
	return out, nil
}

// benchCreates creates benchCold actions one after the other, each
// invoked as soon as its PUT answered. Deleting them is left for later:
// the fake Knative handles events one at a time, and would still be busy
// with a deletion when the next create comes.
func benchCreates(b *testing.B, h *harness, g *gateway, c *benchClient) createSamples {
	var mu sync.Mutex
	spans := map[string][]span{}
	readySet := map[string]time.Time{} // revision → when the fake first set it Ready
	stop := h.knative.observe(observer{
		served: func(s span) {
			mu.Lock()
			spans[s.rev] = append(spans[s.rev], s)
			mu.Unlock()
		},
		ready: func(_, rev string, at time.Time) {
			mu.Lock()
			if _, ok := readySet[rev]; !ok {
				readySet[rev] = at
			}
			mu.Unlock()
		},
	})
	defer stop()
	var out createSamples
	for i := 0; i < benchCold; i++ {
		name := createName(i)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		seen, err := watchService(ctx, h, knative.ServiceName(whisk.EntityPath{Namespace: "guest", Name: name}))
		if err != nil {
			cancel()
			b.Fatal(err)
		}
		t0 := time.Now()
		s := createSample{put: c.putAction(b, g, name)}
		d, init, err := c.invoke(g, name, true)
		if err != nil {
			cancel()
			b.Fatal(err)
		}
		s.invoked, s.initTime = s.put+d, init
		w := <-seen
		cancel()
		if w.err != nil {
			b.Fatal(w.err)
		}
		s.exists, s.readySeen = w.exists.Sub(t0), w.ready.Sub(t0)
		mu.Lock()
		got, set := spans[w.revision], readySet[w.revision]
		mu.Unlock()
		if len(got) != 1 {
			b.Fatalf("revision %s of %s served %d requests; want the one invoke", w.revision, name, len(got))
		}
		if set.IsZero() {
			b.Fatalf("revision %s of %s was seen Ready, but the fake Knative never set it Ready", w.revision, name)
		}
		s.ready = set.Sub(t0)
		s.arrived, s.procReady, s.answered = got[0].arrived.Sub(t0), got[0].ready.Sub(t0), got[0].done.Sub(t0)
		out = append(out, s)
	}
	return out
}

// deleteActions deletes the actions and waits until their Services are
// gone (and with them their processes), so the next measurement starts on
// a quiet cluster.
func (c *benchClient) deleteActions(b *testing.B, h *harness, g *gateway, names ...string) {
	b.Helper()
	for _, name := range names {
		req, _ := http.NewRequest(http.MethodDelete, g.url+"/api/v1/namespaces/_/actions/"+name, nil)
		req.Header.Set("Authorization", c.authz)
		resp, err := c.http.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("delete %s: %d", name, resp.StatusCode)
		}
	}
	for _, name := range names {
		h.service(b, name, nil)
	}
}

type coldSample struct{ invoke, revision, start, initTime time.Duration }

type coldSamples []coldSample

func (c coldSamples) field(f func(coldSample) time.Duration) durations {
	var d durations
	for _, s := range c {
		d = append(d, f(s))
	}
	return d
}

// benchColdStarts scales the warm action's revision to zero and invokes
// it, benchCold times: each invoke waits at the fake Knative for a new
// process, as Knative's activator holds a request to a revision with no
// pod.
func benchColdStarts(b *testing.B, h *harness, g *gateway, c *benchClient, rev string) coldSamples {
	var mu sync.Mutex
	var spans []span
	stop := h.knative.observe(observer{served: func(s span) {
		if s.rev == rev {
			mu.Lock()
			spans = append(spans, s)
			mu.Unlock()
		}
	}})
	defer stop()
	var out coldSamples
	for i := 0; i < benchCold; i++ {
		if !h.knative.scaleToZero(actionsNamespace, rev) {
			b.Fatalf("revision %s had no process to stop", rev)
		}
		d, init, err := c.invoke(g, benchWarmName, true)
		if err != nil {
			b.Fatal(err)
		}
		mu.Lock()
		got := spans
		spans = nil
		mu.Unlock()
		if len(got) != 1 {
			b.Fatalf("revision %s served %d requests for one invoke", rev, len(got))
		}
		out = append(out, coldSample{invoke: d, revision: got[0].done.Sub(got[0].arrived), start: got[0].ready.Sub(got[0].arrived), initTime: init})
	}
	return out
}

// benchMachine describes the host: CPU model and count, OS and Go.
func benchMachine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d CPUs, %s/%s, %s", cpu, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// loadAverage is the 1-minute load average, or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}
