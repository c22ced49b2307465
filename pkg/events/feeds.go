package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Feed lifecycle events of OpenWhisk's client-side feed protocol.
const (
	LifecycleCreate  = "CREATE"
	LifecycleRead    = "READ"
	LifecycleUpdate  = "UPDATE"
	LifecycleDelete  = "DELETE"
	LifecyclePause   = "PAUSE"
	LifecycleUnpause = "UNPAUSE"
)

// feedCollection holds feed registrations. They live beside the trigger's
// namespace in a space no package name can take (names cannot start with
// '.'), so they never clash with entities.
const feedCollection store.Collection = "feeds"

func feedSpace(ns string) string { return ns + "/.feeds" }

// Feed is one trigger's registration with a built-in feed.
type Feed struct {
	Feed    string                     `json:"feed"`    // e.g. "cloudevents/subscribe"
	Trigger string                     `json:"trigger"` // "/ns/trigger"
	Params  map[string]json.RawMessage `json:"params"`  // the user's feed parameters
	Paused  bool                       `json:"paused"`
	Created int64                      `json:"created"`
	// Changed is when Paused last changed (epoch ms; 0: at Created).
	Changed   int64 `json:"changed,omitempty"`
	LastFired int64 `json:"lastFired,omitempty"` // alarms: epoch ms
}

// Feeds keeps feed registrations in the entity store.
type Feeds struct{ store store.Entities }

// NewFeeds returns the registrations over st.
func NewFeeds(st store.Entities) *Feeds { return &Feeds{store: st} }

// Get returns the registration for trigger path.
func (f *Feeds) Get(ctx context.Context, trigger whisk.EntityPath) (*Feed, int64, error) {
	doc, err := f.store.GetEntity(ctx, feedSpace(trigger.Namespace), trigger.Name)
	if err != nil {
		return nil, 0, err
	}
	var fd Feed
	if err := json.Unmarshal(doc.Body, &fd); err != nil {
		return nil, 0, fmt.Errorf("decode feed %s: %w", trigger, err)
	}
	return &fd, doc.Rev, nil
}

// Put stores the registration (rev 0 creates).
func (f *Feeds) Put(ctx context.Context, trigger whisk.EntityPath, fd *Feed, rev int64) error {
	body, err := json.Marshal(fd)
	if err != nil {
		return fmt.Errorf("encode feed %s: %w", trigger, err)
	}
	return f.store.PutEntity(ctx, &store.Document{Collection: feedCollection, Namespace: feedSpace(trigger.Namespace), Name: trigger.Name, Rev: rev, Updated: time.Now().UnixMilli(), Body: body})
}

// Delete removes the registration.
func (f *Feeds) Delete(ctx context.Context, trigger whisk.EntityPath) error {
	return f.store.DeleteEntity(ctx, feedSpace(trigger.Namespace), trigger.Name, 0)
}

// feedRequest is a parsed feed invocation.
type feedRequest struct {
	event   string
	trigger whisk.EntityPath
	params  map[string]json.RawMessage // without the protocol's own keys
}

// parseFeedRequest reads lifecycleEvent, triggerName and the user's
// parameters; the trigger must be in the invoking namespace.
func parseFeedRequest(namespace string, params map[string]json.RawMessage) (*feedRequest, error) {
	r := &feedRequest{event: strings.ToUpper(stringParam(params, "lifecycleEvent")), params: map[string]json.RawMessage{}}
	switch r.event {
	case LifecycleCreate, LifecycleRead, LifecycleUpdate, LifecycleDelete, LifecyclePause, LifecycleUnpause:
	default:
		return nil, whisk.Invalid("lifecycleEvent must be one of CREATE, READ, UPDATE, DELETE, PAUSE, UNPAUSE")
	}
	p, err := whisk.ParseFullyQualified(stringParam(params, "triggerName"))
	if err != nil || p.Package != "" {
		return nil, whisk.Invalid("triggerName must be the trigger's fully qualified name, e.g. /ns/trigger")
	}
	p = p.Resolve(namespace)
	if p.Namespace != namespace {
		return nil, whisk.Errorf(whisk.KindForbidden, "The supplied authentication is not authorized to access '%s'.", p.String())
	}
	r.trigger = p
	for k, v := range params {
		switch k {
		case "lifecycleEvent", "triggerName", "authKey":
		default:
			r.params[k] = v
		}
	}
	return r, nil
}

// lifecycle runs the generic part of a feed invocation: it keeps the
// registration in step and calls hooks for what is feed-specific. validate
// checks parameters for CREATE and UPDATE; apply sees the registration
// after every change (nil after DELETE).
// feedOps is what one feed adds to the common lifecycle.
type feedOps struct {
	validate func(map[string]json.RawMessage) error // CREATE and UPDATE parameters
	apply    func(whisk.EntityPath, *Feed) error    // a registration written (nil: deleted)
	read     func(*Feed) any                        // READ's answer; nil: {config, status, trigger}
	now      func() time.Time                       // nil: the wall clock
}

// DateChanged is when the registration's active state last changed.
func (fd *Feed) DateChanged() int64 {
	if fd.Changed != 0 {
		return fd.Changed
	}
	return fd.Created
}

// staleRetries is how often a lifecycle event or an alarm's fire reads the
// feed again after another writer changed it in between (the scheduler
// records each fire on the same document a PAUSE or UPDATE changes).
const staleRetries = 5

// lifecycle handles one lifecycle event. A write that lost a race with
// another writer of the registration (ErrStale) is done again on the new
// state: nothing was applied, and the caller's intent still holds.
func (f *Feeds) lifecycle(ctx context.Context, feed string, r *feedRequest, ops feedOps) (any, error) {
	for attempt := 0; ; attempt++ {
		out, err := f.lifecycleOnce(ctx, feed, r, ops)
		if !errors.Is(err, store.ErrStale) || attempt == staleRetries {
			return out, err
		}
	}
}

func (f *Feeds) lifecycleOnce(ctx context.Context, feed string, r *feedRequest, ops feedOps) (any, error) {
	validate, apply := ops.validate, ops.apply
	now := time.Now
	if ops.now != nil {
		now = ops.now
	}
	existing, rev, err := f.Get(ctx, r.trigger)
	if err != nil && !store.IsNotFound(err) {
		return nil, err
	}
	if existing == nil && r.event != LifecycleCreate {
		return nil, whisk.Errorf(whisk.KindNotFound, "trigger %s has no %s feed", r.trigger.FullyQualified(), feed)
	}
	switch r.event {
	case LifecycleRead:
		if ops.read != nil {
			return ops.read(existing), nil
		}
		return map[string]any{"config": existing.Params, "status": status(existing), "trigger": existing.Trigger}, nil
	case LifecycleCreate, LifecycleUpdate:
		params := r.params
		if r.event == LifecycleUpdate {
			params = mergeParams(existing.Params, r.params)
		}
		if err := validate(params); err != nil {
			return nil, err
		}
		fd := &Feed{Feed: feed, Trigger: r.trigger.FullyQualified(), Params: params, Created: now().UnixMilli()}
		if existing != nil {
			fd.Paused, fd.Created, fd.Changed, fd.LastFired = existing.Paused, existing.Created, existing.Changed, existing.LastFired
		}
		if err := f.Put(ctx, r.trigger, fd, rev); err != nil {
			return nil, err
		}
		if err := apply(r.trigger, fd); err != nil {
			return nil, err
		}
		return map[string]any{"status": status(fd), "trigger": fd.Trigger}, nil
	case LifecyclePause, LifecycleUnpause:
		if paused := r.event == LifecyclePause; paused != existing.Paused {
			existing.Paused, existing.Changed = paused, now().UnixMilli()
		}
		if err := f.Put(ctx, r.trigger, existing, rev); err != nil {
			return nil, err
		}
		if err := apply(r.trigger, existing); err != nil {
			return nil, err
		}
		return map[string]any{"status": status(existing), "trigger": existing.Trigger}, nil
	default: // DELETE
		if err := apply(r.trigger, nil); err != nil {
			return nil, err
		}
		if err := f.Delete(ctx, r.trigger); err != nil && !store.IsNotFound(err) {
			return nil, err
		}
		return map[string]any{"status": "deleted", "trigger": existing.Trigger}, nil
	}
}

func status(f *Feed) string {
	if f.Paused {
		return "paused"
	}
	return "active"
}

func mergeParams(a, b map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// stringParam reads a parameter as a string ("" if absent).
func stringParam(params map[string]json.RawMessage, key string) string {
	v, ok := params[key]
	if !ok {
		return ""
	}
	return whisk.EnvString(v)
}

// subscriberURI is the ingress URL a broker delivers a trigger's events to.
func subscriberURI(apiHost string, tokens *Tokens, trigger whisk.EntityPath) string {
	return strings.TrimRight(apiHost, "/") + "/api/v1/events/" + url.PathEscape(trigger.Namespace) + "/" + url.PathEscape(trigger.Name) +
		"?token=" + tokens.Token(trigger.Namespace, trigger.Name)
}

// All returns every registration in the given namespaces.
func (f *Feeds) All(ctx context.Context, namespaces []string) ([]*Feed, error) {
	var out []*Feed
	for _, ns := range namespaces {
		docs, _, err := f.store.ListEntities(ctx, store.ListQuery{Collection: feedCollection, Namespace: feedSpace(ns)})
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			var fd Feed
			if err := json.Unmarshal(d.Body, &fd); err != nil {
				return nil, fmt.Errorf("decode feed %s/%s: %w", d.Namespace, d.Name, err)
			}
			out = append(out, &fd)
		}
	}
	return out, nil
}
