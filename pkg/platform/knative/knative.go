package knative

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/kwhisk/kwhisk/pkg/kube"
	"github.com/kwhisk/kwhisk/pkg/logging"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Defaults of the zero Options fields.
const (
	DefaultReadyTimeout = 2 * time.Minute
	DefaultKeepTags     = 2
)

// BlackboxKind is the key of Options.Images that names the image of the
// blackbox kind: it runs native code itself, and is the proxy beside the
// user's image of a --docker action.
const BlackboxKind = whisk.KindBlackbox

// Actions is the gateway's action store as the code route reads it:
// runtimes fetch code too large for the Service's environment. The
// platform reads nothing else from the store: what it needs of a version
// travels in platform.Action, and Reconcile is given the stored actions.
type Actions interface {
	// GetAction returns the stored action at path, or a whisk NotFound
	// error.
	GetAction(ctx context.Context, path whisk.EntityPath) (*whisk.Action, error)
}

// Options configure a Knative platform.
type Options struct {
	// Serving is the Knative Serving clientset. Required.
	Serving servingclient.Interface
	// Watch is the clientset of the long-running watch of Services: one
	// without the per-request timeout Serving should have. nil means
	// Serving.
	Watch servingclient.Interface
	// Kube, when set, lets the platform create the Kubernetes namespaces
	// of per-namespace mode; nil means they must exist.
	Kube kubernetes.Interface
	// Namespaces maps OpenWhisk namespaces to Kubernetes namespaces.
	// Namespaces.Base is required.
	Namespaces kube.Namespaces
	// Images maps each kind the platform offers ("nodejs:20") to its
	// runtime image, and BlackboxKind to the proxy image of --docker
	// actions (absent: no docker actions).
	Images map[string]string
	// APIHost is the gateway's URL as actions see it (__OW_API_HOST) and
	// as runtimes fetch code from it.
	APIHost string
	// Annotations are default revision annotations, e.g.
	// autoscaling.knative.dev/initial-scale: "0".
	Annotations map[string]string
	// InlineCodeLimit: see BuildOptions; 0 means DefaultInlineCodeLimit.
	InlineCodeLimit int
	// Actions reads stored code for Code; nil means large code cannot be
	// fetched.
	Actions Actions
	// CodeKey signs the tokens of code fetches; at least 32 bytes.
	CodeKey []byte
	// RunKeys sign every run request, so that a revision answers the
	// gateway alone (pkg/runtime/runauth). Required.
	RunKeys *RunKeys
	// ReadyTimeout bounds the wait for a revision to become Ready, within
	// the activation's own context, and is the cold start a revision's
	// timeouts leave room for (BuildOptions.ColdStart); 0 means
	// DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// KeepTags is how many older revisions of an action stay addressable
	// for activations of older versions still in flight; 0 means
	// DefaultKeepTags.
	KeepTags int
	// Transport carries the run requests; nil means a pooled transport
	// without proxies.
	Transport http.RoundTripper
	// Log receives what the platform does in the background; nil discards.
	Log *slog.Logger
}

// Platform runs actions as Knative Services.
type Platform struct {
	o        Options
	watch    *watcher
	versions *versions
	changes  *changes // Deploys and Removes, applied in the background
	writes   keyedMutex
	client   *http.Client
	runtimes []platform.Runtime

	nsMu    sync.Mutex
	nsReady map[string]bool // namespaces known to exist
}

var _ platform.Platform = (*Platform)(nil)

// New returns a platform; Start runs its watch of Services.
func New(o Options) (*Platform, error) {
	if o.Serving == nil {
		return nil, errors.New("knative: no Serving clientset")
	}
	if o.Namespaces.Base == "" {
		return nil, errors.New("knative: no Kubernetes namespace")
	}
	if len(o.CodeKey) < 32 {
		return nil, errors.New("knative: the code key must have at least 32 bytes")
	}
	if o.RunKeys == nil {
		return nil, errors.New("knative: no run keys")
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = DefaultReadyTimeout
	}
	if o.KeepTags <= 0 {
		o.KeepTags = DefaultKeepTags
	}
	o.Log = logging.OrDiscard(o.Log)
	if o.Transport == nil {
		o.Transport = &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		}
	}
	if o.Watch == nil {
		o.Watch = o.Serving
	}
	watchNS := o.Namespaces.Base
	if o.Namespaces.PerNamespace {
		watchNS = metav1.NamespaceAll
	}
	p := &Platform{
		o:        o,
		watch:    newWatcher(o.Watch, watchNS),
		versions: newVersions(4096),
		client:   &http.Client{Transport: o.Transport},
		runtimes: runtimesOf(o.Images),
		nsReady:  map[string]bool{},
	}
	p.changes = newChanges(p.apply)
	return p, nil
}

// Start watches the gateway's Services and its run keys' Secret and
// applies Deploys and Removes until ctx ends, then waits for the Service writes under way. Run waits
// for readiness through this watch.
func (p *Platform) Start(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { p.changes.run(ctx) })
	wg.Go(func() { p.o.RunKeys.Watch(ctx) })
	p.watch.run(ctx)
	wg.Wait()
	return nil
}

// runtimesOf lists the kinds of images by family; the oldest version of a
// family is its default, as OpenWhisk's default trails its newest
// runtime. The blackbox kind runs docker images too (not CodeOnly).
func runtimesOf(images map[string]string) []platform.Runtime {
	var rts []platform.Runtime
	for kind, image := range images {
		family, _, _ := strings.Cut(kind, ":")
		rts = append(rts, platform.Runtime{Family: family, Kind: kind, Image: image})
	}
	sort.Slice(rts, func(i, j int) bool {
		if rts[i].Family != rts[j].Family {
			return rts[i].Family < rts[j].Family
		}
		return versionLess(rts[i].Kind, rts[j].Kind)
	})
	for i := range rts {
		rts[i].Default = i == 0 || rts[i-1].Family != rts[i].Family
	}
	return rts
}

// versionLess compares the dotted numbers after the ':' of two kinds.
func versionLess(a, b string) bool {
	_, va, _ := strings.Cut(a, ":")
	_, vb, _ := strings.Cut(b, ":")
	pa, pb := strings.Split(va, "."), strings.Split(vb, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		if ea != nil || eb != nil {
			if pa[i] != pb[i] {
				return pa[i] < pb[i]
			}
			continue
		}
		if na != nb {
			return na < nb
		}
	}
	return len(pa) < len(pb)
}

// Runtimes lists the kinds with a runtime image.
func (p *Platform) Runtimes() []platform.Runtime {
	return append([]platform.Runtime(nil), p.runtimes...)
}

// Run ensures the Service of a's version, waits until its revision is
// Ready (within ctx and ReadyTimeout), and sends the activation to that
// revision once. A Deploy or Remove of the action still being applied
// is waited for first. None of that waiting counts against the action's
// time limit: the runtime starts it when the run reaches the pod, and the
// run request itself is bounded by runWait. Kubernetes failures are whisk
// errors: the API server unreachable is KindUnavailable.
func (p *Platform) Run(ctx context.Context, a *platform.Action, req *platform.RunRequest) (*platform.Result, error) {
	if _, ok := p.o.Images[a.Kind]; !ok {
		return developerError(platform.Unsupported(p, a.Kind)), nil
	}
	if err := p.changes.settled(ctx, a.Path); err != nil {
		return nil, err
	}
	v := p.version(a)
	url, res, err := p.ready(ctx, v, a)
	if res != nil || err != nil {
		return res, err
	}
	return p.invoke(ctx, url, a, req, p.runWait(a))
}

// developerError is a result that never reached the action: the action's
// settings cannot run.
func developerError(msg string) *platform.Result {
	now := time.Now()
	return &platform.Result{Start: now, End: now, Response: whisk.Response{
		StatusCode: whisk.StatusDeveloperError, Result: whisk.ErrorResult(msg),
	}}
}

// refused is the developer error of a Service the cluster refused (its
// Knative webhook, configured otherwise than Check assumes: a max-scale
// limit, say), naming what it refused; nil for any other error.
func refused(err error) *platform.Result {
	if !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
		return nil
	}
	return developerError("Knative refused the action's Service: " + err.Error())
}

// ValidateAction runs Knative's own defaulting and validation on the
// Service a would become, so the action collection refuses with a 400,
// naming the field, a setting Knative would refuse (an action's
// autoscaling annotation, say) instead of storing an action that cannot
// run. What cannot run on Knative at all (a sequence, a kind without an
// image) is not its concern.
func (p *Platform) ValidateAction(ctx context.Context, a *platform.Action) error {
	if !p.runs(a) {
		return nil
	}
	if err := Check(ctx, p.build(a).want, nil); err != nil {
		return whisk.Invalid("%s", err.Error())
	}
	return nil
}

// version returns the names and the Service of a's version, built once.
func (p *Platform) version(a *platform.Action) *version {
	if v := p.versions.get(a.Key); v != nil {
		return v
	}
	v := p.build(a)
	p.versions.put(a.Key, v)
	return v
}

func (p *Platform) build(a *platform.Action) *version {
	ns := p.o.Namespaces.For(a.Path.Namespace)
	svc := MakeService(a, BuildOptions{
		Namespace:         ns,
		Image:             p.o.Images[a.Kind],
		APIHost:           p.o.APIHost,
		Annotations:       p.o.Annotations,
		ActionAnnotations: a.Annotations,
		InlineCodeLimit:   p.o.InlineCodeLimit,
		CodeToken:         func(path whisk.EntityPath, digest string) string { return signToken(p.o.CodeKey, path, digest) },
		ColdStart:         p.o.ReadyTimeout,
	})
	return &version{namespace: ns, service: svc.Name, revision: svc.Spec.Template.Name, tag: Tagged(svc), want: svc}
}

// ready returns the URL of v's revision once it is routable. A Service
// Knative cannot make ready, or one it would reject, is a developer-error
// result.
func (p *Platform) ready(ctx context.Context, v *version, a *platform.Action) (string, *platform.Result, error) {
	if url, ok := routable(p.watch.get(v.key()), v); ok {
		return url, nil, nil
	}
	if res, err := p.ensure(ctx, v, p.changes.hear(a.Path, a.Updated)); res != nil || err != nil {
		return "", res, err
	}
	timer := time.NewTimer(p.o.ReadyTimeout)
	defer timer.Stop()
	for {
		changed := p.watch.changed(v.key())
		svc := p.watch.get(v.key())
		if url, ok := routable(svc, v); ok {
			return url, nil, nil
		}
		if why := failed(svc, v); why != "" {
			return "", developerError("The action's Knative Service " + v.key() + " is not ready: " + why), nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return "", nil, ctx.Err()
		case <-timer.C:
			return "", nil, whisk.Errorf(whisk.KindUnavailable,
				"The action's Knative Service %s did not become ready within %s.", v.key(), p.o.ReadyTimeout)
		}
	}
}

// ensure creates or updates v's Service so its template (current: v is
// the stored version, by the Updated stamps heard of) or a tag is v's
// revision. Writes that conflict are
// retried from a fresh read; nothing here reaches user code.
func (p *Platform) ensure(ctx context.Context, v *version, current bool) (*platform.Result, error) {
	unlock := p.writes.lock(v.key())
	defer unlock()
	services := p.o.Serving.ServingV1().Services(v.namespace)
	for range 5 {
		cur, err := services.Get(ctx, v.service, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			if err := Check(ctx, v.want, nil); err != nil {
				return developerError(err.Error()), nil
			}
			if err := p.ensureNamespace(ctx, v.namespace); err != nil {
				return nil, err
			}
			_, err = services.Create(ctx, v.want, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			if res := refused(err); res != nil {
				return res, nil
			}
			return nil, kube.Error("create service "+v.key(), err)
		}
		if err != nil {
			return nil, kube.Error("get service "+v.key(), err)
		}
		upd, err := p.updated(ctx, cur, v, current)
		if err != nil || upd == nil {
			return nil, err
		}
		if err := Check(ctx, upd, cur); err != nil {
			return developerError(err.Error()), nil
		}
		_, err = services.Update(ctx, upd, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		if res := refused(err); res != nil {
			return res, nil
		}
		return nil, kube.Error("update service "+v.key(), err)
	}
	return nil, whisk.Errorf(whisk.KindConflict, "The action's Knative Service %s keeps changing concurrently.", v.key())
}

// updated returns cur changed to route v's revision, or nil when it does
// already. The current version replaces the template (keeping older
// tags); an older one, still in flight after an update, gets a tag on its
// existing revision.
func (p *Platform) updated(ctx context.Context, cur *servingv1.Service, v *version, current bool) (*servingv1.Service, error) {
	for _, t := range cur.Spec.Traffic {
		if t.Tag == v.tag && t.RevisionName == v.revision {
			return nil, nil
		}
	}
	upd := cur.DeepCopy()
	for k, val := range v.want.Labels {
		if upd.Labels == nil {
			upd.Labels = map[string]string{}
		}
		upd.Labels[k] = val
	}
	if !current && cur.Spec.Template.Name != v.revision {
		_, err := p.o.Serving.ServingV1().Revisions(v.namespace).Get(ctx, v.revision, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, whisk.Errorf(whisk.KindConflict, "Version %s of the action is no longer deployed: version %s replaced it.",
				v.want.Spec.Template.Annotations[AnnotationVersion], cur.Spec.Template.Annotations[AnnotationVersion])
		}
		if err != nil {
			return nil, kube.Error("get revision "+v.namespace+"/"+v.revision, err)
		}
		tag := []servingv1.TrafficTarget{v.want.Spec.Traffic[0], v.want.Spec.Traffic[1]}
		upd.Spec.Traffic = MergeTraffic(tag, cur.Spec.Traffic, p.o.KeepTags+1)
		return upd, nil
	}
	if cur.Spec.Template.Name != v.revision {
		// An existing revision's template stays as stored: Knative
		// refuses any change under the same name, defaults included.
		upd.Spec.Template = v.want.Spec.Template
	}
	upd.Spec.Traffic = MergeTraffic(v.want.Spec.Traffic, cur.Spec.Traffic, p.o.KeepTags)
	return upd, nil
}

// ensureNamespace creates a per-namespace mode namespace once.
func (p *Platform) ensureNamespace(ctx context.Context, ns string) error {
	if p.o.Kube == nil || !p.o.Namespaces.PerNamespace {
		return nil
	}
	p.nsMu.Lock()
	done := p.nsReady[ns]
	p.nsMu.Unlock()
	if done {
		return nil
	}
	_, err := p.o.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: ns, Labels: map[string]string{LabelManagedBy: ManagedBy},
	}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return kube.Error("create namespace "+ns, err)
	}
	p.nsMu.Lock()
	p.nsReady[ns] = true
	p.nsMu.Unlock()
	return nil
}

// Delete deletes the Service of the action at path (Kubernetes removes
// its revisions; running pods finish their requests as they terminate)
// and waits until the watch has seen it go, so a following Run starts
// afresh. It is what Remove does in the background, synchronously.
func (p *Platform) Delete(ctx context.Context, path whisk.EntityPath) error {
	ns, name := p.o.Namespaces.For(path.Namespace), ServiceName(path)
	key := ns + "/" + name
	unlock := p.writes.lock(key)
	defer unlock()
	background := metav1.DeletePropagationBackground
	err := p.o.Serving.ServingV1().Services(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &background})
	if err != nil && !apierrors.IsNotFound(err) {
		return kube.Error("delete service "+key, err)
	}
	timer := time.NewTimer(p.o.ReadyTimeout)
	defer timer.Stop()
	for {
		changed := p.watch.changed(key)
		if p.watch.get(key) == nil {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return whisk.Errorf(whisk.KindUnavailable, "The action's Knative Service %s was deleted but is still listed after %s.", key, p.o.ReadyTimeout)
		}
	}
}
