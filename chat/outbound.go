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
	"time"

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
}

func newOutbound(allowPrivate bool) *outbound {
	return &outbound{client: egress.NewClient(egress.Options{AllowPrivate: allowPrivate})}
}

// blockedAddr reports whether a webhook may not reach ip (egress.Blocked).
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
func (o *outbound) post(ctx context.Context, url string, timeout time.Duration, payload any) error {
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
