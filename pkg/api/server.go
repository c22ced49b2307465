package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/activation"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Actions is the action collection as the API uses it.
type Actions interface {
	Get(ctx context.Context, path whisk.EntityPath) (*whisk.Action, error)
	Put(ctx context.Context, path whisk.EntityPath, put *whisk.ActionPut, overwrite bool) (*whisk.Action, error)
	Delete(ctx context.Context, path whisk.EntityPath) (*whisk.Action, error)
	List(ctx context.Context, ns, pkg string, skip, limit int) ([]*whisk.Action, int, error)
	Bounds() whisk.LimitBounds
}

// Invoker starts activations.
type Invoker interface {
	Invoke(ctx context.Context, caller activation.Caller, req activation.Request) (*activation.Outcome, error)
}

// ActivationReader reads activation records.
type ActivationReader interface {
	GetActivation(ctx context.Context, namespace string, id whisk.ActivationID) (*whisk.Activation, error)
	ListActivations(ctx context.Context, q store.ActivationQuery) ([]*whisk.Activation, int, error)
}

// EntityLister lists stored entities of the collections the API does not
// manage yet.
type EntityLister interface {
	ListEntities(ctx context.Context, q store.ListQuery) ([]*store.Document, int, error)
}

// Runtimes lists the kinds actions may use.
type Runtimes interface {
	Runtimes() []platform.Runtime
}

// Deps are what the API is built on.
type Deps struct {
	Auth        Authenticator
	Actions     Actions
	Invoker     Invoker
	Activations ActivationReader
	Entities    EntityLister
	Runtimes    Runtimes
	Throttles   whisk.Throttles // system defaults, shown by /limits
	// Logf receives internal errors; nil discards.
	Logf func(format string, args ...any)
}

// Server is the OpenWhisk API.
type Server struct {
	Deps
	echo *echo.Echo
}

// New builds the API and its routes.
func New(d Deps) *Server {
	if d.Logf == nil {
		d.Logf = func(string, ...any) {}
	}
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

func (s *Server) logf(format string, args ...any) { s.Logf(format, args...) }

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
