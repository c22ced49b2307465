package kubetest

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"
)

// Images the fake Knative knows besides the runtime mains it builds.
const (
	// fakeImage is served in-process by fakeRuntime.
	fakeImage = "kwhisk.test/fake-runtime"
	// unpullableImage makes a revision fail, as an image that cannot be
	// pulled does.
	unpullableImage = "kwhisk.test/unpullable"
)

// fakeKnative plays Knative Serving's part for the Services the gateway
// writes: for each revision it names, a backend on loopback that starts the
// runtime image's main as a local process with the revision's environment
// and PORT on the first request (scale from zero, with the request held
// as the activator holds it until the process is ready), and the
// Service's status: Ready, latest revisions, address and traffic URLs.
// Revisions are created as objects too, so the gateway can look them up.
type fakeKnative struct {
	serving  servingclient.Interface
	binaries map[string]string // image → runtime main binary
	goenv    map[string]string // go env of the test, for the go runtime
	dir      string
	logf     func(string, ...any)

	mu       sync.Mutex
	backends map[string]*backend // namespace/revision
	owners   map[string][]string // namespace/service → its revisions' keys

	observer atomic.Pointer[observer]
}

// observer is told what the fake Knative does, on the test process's
// clock: each request a backend served, each Service it set Ready (when
// the API server accepted that status). Either may be nil.
type observer struct {
	served func(span)
	ready  func(service, revision string, at time.Time)
}

// span is one request a revision's backend served, on the test process's
// clock: when it arrived, when an instance was ready for it (later than
// arrived when the request waited for a process to start, as Knative's
// activator holds it), and when the instance's answer was passed on.
type span struct {
	rev                  string
	arrived, ready, done time.Time
}

// observe reports to o from now on, until the returned stop. One
// observer at a time.
func (k *fakeKnative) observe(o observer) (stop func()) {
	k.observer.Store(&o)
	return func() { k.observer.Store(nil) }
}

func (k *fakeKnative) observed(s span) {
	if o := k.observer.Load(); o != nil && o.served != nil {
		o.served(s)
	}
}

// runningBackend returns the backend of revision rev in namespace ns.
func (k *fakeKnative) runningBackend(ns, rev string) *backend {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.backends[ns+"/"+rev]
}

// instanceURL returns the URL of the running process (instance) of a
// revision, bypassing the backend's proxy, or false when none runs.
func (k *fakeKnative) instanceURL(ns, rev string) (*url.URL, bool) {
	b := k.runningBackend(ns, rev)
	if b == nil {
		return nil, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.inst == nil {
		return nil, false
	}
	select {
	case <-b.inst.exited:
		return nil, false
	default:
	}
	return b.inst.url, true
}

// scaleToZero stops a revision's running instance, as Knative does with an
// idle revision, and returns once it is gone; the next request starts a
// new one. It reports whether an instance ran.
func (k *fakeKnative) scaleToZero(ns, rev string) bool {
	b := k.runningBackend(ns, rev)
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.inst == nil {
		return false
	}
	b.inst.stop()
	b.inst = nil
	return true
}

func newFakeKnative(serving servingclient.Interface, binaries, goenv map[string]string, dir string) *fakeKnative {
	return &fakeKnative{
		serving: serving, binaries: binaries, goenv: goenv, dir: dir, logf: log.New(os.Stderr, "fake-knative: ", log.Lmicroseconds).Printf,
		backends: map[string]*backend{}, owners: map[string][]string{},
	}
}

// run watches Services in all namespaces until ctx ends, handling events
// one at a time in order.
func (k *fakeKnative) run(ctx context.Context) {
	services := k.serving.ServingV1().Services(metav1.NamespaceAll)
	inf := cache.NewSharedIndexInformer(&cache.ListWatch{
		ListFunc:  func(o metav1.ListOptions) (runtime.Object, error) { return services.List(ctx, o) },
		WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) { return services.Watch(ctx, o) },
	}, &servingv1.Service{}, 0, cache.Indexers{})
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.sync(ctx, obj.(*servingv1.Service)) },
		UpdateFunc: func(_, obj any) { k.sync(ctx, obj.(*servingv1.Service)) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if svc, ok := obj.(*servingv1.Service); ok {
				k.deleted(ctx, svc)
			}
		},
	})
	inf.Run(ctx.Done())
	k.mu.Lock()
	defer k.mu.Unlock()
	for key, b := range k.backends {
		b.close()
		delete(k.backends, key)
	}
}

// sync makes the Service's revisions and backends and sets its status.
func (k *fakeKnative) sync(ctx context.Context, in *servingv1.Service) {
	svc := in.DeepCopy()
	if svc.Status.ObservedGeneration == svc.Generation && svc.Status.GetCondition(apis.ConditionReady) != nil {
		return // status is up to date (this is the echo of our own update)
	}
	latest := svc.Spec.Template.Name
	if latest == "" {
		k.logf("service %s/%s has no revision name; kwhisk always names them", svc.Namespace, svc.Name)
		return
	}
	if err := k.ensureRevision(ctx, svc, latest, svc.Spec.Template.Spec); err != nil {
		k.logf("revision %s: %v", latest, err)
		return
	}
	refs := map[string]bool{latest: true}
	for _, t := range svc.Spec.Traffic {
		if t.RevisionName != "" {
			refs[t.RevisionName] = true
		}
	}
	svcKey := svc.Namespace + "/" + svc.Name
	urls := map[string]*apis.URL{}
	failure := ""
	for rev := range refs {
		b, err := k.backend(ctx, svc, rev)
		if err != nil {
			failure = err.Error()
			continue
		}
		if b.failure != "" {
			failure = b.failure
			continue
		}
		urls[rev] = b.url
	}
	k.collect(svcKey, refs, svc.Namespace)

	st := &svc.Status
	st.ObservedGeneration = svc.Generation
	st.LatestCreatedRevisionName = latest
	st.URL = &apis.URL{Scheme: "http", Host: svc.Name + "." + svc.Namespace + ".svc.cluster.local"}
	st.Traffic = nil
	if failure != "" {
		cond := apis.Condition{Type: apis.ConditionReady, Status: corev1.ConditionFalse, Reason: "RevisionFailed", Message: failure}
		st.SetConditions(apis.Conditions{cond,
			{Type: servingv1.ServiceConditionConfigurationsReady, Status: corev1.ConditionFalse, Reason: "RevisionFailed", Message: failure},
			{Type: servingv1.ServiceConditionRoutesReady, Status: corev1.ConditionFalse, Reason: "RevisionMissing", Message: failure}})
	} else {
		st.LatestReadyRevisionName = latest
		st.Address = &duckv1.Addressable{URL: urls[latest]}
		for _, t := range svc.Spec.Traffic {
			rev := t.RevisionName
			if t.LatestRevision != nil && *t.LatestRevision {
				rev = latest
			}
			out := servingv1.TrafficTarget{Tag: t.Tag, RevisionName: rev, LatestRevision: t.LatestRevision, Percent: t.Percent}
			if t.Tag != "" {
				out.URL = urls[rev]
			}
			st.Traffic = append(st.Traffic, out)
		}
		st.SetConditions(apis.Conditions{
			{Type: apis.ConditionReady, Status: corev1.ConditionTrue},
			{Type: servingv1.ServiceConditionConfigurationsReady, Status: corev1.ConditionTrue},
			{Type: servingv1.ServiceConditionRoutesReady, Status: corev1.ConditionTrue},
		})
	}
	_, err := k.serving.ServingV1().Services(svc.Namespace).UpdateStatus(ctx, svc, metav1.UpdateOptions{})
	switch {
	case err == nil && failure == "":
		if o := k.observer.Load(); o != nil && o.ready != nil {
			o.ready(svc.Name, latest, time.Now())
		}
	case err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) && ctx.Err() == nil:
		k.logf("status of %s: %v", svcKey, err)
	}
}

// ensureRevision creates the Revision object of a template.
func (k *fakeKnative) ensureRevision(ctx context.Context, svc *servingv1.Service, name string, spec servingv1.RevisionSpec) error {
	rev := &servingv1.Revision{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: svc.Namespace,
			Labels: map[string]string{"serving.knative.dev/service": svc.Name, "serving.knative.dev/configuration": svc.Name},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: servingv1.SchemeGroupVersion.String(), Kind: "Service", Name: svc.Name, UID: svc.UID,
			}},
		},
		Spec: spec,
	}
	_, err := k.serving.ServingV1().Revisions(svc.Namespace).Create(ctx, rev, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// backend returns the backend of a revision, making it from the template
// or the stored Revision.
func (k *fakeKnative) backend(ctx context.Context, svc *servingv1.Service, rev string) (*backend, error) {
	key := svc.Namespace + "/" + rev
	k.mu.Lock()
	b := k.backends[key]
	k.mu.Unlock()
	if b != nil {
		return b, nil
	}
	spec := svc.Spec.Template.Spec
	if rev != svc.Spec.Template.Name {
		r, err := k.serving.ServingV1().Revisions(svc.Namespace).Get(ctx, rev, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("revision %s: %w", rev, err)
		}
		spec = r.Spec
	}
	b, err := k.newBackend(rev, spec)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	k.backends[key] = b
	k.mu.Unlock()
	return b, nil
}

// collect stops the backends of a Service's revisions it no longer routes
// to (Knative's garbage collection, eagerly).
func (k *fakeKnative) collect(svcKey string, refs map[string]bool, ns string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var keep []string
	for _, key := range k.owners[svcKey] {
		if refs[key[len(ns)+1:]] {
			keep = append(keep, key)
			continue
		}
		if b := k.backends[key]; b != nil {
			b.close()
			delete(k.backends, key)
		}
	}
	for rev := range refs {
		key := ns + "/" + rev
		found := false
		for _, kk := range keep {
			found = found || kk == key
		}
		if !found {
			keep = append(keep, key)
		}
	}
	k.owners[svcKey] = keep
}

// deleted stops a deleted Service's backends and deletes its Revisions
// (there is no garbage collector in this cluster).
func (k *fakeKnative) deleted(ctx context.Context, svc *servingv1.Service) {
	svcKey := svc.Namespace + "/" + svc.Name
	k.mu.Lock()
	for _, key := range k.owners[svcKey] {
		if b := k.backends[key]; b != nil {
			b.close()
			delete(k.backends, key)
		}
	}
	delete(k.owners, svcKey)
	k.mu.Unlock()
	err := k.serving.ServingV1().Revisions(svc.Namespace).DeleteCollection(ctx, metav1.DeleteOptions{},
		metav1.ListOptions{LabelSelector: "serving.knative.dev/service=" + svc.Name})
	if err != nil && ctx.Err() == nil {
		k.logf("delete revisions of %s: %v", svcKey, err)
	}
}

// backend is one revision: a listener that holds each request until an
// instance is ready, then proxies it there.
type backend struct {
	rev     string
	url     *apis.URL
	failure string // the revision cannot run
	observe func(span)

	ln  net.Listener
	srv *http.Server

	start func() (*instance, error) // a new instance, ready
	mu    sync.Mutex
	inst  *instance
}

type instance struct {
	url    *url.URL
	proxy  *httputil.ReverseProxy
	cmd    *exec.Cmd // nil for the in-process fake
	exited chan struct{}
	fake   *fakeRuntime
}

func (k *fakeKnative) newBackend(rev string, spec servingv1.RevisionSpec) (*backend, error) {
	var runtime corev1.Container
	for _, c := range spec.Containers {
		if len(c.Ports) > 0 || len(spec.Containers) == 1 {
			runtime = c
		}
	}
	b := &backend{rev: rev, observe: k.observed}
	env := map[string]string{}
	for _, e := range runtime.Env {
		// The kubelet's one rewrite of plain values kwhisk's are written
		// for: $$ is $ (kwhisk writes no $(NAME) references).
		env[e.Name] = strings.ReplaceAll(e.Value, "$$", "$")
	}
	for _, c := range spec.Containers {
		// A docker action's own image cannot run here: it fails as an
		// image that cannot be pulled does.
		if c.Image == unpullableImage || (c.Name != runtime.Name && k.binaries[c.Image] == "") {
			b.failure = "Unable to fetch image " + strconv.Quote(c.Image) + ": not found"
		}
	}
	switch bin := k.binaries[runtime.Image]; {
	case b.failure != "":
	case runtime.Image == fakeImage:
		b.start = func() (*instance, error) { return startFake(env) }
	case bin != "":
		b.start = func() (*instance, error) { return k.startProcess(rev, bin, env) }
	default:
		b.failure = "Unable to fetch image " + strconv.Quote(runtime.Image) + ": no runtime main built for it"
	}
	if b.failure != "" {
		return b, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b.ln = ln
	b.url = &apis.URL{Scheme: "http", Host: ln.Addr().String()}
	b.srv = &http.Server{Handler: b, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

// ServeHTTP holds the request until an instance is ready, then proxies it.
func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := span{rev: b.rev, arrived: time.Now()}
	inst, err := b.instance()
	if err != nil {
		http.Error(w, "revision "+b.rev+": "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	s.ready = time.Now()
	inst.proxy.ServeHTTP(w, r)
	s.done = time.Now()
	b.observe(s)
}

// instance returns the running instance, starting one when there is none
// or the last one exited.
func (b *backend) instance() (*instance, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.inst != nil {
		select {
		case <-b.inst.exited:
			b.inst = nil
		default:
			return b.inst, nil
		}
	}
	inst, err := b.start()
	if err != nil {
		return nil, err
	}
	b.inst = inst
	return inst, nil
}

func (b *backend) close() {
	if b.srv != nil {
		_ = b.srv.Close()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.inst != nil {
		b.inst.stop()
		b.inst = nil
	}
}

func (i *instance) stop() {
	if i.cmd != nil {
		_ = syscall.Kill(-i.cmd.Process.Pid, syscall.SIGKILL)
		<-i.exited
	}
	if i.fake != nil {
		i.fake.close()
	}
}

// startProcess runs a runtime main as a pod would: the container's env,
// PORT, and a private HOME; it returns once GET /ready answers 200.
func (k *fakeKnative) startProcess(rev, bin string, env map[string]string) (*instance, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.CreateTemp(k.dir, rev+"-*.log")
	if err != nil {
		return nil, err
	}
	home, err := os.MkdirTemp(k.dir, rev+"-home-*")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Dir = home
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8", "PORT=" + strconv.Itoa(port),
		"K_REVISION=" + rev}
	// The go runtime's image comes with a warm build cache; here that is
	// the test's own.
	for name, v := range k.goenv {
		cmd.Env = append(cmd.Env, name+"="+v)
	}
	for name, v := range env {
		cmd.Env = append(cmd.Env, name+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	inst := &instance{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(inst.exited) }()
	u := &url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(port)}
	inst.url, inst.proxy = u, httputil.NewSingleHostReverseProxy(u)
	ready := func() (bool, error) {
		select {
		case <-inst.exited:
			return false, fmt.Errorf("runtime %s exited during start (log %s)", bin, logf.Name())
		default:
		}
		resp, err := http.Get(u.String() + "/ready")
		if err != nil {
			return false, nil
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	}
	if err := poll(context.Background(), 2*time.Minute, ready); err != nil {
		inst.stop()
		return nil, err
	}
	return inst, nil
}
