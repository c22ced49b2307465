// Package controlplane assembles kwhisk's control plane (what OpenWhisk's
// controller does, without its invokers): it wires the entity
// collections, the activation service, the event ingress and the API over
// one store and one platform. It is wiring, not a reconciler, and picks
// no concrete store or platform; the gateway does.
package controlplane

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/kwhisk/kwhisk/pkg/activation"
	"github.com/kwhisk/kwhisk/pkg/api"
	"github.com/kwhisk/kwhisk/pkg/auth"
	"github.com/kwhisk/kwhisk/pkg/console"
	"github.com/kwhisk/kwhisk/pkg/entity"
	"github.com/kwhisk/kwhisk/pkg/events"
	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Platform is what the controller needs of a data plane.
type Platform interface {
	activation.Runner
	api.Runtimes
	entity.Lifecycle
}

// Plane is the assembled control plane.
type Plane struct {
	API         *api.Server
	Activations *activation.Service
	Ingress     *events.Ingress
	Scheduler   *events.Scheduler
	Feeds       *events.Feeds
	store       store.Store
	runtimes    api.Runtimes
}

// reader gives the event ingress triggers and activation records.
type reader struct {
	triggers *entity.Triggers
	store.Activations
	store.Namespaces
}

func (r reader) GetTrigger(ctx context.Context, path whisk.EntityPath) (*whisk.Trigger, error) {
	return r.triggers.Get(ctx, path)
}

// Options configure the controller. Zero values: OpenWhisk's 60 s
// blocking wait, no broker and no code route (local mode), the wall clock,
// logs discarded, OpenWhisk's throttles.
type Options struct {
	// Tokens sign and check the per-trigger event subscriber tokens.
	Tokens *events.Tokens
	// APIHost is the gateway's URL as brokers reach it.
	APIHost      string
	BlockingWait time.Duration
	Subscriber   events.Subscriber
	Clock        events.Clock
	// OnRecord sees every top-level activation record (events out).
	OnRecord func(*whisk.Activation)
	// Log is the gateway's log; nil discards.
	Log *slog.Logger
	// Tracer starts the activations' spans; nil: tracing off.
	Tracer trace.Tracer
	// Throttles are the limits of namespaces that set none of their own;
	// nil fields mean activation.DefaultThrottles (60 invokes and 60 fires
	// a minute, 30 invokes in flight).
	Throttles whisk.Throttles
	// Code serves action code to the runtime images (knative mode); nil:
	// no code route.
	Code api.CodeSource
	// Context is the parent of the activations' work that outlives a
	// request; its values pass on, its cancellation does not. Nil: an
	// empty one.
	Context context.Context
	// MaxActionConcurrency bounds an action's limits.concurrency
	// (--max-action-concurrency); 0: whisk.DefaultMaxConcurrency.
	MaxActionConcurrency int
	// Metrics hears of activations, throttles, fires and events; nil:
	// nothing does.
	Metrics Metrics
	// MetricsHandler is served at GET /metrics on the API; nil: no route.
	MetricsHandler http.Handler
}

// Metrics is what the activation service and the event ingress record
// to (*metrics.Metrics is one).
type Metrics interface {
	activation.Recorder
	events.Recorder
}

// New wires the collections, the activation service, the event ingress,
// the built-in feeds and the API over st and plat.
func New(st store.Store, plat Platform, opts Options) *Plane {
	if opts.Subscriber == nil {
		opts.Subscriber = events.NoBroker{}
	}
	if opts.Clock == nil {
		opts.Clock = events.RealClock{}
	}
	packages := entity.NewPackages(st, plat)
	bounds := whisk.DefaultBounds
	if opts.MaxActionConcurrency > 0 {
		bounds.MaxConcurrency = opts.MaxActionConcurrency
	}
	actions, resolver := entity.NewActions(st, plat, bounds, packages)
	triggers := entity.NewTriggers(st)
	rules := entity.NewRules(st, triggers, resolver)
	feeds := events.NewFeeds(st)
	// The cycle built-in feeds → scheduler → activation → built-in feeds
	// is broken at the scheduler: it learns the activation service only
	// when it starts (RunAlarms).
	sched := events.NewScheduler(feeds, opts.Clock, opts.Log)
	builtins := events.NewBuiltins(plat, events.Handlers(feeds, opts.Subscriber, opts.Tokens, opts.APIHost, sched))
	activations := activation.New(resolver, builtins, st, activation.Options{
		Triggers: triggers, BlockingWait: opts.BlockingWait, MaxSequence: resolver.MaxSequence(),
		OnRecord: opts.OnRecord, Log: opts.Log, Tracer: opts.Tracer, Throttles: opts.Throttles, Context: opts.Context, Metrics: opts.Metrics,
	})
	authn := auth.New(st)
	ingress := events.NewIngress(activations, authn, reader{triggers, st, st}, opts.Tokens,
		events.IngressOptions{ReplyWait: opts.BlockingWait, Feeds: feeds, Metrics: opts.Metrics})
	srv := api.New(api.Deps{
		Auth: authn, Actions: actions, Resolver: resolver, Packages: packages, Triggers: triggers,
		Rules: rules, Activations: activations, Records: st, Events: ingress, Namespaces: st, APIs: st, Runtimes: plat,
		Code: opts.Code, Console: console.New(), Throttles: activations.Throttles(), Log: opts.Log, Metrics: opts.MetricsHandler,
	})
	if w, ok := st.(changeWatcher); ok {
		// Ends when the store is closed.
		go w.WatchChanges(context.Background(), forget(actions, authn))
	}
	return &Plane{API: srv, Activations: activations, Ingress: ingress, Scheduler: sched, Feeds: feeds, store: st, runtimes: plat}
}

// changeWatcher is a store shared by several gateway replicas that reports
// the rows others change (the PostgreSQL store).
type changeWatcher interface {
	WatchChanges(ctx context.Context, fn func(store.Change))
}

// forget drops what this replica cached of a changed row: decoded actions,
// and all verified credentials when a namespace changed (the cache is
// keyed by credentials, not by namespace).
func forget(actions *entity.Actions, authn *auth.Authenticator) func(store.Change) {
	return func(c store.Change) {
		switch c.Table {
		case "":
			actions.ForgetAll()
			authn.Forget()
		case store.EntitiesTable:
			actions.Forget(c.Namespace, c.Name)
		case store.NamespacesTable:
			authn.Forget()
		}
	}
}

// Install writes the built-in catalog into the store: the feed packages
// and the standard packages (utils, samples), whose Node.js actions get
// the platform's default Node.js kind.
func (c *Plane) Install(ctx context.Context) error {
	return events.InstallCatalog(ctx, c.store, events.CatalogNodeKind(c.runtimes.Runtimes()))
}

// RunAlarms loads every alarm registration and fires alarms until ctx
// ends. With several gateway replicas only the leader may run it.
func (c *Plane) RunAlarms(ctx context.Context) error {
	nss, err := c.store.ListNamespaces(ctx)
	if err != nil {
		return err
	}
	names := make([]string, len(nss))
	for i, ns := range nss {
		names[i] = ns.Name
	}
	fds, err := c.Feeds.All(ctx, names)
	if err != nil {
		return err
	}
	c.Scheduler.Load(ctx, fds)
	return c.Scheduler.Start(ctx, c.Activations)
}
