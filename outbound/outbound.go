// Package outbound makes HTTP clients for calls to URLs a tenant supplies
// (webhook nodes, LLM base URLs). Unless private networks are allowed, they
// refuse loopback, private, link-local, CGNAT and metadata addresses —
// checked on the address actually dialled, so a DNS name that resolves to
// one is refused too — and they never follow redirects.
package outbound

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrBlocked is the error (wrapped) for a refused address.
var ErrBlocked = errors.New("address not allowed: private, loopback, link-local or metadata")

// Options configure a client.
type Options struct {
	AllowPrivate bool          // KEFU_ALLOW_PRIVATE_NETWORKS: a self-hosted model, a local webhook
	DialTimeout  time.Duration // default 5 s
	// ResponseHeaderTimeout bounds the wait for a response's headers (0:
	// none; the caller's context still bounds the call).
	ResponseHeaderTimeout time.Duration
}

// NewClient returns an HTTP client that obeys the private-network rule.
func NewClient(o Options) *http.Client {
	if o.DialTimeout == 0 {
		o.DialTimeout = 5 * time.Second
	}
	d := &net.Dialer{Timeout: o.DialTimeout}
	if !o.AllowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(host)
			if err != nil {
				return err
			}
			if Blocked(ip) {
				return fmt.Errorf("%w (%s)", ErrBlocked, ip)
			}
			return nil
		}
	}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second,
		TLSHandshakeTimeout: 5 * time.Second, ResponseHeaderTimeout: o.ResponseHeaderTimeout, ForceAttemptHTTP2: true}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var (
	metadata = netip.MustParseAddr("169.254.169.254")
	cgnat    = netip.MustParsePrefix("100.64.0.0/10")
)

// Blocked reports whether ip is one a tenant's URL may not reach.
func Blocked(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip == metadata || cgnat.Contains(ip)
}
