package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	egress "kefu/outbound"
)

// outbound makes HTTP calls to tenant-supplied URLs (webhook nodes) through
// a client that obeys the private-network rule (package outbound: unless
// private networks are allowed, every address that is not globally
// reachable is refused, checked on the address actually dialled). What a
// tenant sees of a failure is one of a few generic messages
// (outboundError): never a resolver's address or another internal error
// text.
type outbound struct {
	client *http.Client
	// observe, when set, records each call's result (ok, http_error,
	// timeout, refused, error) and duration.
	observe func(result string, d time.Duration)
}

func newOutbound(allowPrivate bool) *outbound {
	return &outbound{client: egress.NewClient(egress.Options{AllowPrivate: allowPrivate})}
}

// blockedAddr reports whether a webhook may not reach ip (egress.Blocked:
// the IANA special-purpose registries, IPv4 inside IPv6 judged by itself).
func blockedAddr(ip netip.Addr) bool { return egress.Blocked(ip) }

// outboundError is what a tenant sees of a failed outbound call (in the
// flow's trace, say): a generic message, with the cause kept for the log.
type outboundError struct {
	msg   string
	cause error
}

func (e *outboundError) Error() string { return e.msg }
func (e *outboundError) Unwrap() error { return e.cause }

// describe turns a failed call into an outboundError.
func describe(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, egress.ErrBlocked):
		return &outboundError{"address not allowed", err}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return &outboundError{"timed out", err}
	default:
		return &outboundError{"could not connect", err}
	}
}

// post sends payload as JSON and wants a 2xx within timeout.
func (o *outbound) post(ctx context.Context, url string, timeout time.Duration, payload any) (err error) {
	if o.observe != nil {
		start := time.Now()
		defer func() { o.observe(outboundResult(err), time.Since(start)) }()
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return &outboundError{"invalid URL", err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Kefu-Webhook/1")
	if sc := trace.SpanContextFromContext(ctx); sc.IsSampled() {
		// The call is a span of the trace that made it, and the receiver
		// may continue it (traceparent).
		var span trace.Span
		ctx, span = trace.SpanFromContext(ctx).TracerProvider().Tracer("kefu/chat").Start(ctx, "webhook POST",
			trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attribute.String("http.request.method", "POST"), attribute.String("server.address", req.URL.Host)))
		defer func() {
			if err != nil {
				span.SetStatus(codes.Error, err.Error())
			}
			span.End()
		}()
		req = req.WithContext(ctx)
		traceContext.Inject(ctx, propagation.HeaderCarrier(req.Header))
	}
	res, err := o.client.Do(req)
	if err != nil {
		return describe(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return &outboundError{fmt.Sprintf("HTTP %d", res.StatusCode), nil}
	}
	return nil
}

// GuardedClient is the HTTP client for tenant-supplied URLs (webhook
// deliveries): unless allowPrivate, it refuses every address that is not
// globally reachable, checked on the address it dials; it never follows a
// redirect (a 3xx is the answer). Callers set their own deadline.
func GuardedClient(allowPrivate bool) *http.Client { return newOutbound(allowPrivate).client }

// OutboundProblem is what a tenant may see of a failed outbound call: one of
// "address not allowed", "timed out", "could not connect".
func OutboundProblem(err error) string { return describe(err).Error() }

// AddressAllowed reports whether ip is globally reachable (what outbound
// calls may dial unless private networks are allowed).
func AddressAllowed(ip netip.Addr) bool { return !blockedAddr(ip) }

// outboundResult classifies a call's outcome for the metrics.
func outboundResult(err error) string {
	var oe *outboundError
	switch {
	case err == nil:
		return "ok"
	case !errors.As(err, &oe):
		return "error"
	case strings.HasPrefix(oe.msg, "HTTP "):
		return "http_error"
	case oe.msg == "timed out":
		return "timeout"
	case oe.msg == "address not allowed":
		return "refused"
	}
	return "error"
}
