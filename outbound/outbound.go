// Package outbound makes HTTP clients for calls to URLs a tenant supplies
// (webhook nodes, LLM base URLs). Unless private networks are allowed, they
// refuse every address the IANA special-purpose registries mark not
// globally reachable (loopback, private, link-local, CGNAT, metadata …) —
// checked on the address actually dialled, so a DNS name that resolves to
// one is refused too — and they never follow redirects.
package outbound

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrBlocked is the error (wrapped) for a refused address. It names no
// address: what a tenant sees of a failure never shows a resolver's.
var ErrBlocked = errors.New("address not allowed")

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
				return ErrBlocked
			}
			return nil
		}
	}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second,
		TLSHandshakeTimeout: 5 * time.Second, ResponseHeaderTimeout: o.ResponseHeaderTimeout, ForceAttemptHTTP2: true}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// notGlobal is every entry of the IANA IPv4 and IPv6 Special-Purpose
// Address Registries whose "Globally Reachable" is false (as of 2025), with
// a few neighbours folded in: all of 192.0.0.0/24 and 2001::/23 (including
// their anycast entries, which no webhook needs), the deprecated 6to4 relay
// anycast, and multicast. IPv6 outside 2000::/3 (global unicast) is refused
// as reserved, apart from the forms that embed an IPv4 address, which
// Blocked checks by that address.
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

// Blocked reports whether ip is not a globally reachable address. IPv6
// forms that carry an IPv4 address are judged by that address: IPv4-mapped
// (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d, which a NAT64 gateway turns
// into a.b.c.d) and 6to4 (2002:aabb:ccdd::). IPv4-compatible addresses
// (::a.b.c.d, deprecated) and the rest of IPv6 outside 2000::/3 are refused;
// Teredo (2001::/32) is refused with 2001::/23.
func Blocked(ip netip.Addr) bool {
	ip = ip.WithZone("")
	if ip.Is4In6() {
		return Blocked(ip.Unmap())
	}
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64.Contains(ip):
			return Blocked(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case sixToFour.Contains(ip):
			return Blocked(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
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
