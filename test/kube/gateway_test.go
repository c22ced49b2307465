package kubetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	eventingclient "knative.dev/eventing/pkg/client/clientset/versioned"

	"github.com/kwhisk/kwhisk/pkg/auth"
	"github.com/kwhisk/kwhisk/pkg/brokers"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/platform/knative"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// gateway is `kwhisk serve --platform knative` as a process, as the
// gateway's service account.
type gateway struct {
	t    testing.TB
	cmd  *exec.Cmd
	url  string
	out  *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startGateway runs the gateway over dataDir until the test ends (or
// stop), with the fake kind and the runtime mains that exist; extra are
// more flags of kwhisk serve.
func startGateway(t testing.TB, h *harness, dataDir string, extra ...string) *gateway {
	t.Helper()
	images := map[string]string{fakeKind: fakeImage}
	for k, v := range h.runtimes {
		images[k] = v
	}
	return startGatewayWith(t, h, dataDir, images, extra...)
}

// startGatewayWith is startGateway with the runtime images of images
// (kind → image).
func startGatewayWith(t testing.TB, h *harness, dataDir string, images map[string]string, extra ...string) *gateway {
	t.Helper()
	runtimes := filepath.Join(dataDir, "runtime-images")
	if err := os.MkdirAll(runtimes, 0o755); err != nil {
		t.Fatal(err)
	}
	for kind, image := range images {
		if err := os.WriteFile(filepath.Join(runtimes, strings.Replace(kind, ":", "-", 1)), []byte(image+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kubeconfig, err := h.cluster.kubeconfig("gateway", gatewayToken)
	if err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := h.listen + ":" + strconv.Itoa(port)
	g := &gateway{t: t, url: "http://" + addr, out: &syncBuffer{}, done: make(chan struct{})}
	args := []string{"serve", "--platform", "knative", "--kubeconfig", kubeconfig,
		"--kube-namespace", actionsNamespace, "--listen", addr, "--data-dir", dataDir, "--runtimes-dir", runtimes}
	g.cmd = exec.Command(h.kwhisk, append(args, extra...)...)
	g.cmd.Stdout, g.cmd.Stderr = g.out, g.out
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.cmd.Wait(); close(g.done) }()
	t.Cleanup(func() {
		g.stop()
		if t.Failed() {
			t.Logf("gateway output:\n%s", g.out.String())
		}
	})
	err = poll(context.Background(), 30*time.Second, func() (bool, error) {
		select {
		case <-g.done:
			return false, errExited
		default:
		}
		resp, err := http.Get(g.url + "/ping")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("gateway not serving: %v\n%s", err, g.out.String())
	}
	return g
}

var errExited = &exitError{}

type exitError struct{}

func (*exitError) Error() string { return "the gateway exited" }

// stop ends the gateway (SIGTERM: it drains) and waits.
func (g *gateway) stop() {
	select {
	case <-g.done:
		return
	default:
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(40 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.done
	}
}

// call makes an API request as the guest namespace and decodes the answer.
func (g *gateway) call(method, path string, body any, out any) int {
	g.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			g.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, g.url+path, r)
	if err != nil {
		g.t.Fatal(err)
	}
	req.SetBasicAuth(auth.WellKnown[0].UUID, auth.WellKnown[0].Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			g.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// activation is the part of an activation record the tests read.
type activation struct {
	ActivationID string   `json:"activationId"`
	Logs         []string `json:"logs"`
	Response     struct {
		Status string          `json:"status"` // "success", "developer error" …
		Result json.RawMessage `json:"result"`
	} `json:"response"`
	Annotations whisk.KeyValues `json:"annotations"`
}

// invoke runs an action of the guest namespace, blocking, and returns the
// fake runtime's result.
func (g *gateway) invoke(name string, params any) (activation, map[string]any) {
	g.t.Helper()
	var rec activation
	if code := g.call(http.MethodPost, "/api/v1/namespaces/_/actions/"+name+"?blocking=true", params, &rec); code != http.StatusOK {
		g.t.Fatalf("invoke %s: status %d, record %+v", name, code, rec)
	}
	var res map[string]any
	if err := json.Unmarshal(rec.Response.Result, &res); err != nil {
		g.t.Fatalf("result %s: %v", rec.Response.Result, err)
	}
	return rec, res
}

// service polls for the Service of a guest action until ok accepts it
// (nil: until it is gone).
func (h *harness) service(t testing.TB, name string, ok func(template string, version string) bool) {
	t.Helper()
	path := whisk.EntityPath{Namespace: "guest", Name: name}
	var last string
	err := poll(context.Background(), 30*time.Second, func() (bool, error) {
		svc, err := h.serving.ServingV1().Services(actionsNamespace).Get(context.Background(), knative.ServiceName(path), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			last = "not found"
			return ok == nil, nil
		}
		if err != nil {
			return false, err
		}
		last = svc.Spec.Template.Name + " " + svc.Spec.Template.Annotations[knative.AnnotationVersion]
		return ok != nil && ok(svc.Spec.Template.Name, svc.Spec.Template.Annotations[knative.AnnotationVersion]), nil
	})
	if err != nil {
		t.Fatalf("Service of %s: %v (last seen: %s)", name, err, last)
	}
}

func TestGatewayActionLifecycle(t *testing.T) {
	h := needFake(t)
	g := startGateway(t, h, t.TempDir())
	put := func(code string, overwrite bool) {
		t.Helper()
		body := map[string]any{"exec": map[string]any{"kind": fakeKind, "code": code}}
		if status := g.call(http.MethodPut, "/api/v1/namespaces/_/actions/hello?overwrite="+strconv.FormatBool(overwrite), body, nil); status != http.StatusOK {
			t.Fatalf("put action: status %d", status)
		}
	}

	// Create: the Service is made right away, before any invoke.
	put("function main() { return {one: 1} }", false)
	var first string
	h.service(t, "hello", func(tmpl, v string) bool { first = tmpl; return v == "0.0.1" })

	rec, res := g.invoke("hello", map[string]string{"name": "Jane"})
	if res["action"] != "/guest/hello" || res["version"] != "0.0.1" || res["value"].(map[string]any)["name"] != "Jane" {
		t.Errorf("result %v; want the fake runtime's echo of version 0.0.1", res)
	}
	var stored activation
	if status := g.call(http.MethodGet, "/api/v1/namespaces/_/activations/"+rec.ActivationID, nil, &stored); status != http.StatusOK {
		t.Fatalf("get activation: %d", status)
	}
	if len(stored.Logs) != 1 || !strings.HasSuffix(stored.Logs[0], "stdout: fake run "+rec.ActivationID) {
		t.Errorf("activation logs %q; want the runtime's line for %s", stored.Logs, rec.ActivationID)
	}
	if !stored.Annotations.Has("initTime") {
		t.Errorf("annotations %s lack initTime: the first activation was cold", mustJSON(stored.Annotations))
	}

	// Update: a new revision, and the invoke runs it.
	put("function main() { return {two: 2} }", true)
	h.service(t, "hello", func(tmpl, v string) bool { return v == "0.0.2" && tmpl != first })
	if _, res := g.invoke("hello", map[string]string{}); res["version"] != "0.0.2" {
		t.Errorf("result after update %v; want version 0.0.2", res)
	}

	// Large code reaches the runtime through the gateway's code route.
	big := strings.Repeat("/* padding */", knative.DefaultInlineCodeLimit/10)
	put(big, true)
	h.service(t, "hello", func(_, v string) bool { return v == "0.0.3" })
	if _, res := g.invoke("hello", nil); res["fetched"] != true || res["codeBytes"] != float64(len(big)) {
		t.Errorf("result of a large action %v; want its code fetched from the gateway", res)
	}

	// Delete: the Service goes.
	if status := g.call(http.MethodDelete, "/api/v1/namespaces/_/actions/hello", nil, nil); status != http.StatusOK {
		t.Fatalf("delete action: %d", status)
	}
	h.service(t, "hello", nil)
}

func TestGatewayReconcilesOnRestart(t *testing.T) {
	h := needFake(t)
	data := t.TempDir()
	g := startGateway(t, h, data)
	body := map[string]any{"exec": map[string]any{"kind": fakeKind, "code": "kept"}}
	if status := g.call(http.MethodPut, "/api/v1/namespaces/_/actions/kept", body, nil); status != http.StatusOK {
		t.Fatalf("put action: %d", status)
	}
	h.service(t, "kept", func(_, v string) bool { return v == "0.0.1" })
	g.stop()

	// While the gateway is down, its Service goes and an orphan appears.
	ctx := context.Background()
	kept := whisk.EntityPath{Namespace: "guest", Name: "kept"}
	if err := h.serving.ServingV1().Services(actionsNamespace).Delete(ctx, knative.ServiceName(kept), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	orphan := &whisk.Action{Namespace: "guest", Name: "orphan", Exec: whisk.Exec{Kind: fakeKind}, Version: whisk.DefaultVersion}
	svc := knative.MakeService(platform.ActionOf(orphan), knative.BuildOptions{Namespace: actionsNamespace, Image: fakeImage})
	if _, err := h.serving.ServingV1().Services(actionsNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	g = startGateway(t, h, data)
	h.service(t, "kept", func(_, v string) bool { return v == "0.0.1" })
	h.service(t, "orphan", nil)
	if _, res := g.invoke("kept", nil); res["action"] != "/guest/kept" {
		t.Errorf("result %v after the restart", res)
	}
}

func TestGatewayBrokerSubscription(t *testing.T) {
	h := needFake(t)
	g := startGateway(t, h, t.TempDir())
	if status := g.call(http.MethodPut, "/api/v1/namespaces/_/triggers/orders", map[string]any{}, nil); status != http.StatusOK {
		t.Fatalf("put trigger: %d", status)
	}
	feed := map[string]any{
		"lifecycleEvent": "CREATE", "triggerName": "/guest/orders",
		"authKey": auth.WellKnown[0].UUID + ":" + auth.WellKnown[0].Key, "broker": "default", "type": "order.created",
	}
	var rec activation
	if status := g.call(http.MethodPost, "/api/v1/namespaces/whisk.system/actions/cloudevents/subscribe?blocking=true", feed, &rec); status != http.StatusOK {
		t.Fatalf("feed CREATE: status %d, %s", status, rec.Response.Result)
	}
	admin, err := eventingclient.NewForConfig(h.admin)
	if err != nil {
		t.Fatal(err)
	}
	path := whisk.EntityPath{Namespace: "guest", Name: "orders"}
	tr, err := admin.EventingV1().Triggers(actionsNamespace).Get(context.Background(), brokers.TriggerName(path), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Knative Trigger of the subscription: %v", err)
	}
	if uri := tr.Spec.Subscriber.URI.String(); !strings.HasPrefix(uri, g.url+"/api/v1/events/guest/orders") {
		t.Errorf("subscriber URI %q; want the gateway's event ingress for the trigger", uri)
	}
	feed["lifecycleEvent"] = "DELETE"
	if status := g.call(http.MethodPost, "/api/v1/namespaces/whisk.system/actions/cloudevents/subscribe?blocking=true", feed, &rec); status != http.StatusOK {
		t.Fatalf("feed DELETE: status %d, %s", status, rec.Response.Result)
	}
	if _, err := admin.EventingV1().Triggers(actionsNamespace).Get(context.Background(), brokers.TriggerName(path), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Knative Trigger after DELETE: %v, want gone", err)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// With --platform knative the alarm scheduler runs only on the replica
// that holds the alarms Lease: the gateway (as its service account) takes
// the Lease, and an interval alarm then fires its trigger.
func TestGatewayAlarmsUnderLease(t *testing.T) {
	h := needFake(t)
	g := startGateway(t, h, t.TempDir())
	admin, err := kubernetes.NewForConfig(h.admin)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		l, err := admin.CoordinationV1().Leases(actionsNamespace).Get(context.Background(), "kwhisk-alarms", metav1.GetOptions{})
		if err == nil && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway never held the alarms Lease: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status := g.call(http.MethodPut, "/api/v1/namespaces/_/triggers/tick", map[string]any{}, nil); status != http.StatusOK {
		t.Fatalf("put trigger: %d", status)
	}
	body := map[string]any{"exec": map[string]any{"kind": fakeKind, "code": "function main(p) { return p }"}}
	if status := g.call(http.MethodPut, "/api/v1/namespaces/_/actions/ticked", body, nil); status != http.StatusOK {
		t.Fatalf("put action: %d", status)
	}
	if status := g.call(http.MethodPut, "/api/v1/namespaces/_/rules/on-tick", map[string]any{"trigger": "/_/tick", "action": "/_/ticked"}, nil); status != http.StatusOK {
		t.Fatalf("put rule: %d", status)
	}
	feed := map[string]any{"lifecycleEvent": "CREATE", "triggerName": "/guest/tick", "authKey": auth.WellKnown[0].UUID + ":" + auth.WellKnown[0].Key, "interval": 1}
	var rec activation
	if status := g.call(http.MethodPost, "/api/v1/namespaces/whisk.system/actions/alarms/alarm?blocking=true", feed, &rec); status != http.StatusOK {
		t.Fatalf("alarm CREATE: status %d, %s", status, rec.Response.Result)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		var count map[string]int
		g.call(http.MethodGet, "/api/v1/namespaces/_/activations?name=tick&count=true", nil, &count)
		if count["activations"] >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the alarm fired %d times in 30 s; want at least 2", count["activations"])
		}
		time.Sleep(100 * time.Millisecond)
	}
}
