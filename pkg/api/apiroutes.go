package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/apigw"
	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// apiRoutes serves the APIs `wsk api create` defines, at the URL the
// clients print: /api/{namespace uuid}{basePath}{relPath}. It runs before
// routing, on every /api/ path but /api/v1/, so it cannot change how the
// OpenWhisk API itself is routed.
func (s *Server) apiRoutes(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		tenant, rest, ok := strings.Cut(strings.TrimPrefix(c.Request().URL.Path, "/api/"), "/")
		if s.APIs == nil || s.Namespaces == nil || !strings.HasPrefix(c.Request().URL.Path, "/api/") || tenant == "v1" || tenant == "" {
			return next(c)
		}
		if !ok {
			return whisk.NotFound()
		}
		return s.serveRoute(c, tenant, "/"+rest)
	}
}

// serveRoute runs the web action of the API operation that path (after
// /api/{tenant}) and the method address, as OpenWhisk's API gateway does:
// the longest base path of the namespace's APIs that prefixes the path
// wins; the operation's path parameters join the action's input; a
// secured web action gets its secret from the API; a path that does not
// define the verb is 404, but answers a CORS preflight (the APIs enable
// CORS).
func (s *Server) serveRoute(c echo.Context, tenant, path string) error {
	ctx := c.Request().Context()
	ns, err := s.Namespaces.NamespaceByUUID(ctx, tenant)
	if store.IsNotFound(err) {
		return whisk.NotFound()
	}
	if err != nil {
		return err
	}
	apis, err := s.APIs.ListAPIs(ctx, ns.Name)
	if err != nil {
		return err
	}
	var api *store.API
	var rel string
	for _, a := range apis {
		bp := strings.TrimSuffix(a.BasePath, "/")
		if (path == bp || strings.HasPrefix(path, bp+"/")) && (api == nil || len(a.BasePath) > len(api.BasePath)) {
			api, rel = a, strings.TrimPrefix(path, bp)
		}
	}
	if api == nil {
		return whisk.NotFound()
	}
	var doc apigw.Doc
	if err := json.Unmarshal(api.Body, &doc); err != nil {
		return fmt.Errorf("stored API %s%s: %w", api.Namespace, api.BasePath, err)
	}
	t, pathFound, ok := apigw.Match(doc, rel, c.Request().Method)
	if !ok {
		if pathFound && c.Request().Method == http.MethodOptions {
			setWebCORS(c)
			return c.NoContent(http.StatusOK)
		}
		return whisk.NotFound()
	}
	if t.Namespace == whisk.DefaultNamespace { // a Swagger file may say "_"
		t.Namespace = ns.Name
	}
	if t.Secret != "" {
		c.Request().Header.Set("X-Require-Whisk-Auth", t.Secret)
	}
	target := webTarget{path: whisk.EntityPath{Namespace: t.Namespace, Package: t.Package, Name: t.Action}, ext: t.ResponseType}
	if t.ResponseType == "http" {
		target.rest = rel // the gateway appends $(request.path) to http targets
	}
	return s.serveWeb(c, target, t.Params)
}
