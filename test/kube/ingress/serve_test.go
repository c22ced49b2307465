package ingress

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	netfake "knative.dev/networking/pkg/client/clientset/versioned/fake"
	"knative.dev/pkg/apis"
)

// echo is a backend that answers with what it saw, one "key: value" a
// line, so a test can check Host, headers, protocol and body.
func echo(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "backend: %s\nhost: %s\nproto: %d\nbody: %s\n", name, r.Host, r.ProtoMajor, b)
		for _, k := range []string{"Which", "Pre", "Bogus", "X-Forwarded-For", "K-Network-Probe"} {
			fmt.Fprintf(w, "%s: %s\n", strings.ToLower(k), r.Header.Get(k))
		}
	}
}

// upgrader is a backend that switches protocols on "Upgrade: websocket"
// and then echoes bytes upper-cased, as a websocket peer would answer
// frames over the hijacked connection.
func upgrader(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "want an upgrade", http.StatusBadRequest)
		return
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprint(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	rw.Flush()
	line, err := rw.ReadString('\n')
	if err != nil {
		return
	}
	fmt.Fprint(rw, strings.ToUpper(line))
	rw.Flush()
}

func fields(t *testing.T, body string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(body), "\n") {
		k, v, _ := strings.Cut(l, ": ")
		m[k] = strings.TrimSpace(v)
	}
	return m
}

// hostPort splits a listener's address for Services and Endpoints.
func hostPort(t *testing.T, addr string) (string, int32) {
	t.Helper()
	h, p, err := net.SplitHostPort(strings.TrimPrefix(addr, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, int32(n)
}

// selectorless is a Service whose Endpoints are the given addresses on
// one port named name, the way a test registers a backend by hand.
func selectorless(ns, name, portName string, port int32, addrs ...string) (*corev1.Service, *corev1.Endpoints) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: portName, Port: port, Protocol: corev1.ProtocolTCP}}},
	}
	eps := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, a := range addrs {
		h, p, _ := net.SplitHostPort(a)
		n, _ := strconv.Atoi(p)
		eps.Subsets = append(eps.Subsets, corev1.EndpointSubset{
			Addresses: []corev1.EndpointAddress{{IP: h}},
			Ports:     []corev1.EndpointPort{{Name: portName, Port: int32(n), Protocol: corev1.ProtocolTCP}},
		})
	}
	return svc, eps
}

type fakeEnv struct {
	in   *Ingress
	kube *kubefake.Clientset
	net  *netfake.Clientset
	// web is the first listener (the ":80" of the lab), extra the second
	// (a Service port such as the autoscaler's 8080).
	web, extra string
}

// startFake starts an ingress on two loopback listeners over fake
// clientsets holding objs, which build(webPort, extraPort) returns once
// the ports are known.
func startFake(t *testing.T, build func(web, extra int32) []any) *fakeEnv {
	t.Helper()
	// Reserve the two ports first so the objects can name them.
	l1, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	web, extra := l1.Addr().String(), l2.Addr().String()
	l1.Close()
	l2.Close()
	_, wp := hostPort(t, web)
	_, ep := hostPort(t, extra)
	kube, nc := kubefake.NewSimpleClientset(), netfake.NewSimpleClientset()
	for _, o := range build(wp, ep) {
		var err error
		switch o := o.(type) {
		case *corev1.Service:
			_, err = kube.CoreV1().Services(o.Namespace).Create(context.Background(), o, metav1.CreateOptions{})
		case *corev1.Endpoints:
			_, err = kube.CoreV1().Endpoints(o.Namespace).Create(context.Background(), o, metav1.CreateOptions{})
		case *v1alpha1.Ingress:
			_, err = nc.NetworkingV1alpha1().Ingresses(o.Namespace).Create(context.Background(), o, metav1.CreateOptions{})
		default:
			t.Fatalf("unexpected %T", o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	in, err := Start(ctx, Config{
		Kube: kube, Networking: nc,
		Listen:      []string{web, extra},
		RetryWithin: time.Second,
		Log:         testLogger(t),
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-in.Done():
		case <-time.After(10 * time.Second):
			t.Error("ingress did not stop")
		}
	})
	return &fakeEnv{in: in, kube: kube, net: nc, web: in.Addrs()[0].String(), extra: in.Addrs()[1].String()}
}

// testLogger logs to the test; the ingress stops before the test ends.
func testLogger(t *testing.T) *log.Logger { return log.New(testWriter{t}, "", 0) }

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// get sends a request with host to the ingress address addr.
func get(t *testing.T, addr, host, path string, hdr http.Header) (int, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	req.Host = host
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, fields(t, string(b))
}

func TestServeRulesAndServiceHosts(t *testing.T) {
	foo := httptest.NewServer(echo("foo"))
	defer foo.Close()
	bar := httptest.NewServer(echo("bar"))
	defer bar.Close()
	scaler := httptest.NewServer(echo("autoscaler"))
	defer scaler.Close()

	env := startFake(t, func(web, extra int32) []any {
		fooSvc, fooEps := selectorless("ns", "foo", "http", 80, foo.Listener.Addr().String())
		barSvc, barEps := selectorless("ns", "bar", "http", 80, bar.Listener.Addr().String())
		// The autoscaler's Service port is the second listener's port,
		// as 8080 is in the lab; its pod listens elsewhere.
		asSvc, asEps := selectorless("knative-serving", "autoscaler", "http", extra, scaler.Listener.Addr().String())
		ing := kingress("ns", "r", Class,
			rule(v1alpha1.IngressVisibilityExternalIP, []string{"r.ns.example.com"},
				v1alpha1.HTTPIngressPath{
					Path:          "/bar",
					AppendHeaders: map[string]string{"Pre": "path"},
					Splits:        []v1alpha1.IngressBackendSplit{split("ns", "bar", intstr.FromInt(80), 100, map[string]string{"Which": "bar"})},
				},
				v1alpha1.HTTPIngressPath{
					Splits: []v1alpha1.IngressBackendSplit{split("ns", "foo", intstr.FromString("http"), 100, map[string]string{"Which": "foo"})},
				}))
		ing.Generation = 3
		return []any{fooSvc, fooEps, barSvc, barEps, asSvc, asEps, ing}
	})

	// The Ingress is marked Ready for its generation, with both load
	// balancers at the listeners' IP.
	var ing *v1alpha1.Ingress
	waitFor(t, 5*time.Second, func() bool {
		var err error
		ing, err = env.net.NetworkingV1alpha1().Ingresses("ns").Get(context.Background(), "r", metav1.GetOptions{})
		return err == nil && ing.IsReady()
	})
	if ing.Status.ObservedGeneration != 3 {
		t.Errorf("observedGeneration = %d, want 3", ing.Status.ObservedGeneration)
	}
	for _, c := range []apis.ConditionType{v1alpha1.IngressConditionReady, v1alpha1.IngressConditionNetworkConfigured, v1alpha1.IngressConditionLoadBalancerReady} {
		if cond := ing.Status.GetCondition(c); !cond.IsTrue() {
			t.Errorf("%s = %+v", c, cond)
		}
	}
	want := &v1alpha1.LoadBalancerStatus{Ingress: []v1alpha1.LoadBalancerIngressStatus{{IP: "127.0.0.1"}}}
	if fmt.Sprint(ing.Status.PrivateLoadBalancer) != fmt.Sprint(want) || fmt.Sprint(ing.Status.PublicLoadBalancer) != fmt.Sprint(want) {
		t.Errorf("load balancers = %+v / %+v, want %+v", ing.Status.PublicLoadBalancer, ing.Status.PrivateLoadBalancer, want)
	}

	// By Host and path, with the path's and the split's headers, which
	// replace what the client sent.
	code, got := get(t, env.web, "r.ns.example.com:80", "/bar/x", http.Header{"Which": {"bogus"}, "K-Network-Probe": {"activator"}})
	if code != 200 || got["backend"] != "bar" || got["which"] != "bar" || got["pre"] != "path" || got["k-network-probe"] != "activator" {
		t.Errorf("/bar/x: %d %v", code, got)
	}
	if got["x-forwarded-for"] != "127.0.0.1" || got["host"] != "r.ns.example.com:80" {
		t.Errorf("/bar/x: X-Forwarded-For %q, Host %q", got["x-forwarded-for"], got["host"])
	}
	code, got = get(t, env.web, "r.ns.example.com", "/", nil)
	if code != 200 || got["backend"] != "foo" || got["which"] != "foo" || got["pre"] != "" {
		t.Errorf("/: %d %v", code, got)
	}
	if code, _ := get(t, env.web, "unknown.example.com", "/", nil); code != http.StatusNotFound {
		t.Errorf("unknown host: %d, want 404", code)
	}

	// A Service host with no rule, on the listener whose port is the
	// Service's port, goes to its endpoint, unchanged.
	code, got = get(t, env.extra, "autoscaler.knative-serving.svc.cluster.local", "/", http.Header{"X-Forwarded-For": {"10.1.1.1"}})
	if code != 200 || got["backend"] != "autoscaler" || got["x-forwarded-for"] != "10.1.1.1" || got["which"] != "" {
		t.Errorf("Service host: %d %v", code, got)
	}
	// The same Service on a port it does not have.
	if code, _ := get(t, env.web, "autoscaler.knative-serving", "/", nil); code != http.StatusBadGateway {
		t.Errorf("Service host on a port the Service lacks: %d, want 502", code)
	}
	if code, _ := get(t, env.extra, "nothing.knative-serving", "/", nil); code != http.StatusNotFound {
		t.Errorf("host of no Service: %d, want 404", code)
	}

	// A spec change is a new generation, observed again.
	ing.Spec.Rules[0].Hosts = append(ing.Spec.Rules[0].Hosts, "r2.ns.example.com")
	ing.Generation = 4
	if _, err := env.net.NetworkingV1alpha1().Ingresses("ns").Update(context.Background(), ing, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() bool {
		got, err := env.net.NetworkingV1alpha1().Ingresses("ns").Get(context.Background(), "r", metav1.GetOptions{})
		return err == nil && got.IsReady() && got.Status.ObservedGeneration == 4
	})
	if code, got := get(t, env.web, "r2.ns.example.com", "/", nil); code != 200 || got["backend"] != "foo" {
		t.Errorf("new host: %d %v", code, got)
	}
}

func TestServeSplitsByPercent(t *testing.T) {
	a := httptest.NewServer(echo("a"))
	defer a.Close()
	b := httptest.NewServer(echo("b"))
	defer b.Close()
	env := startFake(t, func(web, extra int32) []any {
		as, ae := selectorless("ns", "a", "http", 80, a.Listener.Addr().String())
		bs, be := selectorless("ns", "b", "http", 80, b.Listener.Addr().String())
		return []any{as, ae, bs, be, kingress("ns", "s", Class, rule("", []string{"s.example.com"}, v1alpha1.HTTPIngressPath{
			Splits: []v1alpha1.IngressBackendSplit{
				split("ns", "a", intstr.FromInt(80), 20, map[string]string{"Which": "a"}),
				split("ns", "b", intstr.FromInt(80), 80, map[string]string{"Which": "b"}),
			},
		}))}
	})
	n := map[string]int{}
	const total = 400
	for range total {
		code, got := get(t, env.web, "s.example.com", "/", nil)
		if code != 200 || got["which"] != got["backend"] {
			t.Fatalf("%d %v", code, got)
		}
		n[got["backend"]]++
	}
	// 20% of 400 is 80; 40 and 120 are more than six standard deviations away.
	if n["a"] < 40 || n["a"] > 120 || n["a"]+n["b"] != total {
		t.Errorf("split counts %v, want about 80/320", n)
	}
}

func TestServeUpgradePasses(t *testing.T) {
	ws := httptest.NewServer(http.HandlerFunc(upgrader))
	defer ws.Close()
	env := startFake(t, func(web, extra int32) []any {
		s, e := selectorless("knative-serving", "autoscaler", "http", extra, ws.Listener.Addr().String())
		return []any{s, e}
	})
	conn, err := net.Dial("tcp", env.extra)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: autoscaler.knative-serving.svc.cluster.local:8080\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	// Both ways over the switched connection, twice to show it stays open.
	fmt.Fprint(conn, "stat from the activator\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "STAT FROM THE ACTIVATOR\n" {
		t.Fatalf("echo over the upgraded connection: %q %v", line, err)
	}
}

func TestServeRetriesWhileEndpointsChurn(t *testing.T) {
	live := httptest.NewServer(echo("live"))
	defer live.Close()
	// An address that refuses connections: a port just closed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()

	env := startFake(t, func(web, extra int32) []any {
		s, e := selectorless("ns", "churn", "http", 80, dead)
		es, ee := selectorless("ns", "empty", "http", 80)
		return []any{s, e, es, ee, kingress("ns", "c", Class,
			rule("", []string{"churn.example.com"}, v1alpha1.HTTPIngressPath{Splits: []v1alpha1.IngressBackendSplit{split("ns", "churn", intstr.FromInt(80), 100, nil)}}),
			rule("", []string{"empty.example.com"}, v1alpha1.HTTPIngressPath{Splits: []v1alpha1.IngressBackendSplit{split("ns", "empty", intstr.FromInt(80), 100, nil)}}))}
	})

	// Nothing ready within the bound: 502 for the refusing endpoint, 503
	// for none at all, after about RetryWithin (1s).
	start := time.Now()
	if code, _ := get(t, env.web, "churn.example.com", "/", nil); code != http.StatusBadGateway {
		t.Errorf("only a refusing endpoint: %d, want 502", code)
	}
	if d := time.Since(start); d < 500*time.Millisecond || d > 3*time.Second {
		t.Errorf("gave up after %s, want about the 1s bound", d)
	}
	if code, _ := get(t, env.web, "empty.example.com", "/", nil); code != http.StatusServiceUnavailable {
		t.Errorf("no endpoint: %d, want 503", code)
	}

	// The endpoint moves while a POST is being retried: it arrives whole.
	type result struct {
		code int
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, "http://"+env.web+"/", strings.NewReader("payload"))
		req.Host = "churn.example.com"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{code: resp.StatusCode, body: string(b)}
	}()
	time.Sleep(300 * time.Millisecond)
	_, e := selectorless("ns", "churn", "http", 80, dead, live.Listener.Addr().String())
	if _, err := env.kube.CoreV1().Endpoints("ns").Update(context.Background(), e, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := fields(t, r.body); r.code != 200 || got["backend"] != "live" || got["body"] != "payload" {
		t.Errorf("retried POST: %d %v", r.code, got)
	}
}

func TestServeRewriteHostAndLoops(t *testing.T) {
	target := httptest.NewServer(echo("target"))
	defer target.Close()
	env := startFake(t, func(web, extra int32) []any {
		ts, te := selectorless("ns", "target", "http", 80, target.Listener.Addr().String())
		// A Route's Service pointing back at the ingress (the private load
		// balancer as an IP), on the ingress's first port.
		rs, re := selectorless("ns", "r", "http2", 80, "127.0.0.1:"+strconv.Itoa(int(web)))
		// A Service whose endpoint is the ingress, with no rule for its host.
		ls, le := selectorless("ns", "loop", "http", web, "127.0.0.1:"+strconv.Itoa(int(web)))
		// A DomainMapping-like Ingress: rewrite the Host to the Route's
		// cluster-local name and send it to the Route's Service, which is
		// the ingress again; the Route's own Ingress takes it from there.
		dm := kingress("ns", "dm", Class, rule("", []string{"app.example.org"}, v1alpha1.HTTPIngressPath{
			RewriteHost:   "r.ns.svc.cluster.local",
			AppendHeaders: map[string]string{"Pre": "dm"},
			Splits:        []v1alpha1.IngressBackendSplit{split("ns", "r", intstr.FromInt(80), 100, nil)},
		}))
		route := kingress("ns", "r", Class, rule(v1alpha1.IngressVisibilityClusterLocal, []string{"r.ns.svc.cluster.local"}, v1alpha1.HTTPIngressPath{
			Splits: []v1alpha1.IngressBackendSplit{split("ns", "target", intstr.FromInt(80), 100, map[string]string{"Which": "route"})},
		}))
		// A rule whose backend is its own host: a loop.
		self := kingress("ns", "self", Class, rule("", []string{"self.example.org"}, v1alpha1.HTTPIngressPath{
			Splits: []v1alpha1.IngressBackendSplit{split("ns", "r", intstr.FromInt(80), 100, nil)},
		}))
		return []any{ts, te, rs, re, ls, le, dm, route, self}
	})
	code, got := get(t, env.web, "app.example.org", "/x", nil)
	if code != 200 || got["backend"] != "target" || got["host"] != "r.ns.svc.cluster.local" || got["pre"] != "dm" || got["which"] != "route" {
		t.Errorf("rewritten host: %d %v", code, got)
	}
	// The Route's Service host itself is claimed by the Route's rule.
	if code, got := get(t, env.web, "r.ns.svc.cluster.local", "/", nil); code != 200 || got["backend"] != "target" {
		t.Errorf("route host: %d %v", code, got)
	}
	// Back at the ingress with no rule for the host: 404, as from a
	// gateway that does not know the host (not forwarded around again).
	if code, _ := get(t, env.web, "loop.ns", "/", nil); code != http.StatusNotFound {
		t.Errorf("Service pointing at the ingress: %d, want 404", code)
	}
	// self.example.org → r (the ingress) → self.example.org → … is cut.
	if code, _ := get(t, env.web, "self.example.org", "/", nil); code != http.StatusLoopDetected {
		t.Errorf("loop: %d, want 508", code)
	}
}

func TestServeH2CPriorKnowledge(t *testing.T) {
	h2 := httptest.NewUnstartedServer(echo("h2c"))
	h2.Config.Protocols = new(http.Protocols)
	h2.Config.Protocols.SetHTTP1(true)
	h2.Config.Protocols.SetUnencryptedHTTP2(true)
	h2.Start()
	defer h2.Close()
	env := startFake(t, func(web, extra int32) []any {
		s, e := selectorless("ns", "rev", "http2", extra, h2.Listener.Addr().String())
		return []any{s, e}
	})
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: &p}}
	req, _ := http.NewRequest(http.MethodGet, "http://"+env.extra+"/", nil)
	req.Host = "rev.ns.svc.cluster.local"
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if got := fields(t, string(b)); resp.ProtoMajor != 2 || got["proto"] != "2" || got["backend"] != "h2c" {
		t.Errorf("h2c: client saw HTTP/%d, backend %v", resp.ProtoMajor, got)
	}
	// HTTP/1.1 to the same backend stays HTTP/1.1.
	if _, got := get(t, env.extra, "rev.ns", "/", nil); got["proto"] != "1" {
		t.Errorf("HTTP/1.1 forwarded as HTTP/%s", got["proto"])
	}
}

func TestStartRejectsUnboundAddresses(t *testing.T) {
	kube, nc := kubefake.NewSimpleClientset(), netfake.NewSimpleClientset()
	for _, addr := range []string{":80", "0.0.0.0:0", "localhost:0"} {
		if _, err := Start(context.Background(), Config{Kube: kube, Networking: nc, Listen: []string{addr}}); err == nil {
			t.Errorf("Start with %q: no error", addr)
		}
	}
}

// waitFor polls cond every 10 ms until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
