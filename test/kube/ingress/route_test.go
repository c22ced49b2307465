package ingress

import (
	"net/http"
	"reflect"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"knative.dev/networking/pkg/apis/networking"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
)

// newTestTable is a table over hand-filled indexers (the listers the
// informers would fill), with intn always answering n-1 unless replaced.
func newTestTable(t *testing.T, objs ...any) *table {
	t.Helper()
	ings := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{hostIndex: indexHosts(Class)})
	svcs := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	eps := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, o := range objs {
		var err error
		switch o.(type) {
		case *v1alpha1.Ingress:
			err = ings.Add(o)
		case *corev1.Service:
			err = svcs.Add(o)
		case *corev1.Endpoints:
			err = eps.Add(o)
		default:
			t.Fatalf("unexpected object %T", o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return &table{
		class:     Class,
		domain:    "cluster.local",
		ingresses: ings,
		services:  corelisters.NewServiceLister(svcs),
		endpoints: corelisters.NewEndpointsLister(eps),
		self:      map[string]bool{"10.77.0.1:80": true},
		intn:      func(n int) int { return n - 1 },
	}
}

func kingress(ns, name, class string, rules ...v1alpha1.IngressRule) *v1alpha1.Ingress {
	ing := &v1alpha1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: 1},
		Spec:       v1alpha1.IngressSpec{Rules: rules},
	}
	if class != "" {
		ing.Annotations = map[string]string{networking.IngressClassAnnotationKey: class}
	}
	return ing
}

func split(ns, svc string, port intstr.IntOrString, percent int, headers map[string]string) v1alpha1.IngressBackendSplit {
	return v1alpha1.IngressBackendSplit{
		IngressBackend: v1alpha1.IngressBackend{ServiceNamespace: ns, ServiceName: svc, ServicePort: port},
		Percent:        percent,
		AppendHeaders:  headers,
	}
}

func rule(vis v1alpha1.IngressVisibility, hosts []string, paths ...v1alpha1.HTTPIngressPath) v1alpha1.IngressRule {
	return v1alpha1.IngressRule{Hosts: hosts, Visibility: vis, HTTP: &v1alpha1.HTTPIngressRuleValue{Paths: paths}}
}

func TestRouteByHostPathAndHeaders(t *testing.T) {
	const tagKey = "Knative-Serving-Tag"
	ing := kingress("ns", "r", Class,
		rule(v1alpha1.IngressVisibilityExternalIP, []string{"r.ns.example.com"},
			v1alpha1.HTTPIngressPath{
				Path:          "/foo",
				AppendHeaders: map[string]string{"Which": "path-foo", "Pre": "foo"},
				Splits:        []v1alpha1.IngressBackendSplit{split("ns", "foo", intstr.FromInt(80), 100, map[string]string{"Which": "split-foo"})},
			},
			v1alpha1.HTTPIngressPath{
				Path:   "/foo/bar",
				Splits: []v1alpha1.IngressBackendSplit{split("ns", "foobar", intstr.FromInt(80), 100, nil)},
			},
			v1alpha1.HTTPIngressPath{
				Headers: map[string]v1alpha1.HeaderMatch{tagKey: {Exact: "blue"}},
				Splits:  []v1alpha1.IngressBackendSplit{split("ns", "blue", intstr.FromString("http"), 100, nil)},
			},
			v1alpha1.HTTPIngressPath{
				Splits: []v1alpha1.IngressBackendSplit{split("ns", "default", intstr.FromInt(80), 100, nil)},
			},
		),
		rule(v1alpha1.IngressVisibilityClusterLocal, []string{"r.ns.svc.cluster.local", "r.ns.svc", "r.ns"},
			v1alpha1.HTTPIngressPath{Splits: []v1alpha1.IngressBackendSplit{split("ns", "local", intstr.FromInt(80), 0, nil)}},
		),
	)
	other := kingress("ns", "other", "kourier.ingress.networking.knative.dev",
		rule("", []string{"o.ns.example.com"}, v1alpha1.HTTPIngressPath{Splits: []v1alpha1.IngressBackendSplit{split("ns", "o", intstr.FromInt(80), 100, nil)}}))
	tab := newTestTable(t, ing, other)

	for _, tc := range []struct {
		name, host, path string
		header           http.Header
		public           bool
		want             string // backend service, "" for 404
		headers          map[string]string
	}{
		{name: "prefix", host: "r.ns.example.com", path: "/foo/x", want: "foo",
			headers: map[string]string{"Which": "split-foo", "Pre": "foo"}},
		{name: "longest prefix wins over the first listed", host: "r.ns.example.com", path: "/foo/bar/baz", want: "foobar"},
		{name: "literal prefix", host: "r.ns.example.com", path: "/foobar", want: "foo"},
		{name: "catch-all", host: "r.ns.example.com", path: "/asdf", want: "default"},
		{name: "empty path", host: "r.ns.example.com", path: "", want: "default"},
		{name: "host case and port", host: "R.NS.Example.COM:8080", path: "/", want: "default"},
		{name: "tag header", host: "r.ns.example.com", path: "/", header: http.Header{tagKey: {"blue"}}, want: "blue"},
		{name: "other tag", host: "r.ns.example.com", path: "/", header: http.Header{tagKey: {"green"}}, want: "default"},
		{name: "empty tag", host: "r.ns.example.com", path: "/", header: http.Header{tagKey: {""}}, want: "default"},
		{name: "cluster-local from inside", host: "r.ns.svc.cluster.local", path: "/", want: "local"},
		{name: "cluster-local short", host: "r.ns", path: "/", want: "local"},
		{name: "cluster-local not public", host: "r.ns.svc.cluster.local", path: "/", public: true},
		{name: "external is public", host: "r.ns.example.com", path: "/asdf", public: true, want: "default"},
		{name: "other class", host: "o.ns.example.com", path: "/"},
		{name: "unknown host", host: "nope.example.com", path: "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header
			if h == nil {
				h = http.Header{}
			}
			p, rerr := tab.route(normalizeHost(tc.host), 80, tc.path, h, tc.public, true)
			if tc.want == "" {
				if rerr == nil || rerr.code != http.StatusNotFound {
					t.Fatalf("route = %+v, %v; want 404", p, rerr)
				}
				return
			}
			if rerr != nil {
				t.Fatalf("route: %v", rerr)
			}
			if p.backend.Name != tc.want || p.backend.Namespace != "ns" || !p.rule {
				t.Errorf("backend = %+v (rule %v), want ns/%s by rule", p.backend, p.rule, tc.want)
			}
			if tc.headers != nil && !reflect.DeepEqual(p.headers, tc.headers) {
				t.Errorf("headers = %v, want %v", p.headers, tc.headers)
			}
		})
	}
}

func TestRouteOldestIngressAndFirstRuleWin(t *testing.T) {
	old := kingress("b", "old", Class,
		rule("", []string{"h.example.com"}, v1alpha1.HTTPIngressPath{Splits: []v1alpha1.IngressBackendSplit{split("b", "first", intstr.FromInt(80), 100, nil)}}),
		rule("", []string{"h.example.com"}, v1alpha1.HTTPIngressPath{Splits: []v1alpha1.IngressBackendSplit{split("b", "second", intstr.FromInt(80), 100, nil)}}))
	old.CreationTimestamp = metav1.NewTime(time.Unix(100, 0))
	young := kingress("a", "young", Class,
		rule("", []string{"h.example.com"}, v1alpha1.HTTPIngressPath{Splits: []v1alpha1.IngressBackendSplit{split("a", "young", intstr.FromInt(80), 100, nil)}}))
	young.CreationTimestamp = metav1.NewTime(time.Unix(200, 0))
	tab := newTestTable(t, young, old)
	p, rerr := tab.route("h.example.com", 80, "/", http.Header{}, false, true)
	if rerr != nil || p.backend.Name != "first" {
		t.Fatalf("route = %+v, %v; want the first rule of the oldest Ingress", p.backend, rerr)
	}
}

func TestChooseSplit(t *testing.T) {
	splits := []v1alpha1.IngressBackendSplit{
		split("ns", "a", intstr.FromInt(80), 10, nil),
		split("ns", "b", intstr.FromInt(80), 0, nil),
		split("ns", "c", intstr.FromInt(80), 90, nil),
	}
	got := map[string]int{}
	for n := 0; n < 100; n++ {
		s := chooseSplit(splits, func(total int) int {
			if total != 100 {
				t.Fatalf("total weight %d, want 100", total)
			}
			return n
		})
		got[s.ServiceName]++
	}
	if want := map[string]int{"a": 10, "c": 90}; !reflect.DeepEqual(got, want) {
		t.Errorf("over every draw: %v, want %v", got, want)
	}
	lone := []v1alpha1.IngressBackendSplit{split("ns", "only", intstr.FromInt(80), 0, nil)}
	if s := chooseSplit(lone, nil); s.ServiceName != "only" {
		t.Errorf("lone split with percent 0: %s", s.ServiceName)
	}
	zeros := []v1alpha1.IngressBackendSplit{split("ns", "z1", intstr.FromInt(80), 0, nil), split("ns", "z2", intstr.FromInt(80), 0, nil)}
	if s := chooseSplit(zeros, nil); s.ServiceName != "z1" {
		t.Errorf("all-zero splits: %s, want the first", s.ServiceName)
	}
	if chooseSplit(nil, nil) != nil {
		t.Error("no splits chose one")
	}
}

func TestServiceHost(t *testing.T) {
	for host, want := range map[string][2]string{
		"autoscaler.knative-serving.svc.cluster.local": {"autoscaler", "knative-serving"},
		"rev-00001-private.ns.svc":                     {"rev-00001-private", "ns"},
		"rev-00001.ns":                                 {"rev-00001", "ns"},
		"a.b.c":                                        {},
		"single":                                       {},
		"a.b.svc.other.domain":                         {},
		".ns":                                          {},
	} {
		name, ns, ok := serviceHost(host, "cluster.local")
		if got := [2]string{name, ns}; got != want || ok != (want[0] != "") {
			t.Errorf("serviceHost(%q) = %v %v, want %v", host, got, ok, want)
		}
	}
}

// revisionService is a Knative-like revision Service: named ports whose
// target ports the Endpoints carry under the same names.
func revisionService(ns, name string) (*corev1.Service, *corev1.Endpoints) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromInt(8012)},
			{Name: "http2", Port: 81, TargetPort: intstr.FromInt(8013)},
			{Name: "http-metrics", Port: 9090, TargetPort: intstr.FromInt(9090)},
			{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP},
		}},
	}
	eps := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Subsets: []corev1.EndpointSubset{{
			Addresses:         []corev1.EndpointAddress{{IP: "10.77.1.5"}, {IP: "10.77.1.6"}},
			NotReadyAddresses: []corev1.EndpointAddress{{IP: "10.77.1.7"}},
			Ports: []corev1.EndpointPort{
				{Name: "http", Port: 8012},
				{Name: "http2", Port: 8013},
				{Name: "http-metrics", Port: 9091},
			},
		}, {
			Addresses: []corev1.EndpointAddress{{IP: "10.77.1.8"}},
			Ports:     []corev1.EndpointPort{{Name: "http", Port: 8012}},
		}},
	}
	return svc, eps
}

func TestResolvePortMapping(t *testing.T) {
	svc, eps := revisionService("ns", "rev")
	bare := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "bare"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 8080, TargetPort: intstr.FromInt(18080)}}}}
	bareEps := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "bare"},
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "10.77.1.9"}}, Ports: []corev1.EndpointPort{{Port: 18080}}}}}
	empty := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "empty"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
	tab := newTestTable(t, svc, eps, bare, bareEps, empty)

	for _, tc := range []struct {
		name string
		b    backend
		want []string
		code int
		// retry: the condition may clear with endpoints churn.
		retry bool
	}{
		{name: "by number", b: backend{"ns", "rev", intstr.FromInt(80)}, want: []string{"10.77.1.5:8012", "10.77.1.6:8012", "10.77.1.8:8012"}},
		{name: "by name", b: backend{"ns", "rev", intstr.FromString("http2")}, want: []string{"10.77.1.5:8013", "10.77.1.6:8013"}},
		{name: "endpoint port differs from the Service's target", b: backend{"ns", "rev", intstr.FromInt(9090)}, want: []string{"10.77.1.5:9091", "10.77.1.6:9091"}},
		{name: "unnamed single port", b: backend{"ns", "bare", intstr.FromInt(8080)}, want: []string{"10.77.1.9:18080"}},
		{name: "port not on the Service", b: backend{"ns", "rev", intstr.FromInt(8080)}, code: http.StatusBadGateway},
		{name: "UDP port is not served", b: backend{"ns", "rev", intstr.FromInt(53)}, code: http.StatusBadGateway},
		{name: "no Endpoints", b: backend{"ns", "empty", intstr.FromInt(80)}, code: http.StatusServiceUnavailable, retry: true},
		{name: "no Service", b: backend{"ns", "gone", intstr.FromInt(80)}, code: http.StatusServiceUnavailable, retry: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addrs, hop, rerr := tab.resolve(tc.b)
			if hop != 0 {
				t.Fatalf("hop = %d", hop)
			}
			if tc.code != 0 {
				if rerr == nil || rerr.code != tc.code || rerr.retry != tc.retry {
					t.Fatalf("resolve = %v, %+v; want code %d retry %v", addrs, rerr, tc.code, tc.retry)
				}
				return
			}
			if rerr != nil {
				t.Fatal(rerr)
			}
			sort.Strings(addrs)
			if !reflect.DeepEqual(addrs, tc.want) {
				t.Errorf("addrs = %v, want %v", addrs, tc.want)
			}
		})
	}
}

func TestResolveBackToTheIngress(t *testing.T) {
	// A Route's Service when the private load balancer is an IP: headless,
	// its one endpoint the ingress itself.
	route := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r"},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Name: "http2", Port: 80}}}}
	routeEps := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r"},
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "10.77.0.1"}}, Ports: []corev1.EndpointPort{{Name: "http2", Port: 80}}}}}
	// The same when it is a DomainInternal: an ExternalName.
	ext := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "x"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "kwhisk-ingress.kwhisk-test.svc.cluster.local",
			Ports: []corev1.ServicePort{{Name: "http2", Port: 81}}}}
	out := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "out"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}}
	tab := newTestTable(t, route, routeEps, ext, out)

	for _, tc := range []struct {
		b   backend
		hop int
	}{
		{backend{"ns", "r", intstr.FromInt(80)}, 80},
		{backend{"ns", "x", intstr.FromInt(8080)}, 8080},
		{backend{"ns", "x", intstr.FromString("http2")}, 81},
	} {
		addrs, hop, rerr := tab.resolve(tc.b)
		if rerr != nil || hop != tc.hop || addrs != nil {
			t.Errorf("resolve(%s) = %v, %d, %v; want hop %d", tc.b, addrs, hop, rerr, tc.hop)
		}
	}
	if _, _, rerr := tab.resolve(backend{"ns", "out", intstr.FromInt(80)}); rerr == nil || rerr.code != http.StatusBadGateway {
		t.Errorf("ExternalName outside the cluster domain: %v, want 502", rerr)
	}
}

// TestResolveExternalNameToAService: an ExternalName naming another
// Service of the cluster (Knative Eventing's channel naming its
// dispatcher) leads to that Service's endpoints, on the same port.
func TestResolveExternalNameToAService(t *testing.T) {
	channel := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c-kn-channel"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "imc-dispatcher.knative-eventing.svc.cluster.local"}}
	dispatcher := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "knative-eventing", Name: "imc-dispatcher"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
	eps := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: "knative-eventing", Name: "imc-dispatcher"},
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "10.77.0.9"}}, Ports: []corev1.EndpointPort{{Name: "http", Port: 8080}}}}}
	tab := newTestTable(t, channel, dispatcher, eps)
	addrs, hop, rerr := tab.resolve(backend{"ns", "c-kn-channel", intstr.FromInt(80)})
	if rerr != nil || hop != 0 || !reflect.DeepEqual(addrs, []string{"10.77.0.9:8080"}) {
		t.Errorf("resolve = %v, %d, %v; want the dispatcher's endpoint", addrs, hop, rerr)
	}
}

func TestRouteServiceHosts(t *testing.T) {
	svc, eps := revisionService("knative-serving", "autoscaler")
	ing := kingress("ns", "r", Class, rule(v1alpha1.IngressVisibilityClusterLocal, []string{"autoscaler.knative-serving.svc.cluster.local"},
		v1alpha1.HTTPIngressPath{Path: "/ruled", Splits: []v1alpha1.IngressBackendSplit{split("ns", "ruled", intstr.FromInt(80), 100, nil)}}))
	tab := newTestTable(t, svc, eps, ing)

	for _, tc := range []struct {
		host, path string
		port       int
		public     bool
		want       string // backend, "" for 404
	}{
		{host: "autoscaler.knative-serving", path: "/", port: 9090, want: "autoscaler.knative-serving:9090"},
		{host: "autoscaler.knative-serving.svc", path: "/", port: 80, want: "autoscaler.knative-serving:80"},
		// A rule claims the host: its paths decide, even where none matches.
		{host: "autoscaler.knative-serving.svc.cluster.local", path: "/ruled", port: 8080, want: "ruled.ns:80"},
		{host: "autoscaler.knative-serving.svc.cluster.local", path: "/other", port: 8080},
		{host: "nope.knative-serving", path: "/", port: 80},
		{host: "autoscaler.knative-serving", path: "/", port: 80, public: true},
	} {
		p, rerr := tab.route(tc.host, tc.port, tc.path, http.Header{}, tc.public, !tc.public)
		switch {
		case tc.want == "" && (rerr == nil || rerr.code != http.StatusNotFound):
			t.Errorf("%s:%d%s: %+v, %v; want 404", tc.host, tc.port, tc.path, p.backend, rerr)
		case tc.want != "" && (rerr != nil || p.backend.String() != tc.want):
			t.Errorf("%s:%d%s: %s, %v; want %s", tc.host, tc.port, tc.path, p.backend, rerr, tc.want)
		case tc.want != "" && p.rule != (tc.want == "ruled.ns:80"):
			t.Errorf("%s: rule = %v", tc.host, p.rule)
		}
	}
	// The port maps through the Service to its endpoint's port.
	addrs, _, rerr := tab.resolve(backend{"knative-serving", "autoscaler", intstr.FromInt(9090)})
	if rerr != nil || len(addrs) != 2 || addrs[0] != "10.77.1.5:9091" {
		t.Errorf("resolve :9090 = %v, %v", addrs, rerr)
	}
}
