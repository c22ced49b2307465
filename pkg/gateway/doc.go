// Package gateway assembles kwhisk from its parts for `kwhisk serve` and
// `kwhisk admin`: it is the one place that picks a concrete store and
// platform, starts the HTTP server, and drains in order on shutdown (stop
// accepting, finish in-flight activations, flush the store).
package gateway
