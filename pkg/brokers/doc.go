// Package brokers keeps Knative Eventing Triggers in step with kwhisk's
// broker subscriptions (the cloudevents/subscribe feed): one
// eventing.knative.dev/v1 Trigger per OpenWhisk trigger, on the named
// Broker, filtered on CloudEvents attributes, delivering to the gateway's
// event ingress, so every event-fired activation still passes through the
// gateway. Knative Eventing's Go module is not used: Triggers are
// unstructured objects of the dynamic client.
//
// It may import the standard library, pkg/whisk, pkg/events, pkg/kube,
// pkg/platform/knative (for labels and names) and client-go.
package brokers
