package ingress

import (
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/intstr"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"knative.dev/networking/pkg/apis/networking"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
)

// hostIndex indexes the Ingresses of the table's class by the (lower-case)
// hosts of their rules, so a request finds its rule without a scan.
const hostIndex = "host"

// backend is a Service and one of its ports, by number or name: what a
// split names, or what a Service host and the request's port name.
type backend struct {
	Namespace, Name string
	Port            intstr.IntOrString
}

func (b backend) String() string {
	return b.Name + "." + b.Namespace + ":" + b.Port.String()
}

// plan is where one request goes and what is changed on the way.
type plan struct {
	backend backend
	// headers are set on the request, replacing any value it had.
	headers map[string]string
	// host is the Host header to send; "" keeps the request's.
	host string
	// rule is whether an Ingress rule chose the backend (the gateway adds
	// X-Forwarded-*), rather than a Service host (kube-proxy adds nothing).
	rule bool
}

// routeError is a request that cannot be routed, as the status to answer.
// retry marks conditions that endpoints churn can clear (no ready
// endpoint yet), which the transport waits out within its bound.
type routeError struct {
	code  int
	msg   string
	retry bool
}

func (e *routeError) Error() string { return e.msg }

func errorf(code int, format string, args ...any) *routeError {
	return &routeError{code: code, msg: fmt.Sprintf(format, args...)}
}

// table answers routing questions from informer caches (or, in tests,
// from hand-filled indexers).
type table struct {
	class     string
	domain    string        // the cluster domain, "cluster.local"
	ingresses cache.Indexer // Ingresses, with hostIndex
	services  corelisters.ServiceLister
	endpoints corelisters.EndpointsLister
	// self holds the "ip:port" of this ingress's listeners: an endpoint
	// there is this ingress again (a Route's headless Service points at
	// the load balancer address the Ingress status reports).
	self map[string]bool
	// intn picks a number in [0, n) for splits and endpoints.
	intn func(n int) int
}

// indexHosts is the hostIndex function: the hosts of an Ingress of class.
func indexHosts(class string) cache.IndexFunc {
	return func(obj any) ([]string, error) {
		ing, ok := obj.(*v1alpha1.Ingress)
		if !ok || ing.Annotations[networking.IngressClassAnnotationKey] != class {
			return nil, nil
		}
		var hosts []string
		for _, r := range ing.Spec.Rules {
			for _, h := range r.Hosts {
				hosts = append(hosts, normalizeHost(h))
			}
		}
		return hosts, nil
	}
}

// normalizeHost is a Host header as rule hosts are written: lower case,
// without a port or a trailing dot.
func normalizeHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// route chooses the backend of a request for host on port. public
// restricts rules to ExternalIP visibility; services lets a Service host
// that no rule claims go to the Service (the kube-proxy stand-in).
func (t *table) route(host string, port int, path string, h http.Header, public, services bool) (plan, *routeError) {
	if rule := t.rule(host, public); rule != nil {
		return t.fromRule(host, rule, path, h)
	}
	if services {
		if name, ns, ok := serviceHost(host, t.domain); ok {
			if _, err := t.services.Services(ns).Get(name); err == nil {
				return plan{backend: backend{Namespace: ns, Name: name, Port: intstr.FromInt(port)}}, nil
			}
		}
	}
	return plan{}, errorf(http.StatusNotFound, "no ingress rule for host %q", host)
}

// rule is the first rule, in the oldest Ingress of the class, that lists
// host and is visible from the listener. Ingresses of other classes never
// enter the index.
func (t *table) rule(host string, public bool) *v1alpha1.IngressRule {
	objs, err := t.ingresses.ByIndex(hostIndex, host)
	if err != nil || len(objs) == 0 {
		return nil
	}
	ings := make([]*v1alpha1.Ingress, 0, len(objs))
	for _, o := range objs {
		ings = append(ings, o.(*v1alpha1.Ingress))
	}
	sort.Slice(ings, func(i, j int) bool {
		a, b := ings[i], ings[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	for _, ing := range ings {
		for i := range ing.Spec.Rules {
			r := &ing.Spec.Rules[i]
			if public && r.Visibility == v1alpha1.IngressVisibilityClusterLocal {
				continue
			}
			for _, rh := range r.Hosts {
				if normalizeHost(rh) == host {
					return r
				}
			}
		}
	}
	return nil
}

// fromRule picks the path and the split of rule for a request.
func (t *table) fromRule(host string, rule *v1alpha1.IngressRule, path string, h http.Header) (plan, *routeError) {
	if rule.HTTP == nil {
		return plan{}, errorf(http.StatusNotFound, "rule for %q has no http paths", host)
	}
	p := choosePath(rule.HTTP.Paths, path, h)
	if p == nil {
		return plan{}, errorf(http.StatusNotFound, "no path of the rule for %q matches %q", host, path)
	}
	s := chooseSplit(p.Splits, t.intn)
	if s == nil {
		return plan{}, errorf(http.StatusServiceUnavailable, "path %q of the rule for %q has no splits", p.Path, host)
	}
	headers := make(map[string]string, len(p.AppendHeaders)+len(s.AppendHeaders))
	for k, v := range p.AppendHeaders {
		headers[k] = v
	}
	for k, v := range s.AppendHeaders {
		headers[k] = v
	}
	return plan{
		backend: backend{Namespace: s.ServiceNamespace, Name: s.ServiceName, Port: s.ServicePort},
		headers: headers,
		host:    p.RewriteHost,
		rule:    true,
	}, nil
}

// choosePath is the path whose literal prefix matches the request path
// and whose header matches all hold; the longest prefix wins, and among
// equally long ones the first listed (Knative lists a tag's
// header-matched path before the catch-all one).
func choosePath(paths []v1alpha1.HTTPIngressPath, path string, h http.Header) *v1alpha1.HTTPIngressPath {
	if path == "" {
		path = "/"
	}
	var best *v1alpha1.HTTPIngressPath
	for i := range paths {
		p := &paths[i]
		if !strings.HasPrefix(path, p.Path) || !headersMatch(p.Headers, h) {
			continue
		}
		if best == nil || len(p.Path) > len(best.Path) {
			best = p
		}
	}
	return best
}

// headersMatch is whether h has every header of want with exactly the
// wanted value (a header that is absent does not match, even "").
func headersMatch(want map[string]v1alpha1.HeaderMatch, h http.Header) bool {
	for name, m := range want {
		vals, ok := h[http.CanonicalHeaderKey(name)]
		if !ok || len(vals) == 0 || vals[0] != m.Exact {
			return false
		}
	}
	return true
}

// chooseSplit picks a split at random, weighted by percent. A lone split
// takes all traffic whatever its percent (Knative defaults it to 100);
// splits that all say 0 send everything to the first.
func chooseSplit(splits []v1alpha1.IngressBackendSplit, intn func(int) int) *v1alpha1.IngressBackendSplit {
	switch len(splits) {
	case 0:
		return nil
	case 1:
		return &splits[0]
	}
	total := 0
	for _, s := range splits {
		total += max(s.Percent, 0)
	}
	if total == 0 {
		return &splits[0]
	}
	n := intn(total)
	for i := range splits {
		n -= max(splits[i].Percent, 0)
		if n < 0 {
			return &splits[i]
		}
	}
	return &splits[len(splits)-1]
}

// serviceHost parses <svc>.<ns>.svc.<domain>, <svc>.<ns>.svc and
// <svc>.<ns>, the names a pod's resolver search list completes to a
// Service.
func serviceHost(host, domain string) (name, ns string, ok bool) {
	rest := host
	if r, cut := strings.CutSuffix(host, ".svc."+domain); cut {
		rest = r
	} else if r, cut := strings.CutSuffix(host, ".svc"); cut {
		rest = r
	}
	name, ns, ok = strings.Cut(rest, ".")
	if !ok || name == "" || ns == "" || strings.Contains(ns, ".") {
		return "", "", false
	}
	return name, ns, true
}

// resolve maps a backend to the "ip:port" of its ready endpoints, as
// kube-proxy would: the Service port of that number (or name), then the
// Endpoints port of the same name in each subset. When the backend is
// this ingress again (its endpoint is one of the listeners, or it is an
// ExternalName inside the cluster domain, which DNS answers with this
// ingress), resolve returns the port to route on again instead.
func (t *table) resolve(b backend) (addrs []string, hop int, rerr *routeError) {
	svc, err := t.services.Services(b.Namespace).Get(b.Name)
	if apierrors.IsNotFound(err) {
		return nil, 0, &routeError{code: http.StatusServiceUnavailable, msg: fmt.Sprintf("no Service %s/%s", b.Namespace, b.Name), retry: true}
	} else if err != nil {
		return nil, 0, errorf(http.StatusInternalServerError, "Service %s/%s: %v", b.Namespace, b.Name, err)
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return t.external(svc, b)
	}
	sp := servicePort(svc, b.Port)
	if sp == nil {
		return nil, 0, errorf(http.StatusBadGateway, "Service %s/%s has no port %s", b.Namespace, b.Name, b.Port.String())
	}
	ep, err := t.endpoints.Endpoints(b.Namespace).Get(b.Name)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, 0, errorf(http.StatusInternalServerError, "Endpoints %s/%s: %v", b.Namespace, b.Name, err)
	}
	if ep != nil {
		for _, ss := range ep.Subsets {
			port := int32(-1)
			for _, p := range ss.Ports {
				if p.Name == sp.Name && (p.Protocol == "" || p.Protocol == corev1.ProtocolTCP) {
					port = p.Port
				}
			}
			if port < 0 {
				continue
			}
			for _, a := range ss.Addresses {
				addr := net.JoinHostPort(a.IP, strconv.Itoa(int(port)))
				if t.self[addr] {
					return nil, int(port), nil
				}
				addrs = append(addrs, addr)
			}
		}
	}
	if len(addrs) == 0 {
		return nil, 0, &routeError{code: http.StatusServiceUnavailable, msg: fmt.Sprintf("Service %s/%s has no ready endpoint for port %s", b.Namespace, b.Name, b.Port.String()), retry: true}
	}
	return addrs, 0, nil
}

// external resolves an ExternalName Service as a pod's resolver and
// kube-proxy would: a name in the cluster domain that is another Service
// leads to that Service's endpoints (the request keeps its Host, as
// after a CNAME: Knative Eventing's channels name their dispatcher so);
// any other name in the cluster domain resolves to this ingress (the
// lab's DNS answers them all so), on the backend's port; anything else
// is outside the lab.
func (t *table) external(svc *corev1.Service, b backend) ([]string, int, *routeError) {
	name := strings.TrimSuffix(strings.ToLower(svc.Spec.ExternalName), ".")
	if name != t.domain && !strings.HasSuffix(name, "."+t.domain) {
		return nil, 0, errorf(http.StatusBadGateway, "Service %s/%s names %q, outside the cluster domain", b.Namespace, b.Name, name)
	}
	port := 0
	if b.Port.Type == intstr.Int {
		port = b.Port.IntValue()
	} else if sp := servicePort(svc, b.Port); sp != nil {
		port = int(sp.Port)
	} else {
		return nil, 0, errorf(http.StatusBadGateway, "Service %s/%s has no port %s", b.Namespace, b.Name, b.Port.String())
	}
	if target, ns, ok := serviceHost(name, t.domain); ok {
		if ts, err := t.services.Services(ns).Get(target); err == nil && ts.Spec.Type != corev1.ServiceTypeExternalName {
			return t.resolve(backend{Namespace: ns, Name: target, Port: intstr.FromInt(port)})
		}
	}
	return nil, port, nil
}

// servicePort is the port of svc that p names, by number or by name.
func servicePort(svc *corev1.Service, p intstr.IntOrString) *corev1.ServicePort {
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		if sp.Protocol != "" && sp.Protocol != corev1.ProtocolTCP {
			continue
		}
		if p.Type == intstr.Int && int(sp.Port) == p.IntValue() || p.Type == intstr.String && sp.Name == p.StrVal {
			return sp
		}
	}
	return nil
}
