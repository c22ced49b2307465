package events

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// CatalogNamespace owns the built-in packages.
const CatalogNamespace = "whisk.system"

type catalogAction struct {
	name, main, description string
	params                  []catalogParam
}

type catalogParam struct {
	Name        string `json:"name"`
	Required    bool   `json:"required"`
	Description string `json:"description"`
}

type catalogPackage struct {
	name, description string
	actions           []catalogAction
}

var catalog = []catalogPackage{
	{
		name:        "cloudevents",
		description: "Fire triggers from CloudEvents delivered by a Knative Eventing broker",
		actions: []catalogAction{{
			name: "subscribe", main: SubscribeFeed,
			description: "Subscribe a trigger to a broker's events, filtered by CloudEvents attributes; the events fire the trigger with their data and __ce_* attributes as parameters",
			params: []catalogParam{
				{Name: "broker", Description: "the Knative Eventing broker (default: default)"},
				{Name: "type", Description: "only events of this CloudEvents type"},
				{Name: "source", Description: "only events from this CloudEvents source"},
				{Name: "subject", Description: "only events with this subject"},
				{Name: "filters", Description: "further attribute filters, an object of attribute names to values"},
			},
		}},
	},
	{
		name:        "alarms",
		description: "Fire triggers on a schedule",
		actions: []catalogAction{{
			name: "alarm", main: AlarmFeed,
			description: "Fire a trigger on a cron schedule or at a fixed interval",
			params: []catalogParam{
				{Name: "cron", Description: "a 5-field cron pattern, e.g. */5 * * * *"},
				{Name: "interval", Description: "seconds between fires, or a duration such as 90s (instead of cron)"},
				{Name: "trigger_payload", Description: "parameters each fire passes to the trigger"},
				{Name: "startDate", Description: "first possible fire (RFC 3339 or epoch ms)"},
				{Name: "stopDate", Description: "last possible fire (RFC 3339 or epoch ms)"},
			},
		}},
	},
}

// InstallCatalog writes the built-in packages into /whisk.system: the feed
// packages (cloudevents, alarms), whose actions the gateway runs itself,
// and OpenWhisk's standard packages utils and samples, whose actions are
// ordinary Node.js actions of kind nodeKind (the platform's default Node.js
// kind), so sequences, rules and every platform run them like users'
// actions. All are published: any namespace may read, invoke and bind
// them. An entity already stored as the catalog has it is left alone
// (same revision and updated stamp, so no new version reaches the
// platform); one that differs is replaced.
func InstallCatalog(ctx context.Context, st store.Entities, nodeKind string) error {
	now := time.Now().UnixMilli()
	if err := installFeeds(ctx, st, now); err != nil {
		return err
	}
	pkgs, err := loadPackages()
	if err != nil {
		return err
	}
	for _, p := range pkgs {
		pkg := &whisk.Package{
			Namespace: CatalogNamespace, Name: p.name, Version: whisk.DefaultVersion, Publish: true,
			Parameters:  whisk.KeyValues{},
			Annotations: whisk.KeyValues{}.Set("description", p.description),
			Updated:     now,
		}
		if err := upsert(ctx, st, store.Packages, pkg.Namespace, pkg.Name, now, pkg); err != nil {
			return err
		}
		for _, a := range p.actions {
			code := a.code
			ann := append(whisk.KeyValues{}, a.annotations...)
			if !ann.Has("provide-api-key") {
				ann = ann.Set("provide-api-key", false)
			}
			act := &whisk.Action{
				Namespace: CatalogNamespace + "/" + p.name, Name: a.name,
				Exec:       whisk.Exec{Kind: nodeKind, Code: &code},
				Parameters: whisk.KeyValues{}, Limits: whisk.DefaultBounds.Defaults(), Version: whisk.DefaultVersion,
				Annotations: ann.Set("exec", nodeKind),
				Updated:     now,
			}
			if err := upsert(ctx, st, store.Actions, act.Namespace, act.Name, now, act); err != nil {
				return err
			}
		}
	}
	return nil
}

// installFeeds writes the feed packages and their built-in actions.
func installFeeds(ctx context.Context, st store.Entities, now int64) error {
	for _, p := range catalog {
		pkg := &whisk.Package{
			Namespace: CatalogNamespace, Name: p.name, Version: whisk.DefaultVersion, Publish: true,
			Parameters:  whisk.KeyValues{},
			Annotations: whisk.KeyValues{}.Set("description", p.description),
			Updated:     now,
		}
		if err := upsert(ctx, st, store.Packages, pkg.Namespace, pkg.Name, now, pkg); err != nil {
			return err
		}
		for _, a := range p.actions {
			code := ""
			act := &whisk.Action{
				Namespace: CatalogNamespace + "/" + p.name, Name: a.name,
				Exec:       whisk.Exec{Kind: KindBuiltin, Main: a.main, Code: &code},
				Parameters: whisk.KeyValues{}, Limits: whisk.DefaultBounds.Defaults(), Version: whisk.DefaultVersion, Publish: true,
				Annotations: whisk.KeyValues{}.
					Set("feed", true).
					Set("description", a.description).
					Set("parameters", a.params).
					Set("exec", KindBuiltin).
					Set("provide-api-key", false),
				Updated: now,
			}
			if err := upsert(ctx, st, store.Actions, act.Namespace, act.Name, now, act); err != nil {
				return err
			}
		}
	}
	return nil
}

func upsert(ctx context.Context, st store.Entities, coll store.Collection, ns, name string, now int64, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s/%s: %w", ns, name, err)
	}
	doc := &store.Document{Collection: coll, Namespace: ns, Name: name, Updated: now, Body: body}
	if old, err := st.GetEntity(ctx, ns, name); err == nil {
		if old.Collection == coll && sameButUpdated(old.Body, body) {
			return nil
		}
		doc.Rev = old.Rev
	} else if !store.IsNotFound(err) {
		return err
	}
	if err := st.PutEntity(ctx, doc); err != nil {
		return fmt.Errorf("install %s/%s: %w", ns, name, err)
	}
	return nil
}

// sameButUpdated reports whether two stored bodies differ at most in
// their updated stamp.
func sameButUpdated(a, b []byte) bool {
	var x, y map[string]any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	delete(x, "updated")
	delete(y, "updated")
	return reflect.DeepEqual(x, y)
}

// Handlers returns the built-in actions by Main.
func Handlers(feeds *Feeds, sub Subscriber, tokens *Tokens, apiHost string, sched *Scheduler) map[string]Handler {
	return map[string]Handler{
		SubscribeFeed: subscribeHandler(feeds, sub, tokens, apiHost),
		AlarmFeed:     alarmHandler(feeds, sched),
	}
}
