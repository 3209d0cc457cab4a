package api_test

import (
	"testing"
)

func TestETags(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("ETag")
		conv := a.conversation(t, biz, "hello")
		key := a.apiKey(biz, "developer")
		for _, path := range []string{
			"/api/v1/conversations/" + conv, "/api/v1/conversations", "/api/v1/conversations/" + conv + "/messages",
			"/api/v1/tenant", "/api/v1/flows", "/api/v1/agents",
		} {
			t.Run(path, func(t *testing.T) {
				tok := key
				if path == "/api/v1/flows" {
					tok = biz.token // flows are for admins
				}
				first := a.must(200, "GET", path, tok, nil)
				tag := first.Header.Get("ETag")
				if len(tag) < 10 || tag[:3] != `W/"` {
					t.Fatalf("ETag %q", tag)
				}
				again := a.doWith("GET", path, tok, nil, map[string]string{"If-None-Match": tag})
				if again.Status != 304 || again.Raw != "" || again.Header.Get("ETag") != tag {
					t.Fatalf("If-None-Match: %d %q %v", again.Status, again.Raw, again.Header)
				}
				other := a.doWith("GET", path, tok, nil, map[string]string{"If-None-Match": `W/"other", "nope"`})
				if other.Status != 200 || other.Raw != first.Raw {
					t.Fatalf("another tag: %d %s", other.Status, other.Raw)
				}
			})
		}
		t.Run("a change makes a new tag", func(t *testing.T) {
			path := "/api/v1/conversations/" + conv
			tag := a.must(200, "GET", path, key, nil).Header.Get("ETag")
			a.must(200, "PATCH", path, key, map[string]any{"labels": []string{"vip"}})
			r := a.doWith("GET", path, key, nil, map[string]string{"If-None-Match": tag})
			if r.Status != 200 || r.Header.Get("ETag") == tag {
				t.Fatalf("%d %v", r.Status, r.Header)
			}
		})
		t.Run("errors carry no tag", func(t *testing.T) {
			r := a.must(404, "GET", "/api/v1/conversations/nope", key, nil)
			if r.Header.Get("ETag") != "" {
				t.Fatal("a 404 has an ETag")
			}
		})
	})
}
