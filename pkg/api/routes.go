package api

// routes is the whole API, in one table.
func (s *Server) routes() {
	e := s.echo
	e.Pre(withTransaction, preflight)

	e.GET("/ping", s.ping)
	e.GET("/", s.deploymentInfo)

	// Web actions: anonymous unless the action asks otherwise, with CORS
	// of their own.
	e.Any("/api/v1/web/:namespace/:package/*", s.web)

	v1 := e.Group("/api/v1", withCORS)
	v1.GET("", s.apiInfo)
	v1.GET("/", s.apiInfo)

	// CloudEvents from brokers; the ingress authenticates (token or Basic).
	v1.POST("/events/:namespace/:trigger", s.receiveEvent)

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

	ns.GET("/:namespace/packages", s.listPackages)
	ns.GET("/:namespace/packages/", s.listPackages)
	ns.GET("/:namespace/packages/:name", s.getPackage)
	ns.PUT("/:namespace/packages/:name", s.putPackage)
	ns.DELETE("/:namespace/packages/:name", s.deletePackage)

	ns.GET("/:namespace/triggers", s.listTriggers)
	ns.GET("/:namespace/triggers/", s.listTriggers)
	ns.GET("/:namespace/triggers/:name", s.getTrigger)
	ns.PUT("/:namespace/triggers/:name", s.putTrigger)
	ns.DELETE("/:namespace/triggers/:name", s.deleteTrigger)
	ns.POST("/:namespace/triggers/:name", s.fireTrigger)

	ns.GET("/:namespace/rules", s.listRules)
	ns.GET("/:namespace/rules/", s.listRules)
	ns.GET("/:namespace/rules/:name", s.getRule)
	ns.PUT("/:namespace/rules/:name", s.putRule)
	ns.DELETE("/:namespace/rules/:name", s.deleteRule)
	ns.POST("/:namespace/rules/:name", s.setRuleStatus)
}
