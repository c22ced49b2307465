package gateway

import (
	"time"

	"github.com/kwhisk/kwhisk/pkg/activation"
	"github.com/kwhisk/kwhisk/pkg/api"
	"github.com/kwhisk/kwhisk/pkg/auth"
	"github.com/kwhisk/kwhisk/pkg/entity"
	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Platform is what the gateway needs of a data plane.
type Platform interface {
	activation.Runner
	api.Runtimes
}

// Parts are the assembled control plane over one store and platform.
type Parts struct {
	API     *api.Server
	Invoker *activation.Service
}

// Assemble wires the collections, the activation service and the API over
// st and plat. blockingWait 0 means OpenWhisk's 60 s.
func Assemble(st store.Store, plat Platform, blockingWait time.Duration, logf func(string, ...any)) *Parts {
	actions := entity.NewActions(st, plat, whisk.DefaultBounds)
	packages := entity.NewPackages(st)
	resolver := entity.NewResolver(actions, packages)
	triggers := entity.NewTriggers(st)
	rules := entity.NewRules(st, triggers, resolver)
	invoker := activation.New(resolver, plat, st, activation.Options{
		Triggers: triggers, BlockingWait: blockingWait, MaxSequence: resolver.MaxSequence(), Logf: logf,
	})
	srv := api.New(api.Deps{
		Auth: auth.New(st), Actions: actions, Resolver: resolver, Packages: packages, Triggers: triggers,
		Rules: rules, Invoker: invoker, Activations: st, Runtimes: plat, Throttles: DefaultThrottles, Logf: logf,
	})
	return &Parts{API: srv, Invoker: invoker}
}
