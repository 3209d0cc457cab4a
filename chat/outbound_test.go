package chat

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestBlockedAddr: every address that is not globally reachable is refused,
// including IPv6 forms that carry a private IPv4 address (security review,
// finding 11: ::a.b.c.d, 64:ff9b::/96 and 2002::/16 got through).
func TestBlockedAddr(t *testing.T) {
	cases := []struct {
		addr    string
		blocked bool
	}{
		// IPv4 special purpose
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"10.0.0.1", true},
		{"10.255.255.53", true},
		{"100.64.0.1", true},
		{"100.100.100.200", true}, // Alibaba Cloud metadata
		{"127.0.0.1", true},
		{"127.255.255.254", true},
		{"169.254.169.254", true}, // cloud metadata
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"192.0.0.8", true},
		{"192.0.0.170", true},
		{"192.0.2.10", true},
		{"192.88.99.1", true},
		{"192.168.1.1", true},
		{"198.18.0.1", true},
		{"198.19.255.255", true},
		{"198.51.100.7", true},
		{"203.0.113.9", true},
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"240.0.0.1", true},
		{"255.255.255.255", true},
		// IPv4, globally reachable
		{"8.8.8.8", false},
		{"1.1.1.1", false},
		{"93.184.216.34", false},
		{"172.32.0.1", false},
		{"100.128.0.1", false},
		{"192.31.196.1", false}, // AS112: globally reachable
		// IPv6 special purpose
		{"::", true},
		{"::1", true},
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		{"fc00::1", true},
		{"fd12:3456::1", true},
		{"fec0::1", true},
		{"ff02::1", true},
		{"2001:db8::1", true},
		{"2001::1", true}, // Teredo
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", true}, // Teredo, whatever it embeds
		{"2001:2::1", true},                            // benchmarking
		{"100::1", true},
		{"3fff::1", true},
		{"5f00::1", true},
		{"64:ff9b:1::a00:1", true}, // local-use translation
		{"4000::1", true},          // outside global unicast: reserved
		// IPv6 forms that embed an IPv4 address
		{"::ffff:127.0.0.1", true},
		{"::ffff:169.254.169.254", true},
		{"::ffff:8.8.8.8", false},
		{"::127.0.0.1", true}, // IPv4-compatible (deprecated)
		{"::8.8.8.8", true},
		{"64:ff9b::a9fe:a9fe", true}, // NAT64 of 169.254.169.254
		{"64:ff9b::7f00:1", true},    // NAT64 of 127.0.0.1
		{"64:ff9b::10.0.0.1", true},
		{"64:ff9b::808:808", false}, // NAT64 of 8.8.8.8
		{"2002:7f00:1::1", true},    // 6to4 of 127.0.0.1
		{"2002:a9fe:a9fe::", true},  // 6to4 of 169.254.169.254
		{"2002:c0a8:101::1", true},  // 6to4 of 192.168.1.1
		{"2002:808:808::1", false},  // 6to4 of 8.8.8.8
		// IPv6, globally reachable
		{"2606:4700:4700::1111", false},
		{"2a00:1450:4001:81c::200e", false},
		{"2620:4f:8000::1", false}, // AS112
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		ip, err := netip.ParseAddr(c.addr)
		if err != nil {
			t.Fatalf("%s: %v", c.addr, err)
		}
		if got := blockedAddr(ip); got != c.blocked {
			t.Errorf("blockedAddr(%s) = %v, want %v", c.addr, got, c.blocked)
		}
	}
}

// TestOutboundErrorsAreGeneric: what a tenant sees of a failed webhook names
// no address and carries no internal error text (the resolver's address
// used to show).
func TestOutboundErrorsAreGeneric(t *testing.T) {
	ctx := context.Background()
	// A port nothing listens on.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer failing.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(500 * time.Millisecond) }))
	defer slow.Close()

	cases := []struct {
		name    string
		private bool
		url     string
		want    string
	}{
		{"a private address", false, "http://" + closed + "/hook", "address not allowed"},
		{"a metadata address", false, "http://169.254.169.254/latest/meta-data", "address not allowed"},
		{"a NAT64 form of loopback", false, "http://[64:ff9b::7f00:1]/", "address not allowed"},
		{"nothing listening", true, "http://" + closed + "/hook", "could not connect"},
		{"a name that does not resolve", true, "http://no-such-host.invalid/hook", "could not connect"},
		{"an error status", true, failing.URL, "HTTP 500"},
		{"too slow", true, slow.URL, "timed out"},
		{"not a URL", true, "http://[::1", "invalid URL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := newOutbound(c.private).post(ctx, c.url, 200*time.Millisecond, map[string]any{"x": 1})
			if err == nil || err.Error() != c.want {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			for _, leak := range []string{"127.0.0.1", "169.254", "lookup", "dial", ":53"} {
				if strings.Contains(err.Error(), leak) {
					t.Fatalf("%q leaks %q", err, leak)
				}
			}
		})
	}
}
