package brokers

import (
	"context"
	"errors"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	eventingclient "knative.dev/eventing/pkg/client/clientset/versioned"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/kwhisk/kwhisk/pkg/events"
	"github.com/kwhisk/kwhisk/pkg/kube"
	"github.com/kwhisk/kwhisk/pkg/platform/knative"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// LabelTrigger names the OpenWhisk trigger of a Knative Trigger.
const LabelTrigger = "kwhisk.dev/trigger"

// Delivery of a broker to kwhisk's ingress. The ingress answers once the
// OpenWhisk trigger has fired (its rules' activations run on their own),
// except for a trigger with a reply, which waits at most the gateway's
// blocking wait for the first rule's result, a cold start included: the
// timeout of each delivery is that wait and a few seconds. A 5xx, a 429
// or no answer in time is retried with exponential backoff (0.2 s, then
// doubling, five times); the ingress drops a redelivered event by its
// (source, id), so a retry of an event that did arrive never fires twice.
const (
	DeliveryRetries      = 5
	DeliveryBackoffDelay = "PT0.2S"
	deliveryTimeoutSlack = 5 * time.Second
)

// Subscriber creates, updates and deletes Knative Eventing Triggers.
type Subscriber struct {
	client     eventingclient.Interface
	namespaces kube.Namespaces
	timeout    string // ISO 8601 duration of one delivery
}

var _ events.Subscriber = (*Subscriber)(nil)

// New returns a Subscriber that keeps the Triggers of OpenWhisk namespace
// ns in namespaces.For(ns), beside the action Services and the Brokers.
// replyWait is how long the ingress may wait for a reply (the gateway's
// blocking wait).
func New(client eventingclient.Interface, namespaces kube.Namespaces, replyWait time.Duration) *Subscriber {
	secs := int64((replyWait + deliveryTimeoutSlack + time.Second - 1) / time.Second)
	return &Subscriber{client: client, namespaces: namespaces, timeout: "PT" + strconv.FormatInt(secs, 10) + "S"}
}

// TriggerName is the Knative Trigger of the OpenWhisk trigger at path.
func TriggerName(path whisk.EntityPath) string {
	return kube.Name(path.Name, "trigger "+path.FullyQualified(), kube.MaxNameLength)
}

// MakeTrigger builds the Knative Trigger of subscription s in namespace.
func (sub *Subscriber) MakeTrigger(s events.Subscription, namespace string) (*eventingv1.Trigger, error) {
	uri, err := apis.ParseURL(s.URI)
	if err != nil {
		return nil, err
	}
	policy := eventingduckv1.BackoffPolicyExponential
	t := &eventingv1.Trigger{
		ObjectMeta: metav1.ObjectMeta{
			Name:      TriggerName(s.Trigger),
			Namespace: namespace,
			Labels: map[string]string{
				knative.LabelManagedBy: knative.ManagedBy,
				knative.LabelNamespace: kube.LabelValue(s.Trigger.Namespace),
				LabelTrigger:           kube.LabelValue(s.Trigger.Name),
			},
			Annotations: map[string]string{knative.AnnotationPath: s.Trigger.FullyQualified()},
		},
		Spec: eventingv1.TriggerSpec{
			Broker:     s.Broker,
			Subscriber: duckv1.Destination{URI: uri},
			Delivery: &eventingduckv1.DeliverySpec{
				Retry: ptr(int32(DeliveryRetries)), BackoffPolicy: &policy, BackoffDelay: ptr(DeliveryBackoffDelay),
				Timeout: ptr(sub.timeout),
			},
		},
	}
	if len(s.Filters) > 0 {
		attrs := eventingv1.TriggerFilterAttributes{}
		for k, v := range s.Filters {
			attrs[k] = v
		}
		t.Spec.Filter = &eventingv1.TriggerFilter{Attributes: attrs}
	}
	return t, nil
}

func ptr[T any](v T) *T { return &v }

// Subscribe creates the Knative Trigger of s, or replaces its spec.
func (sub *Subscriber) Subscribe(ctx context.Context, s events.Subscription) error {
	ns := sub.namespaces.For(s.Trigger.Namespace)
	want, err := sub.MakeTrigger(s, ns)
	if err != nil {
		return err
	}
	triggers := sub.client.EventingV1().Triggers(ns)
	for range 5 {
		cur, err := triggers.Get(ctx, want.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = triggers.Create(ctx, want, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			return kube.Error("create trigger "+ns+"/"+want.Name, err)
		}
		if err != nil {
			return kube.Error("get trigger "+ns+"/"+want.Name, err)
		}
		cur.Spec = want.Spec
		cur.Labels, cur.Annotations = want.Labels, want.Annotations
		_, err = triggers.Update(ctx, cur, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		return kube.Error("update trigger "+ns+"/"+want.Name, err)
	}
	return errors.New("trigger " + want.Name + " keeps changing concurrently")
}

// Unsubscribe deletes the Knative Trigger of the OpenWhisk trigger; one
// that is gone already is fine.
func (sub *Subscriber) Unsubscribe(ctx context.Context, trigger whisk.EntityPath) error {
	ns, name := sub.namespaces.For(trigger.Namespace), TriggerName(trigger)
	err := sub.client.EventingV1().Triggers(ns).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return kube.Error("delete trigger "+ns+"/"+name, err)
	}
	return nil
}
