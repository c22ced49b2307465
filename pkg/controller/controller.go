// Package controller is kwhisk's control plane, named after OpenWhisk's:
// it wires the entity collections, the activation service and the API
// over one store and one platform. It picks no concrete store or
// platform; the gateway does.
package controller

import (
	"context"
	"time"

	"github.com/kwhisk/kwhisk/pkg/activation"
	"github.com/kwhisk/kwhisk/pkg/api"
	"github.com/kwhisk/kwhisk/pkg/auth"
	"github.com/kwhisk/kwhisk/pkg/entity"
	"github.com/kwhisk/kwhisk/pkg/events"
	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Platform is what the controller needs of a data plane.
type Platform interface {
	activation.Runner
	api.Runtimes
}

// Controller is the assembled control plane.
type Controller struct {
	API     *api.Server
	Invoker *activation.Service
	Ingress *events.Ingress
}

// reader gives the event ingress triggers and activation records.
type reader struct {
	triggers *entity.Triggers
	store.Activations
}

func (r reader) GetTrigger(ctx context.Context, path whisk.EntityPath) (*whisk.Trigger, error) {
	return r.triggers.Get(ctx, path)
}

// DefaultThrottles are OpenWhisk's shipped per-namespace defaults.
var DefaultThrottles = whisk.Throttles{
	InvocationsPerMinute:  intp(60),
	ConcurrentInvocations: intp(30),
	FiresPerMinute:        intp(60),
}

func intp(n int) *int { return &n }

// New wires the collections, the activation service and the API over st
// and plat. blockingWait 0 means OpenWhisk's 60 s.
func New(st store.Store, plat Platform, tokens *events.Tokens, blockingWait time.Duration, logf func(string, ...any)) *Controller {
	actions := entity.NewActions(st, plat, whisk.DefaultBounds)
	packages := entity.NewPackages(st)
	resolver := entity.NewResolver(actions, packages)
	triggers := entity.NewTriggers(st)
	rules := entity.NewRules(st, triggers, resolver)
	invoker := activation.New(resolver, plat, st, activation.Options{
		Triggers: triggers, BlockingWait: blockingWait, MaxSequence: resolver.MaxSequence(), Logf: logf,
	})
	authn := auth.New(st)
	ingress := events.NewIngress(invoker, authn, reader{triggers, st}, tokens, events.IngressOptions{ReplyWait: blockingWait})
	srv := api.New(api.Deps{
		Auth: authn, Actions: actions, Resolver: resolver, Packages: packages, Triggers: triggers,
		Rules: rules, Invoker: invoker, Activations: st, Events: ingress, Runtimes: plat, Throttles: DefaultThrottles, Logf: logf,
	})
	return &Controller{API: srv, Invoker: invoker, Ingress: ingress}
}
