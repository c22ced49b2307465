package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// routes is the whole API, in one table.
func (s *Server) routes() {
	e := s.echo
	e.Pre(s.withTransaction, s.gate, validQuery, preflight, s.apiRoutes)

	e.GET("/ping", s.ping)
	e.GET("/", s.deploymentInfo)
	if s.Metrics != nil {
		// Prometheus scrapes without OpenWhisk credentials.
		e.GET("/metrics", echo.WrapHandler(s.Metrics))
	}

	// The browser console: static files, no authentication.
	if s.Console != nil {
		for _, m := range []string{http.MethodGet, http.MethodHead} {
			e.Add(m, "/console", consoleRoot)
			e.Add(m, "/console/*", s.console)
		}
	}

	// What runtimes fetch at boot (knative mode): action code and run
	// keys; the bearer token is the credential.
	e.GET("/api/v1/code/:digest", s.getCode)
	e.GET("/api/v1/run-keys/:digest", s.getRunKeys)

	// Web actions: anonymous unless the action asks otherwise, with CORS
	// of their own.
	e.Any("/api/v1/web/:namespace/:package/*", s.web)
	// API management (wsk api): served by the gateway, not by actions.
	e.Any("/api/v1/web/whisk.system/apimgmt/*", s.apiManagement)

	v1 := e.Group("/api/v1", withCORS)
	resource(v1, "", methods{get: s.apiInfo})
	resource(v1, "/", methods{get: s.apiInfo})

	// CloudEvents from brokers; the ingress authenticates (token or Basic).
	resource(v1, "/events/:namespace/:trigger", methods{post: s.receiveEvent})

	ns := v1.Group("/namespaces", s.withAuth, withJSONBody)
	resource(ns, "", methods{get: s.listNamespaces})
	resource(ns, "/", methods{get: s.listNamespaces})
	resource(ns, "/:namespace/limits", methods{get: s.getLimits})

	resource(ns, "/:namespace/actions", methods{get: s.listActions})
	resource(ns, "/:namespace/actions/", methods{get: s.listActions})
	resource(ns, "/:namespace/actions/:package/", methods{get: s.listPackageActions})
	for _, p := range []string{"/:namespace/actions/:name", "/:namespace/actions/:package/:name"} {
		resource(ns, p, methods{get: s.getAction, put: s.putAction, del: s.deleteAction, post: s.invokeAction})
	}

	resource(ns, "/:namespace/activations", methods{get: s.listActivations})
	resource(ns, "/:namespace/activations/", methods{get: s.listActivations})
	resource(ns, "/:namespace/activations/:id", methods{get: s.getActivation})
	resource(ns, "/:namespace/activations/:id/logs", methods{get: s.getActivationLogs})
	resource(ns, "/:namespace/activations/:id/result", methods{get: s.getActivationResult})

	resource(ns, "/:namespace/packages", methods{get: s.listPackages})
	resource(ns, "/:namespace/packages/", methods{get: s.listPackages})
	resource(ns, "/:namespace/packages/:name", methods{get: s.getPackage, put: s.putPackage, del: s.deletePackage})

	resource(ns, "/:namespace/triggers", methods{get: s.listTriggers})
	resource(ns, "/:namespace/triggers/", methods{get: s.listTriggers})
	resource(ns, "/:namespace/triggers/:name", methods{get: s.getTrigger, put: s.putTrigger, del: s.deleteTrigger, post: s.fireTrigger})

	resource(ns, "/:namespace/rules", methods{get: s.listRules})
	resource(ns, "/:namespace/rules/", methods{get: s.listRules})
	resource(ns, "/:namespace/rules/:name", methods{get: s.getRule, put: s.putRule, del: s.deleteRule, post: s.setRuleStatus})
}

// methods are the handlers of one resource.
type methods struct{ get, put, del, post echo.HandlerFunc }

// resource registers a path's handlers: HEAD answers like GET without a
// body. On an entity path (ending in a parameter) every other method gets
// 405 naming the supported ones; on a collection it is not routed (404),
// as upstream, where PUT .../actions/ with an empty name is a 404.
func resource(g *echo.Group, path string, m methods) {
	var allowed []string
	for _, h := range []struct {
		method string
		fn     echo.HandlerFunc
	}{{http.MethodGet, m.get}, {http.MethodPut, m.put}, {http.MethodDelete, m.del}, {http.MethodPost, m.post}} {
		if h.fn == nil {
			continue
		}
		g.Add(h.method, path, h.fn)
		if h.method == http.MethodGet {
			g.Add(http.MethodHead, path, h.fn)
		}
		allowed = append(allowed, h.method)
	}
	if !strings.Contains(path[strings.LastIndex(path, "/")+1:], ":") {
		return
	}
	notAllowed := whisk.Errorf(whisk.KindMethodNotAllowed, "HTTP method not allowed, supported methods: %s", strings.Join(allowed, ", "))
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPost, http.MethodPatch} {
		if !contains(allowed, method) {
			g.Add(method, path, func(echo.Context) error { return notAllowed })
		}
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
