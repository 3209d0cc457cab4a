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
	"syscall"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// outbound makes HTTP calls to tenant-supplied URLs (webhook nodes). Unless
// private networks are allowed, it refuses every address that is not
// globally reachable — checked on the address actually dialled, so a DNS
// name that resolves to one is refused too. What a tenant sees of a failure
// is one of a few generic messages (outboundError): never a resolver's
// address or another internal error text.
type outbound struct {
	client *http.Client
	// observe, when set, records each call's result (ok, http_error,
	// timeout, refused, error) and duration.
	observe func(result string, d time.Duration)
}

var errBlockedAddr = errors.New("address not allowed")

func newOutbound(allowPrivate bool) *outbound {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(host)
			if err != nil {
				return err
			}
			if blockedAddr(ip) {
				return errBlockedAddr
			}
			return nil
		}
	}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second, TLSHandshakeTimeout: 5 * time.Second}
	return &outbound{client: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// notGlobal is every entry of the IANA IPv4 and IPv6 Special-Purpose
// Address Registries whose "Globally Reachable" is false (as of 2025), with
// a few neighbours folded in: all of 192.0.0.0/24 and 2001::/23 (including
// their anycast entries, which no webhook needs), the deprecated 6to4 relay
// anycast, and multicast. IPv6 outside 2000::/3 (global unicast) is refused
// as reserved, apart from the forms that embed an IPv4 address, which
// blockedAddr checks by that address.
var notGlobal = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		// IPv4
		"0.0.0.0/8",          // "this network"
		"10.0.0.0/8",         // private
		"100.64.0.0/10",      // shared address space (CGN)
		"127.0.0.0/8",        // loopback
		"169.254.0.0/16",     // link local, cloud metadata
		"172.16.0.0/12",      // private
		"192.0.0.0/24",       // IETF protocol assignments (DS-Lite, NAT64 discovery, dummy)
		"192.0.2.0/24",       // documentation (TEST-NET-1)
		"192.88.99.0/24",     // 6to4 relay anycast (deprecated)
		"192.168.0.0/16",     // private
		"198.18.0.0/15",      // benchmarking
		"198.51.100.0/24",    // documentation (TEST-NET-2)
		"203.0.113.0/24",     // documentation (TEST-NET-3)
		"224.0.0.0/4",        // multicast
		"240.0.0.0/4",        // reserved
		"255.255.255.255/32", // limited broadcast
		// IPv6
		"::/128",         // unspecified
		"::1/128",        // loopback
		"64:ff9b:1::/48", // local-use IPv4/IPv6 translation
		"100::/64",       // discard-only
		"100:0:0:1::/64", // dummy prefix
		"2001::/23",      // IETF protocol assignments: Teredo (2001::/32), benchmarking, ORCHID …
		"2001:db8::/32",  // documentation
		"3fff::/20",      // documentation
		"5f00::/16",      // segment routing (SRv6) SIDs
		"fc00::/7",       // unique local
		"fe80::/10",      // link local
		"fec0::/10",      // site local (deprecated)
		"ff00::/8",       // multicast
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

var (
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
	nat64          = netip.MustParsePrefix("64:ff9b::/96") // well-known NAT64: the IPv4 address is the last 32 bits
	sixToFour      = netip.MustParsePrefix("2002::/16")    // 6to4: the IPv4 address is bits 16-47
)

// blockedAddr reports whether ip is not a globally reachable address. IPv6
// forms that carry an IPv4 address are judged by that address: IPv4-mapped
// (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d, which a NAT64 gateway turns
// into a.b.c.d) and 6to4 (2002:aabb:ccdd::). IPv4-compatible addresses
// (::a.b.c.d, deprecated) and the rest of IPv6 outside 2000::/3 are refused;
// Teredo (2001::/32) is refused with 2001::/23.
func blockedAddr(ip netip.Addr) bool {
	ip = ip.WithZone("")
	if ip.Is4In6() {
		return blockedAddr(ip.Unmap())
	}
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64.Contains(ip):
			return blockedAddr(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case sixToFour.Contains(ip):
			return blockedAddr(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		case !globalUnicast6.Contains(ip):
			return true
		}
	}
	for _, p := range notGlobal {
		if p.Contains(ip) {
			return true
		}
	}
	return !ip.IsValid()
}

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
	case errors.Is(err, errBlockedAddr):
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
