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
	"syscall"
	"time"
)

// outbound makes HTTP calls to tenant-supplied URLs (webhook nodes). Unless
// private networks are allowed, it refuses loopback, private, link-local,
// and metadata addresses — checked on the address actually dialled, so a
// DNS name that resolves to one is refused too.
type outbound struct {
	client *http.Client
}

var errBlockedAddr = errors.New("address not allowed: private, loopback, link-local or metadata")

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
				return fmt.Errorf("%w (%s)", errBlockedAddr, ip)
			}
			return nil
		}
	}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second, TLSHandshakeTimeout: 5 * time.Second}
	return &outbound{client: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func blockedAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	metadata := netip.MustParseAddr("169.254.169.254")
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip == metadata || netip.MustParsePrefix("100.64.0.0/10").Contains(ip)
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
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Kefu-Webhook/1")
	res, err := o.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("webhook answered %d", res.StatusCode)
	}
	return nil
}
