// Package tracing is W3C Trace Context for activations: it reads and
// writes the traceparent header (without allocating for a valid one, so
// the invoke path pays nothing when tracing is off) and, when the gateway
// is given an OTLP endpoint, builds the OpenTelemetry tracer whose spans
// it exports over OTLP/HTTP.
package tracing
