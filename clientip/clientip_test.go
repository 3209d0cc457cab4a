package clientip

import (
	"net/http"
	"testing"
)

func TestKeyGroupsIPv6ByItsSlash64(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"203.0.113.7":                "203.0.113.7",
		"::ffff:203.0.113.7":         "203.0.113.7",
		"2001:db8:1:2:aaaa::1":       "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff::99": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":            "2001:db8:1:3::/64",
		"fe80::1%eth0":               "fe80::/64",
		"not an ip":                  "not an ip",
	}
	for in, want := range cases {
		if got := Key(in); got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResolverBelievesXForwardedForOnlyWhenTrusted(t *testing.T) {
	t.Parallel()
	r, _ := http.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.2:5555" // a proxy
	r.Header.Set("X-Forwarded-For", "198.51.100.9, 10.0.0.3")
	if got := Resolver(false)(r); got != "10.0.0.2" {
		t.Errorf("untrusted: %q, want the peer 10.0.0.2", got)
	}
	if got := Resolver(true)(r); got != "198.51.100.9" {
		t.Errorf("trusted: %q, want 198.51.100.9", got)
	}
}
