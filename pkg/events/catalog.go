package events

import (
	"context"
	"encoding/json"
	"fmt"
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

// InstallCatalog writes the built-in packages and feed actions into
// /whisk.system, replacing earlier versions of them.
func InstallCatalog(ctx context.Context, st store.Entities) error {
	now := time.Now().UnixMilli()
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
		doc.Rev = old.Rev
	} else if !store.IsNotFound(err) {
		return err
	}
	if err := st.PutEntity(ctx, doc); err != nil {
		return fmt.Errorf("install %s/%s: %w", ns, name, err)
	}
	return nil
}

// Handlers returns the built-in actions by Main.
func Handlers(feeds *Feeds, sub Subscriber, tokens *Tokens, apiHost string, sched *Scheduler) map[string]Handler {
	return map[string]Handler{
		SubscribeFeed: subscribeHandler(feeds, sub, tokens, apiHost),
		AlarmFeed:     alarmHandler(feeds, sched),
	}
}
