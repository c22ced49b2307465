package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/activation"
	"github.com/kwhisk/kwhisk/pkg/entity"
	"github.com/kwhisk/kwhisk/pkg/logging"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Actions is the action collection as the API uses it.
type Actions interface {
	Put(ctx context.Context, path whisk.EntityPath, put *whisk.ActionPut, overwrite bool) (*whisk.Action, error)
	Delete(ctx context.Context, path whisk.EntityPath) (*whisk.Action, error)
	List(ctx context.Context, ns, pkg string, skip, limit int) ([]*whisk.Action, int, error)
	Bounds() whisk.LimitBounds
}

// Resolver finds the action a caller addresses, through bindings and
// across namespaces, with entitlements checked.
type Resolver interface {
	ResolveAction(ctx context.Context, caller string, path whisk.EntityPath) (*whisk.Action, error)
}

// Packages is the package collection.
type Packages interface {
	Get(ctx context.Context, caller string, path whisk.EntityPath) (*whisk.PackageView, error)
	Put(ctx context.Context, caller string, path whisk.EntityPath, put *whisk.PackagePut, overwrite bool) (*whisk.Package, error)
	Delete(ctx context.Context, path whisk.EntityPath, force bool) (*whisk.Package, error)
	List(ctx context.Context, caller, ns string, skip, limit int) ([]*whisk.Package, int, error)
}

// Triggers is the trigger collection.
type Triggers interface {
	Get(ctx context.Context, path whisk.EntityPath) (*whisk.Trigger, error)
	Put(ctx context.Context, path whisk.EntityPath, put *whisk.TriggerPut, overwrite bool) (*whisk.Trigger, error)
	Delete(ctx context.Context, path whisk.EntityPath) (*whisk.Trigger, error)
	List(ctx context.Context, ns string, skip, limit int) ([]*whisk.Trigger, int, error)
}

// Rules is the rule collection.
type Rules interface {
	Get(ctx context.Context, path whisk.EntityPath) (*whisk.Rule, error)
	Put(ctx context.Context, caller string, path whisk.EntityPath, put *entity.RulePut, overwrite bool) (*whisk.Rule, error)
	SetStatus(ctx context.Context, path whisk.EntityPath, status string) error
	Delete(ctx context.Context, path whisk.EntityPath) (*whisk.Rule, error)
	List(ctx context.Context, ns string, skip, limit int) ([]*whisk.Rule, int, error)
}

// Activations starts activations and fires triggers (the activation
// service; kwhisk has no invoker: the platform runs the code).
type Activations interface {
	Invoke(ctx context.Context, caller activation.Caller, req activation.Request) (*activation.Outcome, error)
	Fire(ctx context.Context, caller activation.Caller, path whisk.EntityPath, payload map[string]json.RawMessage, headers http.Header, tid string) (*activation.Outcome, error)
}

// RecordReader reads activation records.
type RecordReader interface {
	GetActivation(ctx context.Context, namespace string, id whisk.ActivationID) (*whisk.Activation, error)
	ListActivations(ctx context.Context, q store.ActivationQuery) ([]*whisk.Activation, int, error)
}

// NamespaceReader reads a namespace's record, by name or by its key's
// uuid (the id in an API's URL).
type NamespaceReader interface {
	GetNamespace(ctx context.Context, name string) (*whisk.Namespace, error)
	NamespaceByUUID(ctx context.Context, uuid string) (*whisk.Namespace, error)
}

// Runtimes lists the kinds actions may use.
type Runtimes interface {
	Runtimes() []platform.Runtime
}

// Deps are what the API is built on.
type Deps struct {
	Auth        Authenticator
	Actions     Actions
	Resolver    Resolver
	Packages    Packages
	Triggers    Triggers
	Rules       Rules
	Activations Activations
	Records     RecordReader
	Events      EventIngress // nil: no CloudEvents ingress
	// Namespaces gives web actions their owner's throttles; nil: the
	// gateway defaults.
	Namespaces NamespaceReader
	// APIs keeps `wsk api` definitions; nil: no API management (needs
	// Namespaces too).
	APIs      APIStore
	Runtimes  Runtimes
	Code      CodeSource      // nil: no code route (local mode)
	Console   ConsoleFiles    // nil: no /console/
	Throttles whisk.Throttles // system defaults, shown by /limits
	// Log receives internal errors, and every request at debug level;
	// nil discards.
	Log *slog.Logger
	// Metrics serves the Prometheus exposition at GET /metrics, without
	// credentials; nil: no such route (the gateway serves it on
	// --metrics-addr instead).
	Metrics http.Handler
}

// Server is the OpenWhisk API.
type Server struct {
	Deps
	echo    *echo.Echo
	closing atomic.Bool
}

// MsgShuttingDown is the 503 of a request that comes while the gateway
// drains.
const MsgShuttingDown = "The gateway is shutting down; retry the request."

// Close makes the API answer every new request 503 while the gateway
// drains, except /ping, /metrics (a drain is worth watching) and the
// runtimes' fetches of code and run keys: a revision starting for an
// activation still in flight needs them.
func (s *Server) Close() { s.closing.Store(true) }

// gate refuses requests once the server is closing (Close).
func (s *Server) gate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.closing.Load() {
			p := c.Request().URL.Path
			if p != "/ping" && p != "/metrics" && !strings.HasPrefix(p, "/api/v1/code/") && !strings.HasPrefix(p, "/api/v1/run-keys/") {
				return whisk.Errorf(whisk.KindUnavailable, MsgShuttingDown)
			}
		}
		return next(c)
	}
}

// New builds the API and its routes.
func New(d Deps) *Server {
	d.Log = logging.OrDiscard(d.Log)
	s := &Server{Deps: d, echo: echo.New()}
	s.echo.HideBanner = true
	s.echo.HidePort = true
	s.echo.HTTPErrorHandler = s.errorHandler
	s.echo.JSONSerializer = compactJSON{}
	s.routes()
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// compactJSON renders without indentation and without HTML escaping, so
// "&<>" pass through as they were sent.
type compactJSON struct{}

func (compactJSON) Serialize(c echo.Context, i any, indent string) error {
	enc := json.NewEncoder(c.Response())
	enc.SetEscapeHTML(false)
	return enc.Encode(i)
}

func (compactJSON) Deserialize(c echo.Context, i any) error {
	return json.NewDecoder(c.Request().Body).Decode(i)
}
