package kubetest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/platform/knative"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// The real tier's tests: kwhisk's gateway against Knative Serving's own
// components (see tier_test.go).

// putAction creates or replaces a guest action with code of kind.
func (g *gateway) putAction(name, kind, code string, extra map[string]any) {
	g.t.Helper()
	body := map[string]any{"exec": map[string]any{"kind": kind, "code": code}}
	for k, v := range extra {
		body[k] = v
	}
	if status := g.call(http.MethodPut, "/api/v1/namespaces/_/actions/"+name+"?overwrite=true", body, nil); status != http.StatusOK {
		g.t.Fatalf("put action %s: status %d", name, status)
	}
}

// revisionReady waits until the real controller reports the Service of
// the guest action name Ready on a revision other than not, and returns
// that revision.
func (h *harness) revisionReady(t testing.TB, name, not string, within time.Duration) string {
	t.Helper()
	svcName := knative.ServiceName(whisk.EntityPath{Namespace: "guest", Name: name})
	var rev, last string
	err := poll(context.Background(), within, func() (bool, error) {
		svc, err := h.serving.ServingV1().Services(actionsNamespace).Get(context.Background(), svcName, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		c := svc.Status.GetCondition(apis.ConditionReady)
		if c == nil {
			last = "no Ready condition"
			return false, nil
		}
		last = string(c.Status) + " " + c.Reason + " " + c.Message
		rev = svc.Status.LatestReadyRevisionName
		return c.IsTrue() && rev == svc.Spec.Template.Name && rev != not, nil
	})
	if err != nil {
		t.Fatalf("Service %s not Ready: %v (last: %s)", svcName, err, last)
	}
	return rev
}

// revisionPods counts the running pods of a revision.
func (h *harness) revisionPods(t testing.TB, rev string) int {
	t.Helper()
	pods, err := h.core.CoreV1().Pods(actionsNamespace).List(context.Background(), metav1.ListOptions{LabelSelector: "serving.knative.dev/revision=" + rev})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
			n++
		}
	}
	return n
}

// revisionPodsLeft counts the pods of revision rev in any state: a pod
// still terminating may serve a request while it drains.
func (h *harness) revisionPodsLeft(t testing.TB, rev string) int {
	t.Helper()
	pods, err := h.core.CoreV1().Pods(actionsNamespace).List(context.Background(), metav1.ListOptions{LabelSelector: "serving.knative.dev/revision=" + rev})
	if err != nil {
		t.Fatal(err)
	}
	return len(pods.Items)
}

const helloJS = `function main(p) { console.log("hello " + (p.name || "stranger")); return {greeting: "Hello, " + (p.name || "stranger") + "!"} }`

// TestServingCreateInvoke: an action created through kwhisk becomes a
// Knative Service that the real webhook admits and the real controller
// makes Ready; the first invoke succeeds with its logs; a new version
// gets a new Revision.
func TestServingCreateInvoke(t *testing.T) {
	h := needReal(t)
	g := startGateway(t, h, t.TempDir())
	g.putAction("hello", "nodejs:20", helloJS, nil)
	rev := h.revisionReady(t, "hello", "", 2*time.Minute)
	rec, res := g.invoke("hello", map[string]string{"name": "Knative"})
	if res["greeting"] != "Hello, Knative!" {
		t.Errorf("result %v", res)
	}
	if len(rec.Logs) != 1 || !strings.HasSuffix(rec.Logs[0], "stdout: hello Knative") {
		t.Errorf("logs %q", rec.Logs)
	}
	g.putAction("hello", "nodejs:20", strings.Replace(helloJS, "Hello", "Howdy", 1), nil)
	h.revisionReady(t, "hello", rev, 2*time.Minute)
	if _, res := g.invoke("hello", map[string]string{"name": "again"}); res["greeting"] != "Howdy, again!" {
		t.Errorf("result after update %v", res)
	}
}

// helloSource is the conformance suite's hello action of kind's family,
// which greets params.name and logs a line on stdout and one on stderr.
func helloSource(t testing.TB, h *harness, kind string) string {
	t.Helper()
	family, _, _ := strings.Cut(kind, ":")
	file := map[string]string{"nodejs": "nodejs/hello.js", "python": "python/hello.py", "go": "_go/hello.go", "blackbox": "blackbox/hello.sh"}[family]
	if file == "" {
		t.Fatalf("no hello action for %s", kind)
	}
	b, err := os.ReadFile(filepath.Join(h.root, "pkg/platform/platformtest/actions", file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestServingAdmitsEveryService: the Services kwhisk builds for every
// kind, a --docker action, explicit limits, a concurrency of 1 and of 50
// and an action's autoscaling annotation all pass Knative's real webhook,
// become Ready and run.
func TestServingAdmitsEveryService(t *testing.T) {
	h := needReal(t)
	g := startGateway(t, h, t.TempDir())
	type action struct {
		name, kind, code string
		extra            map[string]any
	}
	var actions []action
	for kind := range h.runtimes {
		name := "hello-" + strings.NewReplacer(":", "", ".", "").Replace(kind)
		actions = append(actions, action{name, kind, helloSource(t, h, kind), nil})
	}
	actions = append(actions,
		action{"docker", "blackbox", helloSource(t, h, "blackbox"), nil},
		action{"limits", "nodejs:20", helloSource(t, h, "nodejs"), map[string]any{
			"limits": map[string]any{"timeout": 5000, "memory": 128, "logs": 1, "concurrency": 1}}},
		action{"annotated", "nodejs:20", helloSource(t, h, "nodejs"), map[string]any{
			"annotations": []map[string]any{{"key": "autoscaling.knative.dev/max-scale", "value": "3"}}}},
	)
	for _, a := range actions {
		if a.kind == "blackbox" {
			// A native action is OpenWhisk's docker skeleton with code; a
			// --docker action names an image of its own.
			image := "openwhisk/dockerskeleton"
			if a.name == "docker" {
				image = dockerImage
			}
			body := map[string]any{"exec": map[string]any{"kind": "blackbox", "image": image, "code": a.code}}
			if status := g.call(http.MethodPut, "/api/v1/namespaces/_/actions/"+a.name+"?overwrite=true", body, nil); status != http.StatusOK {
				t.Fatalf("put action %s: %d", a.name, status)
			}
			continue
		}
		g.putAction(a.name, a.kind, a.code, a.extra)
	}
	// The API caps an action's concurrency at 1, as OpenWhisk does by
	// default; the Service of a concurrency of 50 (what a raised bound
	// would build) must pass the webhook too: a server-side dry run.
	t.Run("containerConcurrency 50", func(t *testing.T) {
		a := &platform.Action{Path: whisk.EntityPath{Namespace: "guest", Name: "wide"}, Kind: "nodejs:20", Version: "0.0.1",
			Code: helloSource(t, h, "nodejs"), Limits: whisk.DefaultBounds.Defaults()}
		a.Limits.Concurrency = 50
		svc := knative.MakeService(a, knative.BuildOptions{Namespace: actionsNamespace, Image: h.runtimes["nodejs:20"], APIHost: "http://" + h.listen})
		if _, err := h.serving.ServingV1().Services(actionsNamespace).Create(context.Background(), svc, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Errorf("the webhook refused a Service with containerConcurrency 50: %v", err)
		}
	})
	for _, a := range actions {
		t.Run(a.name, func(t *testing.T) {
			h.revisionReady(t, a.name, "", 2*time.Minute)
			rec, res := g.invoke(a.name, map[string]string{"name": a.name})
			if res["greeting"] != "Hello, "+a.name+"!" {
				t.Errorf("result %v", res)
			}
			if !rec.Annotations.Has("initTime") {
				t.Errorf("the first run of %s has no initTime: %s", a.name, mustJSON(rec.Annotations))
			}
		})
	}
}

// TestServingScaleToZero: the real autoscaler scales an idle revision to
// zero; an invoke then starts a pod through the real activator; a burst
// of 20 invokes at zero with containerConcurrency 1 all succeed, on
// several pods.
func TestServingScaleToZero(t *testing.T) {
	h := needReal(t)
	g := startGateway(t, h, t.TempDir())
	g.putAction("sleepy", "nodejs:20", `function main(p) { return new Promise(r => setTimeout(() => r({slept: p.ms || 0}), p.ms || 0)) }`,
		map[string]any{"limits": map[string]any{"concurrency": 1}})
	rev := h.revisionReady(t, "sleepy", "", 2*time.Minute)
	g.invoke("sleepy", map[string]int{"ms": 0})
	atZero := func() {
		t.Helper()
		// Gone, not only terminating: a draining pod would answer warm.
		if err := poll(context.Background(), 2*time.Minute, func() (bool, error) { return h.revisionPodsLeft(t, rev) == 0, nil }); err != nil {
			t.Fatalf("revision %s not scaled to zero: %v", rev, err)
		}
	}
	atZero()
	start := time.Now()
	rec, res := g.invoke("sleepy", map[string]int{"ms": 0})
	t.Logf("cold invoke through the activator: %s", time.Since(start))
	if res["slept"] != float64(0) || !rec.Annotations.Has("initTime") {
		t.Errorf("cold invoke: result %v, annotations %s", res, mustJSON(rec.Annotations))
	}

	atZero()
	const burst = 20
	var wg sync.WaitGroup
	errs := make(chan string, burst)
	maxPods := 0
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
				if n := h.revisionPods(t, rev); n > maxPods {
					maxPods = n
				}
			}
		}
	}()
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rec activation
			status := g.call(http.MethodPost, "/api/v1/namespaces/_/actions/sleepy?blocking=true", map[string]int{"ms": 500}, &rec)
			if status != http.StatusOK || rec.Response.Status != "success" {
				errs <- fmt.Sprintf("invoke %d: status %d, %s", i, status, rec.Response.Result)
			}
		}()
	}
	wg.Wait()
	close(stop)
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	t.Logf("burst of %d at zero: at most %d pods seen", burst, maxPods)
	if maxPods < 2 {
		t.Errorf("a burst of %d with containerConcurrency 1 ran on %d pod(s); want Knative to scale out", burst, maxPods)
	}
}

// TestServingFailures: a timeout, a crash and an action over its memory
// limit on the real data plane give OpenWhisk's records, with the
// activation's own logs. (The pod runner does not enforce limits.memory
// as a kubelet's cgroup would: the runtime, told the limit, gives up
// first, as it does on a cluster.)
func TestServingFailures(t *testing.T) {
	h := needReal(t)
	g := startGateway(t, h, t.TempDir())
	// hang's first run returns at once: the run that hangs is warm, so the
	// 1 s limit is the run's alone, however long a loaded machine takes to
	// start Node.js (a cold start's init counts against the limit too).
	g.putAction("hang", "nodejs:20", `function main(p) { if (p.warm) return {}; console.log("waiting"); return new Promise(() => {}) }`,
		map[string]any{"limits": map[string]any{"timeout": 1000}})
	g.putAction("crash", "nodejs:20", `function main() { console.log("bye"); process.exit(3) }`, nil)
	g.putAction("hog", "nodejs:20", `function main() { console.log("eating"); const a = []; for (;;) a.push(new Array(1e6).fill(7)) }`,
		map[string]any{"limits": map[string]any{"memory": 128}})
	for _, name := range []string{"hang", "crash", "hog"} {
		h.revisionReady(t, name, "", 2*time.Minute)
	}
	var warm activation
	if status := g.call(http.MethodPost, "/api/v1/namespaces/_/actions/hang?blocking=true", map[string]any{"warm": true}, &warm); status != http.StatusOK {
		t.Fatalf("hang's warm-up run: status %d, result %s", status, warm.Response.Result)
	}
	check := func(name, want string) {
		t.Helper()
		var rec activation
		g.call(http.MethodPost, "/api/v1/namespaces/_/actions/"+name+"?blocking=true", map[string]any{}, &rec)
		var res struct{ Error string }
		_ = json.Unmarshal(rec.Response.Result, &res)
		if rec.Response.Status != "action developer error" || res.Error != want {
			t.Errorf("%s: status %q, result %s; want a developer error %q", name, rec.Response.Status, rec.Response.Result, want)
		}
		var logged bool
		for _, l := range rec.Logs {
			logged = logged || strings.Contains(l, "stdout:")
		}
		if !logged {
			t.Errorf("%s: logs %q lack the action's line", name, rec.Logs)
		}
	}
	check("hang", "The action exceeded its time limits of 1000 milliseconds.")
	check("crash", knative.MsgRunExited)
	check("hog", actionloop.MsgMemoryExhausted)
}

// TestServingDelete: deleting an action deletes its Service, and
// Kubernetes' garbage collector its pods.
func TestServingDelete(t *testing.T) {
	h := needReal(t)
	g := startGateway(t, h, t.TempDir())
	g.putAction("doomed", "nodejs:20", helloJS, nil)
	rev := h.revisionReady(t, "doomed", "", 2*time.Minute)
	g.invoke("doomed", map[string]string{})
	if status := g.call(http.MethodDelete, "/api/v1/namespaces/_/actions/doomed", nil, nil); status != http.StatusOK {
		t.Fatalf("delete: %d", status)
	}
	h.service(t, "doomed", nil)
	if err := poll(context.Background(), time.Minute, func() (bool, error) { return h.revisionPods(t, rev) == 0, nil }); err != nil {
		t.Errorf("pods of %s still running after the delete: %v", rev, err)
	}
}

// TestServingSlowStart: a pod whose container takes 15 s to start (an
// image pull) neither spends a 3 s action's time limit nor trips
// Knative's request timeout: the activation succeeds and the wait is
// waitTime, not duration.
func TestServingSlowStart(t *testing.T) {
	h := needReal(t)
	images := map[string]string{}
	for kind, image := range h.runtimes {
		images[kind] = h.real.slowImages[image]
	}
	g := startGatewayWith(t, h, t.TempDir(), images, "--blocking-wait", "2m")
	g.putAction("slow", "nodejs:20", helloJS, map[string]any{"limits": map[string]any{"timeout": 3000}})
	start := time.Now()
	var rec activation
	status := g.call(http.MethodPost, "/api/v1/namespaces/_/actions/slow?blocking=true", map[string]string{"name": "late"}, &rec)
	took := time.Since(start)
	if status != http.StatusOK || rec.Response.Status != "success" {
		t.Fatalf("invoke after a %s start: status %d, result %s", slowStart, status, rec.Response.Result)
	}
	if took < slowStart {
		t.Errorf("the invoke took %s, less than the %s start: the slow image was not used", took, slowStart)
	}
	var wait float64
	for _, kv := range rec.Annotations {
		if kv.Key == "waitTime" {
			_ = json.Unmarshal(kv.Value, &wait)
		}
	}
	if time.Duration(wait)*time.Millisecond < slowStart-2*time.Second {
		t.Errorf("waitTime %v ms; want the start's %s in it", wait, slowStart)
	}
	var full struct {
		Duration int64 `json:"duration"`
	}
	g.call(http.MethodGet, "/api/v1/namespaces/_/activations/"+rec.ActivationID, nil, &full)
	if full.Duration <= 0 || time.Duration(full.Duration)*time.Millisecond > 3*time.Second {
		t.Errorf("duration %d ms; want the run alone, within the 3 s limit", full.Duration)
	}
}

// TestServingRefusedSettings: a setting Knative's validation refuses is a
// 400 naming it when the action is written; one only the cluster's
// webhook refuses (beyond its max-scale-limit) is a developer error
// naming it when the action runs, not a 503.
func TestServingRefusedSettings(t *testing.T) {
	h := needReal(t)
	g := startGateway(t, h, t.TempDir())
	var errBody struct{ Error string }
	body := map[string]any{"exec": map[string]any{"kind": "nodejs:20", "code": helloJS},
		"annotations": []map[string]any{{"key": "autoscaling.knative.dev/min-scale", "value": "-1"}}}
	if status := g.call(http.MethodPut, "/api/v1/namespaces/_/actions/negative", body, &errBody); status != http.StatusBadRequest ||
		!strings.Contains(errBody.Error, "autoscaling.knative.dev/min-scale") {
		t.Errorf("min-scale -1: status %d, %q; want 400 naming the annotation", status, errBody.Error)
	}

	g.putAction("wide", "nodejs:20", helloJS, map[string]any{
		"annotations": []map[string]any{{"key": "autoscaling.knative.dev/max-scale", "value": "50"}}})
	var rec activation
	status := g.call(http.MethodPost, "/api/v1/namespaces/_/actions/wide?blocking=true", map[string]any{}, &rec)
	var res struct{ Error string }
	_ = json.Unmarshal(rec.Response.Result, &res)
	if status != http.StatusBadGateway || rec.Response.Status != "action developer error" ||
		!strings.Contains(res.Error, "Knative refused") || !strings.Contains(res.Error, "max-scale") {
		t.Errorf("max-scale 50 over the cluster's limit of 30: status %d, %q, %q; want a developer error naming max-scale", status, rec.Response.Status, res.Error)
	}
}

// TestServingRecreate: an action deleted and created again with the same
// code runs on a new pod, never on the deleted one's.
func TestServingRecreate(t *testing.T) {
	h := needReal(t)
	g := startGateway(t, h, t.TempDir())
	g.putAction("phoenix", "nodejs:20", helloJS, nil)
	rev := h.revisionReady(t, "phoenix", "", 2*time.Minute)
	g.invoke("phoenix", map[string]string{})
	if status := g.call(http.MethodDelete, "/api/v1/namespaces/_/actions/phoenix", nil, nil); status != http.StatusOK {
		t.Fatalf("delete: %d", status)
	}
	g.putAction("phoenix", "nodejs:20", helloJS, nil)
	rec, _ := g.invoke("phoenix", map[string]string{})
	if !rec.Annotations.Has("initTime") {
		t.Errorf("the recreated action ran warm: %s", mustJSON(rec.Annotations))
	}
	if now := h.revisionReady(t, "phoenix", "", 2*time.Minute); now == rev {
		t.Errorf("the recreated action has the deleted one's revision %s", rev)
	}
}
