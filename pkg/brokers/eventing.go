package brokers

import (
	"context"
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kwhisk/kwhisk/pkg/events"
	"github.com/kwhisk/kwhisk/pkg/kube"
	"github.com/kwhisk/kwhisk/pkg/platform/knative"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// TriggerResource is Knative Eventing's Trigger.
var TriggerResource = schema.GroupVersionResource{Group: "eventing.knative.dev", Version: "v1", Resource: "triggers"}

// LabelTrigger names the OpenWhisk trigger of a Knative Trigger.
const LabelTrigger = "kwhisk.dev/trigger"

// Subscriber creates, updates and deletes Knative Triggers.
type Subscriber struct {
	client     dynamic.Interface
	namespaces kube.Namespaces
}

var _ events.Subscriber = (*Subscriber)(nil)

// New returns a Subscriber that keeps the Triggers of OpenWhisk namespace
// ns in namespaces.For(ns), beside the action Services and the Brokers.
func New(client dynamic.Interface, namespaces kube.Namespaces) *Subscriber {
	return &Subscriber{client: client, namespaces: namespaces}
}

// TriggerName is the Knative Trigger of the OpenWhisk trigger at path.
func TriggerName(path whisk.EntityPath) string {
	return kube.Name(path.Name, "trigger "+path.FullyQualified(), kube.MaxNameLength)
}

// MakeTrigger builds the Knative Trigger of subscription s in namespace.
func MakeTrigger(s events.Subscription, namespace string) *unstructured.Unstructured {
	attrs := map[string]any{}
	for k, v := range s.Filters {
		attrs[k] = v
	}
	spec := map[string]any{
		"broker":     s.Broker,
		"subscriber": map[string]any{"uri": s.URI},
	}
	if len(attrs) > 0 {
		spec["filter"] = map[string]any{"attributes": attrs}
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "eventing.knative.dev/v1",
		"kind":       "Trigger",
		"metadata": map[string]any{
			"name":      TriggerName(s.Trigger),
			"namespace": namespace,
			"labels": map[string]any{
				knative.LabelManagedBy: knative.ManagedBy,
				knative.LabelNamespace: kube.LabelValue(s.Trigger.Namespace),
				LabelTrigger:           kube.LabelValue(s.Trigger.Name),
			},
			"annotations": map[string]any{knative.AnnotationPath: s.Trigger.FullyQualified()},
		},
		"spec": spec,
	}}
	return u
}

// Subscribe creates the Knative Trigger of s, or replaces its spec.
func (sub *Subscriber) Subscribe(ctx context.Context, s events.Subscription) error {
	ns := sub.namespaces.For(s.Trigger.Namespace)
	want := MakeTrigger(s, ns)
	triggers := sub.client.Resource(TriggerResource).Namespace(ns)
	for range 5 {
		cur, err := triggers.Get(ctx, want.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = triggers.Create(ctx, want, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			return kube.Error("create trigger "+ns+"/"+want.GetName(), err)
		}
		if err != nil {
			return kube.Error("get trigger "+ns+"/"+want.GetName(), err)
		}
		cur.Object["spec"] = want.Object["spec"]
		cur.SetLabels(want.GetLabels())
		cur.SetAnnotations(want.GetAnnotations())
		_, err = triggers.Update(ctx, cur, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		return kube.Error("update trigger "+ns+"/"+want.GetName(), err)
	}
	return errors.New("trigger " + want.GetName() + " keeps changing concurrently")
}

// Unsubscribe deletes the Knative Trigger of the OpenWhisk trigger; one
// that is gone already is fine.
func (sub *Subscriber) Unsubscribe(ctx context.Context, trigger whisk.EntityPath) error {
	ns, name := sub.namespaces.For(trigger.Namespace), TriggerName(trigger)
	err := sub.client.Resource(TriggerResource).Namespace(ns).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return kube.Error("delete trigger "+ns+"/"+name, err)
	}
	return nil
}
