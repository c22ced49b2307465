package brokers

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	eventingfake "knative.dev/eventing/pkg/client/clientset/versioned/fake"

	"github.com/kwhisk/kwhisk/pkg/events"
	"github.com/kwhisk/kwhisk/pkg/kube"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func TestSubscriber(t *testing.T) {
	ctx := context.Background()
	client := eventingfake.NewSimpleClientset()
	sub := New(client, kube.Namespaces{Base: "kwhisk", PerNamespace: true}, time.Minute)
	path := whisk.EntityPath{Namespace: "guest", Name: "orders"}
	s := events.Subscription{
		Trigger: path, Broker: "default",
		Filters: map[string]string{"type": "order.created"},
		URI:     "http://kwhisk.kwhisk.svc/api/v1/events/guest/orders?token=t",
	}
	get := func() eventingv1.TriggerSpec {
		t.Helper()
		tr, err := client.EventingV1().Triggers("kwhisk-guest").Get(ctx, TriggerName(path), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get trigger: %v", err)
		}
		return tr.Spec
	}

	if err := sub.Subscribe(ctx, s); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	got := get()
	if got.Broker != "default" || got.Subscriber.URI.String() != s.URI ||
		!cmp.Equal(got.Filter, &eventingv1.TriggerFilter{Attributes: eventingv1.TriggerFilterAttributes{"type": "order.created"}}) {
		t.Errorf("created spec %+v", got)
	}
	// Each delivery may wait for a reply (a minute here, a cold start
	// included) and a few seconds more.
	exp := eventingduckv1.BackoffPolicyExponential
	wantDelivery := &eventingduckv1.DeliverySpec{Retry: ptr(int32(5)), BackoffPolicy: &exp, BackoffDelay: ptr("PT0.2S"), Timeout: ptr("PT65S")}
	if diff := cmp.Diff(wantDelivery, got.Delivery); diff != "" {
		t.Errorf("delivery (-want, +got):\n%s", diff)
	}

	s.Broker, s.Filters = "orders", map[string]string{"source": "/shop"}
	if err := sub.Subscribe(ctx, s); err != nil {
		t.Fatalf("Subscribe again: %v", err)
	}
	if got := get(); got.Broker != "orders" || !cmp.Equal(got.Filter.Attributes, eventingv1.TriggerFilterAttributes{"source": "/shop"}) {
		t.Errorf("updated spec %+v", got)
	}

	for i := range 2 {
		if err := sub.Unsubscribe(ctx, path); err != nil {
			t.Fatalf("Unsubscribe %d: %v", i, err)
		}
	}
	_, err := client.EventingV1().Triggers("kwhisk-guest").Get(ctx, TriggerName(path), metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("trigger after Unsubscribe: %v, want not found", err)
	}
}
