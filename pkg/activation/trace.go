package activation

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/kwhisk/kwhisk/pkg/tracing"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// AnnotationTraceParent is the activation annotation that records the W3C
// traceparent an activation ran in: its own span's with tracing on (so a
// trace viewer finds it by its trace and span ids), else the one its
// caller sent. OpenWhisk has no such annotation; it is left out when
// there is no trace.
const AnnotationTraceParent = "traceparent"

// span runs st with run in a span of its own when tracing is on: a child
// of the span running (the enclosing sequence's, conductor's or trigger's)
// or of the caller's traceparent, else a new trace. rc.trace is the
// span's traceparent while it runs, so the run request and the record
// carry it. With tracing off st just runs, in the caller's trace.
func (s *Service) span(rc *runContext, st step, run func(*runContext, step) *whisk.Activation) *whisk.Activation {
	if s.tracer == nil {
		return run(rc, st)
	}
	parent, parentTrace := rc.ctx, rc.trace
	kind := trace.SpanKindInternal
	if st.cause == "" {
		kind = trace.SpanKindServer
	}
	ctx, sp := s.tracer.Start(parent, st.action.Path().FullyQualified(), trace.WithSpanKind(kind), trace.WithAttributes(
		attribute.String("faas.invocation_id", string(st.id)),
		attribute.String("faas.name", st.action.Path().FullyQualified()),
		attribute.String("faas.version", st.action.Version.String()),
		attribute.String("openwhisk.namespace", rc.caller.Namespace),
		attribute.String("openwhisk.kind", st.action.Exec.Kind),
		attribute.String("openwhisk.transaction_id", rc.tid),
	))
	rc.ctx, rc.trace = ctx, tracing.Format(sp.SpanContext())
	rec := run(rc, st)
	rc.ctx, rc.trace = parent, parentTrace
	endSpan(sp, rec)
	return rec
}

// endSpan ends sp with what rec says of the activation.
func endSpan(sp trace.Span, rec *whisk.Activation) {
	sp.SetAttributes(attribute.Int("openwhisk.status_code", rec.Response.StatusCode))
	if raw := rec.Annotations.Get("initTime"); raw != nil {
		sp.SetAttributes(attribute.Bool("faas.coldstart", true))
	}
	if rec.Response.StatusCode != whisk.StatusSuccess {
		sp.SetStatus(codes.Error, whisk.StatusText(rec.Response.StatusCode))
	}
	sp.End()
}

// fireSpan starts the span of a trigger activation when tracing is on and
// returns the traceparent its rules' activations take as parent (the
// caller's with tracing off) and the function that ends it.
func (s *Service) fireSpan(r *running) (string, func(*whisk.Activation)) {
	if s.tracer == nil {
		return r.trace, func(*whisk.Activation) {}
	}
	ctx := context.Background()
	if r.trace != "" {
		ctx = trace.ContextWithRemoteSpanContext(ctx, tracing.Parse(r.trace))
	}
	_, sp := s.tracer.Start(ctx, r.trigger.Path().FullyQualified(), trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String("faas.invocation_id", string(r.id)),
		attribute.String("faas.trigger", "pubsub"),
		attribute.String("openwhisk.trigger", r.trigger.Path().FullyQualified()),
		attribute.String("openwhisk.namespace", r.caller.Namespace),
		attribute.String("openwhisk.transaction_id", r.tid),
	))
	return tracing.Format(sp.SpanContext()), func(rec *whisk.Activation) { endSpan(sp, rec) }
}
