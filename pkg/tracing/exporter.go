package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/kwhisk/kwhisk/pkg/logging"
)

// ServiceName is the service.name of the gateway's spans.
const ServiceName = "kwhisk"

// TracesPath is where an OTLP/HTTP collector takes spans; it is added to
// an endpoint URL that has no path.
const TracesPath = "/v1/traces"

// Exporter is the tracer of the gateway's spans and the OTLP/HTTP export
// behind it.
type Exporter struct {
	provider *sdktrace.TracerProvider
}

// NewExporter exports spans to the OTLP/HTTP collector at endpoint
// (http(s)://host:port[/path]), in batches. Every span is recorded unless
// its incoming parent says it is not sampled. Nothing is sent until the
// first span ends; a collector that does not answer loses spans, never
// activations, and its failures go to log (OpenTelemetry's global error
// handler, which would otherwise print free-form lines).
func NewExporter(ctx context.Context, endpoint, version string, log *slog.Logger) (*Exporter, error) {
	if log != nil {
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			log.Warn("export trace spans", logging.Err(err))
		}))
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("otlp endpoint: %w", err)
	}
	if strings.Trim(u.Path, "/") == "" {
		u.Path = TracesPath
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(u.String()))
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", ServiceName), attribute.String("service.version", version))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	)
	return &Exporter{provider: tp}, nil
}

// Tracer is the tracer the activation service starts its spans with.
func (e *Exporter) Tracer() trace.Tracer {
	return e.provider.Tracer("github.com/kwhisk/kwhisk/pkg/activation")
}

// Shutdown sends the spans not yet exported, until ctx ends.
func (e *Exporter) Shutdown(ctx context.Context) error { return e.provider.Shutdown(ctx) }
