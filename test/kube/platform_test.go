package kubetest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	eventingclient "knative.dev/eventing/pkg/client/clientset/versioned"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/kwhisk/kwhisk/pkg/brokers"
	"github.com/kwhisk/kwhisk/pkg/events"
	"github.com/kwhisk/kwhisk/pkg/kube"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/platform/knative"
	"github.com/kwhisk/kwhisk/pkg/platform/platformtest"
	"github.com/kwhisk/kwhisk/pkg/runtime/wire"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// brokenKind runs on an image the fake Knative cannot pull.
const brokenKind = "broken:1"

// memActions is an in-memory action store.
type memActions struct {
	mu sync.Mutex
	m  map[string]*whisk.Action
}

func (s *memActions) put(a *whisk.Action) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*whisk.Action{}
	}
	s.m[a.Path().String()] = a
}

func (s *memActions) GetAction(_ context.Context, p whisk.EntityPath) (*whisk.Action, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.m[p.String()]; a != nil {
		return a, nil
	}
	return nil, whisk.NotFound()
}

// platformActions lists the stored actions as the gateway gives them to
// Reconcile.
func (s *memActions) platformActions() []*platform.Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*platform.Action
	for _, a := range s.m {
		out = append(out, platform.ActionOf(a))
	}
	return out
}

// newPlatform starts a knative platform as the gateway's service account,
// with a code route on loopback standing in for the gateway's.
func newPlatform(t *testing.T, h *harness, images map[string]string, actions *memActions) *knative.Platform {
	t.Helper()
	return newPlatformWith(t, h, h.gateway, images, actions)
}

func newPlatformWith(t *testing.T, h *harness, cfg *rest.Config, images map[string]string, actions *memActions) *knative.Platform {
	t.Helper()
	serving, err := servingclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	watch, err := servingclient.NewForConfig(kube.WatchConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	var p *knative.Platform
	// The gateway's two routes for runtimes, as pkg/api serves them.
	code := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if digest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/run-keys/"); ok {
			keys, err := p.RunKeys(r.Context(), digest, token)
			if err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			_ = json.NewEncoder(w).Encode(wire.RunKeys{Keys: keys})
			return
		}
		digest, _ := strings.CutPrefix(r.URL.Path, "/api/v1/code/")
		c, err := p.Code(r.Context(), digest, token)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		_, _ = w.Write([]byte(c))
	}))
	// Where the gateway would listen: pods of the real tier reach it
	// over the lab's bridge.
	ln, err := net.Listen("tcp", net.JoinHostPort(h.listen, "0"))
	if err != nil {
		t.Fatal(err)
	}
	code.Listener.Close()
	code.Listener = ln
	code.Start()
	t.Cleanup(code.Close)
	opts := knative.Options{
		Serving: serving, Watch: watch, Namespaces: kube.Namespaces{Base: actionsNamespace}, Images: images, APIHost: code.URL,
		CodeKey: key, RunKeys: knative.NewRunKeys(key), ReadyTimeout: time.Minute, Log: slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
	if actions != nil {
		opts.Actions = actions
	}
	p, err = knative.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return p
}

var seq atomic.Int64

// fakeAction is a fresh action of the fake kind, stored in actions.
func fakeAction(t *testing.T, actions *memActions, code string) (*whisk.Action, *platform.Action) {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())) + "-" + itoa(seq.Add(1))
	a := &whisk.Action{
		Namespace: "guest", Name: name, Exec: whisk.Exec{Kind: fakeKind, Code: &code}, Version: whisk.DefaultVersion,
		Limits: whisk.DefaultBounds.Defaults(), Updated: time.Now().UnixMilli(),
	}
	if actions != nil {
		actions.put(a)
	}
	return a, platform.ActionOf(a)
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func run(t *testing.T, p platform.Platform, a *platform.Action, value string) *platform.Result {
	t.Helper()
	res, err := p.Run(context.Background(), a, &platform.RunRequest{
		Value: json.RawMessage(value), Namespace: "guest", ActivationID: whisk.NewActivationID(),
		TransactionID: "tid",
	})
	if err != nil {
		t.Fatalf("Run(%s@%s): %v", a.Path, a.Version, err)
	}
	return res
}

// resultOf decodes a fake runtime's result.
func resultOf(t *testing.T, res *platform.Result) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(res.Response.Result, &m); err != nil || res.Response.StatusCode != whisk.StatusSuccess {
		t.Fatalf("status %d, result %s (%v)", res.Response.StatusCode, res.Response.Result, err)
	}
	return m
}

// TestConformance runs the platform conformance suite on the knative
// platform: against the fake tier's stand-in, and against Knative
// Serving's own components in the real tier.
func TestConformance(t *testing.T) {
	h := need(t)
	if len(h.runtimes) == 0 {
		t.Skipf("no runtime mains to run (missing: %v)", h.missing)
	}
	if len(h.missing) > 0 {
		t.Logf("runtime mains missing, their kinds untested: %v", h.missing)
	}
	images := h.runtimes
	if h.real != nil {
		// On real Knative one family shows the platform's contract (the
		// runtime protocol is the same for all); every kind's Service is
		// admitted and run by TestServingAdmitsEveryService. All kinds
		// here would be some six minutes of pod starts.
		images = map[string]string{"nodejs:20": h.runtimes["nodejs:20"]}
	}
	platformtest.Run(t, func(t *testing.T) platform.Platform {
		actions := &memActions{}
		return storing{newPlatform(t, h, images, actions), actions}
	})
}

// storing stores each action it runs, as the gateway runs only stored
// actions: runtimes fetch large code from the store through the code
// route.
type storing struct {
	*knative.Platform
	actions *memActions
}

func (s storing) Run(ctx context.Context, a *platform.Action, req *platform.RunRequest) (*platform.Result, error) {
	v, err := whisk.ParseSemVer(a.Version)
	if err != nil {
		return nil, err
	}
	code := a.Code
	s.actions.put(&whisk.Action{
		Namespace: a.Path.Parent(), Name: a.Path.Name, Version: v, Limits: a.Limits,
		Exec: whisk.Exec{Kind: a.Kind, Code: &code, Binary: a.Binary, Main: a.Main, Image: a.Image},
	})
	return s.Platform.Run(ctx, a, req)
}

func TestRunColdThenWarm(t *testing.T) {
	h := needFake(t)
	actions := &memActions{}
	p := newPlatform(t, h, map[string]string{fakeKind: fakeImage}, actions)
	_, a := fakeAction(t, actions, "small code")

	first := run(t, p, a, `{"n":1}`)
	got := resultOf(t, first)
	if !first.Cold || first.InitTime <= 0 || got["fetched"] != false || got["runVersion"] != "0.0.1" {
		t.Errorf("first run: Cold %v InitTime %v result %v; want a cold start with inline code", first.Cold, first.InitTime, got)
	}
	if len(first.Logs) != 1 || !strings.Contains(first.Logs[0], " stdout: fake run ") {
		t.Errorf("logs %q, want the runtime's line", first.Logs)
	}
	second := run(t, p, a, `{"n":2}`)
	if second.Cold || second.InitTime != 0 || resultOf(t, second)["value"].(map[string]any)["n"] != 2.0 {
		t.Errorf("second run: Cold %v InitTime %v; want warm", second.Cold, second.InitTime)
	}

	svc, err := h.serving.ServingV1().Services(actionsNamespace).Get(context.Background(), knative.ServiceName(a.Path), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Service of the action: %v", err)
	}
	want := map[string]string{
		knative.LabelManagedBy: knative.ManagedBy, knative.LabelNamespace: "guest", knative.LabelAction: a.Path.Name,
		knative.LabelVisibility: knative.VisibilityCluster,
	}
	if diff := cmp.Diff(want, svc.Labels); diff != "" {
		t.Errorf("Service labels (-want, +got):\n%s", diff)
	}
	if svc.Annotations[knative.AnnotationPath] != "/guest/"+a.Path.Name {
		t.Errorf("path annotation %q", svc.Annotations[knative.AnnotationPath])
	}
	if _, err := h.serving.ServingV1().Revisions(actionsNamespace).Get(context.Background(), svc.Spec.Template.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("revision %s: %v", svc.Spec.Template.Name, err)
	}
}

func TestVersionsRunOnTheirOwnRevision(t *testing.T) {
	h := needFake(t)
	actions := &memActions{}
	p := newPlatform(t, h, map[string]string{fakeKind: fakeImage}, actions)
	stored, v1 := fakeAction(t, actions, "version one")
	run(t, p, v1, `{}`)

	two := "version two, longer"
	stored2 := *stored
	stored2.Exec.Code, stored2.Version, stored2.Updated = &two, stored.Version.Bump(), stored.Updated+1
	actions.put(&stored2)
	v2 := platform.ActionOf(&stored2)
	res := run(t, p, v2, `{}`)
	if got := resultOf(t, res); !res.Cold || got["version"] != "0.0.2" || got["codeBytes"] != float64(len(two)) {
		t.Errorf("v2 run: Cold %v result %v; want a cold start of 0.0.2", res.Cold, got)
	}

	// An activation of v1 still in flight after the update runs v1.
	res = run(t, p, v1, `{}`)
	if got := resultOf(t, res); got["version"] != "0.0.1" || got["codeBytes"] != float64(len("version one")) {
		t.Errorf("v1 run after the update: result %v; want version 0.0.1's revision", got)
	}
	svc, err := h.serving.ServingV1().Services(actionsNamespace).Get(context.Background(), knative.ServiceName(v1.Path), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, tt := range svc.Spec.Traffic {
		if tt.Tag != "" {
			tags = append(tags, tt.RevisionName)
		}
	}
	if len(tags) != 2 || svc.Spec.Template.Annotations[knative.AnnotationVersion] != "0.0.2" {
		t.Errorf("template version %s, tagged revisions %v; want 0.0.2 and both revisions tagged",
			svc.Spec.Template.Annotations[knative.AnnotationVersion], tags)
	}
}

func TestRecreatedActionReplacesStaleService(t *testing.T) {
	h := needFake(t)
	actions := &memActions{}
	p := newPlatform(t, h, map[string]string{fakeKind: fakeImage}, actions)
	stored, _ := fakeAction(t, actions, "third version")
	stored.Version = whisk.SemVer{Patch: 3}
	actions.put(stored)
	run(t, p, platform.ActionOf(stored), `{}`)

	// Deleted and created again while its Service stayed (the API server
	// was down, say): version numbers start over, and the new 0.0.1 wins.
	again := *stored
	code := "first version of the new action"
	again.Exec.Code, again.Version, again.Updated = &code, whisk.DefaultVersion, stored.Updated+1
	actions.put(&again)
	if got := resultOf(t, run(t, p, platform.ActionOf(&again), `{}`)); got["version"] != "0.0.1" || got["codeBytes"] != float64(len(code)) {
		t.Errorf("result %v; want the re-created action's 0.0.1", got)
	}
}

func TestRemove(t *testing.T) {
	h := needFake(t)
	p := newPlatform(t, h, map[string]string{fakeKind: fakeImage}, nil)
	_, a := fakeAction(t, nil, "code")
	run(t, p, a, `{}`)
	if err := p.Delete(context.Background(), a.Path); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := h.serving.ServingV1().Services(actionsNamespace).Get(context.Background(), knative.ServiceName(a.Path), metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("Service after Remove: %v, want not found", err)
	}
	if err := p.Delete(context.Background(), a.Path); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	if res := run(t, p, a, `{}`); !res.Cold {
		t.Error("run after Remove was warm")
	}
}

func TestLargeCodeIsFetched(t *testing.T) {
	h := needFake(t)
	actions := &memActions{}
	p := newPlatform(t, h, map[string]string{fakeKind: fakeImage}, actions)
	big := strings.Repeat("x", knative.DefaultInlineCodeLimit+1)
	stored, a := fakeAction(t, actions, big)
	got := resultOf(t, run(t, p, a, `{}`))
	if got["fetched"] != true || got["codeBytes"] != float64(len(big)) {
		t.Errorf("result %v; want the code fetched from the gateway", got)
	}
	svc, err := h.serving.ServingV1().Services(actionsNamespace).Get(context.Background(), knative.ServiceName(a.Path), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(svc.Spec.Template.Spec.Containers[0].Env[0].Value); n > 4096 {
		t.Errorf("%s is %d bytes: the code went inline", knative.EnvAction, n)
	}

	// Code replaced under the same digest's token is not served: the
	// runtime's init fails rather than running other code.
	other := strings.Repeat("y", len(big))
	stored.Exec.Code, stored.Version = &other, whisk.SemVer{Patch: 9}
	_, b := fakeAction(t, nil, big)
	b.Path = a.Path
	b.Key += "-again"
	b.Version = "0.0.9"
	res := run(t, p, b, `{}`)
	if res.Response.StatusCode != whisk.StatusDeveloperError || !strings.Contains(string(res.Response.Result), "404") {
		t.Errorf("run with code changed since: %d %s; want a developer error from the failed fetch", res.Response.StatusCode, res.Response.Result)
	}
}

func TestRevisionFailure(t *testing.T) {
	h := needFake(t)
	p := newPlatform(t, h, map[string]string{brokenKind: unpullableImage}, nil)
	_, a := fakeAction(t, nil, "code")
	a.Kind = brokenKind
	res := run(t, p, a, `{}`)
	if res.Response.StatusCode != whisk.StatusDeveloperError || !strings.Contains(string(res.Response.Result), "Unable to fetch image") {
		t.Errorf("result %d %s; want a developer error naming the image failure", res.Response.StatusCode, res.Response.Result)
	}
}

func TestUnsupportedKind(t *testing.T) {
	h := needFake(t)
	p := newPlatform(t, h, map[string]string{fakeKind: fakeImage}, nil)
	_, a := fakeAction(t, nil, "code")
	a.Kind = "cobol:85"
	res := run(t, p, a, `{}`)
	if res.Response.StatusCode != whisk.StatusDeveloperError || !strings.Contains(string(res.Response.Result), "cobol:85") {
		t.Errorf("result %d %s; want a developer error naming the kind", res.Response.StatusCode, res.Response.Result)
	}
}

func TestAPIServerUnreachable(t *testing.T) {
	h := needFake(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(h.gateway)
	cfg.Host = "https://" + ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	p := newPlatformWith(t, h, cfg, map[string]string{fakeKind: fakeImage}, nil)
	_, a := fakeAction(t, nil, "code")
	start := time.Now()
	_, err = p.Run(context.Background(), a, &platform.RunRequest{Value: json.RawMessage(`{}`)})
	if !whisk.IsKind(err, whisk.KindUnavailable) || !strings.Contains(err.Error(), kube.MsgUnreachable) {
		t.Errorf("Run = %v, want KindUnavailable (503) saying %q", err, kube.MsgUnreachable)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("Run took %s to fail", d)
	}
	if err := p.Delete(context.Background(), a.Path); !whisk.IsKind(err, whisk.KindUnavailable) {
		t.Errorf("Delete = %v, want KindUnavailable", err)
	}
}

func TestGatewayRBAC(t *testing.T) {
	h := needFake(t)
	core, err := kubernetes.NewForConfig(h.gateway)
	if err != nil {
		t.Fatal(err)
	}
	serving, err := servingclient.NewForConfig(h.gateway)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name    string
		call    func() error
		allowed bool
	}{
		{"list Services in the actions namespace", func() error {
			_, err := serving.ServingV1().Services(actionsNamespace).List(ctx, metav1.ListOptions{})
			return err
		}, true},
		{"get a Revision", func() error {
			_, err := serving.ServingV1().Revisions(actionsNamespace).Get(ctx, "none", metav1.GetOptions{})
			return err
		}, true},
		{"list Services elsewhere", func() error {
			_, err := serving.ServingV1().Services("default").List(ctx, metav1.ListOptions{})
			return err
		}, false},
		{"list Revisions", func() error {
			_, err := serving.ServingV1().Revisions(actionsNamespace).List(ctx, metav1.ListOptions{})
			return err
		}, false},
		{"read secrets", func() error {
			_, err := core.CoreV1().Secrets(actionsNamespace).List(ctx, metav1.ListOptions{})
			return err
		}, false},
		{"read the run keys' Secret", func() error {
			_, err := core.CoreV1().Secrets(actionsNamespace).Get(ctx, knative.RunKeysSecret, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}, true},
		{"watch the run keys' Secret by name", func() error {
			w, err := core.CoreV1().Secrets(actionsNamespace).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + knative.RunKeysSecret})
			if err == nil {
				w.Stop()
			}
			return err
		}, true},
		{"read another Secret", func() error {
			_, err := core.CoreV1().Secrets(actionsNamespace).Get(ctx, "other", metav1.GetOptions{})
			return err
		}, false},
		{"list pods", func() error {
			_, err := core.CoreV1().Pods(actionsNamespace).List(ctx, metav1.ListOptions{})
			return err
		}, false},
		{"create Services in the gateway's own namespace", func() error {
			_, err := serving.ServingV1().Services("kwhisk").Create(ctx, &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
			return err
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if forbidden := apierrors.IsForbidden(err); forbidden == tc.allowed {
				t.Errorf("error %v; want allowed = %v", err, tc.allowed)
			}
		})
	}
}

func TestReconcile(t *testing.T) {
	h := needFake(t)
	actions := &memActions{}
	p := newPlatform(t, h, map[string]string{fakeKind: fakeImage}, actions)
	ctx := context.Background()
	stored, a := fakeAction(t, actions, "kept")
	sequence := &whisk.Action{Namespace: "guest", Name: "seq-" + stored.Name, Exec: whisk.Exec{Kind: whisk.KindSequence}}
	actions.put(sequence)

	// An orphan: a Service of ours whose action is not stored.
	_, orphan := fakeAction(t, nil, "orphan")
	orphanSvc := knative.MakeService(orphan, knative.BuildOptions{Namespace: actionsNamespace, Image: fakeImage})
	if _, err := h.serving.ServingV1().Services(actionsNamespace).Create(ctx, orphanSvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Not ours: no managed-by label.
	foreign := orphanSvc.DeepCopy()
	foreign.Name, foreign.Labels = "foreign-"+itoa(seq.Add(1)), nil
	foreign.Spec.Template.Name = foreign.Name + "-v1"
	foreign.Spec.Traffic = nil
	if _, err := h.serving.ServingV1().Services(actionsNamespace).Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	if err := p.Reconcile(ctx, actions.platformActions()); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if _, err := h.serving.ServingV1().Services(actionsNamespace).Get(ctx, orphanSvc.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("orphan Service: %v, want deleted", err)
	}
	if _, err := h.serving.ServingV1().Services(actionsNamespace).Get(ctx, foreign.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("foreign Service: %v, want untouched", err)
	}
	if _, err := h.serving.ServingV1().Services(actionsNamespace).Get(ctx, knative.ServiceName(a.Path), metav1.GetOptions{}); err != nil {
		t.Errorf("stored action's Service: %v, want created", err)
	}
	if _, err := h.serving.ServingV1().Services(actionsNamespace).Get(ctx, knative.ServiceName(sequence.Path()), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("sequence's Service: %v, want none", err)
	}
	_ = h.serving.ServingV1().Services(actionsNamespace).Delete(ctx, foreign.Name, metav1.DeleteOptions{})
}

func TestSubscriberTriggers(t *testing.T) {
	h := needFake(t)
	client, err := eventingclient.NewForConfig(h.gateway)
	if err != nil {
		t.Fatal(err)
	}
	sub := brokers.New(client, kube.Namespaces{Base: actionsNamespace}, time.Minute)
	ctx := context.Background()
	path := whisk.EntityPath{Namespace: "guest", Name: "orders"}
	s := events.Subscription{Trigger: path, Broker: "default", Filters: map[string]string{"type": "order.created"}, URI: "http://kwhisk/api/v1/events/guest/orders"}
	if err := sub.Subscribe(ctx, s); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	s.Filters["source"] = "/shop"
	if err := sub.Subscribe(ctx, s); err != nil {
		t.Fatalf("Subscribe again: %v", err)
	}
	admin, err := eventingclient.NewForConfig(h.admin)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := admin.EventingV1().Triggers(actionsNamespace).Get(ctx, brokers.TriggerName(path), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Trigger: %v", err)
	}
	if tr.Spec.Broker != "default" || tr.Spec.Subscriber.URI.String() != s.URI || tr.Spec.Filter == nil ||
		!cmp.Equal(map[string]string(tr.Spec.Filter.Attributes), map[string]string{"type": "order.created", "source": "/shop"}) {
		t.Errorf("Trigger spec %+v", tr.Spec)
	}
	if err := sub.Unsubscribe(ctx, path); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	if _, err := admin.EventingV1().Triggers(actionsNamespace).Get(ctx, brokers.TriggerName(path), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Trigger after Unsubscribe: %v, want not found", err)
	}
}
