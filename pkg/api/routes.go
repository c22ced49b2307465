package api

// routes is the whole API, in one table.
func (s *Server) routes() {
	e := s.echo
	e.Pre(withTransaction, preflight)

	e.GET("/ping", s.ping)
	e.GET("/", s.deploymentInfo)

	v1 := e.Group("/api/v1", withCORS)
	v1.GET("", s.apiInfo)
	v1.GET("/", s.apiInfo)

	ns := v1.Group("/namespaces", s.withAuth, withJSONBody)
	ns.GET("", s.listNamespaces)
	ns.GET("/", s.listNamespaces)
	ns.GET("/:namespace/limits", s.getLimits)

	ns.GET("/:namespace/actions", s.listActions)
	ns.GET("/:namespace/actions/", s.listActions)
	ns.GET("/:namespace/actions/:package/", s.listPackageActions)
	for _, p := range []string{"/:namespace/actions/:name", "/:namespace/actions/:package/:name"} {
		ns.GET(p, s.getAction)
		ns.PUT(p, s.putAction)
		ns.DELETE(p, s.deleteAction)
		ns.POST(p, s.invokeAction)
	}

	ns.GET("/:namespace/activations", s.listActivations)
	ns.GET("/:namespace/activations/", s.listActivations)
	ns.GET("/:namespace/activations/:id", s.getActivation)
	ns.GET("/:namespace/activations/:id/logs", s.getActivationLogs)
	ns.GET("/:namespace/activations/:id/result", s.getActivationResult)

	// Collections whose create and update arrive with the entity model;
	// their lists already read the store so `wsk list` works.
	ns.GET("/:namespace/packages", s.lister("packages"))
	ns.GET("/:namespace/triggers", s.lister("triggers"))
	ns.GET("/:namespace/rules", s.lister("rules"))
}
