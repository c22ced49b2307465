package knative

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingfake "knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/kwhisk/kwhisk/pkg/kube"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/runtime/wire"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// A Service slow to become Ready (an image pull, say) delays the run but
// spends none of the action's time limit: the run still happens, and the
// revision gets no deadline that passed while the gateway waited.
func TestRunWaitsForReadyOutsideTheTimeLimit(t *testing.T) {
	const readyAfter = 400 * time.Millisecond
	type arrival struct {
		at   time.Time
		body wire.RunRequest
	}
	arrived := make(chan arrival, 1)
	runtime := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := arrival{at: time.Now()}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &got.body); err != nil {
			t.Errorf("run body %s: %v", b, err)
		}
		arrived <- got
		now := time.Now().UnixMilli()
		_ = json.NewEncoder(w).Encode(wire.RunResponse{
			Response: &whisk.Response{Result: json.RawMessage(`{"ok":true}`)}, Logs: []string{}, Start: now, End: now,
		})
	}))
	defer runtime.Close()

	serving := servingfake.NewSimpleClientset()
	p, err := New(Options{
		Serving: serving, Namespaces: kube.Namespaces{Base: "kwhisk-actions"},
		Images: map[string]string{"nodejs:20": nodeImage}, CodeKey: []byte(strings.Repeat("k", 32)), RunKeys: NewRunKeys(testMaster),
		ReadyTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	go func() { _ = p.Start(ctx); close(started) }()
	defer func() { cancel(); <-started }()

	a := baseAction()
	a.Limits.Timeout = 100
	// Knative makes the Service Ready well after the action's time limit.
	go func() {
		services := serving.ServingV1().Services("kwhisk-actions")
		for ctx.Err() == nil {
			svc, err := services.Get(ctx, ServiceName(a.Path), metav1.GetOptions{})
			if err != nil {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			time.Sleep(readyAfter)
			url, _ := apis.ParseURL(runtime.URL)
			svc.Status.ObservedGeneration = svc.Generation
			svc.Status.Conditions = duckv1.Conditions{{Type: apis.ConditionReady, Status: corev1.ConditionTrue}}
			svc.Status.Traffic = []servingv1.TrafficTarget{{Tag: Tagged(svc), RevisionName: svc.Spec.Template.Name, URL: url}}
			if _, err := services.UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
				t.Errorf("make the Service Ready: %v", err)
			}
			return
		}
	}()

	res, err := p.Run(ctx, a, &platform.RunRequest{Value: json.RawMessage(`{}`)})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Timeout || res.Response.StatusCode != whisk.StatusSuccess {
		t.Errorf("Run = %+v, want the action's success", res)
	}
	got := <-arrived
	if d := wire.ParseDeadline(got.body.Deadline); !d.IsZero() && d.Before(got.at) {
		t.Errorf("the run arrived at %d with a deadline of %d, already past", got.at.UnixMilli(), d.UnixMilli())
	}
}

// ValidateAction refuses, naming the annotation, an action whose Service
// Knative's validation would refuse, and accepts a sound one.
func TestValidateAction(t *testing.T) {
	p, err := New(Options{
		Serving: servingfake.NewSimpleClientset(), Namespaces: kube.Namespaces{Base: "kwhisk-actions"},
		Images: map[string]string{"nodejs:20": nodeImage}, CodeKey: []byte(strings.Repeat("k", 32)), RunKeys: NewRunKeys(testMaster),
	})
	if err != nil {
		t.Fatal(err)
	}
	a := baseAction()
	if err := p.ValidateAction(context.Background(), a); err != nil {
		t.Errorf("a plain action: %v", err)
	}
	a.Annotations = whisk.KeyValues{{Key: "autoscaling.knative.dev/min-scale", Value: json.RawMessage(`"-1"`)}}
	err = p.ValidateAction(context.Background(), a)
	if whisk.KindOf(err) != whisk.KindInvalid || !strings.Contains(err.Error(), "autoscaling.knative.dev/min-scale") {
		t.Errorf("min-scale -1: %v; want an invalid-request error naming the annotation", err)
	}
}

// A Service whose Route a deleted namesake still holds (NotOwned), or
// whose template's revision the Configuration has not created yet
// (RevisionMissing), is waited for, not failed; a failed revision is, and
// so is an older version's missing revision.
func TestFailedWaitsOutARecreatedService(t *testing.T) {
	svc := MakeService(baseAction(), BuildOptions{Namespace: "kwhisk-actions", Image: nodeImage})
	v := &version{namespace: svc.Namespace, service: svc.Name, revision: svc.Spec.Template.Name, tag: Tagged(svc), want: svc}
	older := *v
	older.revision = svc.Name + "-vold"
	older.tag = "vold"
	svc.Spec.Traffic = append(svc.Spec.Traffic, servingv1.TrafficTarget{Tag: older.tag, RevisionName: older.revision, Percent: ptr(int64(0))})
	for _, tc := range []struct {
		reason string
		v      *version
		want   bool
	}{
		{"NotOwned", v, false},
		{"RevisionMissing", v, false},
		{"RevisionMissing", &older, true},
		{"RevisionFailed", v, true},
	} {
		s := svc.DeepCopy()
		s.Status.ObservedGeneration = s.Generation
		s.Status.SetConditions(apis.Conditions{{Type: apis.ConditionReady, Status: corev1.ConditionFalse, Reason: tc.reason, Message: "m"}})
		if got := failed(s, tc.v) != ""; got != tc.want {
			t.Errorf("Ready False %s for revision %s: failed = %v, want %v", tc.reason, tc.v.revision, got, tc.want)
		}
	}
}
