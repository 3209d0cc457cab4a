// Package clientip says which client a request comes from, once for both
// edges: the REST API's per-client rate limits and the WebSocket endpoint's
// per-client socket cap must agree on who the client is, and on whether
// X-Forwarded-For is believed.
package clientip

import (
	"net/http"
	"net/netip"

	"github.com/labstack/echo/v4"
)

// Resolver returns the function that finds a request's client IP. Without
// trustProxy it is the peer's address and X-Forwarded-For is ignored (a
// client could forge it). With trustProxy it is the nearest address in
// X-Forwarded-For, read from the right, that is not a loopback, link-local
// or private address (the proxies in front of Kefu).
func Resolver(trustProxy bool) func(*http.Request) string {
	if trustProxy {
		return echo.ExtractIPFromXFFHeader()
	}
	return echo.ExtractIPDirect()
}

// Key is the bucket a client IP is counted in: an IPv4 address alone, an
// IPv6 address by its /64. One IPv6 subscriber gets at least a /64 and may
// use any of its 2^64 addresses, so counting single IPv6 addresses would
// give every client an endless supply of fresh budgets.
func Key(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
