package ingress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"time"

	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	netclient "knative.dev/networking/pkg/client/clientset/versioned"
	netinformers "knative.dev/networking/pkg/client/informers/externalversions"
)

// Class is the ingress class this package implements: what config-network's
// ingress-class names and Knative writes into each Ingress's
// networking.knative.dev/ingress.class annotation.
const Class = "kwhisk.test.ingress"

// maxHops bounds how often a request may come back to this ingress (a
// Route's own Service, an ExternalName, a RewriteHost) before it is a loop.
const maxHops = 4

// Config configures an ingress.
type Config struct {
	// Kube reads Services and Endpoints; Networking reads Ingresses and
	// writes their status.
	Kube       kubernetes.Interface
	Networking netclient.Interface

	// Listen are the addresses ("ip:port"; port 0 picks one) of the
	// cluster-local gateway: every rule, and Service hosts on the port
	// bound. In the lab: 10.77.0.1 on 80 and each Service port that is
	// called by name (8080 for the autoscaler's websocket, 9090 for
	// scrapes via <rev>-private, 81 for h2c revisions …). The IP must be
	// explicit: an endpoint at one of these addresses is this ingress.
	Listen []string
	// PublicListen are addresses of the external gateway: rules of
	// ExternalIP visibility only, no Service hosts. Optional.
	PublicListen []string

	// Class defaults to [Class]; ClusterDomain to "cluster.local".
	Class         string
	ClusterDomain string

	// PrivateLoadBalancer and PublicLoadBalancer are what Ingress status
	// reports. Knative's Route turns the private one into the Route's
	// Service (an IP into a headless Service with that endpoint, a
	// DomainInternal into an ExternalName). They default to the IP of the
	// first Listen address (and of the first PublicListen address, if any,
	// for the public one).
	PrivateLoadBalancer, PublicLoadBalancer *v1alpha1.LoadBalancerIngressStatus

	// RetryWithin bounds how long a request is retried on another (or the
	// same) ready endpoint when dialing fails or there is none yet;
	// default 3s.
	RetryWithin time.Duration
	// Resync is the informers' resync period; 0 means none.
	Resync time.Duration

	// Log receives errors and, with AccessLog, one line per request;
	// nil discards.
	Log       *log.Logger
	AccessLog bool
}

// Ingress is a running test ingress.
type Ingress struct {
	cfg     Config
	table   *table
	private []net.Addr
	public  []net.Addr
	proxy   *httputil.ReverseProxy
	done    chan struct{}
}

// Start binds the listeners, syncs the informers, starts marking Ingresses
// of the class Ready, and serves until ctx ends; Done is closed once
// everything has stopped. It returns an error if a listener cannot be
// bound or the caches do not sync before ctx ends.
func Start(ctx context.Context, cfg Config) (*Ingress, error) {
	if cfg.Kube == nil || cfg.Networking == nil {
		return nil, errors.New("ingress: Kube and Networking clients are required")
	}
	if len(cfg.Listen) == 0 {
		return nil, errors.New("ingress: no Listen address")
	}
	if cfg.Class == "" {
		cfg.Class = Class
	}
	if cfg.ClusterDomain == "" {
		cfg.ClusterDomain = "cluster.local"
	}
	if cfg.RetryWithin <= 0 {
		cfg.RetryWithin = 3 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = log.New(io.Discard, "", 0)
	}

	in := &Ingress{cfg: cfg, done: make(chan struct{})}
	var lns []net.Listener
	var listeners []*listener
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	self := map[string]bool{}
	for i, addrs := range [][]string{cfg.Listen, cfg.PublicListen} {
		for _, a := range addrs {
			host, _, err := net.SplitHostPort(a)
			if err != nil || net.ParseIP(host) == nil || net.ParseIP(host).IsUnspecified() {
				closeAll()
				return nil, fmt.Errorf("ingress: listen address %q: want an explicit ip:port", a)
			}
			ln, err := net.Listen("tcp", a)
			if err != nil {
				closeAll()
				return nil, fmt.Errorf("ingress: %w", err)
			}
			lns = append(lns, ln)
			ta := ln.Addr().(*net.TCPAddr)
			self[ta.String()] = true
			l := &listener{in: in, port: ta.Port, public: i == 1}
			listeners = append(listeners, l)
			if l.public {
				in.public = append(in.public, ta)
			} else {
				in.private = append(in.private, ta)
			}
		}
	}
	if cfg.PrivateLoadBalancer == nil {
		cfg.PrivateLoadBalancer = &v1alpha1.LoadBalancerIngressStatus{IP: in.private[0].(*net.TCPAddr).IP.String()}
	}
	if cfg.PublicLoadBalancer == nil {
		if len(in.public) > 0 {
			cfg.PublicLoadBalancer = &v1alpha1.LoadBalancerIngressStatus{IP: in.public[0].(*net.TCPAddr).IP.String()}
		} else {
			cfg.PublicLoadBalancer = cfg.PrivateLoadBalancer
		}
	}
	in.cfg = cfg

	kf := kubeinformers.NewSharedInformerFactory(cfg.Kube, cfg.Resync)
	nf := netinformers.NewSharedInformerFactory(cfg.Networking, cfg.Resync)
	svcs, eps := kf.Core().V1().Services(), kf.Core().V1().Endpoints()
	ings := nf.Networking().V1alpha1().Ingresses()
	if err := ings.Informer().AddIndexers(cache.Indexers{hostIndex: indexHosts(cfg.Class)}); err != nil {
		closeAll()
		return nil, err
	}
	in.table = &table{
		class:     cfg.Class,
		domain:    cfg.ClusterDomain,
		ingresses: ings.Informer().GetIndexer(),
		services:  svcs.Lister(),
		endpoints: eps.Lister(),
		self:      self,
		intn:      rand.IntN,
	}
	st := newStatus(cfg, ings.Lister())
	if _, err := ings.Informer().AddEventHandler(st.handler()); err != nil {
		closeAll()
		return nil, err
	}
	_ = svcs.Informer()
	_ = eps.Informer()
	kf.Start(ctx.Done())
	nf.Start(ctx.Done())
	for typ, ok := range kf.WaitForCacheSync(ctx.Done()) {
		if !ok {
			closeAll()
			return nil, fmt.Errorf("ingress: %v cache did not sync", typ)
		}
	}
	for typ, ok := range nf.WaitForCacheSync(ctx.Done()) {
		if !ok {
			closeAll()
			return nil, fmt.Errorf("ingress: %v cache did not sync", typ)
		}
	}

	in.proxy = &httputil.ReverseProxy{
		Rewrite:       in.rewrite,
		Transport:     newTransport(in.table, cfg.RetryWithin),
		FlushInterval: -1,
		ErrorHandler:  in.proxyError,
		ErrorLog:      cfg.Log,
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); st.run(ctx) }()
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	for i, ln := range lns {
		srv := &http.Server{
			Handler:           listeners[i],
			Protocols:         &protocols,
			ReadHeaderTimeout: 30 * time.Second,
			IdleTimeout:       5 * time.Minute,
			ErrorLog:          cfg.Log,
			// Requests live in ctx, so its end also ends upgraded
			// (hijacked) connections, which Shutdown does not track.
			BaseContext: func(net.Listener) context.Context { return ctx },
		}
		wg.Add(2)
		go func() { defer wg.Done(); _ = srv.Serve(ln) }()
		go func() {
			defer wg.Done()
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if srv.Shutdown(sctx) != nil {
				srv.Close()
			}
		}()
	}
	go func() { wg.Wait(); close(in.done) }()
	return in, nil
}

// Addrs are the bound addresses of Listen, in order.
func (in *Ingress) Addrs() []net.Addr { return in.private }

// PublicAddrs are the bound addresses of PublicListen, in order.
func (in *Ingress) PublicAddrs() []net.Addr { return in.public }

// Done is closed when the ingress has stopped after its context ended.
func (in *Ingress) Done() <-chan struct{} { return in.done }

// listener serves one bound address: its port is the port of requests
// to Service hosts there, and a public one serves ExternalIP rules only.
type listener struct {
	in     *Ingress
	port   int
	public bool
}

type planKey struct{}

func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, rerr := l.in.plan(r, l.port, l.public)
	if l.in.cfg.AccessLog {
		to := p.backend.String()
		if rerr != nil && !rerr.retry {
			to = strconv.Itoa(rerr.code) + " " + rerr.msg
		}
		l.in.cfg.Log.Printf("%s :%d %s %s%s → %s", r.RemoteAddr, l.port, r.Method, r.Host, r.URL.RequestURI(), to)
	}
	if rerr != nil && !rerr.retry {
		http.Error(w, rerr.msg, rerr.code)
		return
	}
	l.in.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), planKey{}, &p)))
}

// plan routes a request that arrived on port, following it through this
// ingress again when its backend is this ingress: as over the network,
// the headers and Host set on the way count for the next pass, which sees
// rules only (an address of the gateway is not a Service).
func (in *Ingress) plan(r *http.Request, port int, public bool) (plan, *routeError) {
	host, h := normalizeHost(r.Host), r.Header
	services := !public
	headers := map[string]string{}
	var sendHost string
	for hop := 0; ; hop++ {
		if hop > maxHops {
			return plan{}, errorf(http.StatusLoopDetected, "request for %q loops through the ingress", r.Host)
		}
		p, rerr := in.table.route(host, port, r.URL.Path, h, public, services)
		if rerr != nil {
			return plan{}, rerr
		}
		for k, v := range p.headers {
			headers[k] = v
		}
		if p.host != "" {
			sendHost, host = p.host, normalizeHost(p.host)
		}
		p.headers, p.host = headers, sendHost
		_, next, rerr := in.table.resolve(p.backend)
		if next == 0 {
			return p, rerr
		}
		h = h.Clone()
		for k, v := range headers {
			h.Set(k, v)
		}
		port, public, services = next, false, false
	}
}

// rewrite points the outbound request at the plan's backend; the
// transport picks the endpoint.
func (in *Ingress) rewrite(pr *httputil.ProxyRequest) {
	p := pr.In.Context().Value(planKey{}).(*plan)
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = p.backend.String()
	if p.host != "" {
		pr.Out.Host = p.host
	}
	if p.rule {
		// A gateway appends to X-Forwarded-For, as Envoy does.
		pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
		pr.SetXForwarded()
	} else {
		// kube-proxy is not a hop at HTTP level: keep what came in.
		for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
			if v, ok := pr.In.Header[k]; ok {
				pr.Out.Header[k] = v
			}
		}
	}
	for k, v := range p.headers {
		pr.Out.Header.Set(k, v)
	}
}

func (in *Ingress) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusBadGateway
	var rerr *routeError
	if errors.As(err, &rerr) {
		code = rerr.code
	}
	if r.Context().Err() == nil {
		in.cfg.Log.Printf("ingress: %s %s%s: %v", r.Method, r.Host, r.URL.RequestURI(), err)
	}
	http.Error(w, err.Error(), code)
}
