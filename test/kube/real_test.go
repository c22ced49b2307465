package kubetest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"

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
