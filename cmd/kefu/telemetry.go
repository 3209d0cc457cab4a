package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"kefu"
)

// newTracerProvider exports spans over OTLP/HTTP to cfg.OTLPEndpoint (the
// standard OTEL_EXPORTER_OTLP_ENDPOINT: a base URL, to which /v1/traces is
// added), in batches. Without an endpoint there is no tracing: it returns
// nil, and the packages make no spans at all. The SDK reads the other
// standard variables itself (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
// OTEL_TRACES_SAMPLER, OTEL_EXPORTER_OTLP_HEADERS, OTEL_BSP_*).
func newTracerProvider(ctx context.Context, cfg Config) (*sdktrace.TracerProvider, error) {
	if cfg.OTLPEndpoint == "" {
		return nil, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(strings.TrimRight(cfg.OTLPEndpoint, "/")+"/v1/traces"))
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	res, err := resource.Merge(
		resource.NewSchemaless(attribute.String("service.name", "kefu"), attribute.String("service.version", version), attribute.String("kefu.commit", commit)),
		resource.Default(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil {
		return nil, fmt.Errorf("OTLP resource: %w", err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// contextHandler adds to every record what its context knows: the request
// id the HTTP edge gave the request (kefu.RequestID) and the trace and
// span ids when the work is traced, so a log line leads to its request and
// its trace. A record that already names one keeps its own.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	id := kefu.RequestID(ctx)
	sc := trace.SpanContextFromContext(ctx)
	if id == "" && !sc.IsValid() {
		return h.Handler.Handle(ctx, r)
	}
	hasID, hasTrace := false, false
	r.Attrs(func(a slog.Attr) bool {
		hasID = hasID || a.Key == "request_id"
		hasTrace = hasTrace || a.Key == "trace_id"
		return true
	})
	if id != "" && !hasID {
		r.AddAttrs(slog.String("request_id", id))
	}
	if sc.IsValid() && !hasTrace {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(as)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

// redisLogger sends go-redis's own messages (reconnects, dropped pub/sub
// connections) through the server's logger, so JSON logs stay JSON.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "), "component", "go-redis")
}
