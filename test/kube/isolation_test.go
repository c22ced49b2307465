package kubetest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kwhisk/kwhisk/pkg/platform/knative"
	"github.com/kwhisk/kwhisk/pkg/runtime/runauth"
	"github.com/kwhisk/kwhisk/pkg/runtime/wire"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// counterJS counts its runs in its pod: with one pod, n says how many
// runs reached the action's code.
const counterJS = `let n = 0; function main() { n++; return {n: n} }`

// intruderJS is another action posting to a URL from its own pod: a
// tenant trying to run someone else's action past kwhisk.
const intruderJS = `async function main(p) {
  const r = await fetch(p.url, {method: "POST", headers: {"Content-Type": "application/json"}, body: p.body});
  return {status: r.status, body: await r.text(),
    token: require("fs").existsSync("/var/run/secrets/kubernetes.io/serviceaccount/token")};
}`

var onePod = map[string]any{"annotations": []map[string]any{
	{"key": "autoscaling.knative.dev/min-scale", "value": "1"},
	{"key": "autoscaling.knative.dev/max-scale", "value": "1"},
}}

// TestServingIsolation: only the gateway can run an action. A run request
// sent straight to a revision's URL from another action's pod is refused
// 401 without running anything, a signed request replayed is refused, the
// gateway's own requests keep working across a rotation of the run keys'
// Secret, and the action pods Knative makes are hardened (no
// service-account token, no privilege escalation, no capabilities,
// RuntimeDefault seccomp).
func TestServingIsolation(t *testing.T) {
	h := needReal(t)
	g := startGateway(t, h, t.TempDir())
	g.putAction("victim", "nodejs:20", counterJS, onePod)
	g.putAction("intruder", "nodejs:20", intruderJS, nil)
	h.revisionReady(t, "victim", "", 2*time.Minute)
	h.revisionReady(t, "intruder", "", 2*time.Minute)
	runs := 0
	expectRuns := func(when string) {
		t.Helper()
		runs++
		if _, res := g.invoke("victim", nil); res["n"] != float64(runs) {
			t.Fatalf("%s: the victim counts %v runs, want %d", when, res["n"], runs)
		}
	}
	expectRuns("first run through kwhisk")
	rev, url := revisionRoute(t, h, "victim")
	pod, _ := revisionPod(t, h.core, rev)

	// From another pod, unsigned: 401, and the victim did not run.
	body := func(id string) []byte {
		b, _ := json.Marshal(wire.RunRequest{Value: json.RawMessage(`{}`), Namespace: "guest", ActionName: "/guest/victim", ActivationID: id})
		return b
	}
	_, res := g.invoke("intruder", map[string]any{"url": url + "/run", "body": string(body(strings.Repeat("1", 32)))})
	if res["status"] != float64(http.StatusUnauthorized) {
		t.Errorf("a direct run from another pod answered %v %v, want 401", res["status"], res["body"])
	}
	if res["token"] != false {
		t.Errorf("the intruder's pod has a service-account token")
	}
	expectRuns("after the direct run")

	// Signed as the gateway signs: accepted once, refused when replayed.
	masters := func() []string {
		s, err := h.core.CoreV1().Secrets(actionsNamespace).Get(context.Background(), knative.RunKeysSecret, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the gateway's run keys: %v", err)
		}
		return strings.Fields(string(s.Data[knative.RunKeysField]))
	}
	old := masters()
	post := func(master string, b []byte) int {
		t.Helper()
		m, _ := hex.DecodeString(master)
		req, _ := http.NewRequest(http.MethodPost, url+"/run", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(runauth.Header, runauth.Sign(runauth.Derive(m, "/guest/victim"), time.Now().Add(time.Minute), b))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("post to %s: %v", url, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	signed := body(string(whisk.NewActivationID()))
	if status := post(old[0], signed); status != http.StatusOK {
		t.Fatalf("a request signed with the Secret's key answered %d, want 200", status)
	}
	runs++ // that one ran
	if status := post(old[0], signed); status != http.StatusUnauthorized {
		t.Errorf("the same signed request again answered %d, want 401 (a replay)", status)
	}
	if status := post(strings.Repeat("ab", 32), body(string(whisk.NewActivationID()))); status != http.StatusUnauthorized {
		t.Errorf("a request signed with another key answered %d, want 401", status)
	}
	expectRuns("after the replay")

	// Rotation: the new key first, the old one still accepted; then the
	// new one alone. The victim's pod, booted with the old key, takes
	// the new one from the gateway; an action made after the rotation
	// knows only the new one.
	fresh := hex.EncodeToString(bytes.Repeat([]byte{0x5a}, 32))
	setKeys := func(keys ...string) {
		t.Helper()
		s, err := h.core.CoreV1().Secrets(actionsNamespace).Get(context.Background(), knative.RunKeysSecret, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.Data[knative.RunKeysField] = []byte(strings.Join(keys, "\n") + "\n")
		if _, err := h.core.CoreV1().Secrets(actionsNamespace).Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // the gateway's watch of the Secret
	}
	setKeys(fresh, old[0])
	expectRuns("with a new key first")
	setKeys(fresh)
	expectRuns("with the new key alone")
	g.putAction("newcomer", "nodejs:20", helloJS, nil)
	h.revisionReady(t, "newcomer", "", 2*time.Minute)
	if _, res := g.invoke("newcomer", map[string]string{"name": "rotated"}); res["greeting"] != "Hello, rotated!" {
		t.Errorf("an action made after the rotation: result %v", res)
	}
	if status := post(fresh, body(string(whisk.NewActivationID()))); status != http.StatusOK {
		t.Errorf("a request signed with the new key answered %d, want 200", status)
	}
	runs++
	if p, _ := revisionPod(t, h.core, rev); p != pod {
		t.Fatalf("the victim's pod changed from %s to %s: the counts mean nothing", pod, p)
	}
	expectRuns("after the rotation")

	// The pod as admitted by the API server and Knative's webhook.
	p, err := h.core.CoreV1().Pods(actionsNamespace).Get(context.Background(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkHardened(t, p)
}

// checkHardened checks the hardening kwhisk asks for survived admission
// (Knative's webhook). The harness's API server runs without the
// ServiceAccount admission plugin and its pod runner mounts no volumes,
// so here the field automountServiceAccountToken is what shows the token
// stays out; on a cluster that field keeps the plugin from adding it.
func checkHardened(t *testing.T, p *corev1.Pod) {
	t.Helper()
	if a := p.Spec.AutomountServiceAccountToken; a == nil || *a {
		t.Errorf("pod %s: automountServiceAccountToken %v, want false", p.Name, a)
	}
	for _, v := range p.Spec.Volumes {
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.ServiceAccountToken != nil {
					t.Errorf("pod %s mounts a service-account token (volume %s)", p.Name, v.Name)
				}
			}
		}
	}
	var runtime *corev1.Container
	for i := range p.Spec.Containers {
		if p.Spec.Containers[i].Name == knative.RuntimeContainer {
			runtime = &p.Spec.Containers[i]
		}
	}
	if runtime == nil {
		t.Fatalf("pod %s has no %s container", p.Name, knative.RuntimeContainer)
	}
	sc := runtime.SecurityContext
	got := fmt.Sprintf("%+v", sc)
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod %s: runtime securityContext %s, want no privilege escalation, drop ALL, RuntimeDefault seccomp", p.Name, got)
	}
}
