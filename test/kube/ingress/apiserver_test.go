package ingress

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	netclient "knative.dev/networking/pkg/client/clientset/versioned"

	"github.com/kwhisk/kwhisk/test/kube/apiserver"
)

// TestAgainstAPIServer runs the ingress on a real kube-apiserver with
// Knative networking's own Ingress CRD: the status it writes passes the
// CRD's schema and status subresource, and informers over the real API
// route requests.
func TestAgainstAPIServer(t *testing.T) {
	bin := os.Getenv("KWHISK_KUBE_BIN")
	if bin == "" {
		t.Skip("no API server: set KWHISK_KUBE_BIN (third_party/build.sh prints it)")
	}
	// Endpoints may not be loopback addresses (the API server refuses
	// them), so the backends listen on this machine's own address.
	hostIP := nonLoopbackIP(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := apiserver.Start(ctx, apiserver.Options{Bin: bin, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	cfg := srv.Config(apiserver.AdminToken)
	// Knative still writes v1 Endpoints; the deprecation is not news.
	cfg.WarningHandler = rest.NoWarnings{}
	kube := kubernetes.NewForConfigOrDie(cfg)
	nc := netclient.NewForConfigOrDie(cfg)
	applyIngressCRD(ctx, t, cfg)

	const ns = "kwhisk-test"
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	ictx, icancel := context.WithCancel(ctx)
	in, err := Start(ictx, Config{Kube: kube, Networking: nc, Listen: []string{"127.0.0.1:0", "127.0.0.1:0"}, Log: testLogger(t), AccessLog: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { icancel(); <-in.Done() }()
	web, extra := in.Addrs()[0].String(), in.Addrs()[1].String()
	_, extraPort := hostPort(t, extra)

	serve := func(h http.Handler) string {
		ln, err := net.Listen("tcp", net.JoinHostPort(hostIP, "0"))
		if err != nil {
			t.Fatal(err)
		}
		s := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
		s.Start()
		t.Cleanup(s.Close)
		return ln.Addr().String()
	}
	for _, o := range []struct {
		name, port string
		svcPort    int32
		addr       string
	}{
		{"hello", "http", 80, serve(echo("hello"))},
		{"ws", "http", 80, serve(http.HandlerFunc(upgrader))},
		// A Service called by name on the second listener's port, as the
		// autoscaler is on 8080 in the lab.
		{"plain", "http-metrics", extraPort, serve(echo("plain"))},
	} {
		svc, eps := selectorless(ns, o.name, o.port, o.svcPort, o.addr)
		if _, err := kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := kube.CoreV1().Endpoints(ns).Create(ctx, eps, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	ing := kingress(ns, "hello", Class, rule(v1alpha1.IngressVisibilityExternalIP, []string{"hello." + ns + ".example.com"},
		v1alpha1.HTTPIngressPath{
			Path:   "/ws",
			Splits: []v1alpha1.IngressBackendSplit{split(ns, "ws", intstr.FromInt(80), 100, nil)},
		},
		v1alpha1.HTTPIngressPath{
			AppendHeaders: map[string]string{"Pre": "path"},
			Splits:        []v1alpha1.IngressBackendSplit{split(ns, "hello", intstr.FromInt(80), 100, map[string]string{"Which": "hello"})},
		}))
	if ing, err = nc.NetworkingV1alpha1().Ingresses(ns).Create(ctx, ing, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ing = waitReady(t, nc, ns, "hello", ing.Generation)
	if ing.Status.PrivateLoadBalancer == nil || len(ing.Status.PrivateLoadBalancer.Ingress) != 1 || ing.Status.PrivateLoadBalancer.Ingress[0].IP != "127.0.0.1" ||
		ing.Status.PublicLoadBalancer == nil || len(ing.Status.PublicLoadBalancer.Ingress) != 1 {
		t.Errorf("load balancers: public %+v, private %+v", ing.Status.PublicLoadBalancer, ing.Status.PrivateLoadBalancer)
	}

	// The informers may see the Endpoints a moment after the Ingress.
	var got map[string]string
	poll(t, 10*time.Second, func() bool {
		var code int
		code, got = get(t, web, "hello."+ns+".example.com", "/", http.Header{"Which": {"bogus"}})
		return code == 200
	})
	if got["backend"] != "hello" || got["which"] != "hello" || got["pre"] != "path" {
		t.Errorf("by Host: %v", got)
	}
	poll(t, 10*time.Second, func() bool {
		var code int
		code, got = get(t, extra, "plain."+ns+".svc.cluster.local", "/", nil)
		return code == 200
	})
	if got["backend"] != "plain" || got["which"] != "" {
		t.Errorf("Service host: %v", got)
	}
	upgradeThrough(t, web, "hello."+ns+".example.com", "/ws")

	// A spec change: the API server bumps the generation, the status
	// follows, and the new header is in place.
	ing.Spec.Rules[0].HTTP.Paths[1].Splits[0].AppendHeaders["Which"] = "hello-2"
	if ing, err = nc.NetworkingV1alpha1().Ingresses(ns).Update(ctx, ing, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if ing.Generation < 2 {
		t.Fatalf("generation %d after a spec change", ing.Generation)
	}
	waitReady(t, nc, ns, "hello", ing.Generation)
	if _, got := get(t, web, "hello."+ns+".example.com", "/", nil); got["which"] != "hello-2" {
		t.Errorf("after the update: %v", got)
	}
}

// waitReady waits for the Ingress to be Ready at generation and checks
// the conditions a KIngress implementation owns.
func waitReady(t *testing.T, nc netclient.Interface, ns, name string, generation int64) *v1alpha1.Ingress {
	t.Helper()
	var ing *v1alpha1.Ingress
	poll(t, 20*time.Second, func() bool {
		var err error
		ing, err = nc.NetworkingV1alpha1().Ingresses(ns).Get(context.Background(), name, metav1.GetOptions{})
		return err == nil && ing.Status.ObservedGeneration == generation && ing.IsReady()
	})
	if st := ing.Status; !st.GetCondition(v1alpha1.IngressConditionNetworkConfigured).IsTrue() || !st.GetCondition(v1alpha1.IngressConditionLoadBalancerReady).IsTrue() {
		t.Errorf("conditions: %+v", st.Conditions)
	}
	return ing
}

// upgradeThrough sends an "Upgrade: websocket" request to the ingress at
// addr and echoes a line over the switched connection.
func upgradeThrough(t *testing.T, addr, host, path string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", path, host)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: status %d", resp.StatusCode)
	}
	fmt.Fprint(conn, "ping\n")
	if line, err := br.ReadString('\n'); err != nil || line != "PING\n" {
		t.Fatalf("over the upgraded connection: %q %v", line, err)
	}
}

func poll(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// nonLoopbackIP is an IPv4 address of an up interface, or skips.
func nonLoopbackIP(t *testing.T) string {
	t.Helper()
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
				return n.IP.String()
			}
		}
	}
	t.Skip("no non-loopback IPv4 address for backends (Endpoints may not be loopback)")
	return ""
}

// applyIngressCRD creates knative.dev/networking's Ingress CRD, from the
// module's config/, and waits until it is established.
func applyIngressCRD(ctx context.Context, t *testing.T, cfg *rest.Config) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "knative.dev/networking").Output()
	if err != nil {
		t.Fatalf("find knative.dev/networking: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "config", "ingress.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096).Decode(&obj); err != nil {
		t.Fatal(err)
	}
	crds := dynamic.NewForConfigOrDie(cfg).Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	u := &unstructured.Unstructured{Object: obj}
	if _, err := crds.Create(ctx, u, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, 30*time.Second, func() bool {
		got, err := crds.Get(ctx, u.GetName(), metav1.GetOptions{})
		if err != nil {
			return false
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
				return true
			}
		}
		return false
	})
}
