// Package api serves the OpenWhisk REST API with echo: routes.go is the
// whole route table, one file per collection, and errors.go the one error
// handler that renders every failure as OpenWhisk's {"error","code"} body.
// Handlers bind, call the domain through narrow interfaces declared here,
// and render; they never talk to a store or platform directly.
package api
