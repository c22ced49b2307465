package brokers

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/kwhisk/kwhisk/pkg/events"
	"github.com/kwhisk/kwhisk/pkg/kube"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func TestSubscriber(t *testing.T) {
	ctx := context.Background()
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{TriggerResource: "TriggerList"})
	sub := New(client, kube.Namespaces{Base: "kwhisk", PerNamespace: true})
	path := whisk.EntityPath{Namespace: "guest", Name: "orders"}
	s := events.Subscription{
		Trigger: path, Broker: "default",
		Filters: map[string]string{"type": "order.created"},
		URI:     "http://kwhisk.kwhisk.svc/api/v1/events/guest/orders?token=t",
	}
	get := func() map[string]any {
		t.Helper()
		u, err := client.Resource(TriggerResource).Namespace("kwhisk-guest").Get(ctx, TriggerName(path), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get trigger: %v", err)
		}
		return u.Object["spec"].(map[string]any)
	}

	if err := sub.Subscribe(ctx, s); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	want := map[string]any{
		"broker":     "default",
		"filter":     map[string]any{"attributes": map[string]any{"type": "order.created"}},
		"subscriber": map[string]any{"uri": s.URI},
	}
	if diff := cmp.Diff(want, get()); diff != "" {
		t.Errorf("created spec (-want, +got):\n%s", diff)
	}

	s.Broker, s.Filters = "orders", map[string]string{"source": "/shop"}
	if err := sub.Subscribe(ctx, s); err != nil {
		t.Fatalf("Subscribe again: %v", err)
	}
	want["broker"], want["filter"] = "orders", map[string]any{"attributes": map[string]any{"source": "/shop"}}
	if diff := cmp.Diff(want, get()); diff != "" {
		t.Errorf("updated spec (-want, +got):\n%s", diff)
	}

	for i := range 2 {
		if err := sub.Unsubscribe(ctx, path); err != nil {
			t.Fatalf("Unsubscribe %d: %v", i, err)
		}
	}
	_, err := client.Resource(TriggerResource).Namespace("kwhisk-guest").Get(ctx, TriggerName(path), metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("trigger after Unsubscribe: %v, want not found", err)
	}
}
