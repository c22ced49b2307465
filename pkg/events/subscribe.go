package events

import (
	"context"
	"encoding/json"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// SubscribeFeed is the catalog name of the broker subscription feed.
const SubscribeFeed = "cloudevents/subscribe"

// Subscription is what a broker needs to deliver a trigger's events: which
// broker, which attribute filters, and where to send them.
type Subscription struct {
	Trigger whisk.EntityPath
	Broker  string
	Filters map[string]string // CloudEvents attribute → exact value
	URI     string            // the trigger's ingress URL, token included
}

// Subscriber keeps a broker's subscription for a trigger in step. In local
// mode there is no broker (events are POSTed to the ingress directly); the
// Knative platform creates Knative Eventing Triggers.
type Subscriber interface {
	Subscribe(ctx context.Context, s Subscription) error
	Unsubscribe(ctx context.Context, trigger whisk.EntityPath) error
}

// NoBroker is the local-mode Subscriber: the registration is all there is.
type NoBroker struct{}

func (NoBroker) Subscribe(context.Context, Subscription) error       { return nil }
func (NoBroker) Unsubscribe(context.Context, whisk.EntityPath) error { return nil }

// subscribeHandler is /whisk.system/cloudevents/subscribe: parameters
// broker (default "default"), type, source, subject and filters (an object
// of further attribute filters).
func subscribeHandler(feeds *Feeds, sub Subscriber, tokens *Tokens, apiHost string) Handler {
	return func(ctx context.Context, namespace string, params map[string]json.RawMessage) (any, error) {
		r, err := parseFeedRequest(namespace, params)
		if err != nil {
			return nil, err
		}
		res, err := feeds.lifecycle(ctx, SubscribeFeed, r, feedOps{validate: validateSubscription, apply: func(trigger whisk.EntityPath, fd *Feed) error {
			if fd == nil || fd.Paused {
				return sub.Unsubscribe(ctx, trigger)
			}
			s, _ := subscription(fd.Params) // validated above
			s.Trigger, s.URI = trigger, subscriberURI(apiHost, tokens, trigger)
			return sub.Subscribe(ctx, s)
		}})
		if err != nil {
			return nil, err
		}
		if m, ok := res.(map[string]any); ok && r.event != LifecycleDelete {
			m["subscriberURI"] = subscriberURI(apiHost, tokens, r.trigger)
		}
		return res, nil
	}
}

func validateSubscription(params map[string]json.RawMessage) error {
	_, err := subscription(params)
	return err
}

// subscription reads the feed parameters.
func subscription(params map[string]json.RawMessage) (Subscription, error) {
	s := Subscription{Broker: stringParam(params, "broker"), Filters: map[string]string{}}
	if s.Broker == "" {
		s.Broker = "default"
	}
	if !whisk.ValidName(s.Broker) {
		return s, whisk.Invalid("broker must be a broker name")
	}
	for _, attr := range []string{"type", "source", "subject"} {
		if v := stringParam(params, attr); v != "" {
			s.Filters[attr] = v
		}
	}
	if raw, ok := params["filters"]; ok {
		var extra map[string]string
		if err := json.Unmarshal(raw, &extra); err != nil {
			return s, whisk.Invalid("filters must be an object of attribute names to string values")
		}
		for k, v := range extra {
			s.Filters[k] = v
		}
	}
	return s, nil
}
