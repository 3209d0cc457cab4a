package chat

import (
	"context"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Tracing: a message's path is one trace. The edge that received it (a
// socket's message.send, or a REST request) starts it; Send, the group
// commit and the bus publication add their spans; the event on the bus
// carries the span context (Event.TraceParent, W3C traceparent), so the
// node that delivers it continues the same trace even across Redis. With
// tracing off the tracer is a no-op.

// traceContext is the W3C propagator (traceparent and tracestate).
var traceContext = propagation.TraceContext{}

// injectTrace is ctx's span context as a traceparent, or "" when ctx is not
// being traced.
func injectTrace(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsSampled() {
		return ""
	}
	c := propagation.MapCarrier{}
	traceContext.Inject(ctx, c)
	return c["traceparent"]
}

// TraceContext is ctx continued from the span context e carries (none if it
// carries none): a subscriber that delivers e makes its spans children of
// the publication.
func (e Event) TraceContext(ctx context.Context) context.Context {
	if e.TraceParent == "" {
		return ctx
	}
	return traceContext.Extract(ctx, propagation.MapCarrier{"traceparent": e.TraceParent})
}

// child starts a span under ctx's span when that trace is sampled (the
// parent may have ended, as a request's span has when the flow run it
// started goes on, or be remote); else it returns ctx and a span that does
// nothing, so an untraced message costs no allocation here.
func (s *Service) child(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if !trace.SpanContextFromContext(ctx).IsSampled() {
		return ctx, noSpan
	}
	return s.tracer.Start(ctx, name, opts...)
}

// noSpan is a span that records nothing.
var noSpan = trace.SpanFromContext(context.Background())
