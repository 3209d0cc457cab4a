package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestWebhooksAPI drives /api/v1/webhooks as an integrator would: create
// (the secret shown once), list, read, update, rotate, test, the delivery
// log and redeliver, delete; who may; what is refused; and a live
// message.created reaching a real receiver within a second once the worker
// runs.
func TestWebhooksAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		acme := a.signup("Hooks")
		other := a.signup("Other")
		var mu sync.Mutex
		var got []string // bodies that verified
		var secret string
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			defer mu.Unlock()
			wh, err := standardwebhooks.NewWebhook(secret)
			if err == nil {
				err = wh.Verify(body, r.Header)
			}
			if err != nil {
				t.Errorf("a delivery does not verify: %v", err)
				w.WriteHeader(400)
				return
			}
			got = append(got, string(body))
			w.Header().Set("X-Receiver", "yes")
			w.WriteHeader(202)
			_, _ = w.Write([]byte("thanks"))
		}))
		defer rcv.Close()

		// Create: the secret once.
		r := a.must(201, "POST", "/api/v1/webhooks", acme.token, map[string]any{"url": rcv.URL + "/in", "events": []string{"message.created", "conversation.created", "message.created"}, "description": "CRM"})
		id := r.Str("id")
		mu.Lock()
		secret = r.Str("secret")
		mu.Unlock()
		if !strings.HasPrefix(secret, "whsec_") || r.Str("enabled") != "true" || r.Str("include_private") != "false" || r.Str("description") != "CRM" {
			t.Fatalf("create = %s", r.Raw)
		}
		if evs, _ := r.Body["events"].([]any); len(evs) != 2 || evs[0] != "conversation.created" {
			t.Errorf("events = %v, want each once", r.Body["events"])
		}
		list := a.must(200, "GET", "/api/v1/webhooks", acme.token, nil)
		if strings.Contains(list.Raw, "whsec_") || !strings.Contains(list.Raw, id) {
			t.Errorf("list = %s", list.Raw)
		}
		if g := a.must(200, "GET", "/api/v1/webhooks/"+id, acme.token, nil); strings.Contains(g.Raw, "whsec_") || g.Str("url") != rcv.URL+"/in" {
			t.Errorf("get = %s", g.Raw)
		}
		if evs := a.must(200, "GET", "/api/v1/webhooks/events", acme.token, nil); !strings.Contains(evs.Raw, "csat.submitted") || !strings.Contains(evs.Raw, "conversation.transferred") {
			t.Errorf("events = %s", evs.Raw)
		}

		// Another tenant sees nothing of it.
		for _, p := range []string{"/api/v1/webhooks/" + id, "/api/v1/webhooks/" + id + "/deliveries"} {
			if r := a.do("GET", p, other.token, nil); r.Status != 404 || r.Code() != "not_found" {
				t.Errorf("another tenant GET %s: %d %s", p, r.Status, r.Raw)
			}
		}
		if r := a.do("POST", "/api/v1/webhooks/"+id+"/test", other.token, nil); r.Status != 404 {
			t.Errorf("another tenant's test: %d", r.Status)
		}
		if r := a.do("GET", "/api/v1/webhooks", other.token, nil); strings.Contains(r.Raw, id) {
			t.Errorf("another tenant lists it: %s", r.Raw)
		}

		// Who may: agents and developer keys may not; admin keys may.
		a.must(201, "POST", "/api/v1/agents", acme.token, map[string]any{"email": "ann@example.com", "name": "Ann", "password": "password1", "role": "agent"})
		agent := a.must(200, "POST", "/api/v1/auth/login", "", map[string]any{"tenant": acme.slug, "email": "ann@example.com", "password": "password1"}).Str("token")
		dev := a.must(201, "POST", "/api/v1/api-keys", acme.token, map[string]any{"name": "dev", "role": "developer"}).Str("key")
		adm := a.must(201, "POST", "/api/v1/api-keys", acme.token, map[string]any{"name": "ops", "role": "admin"}).Str("key")
		for _, tok := range []string{agent, dev} {
			if r := a.do("GET", "/api/v1/webhooks", tok, nil); r.Status != 403 || r.Code() != "permission_denied" {
				t.Errorf("GET as agent/developer: %d %s", r.Status, r.Raw)
			}
			if r := a.do("POST", "/api/v1/webhooks", tok, map[string]any{"url": "https://example.com", "events": []string{"message.created"}}); r.Status != 403 {
				t.Errorf("POST as agent/developer: %d", r.Status)
			}
		}
		if r := a.do("GET", "/api/v1/webhooks", "", nil); r.Status != 401 {
			t.Errorf("GET without a token: %d", r.Status)
		}
		a.must(200, "GET", "/api/v1/webhooks", adm, nil)

		// What is refused.
		for name, body := range map[string]map[string]any{
			"url":         {"url": "gopher://x", "events": []string{"message.created"}},
			"events":      {"url": "https://example.com", "events": []string{"message.deleted"}},
			"description": {"url": "https://example.com", "events": []string{"message.created"}, "description": strings.Repeat("x", 501)},
		} {
			if r := a.do("POST", "/api/v1/webhooks", acme.token, body); r.Status != 400 || r.Field(name) == "" {
				t.Errorf("bad %s: %d %s", name, r.Status, r.Raw)
			}
		}
		if r := a.do("POST", "/api/v1/webhooks", acme.token, map[string]any{"url": "https://example.com"}); r.Status != 400 || r.Field("events") == "" {
			t.Errorf("no events: %d %s", r.Status, r.Raw)
		}
		if r := a.do("POST", "/api/v1/webhooks", acme.token, map[string]any{"url": "https://example.com", "events": "message.created"}); r.Status != 400 {
			t.Errorf("events as a string: %d %s", r.Status, r.Raw)
		}
		if r := a.do("PATCH", "/api/v1/webhooks/"+id, acme.token, map[string]any{"events": []string{}}); r.Status != 400 || r.Field("events") == "" {
			t.Errorf("no events on update: %d %s", r.Status, r.Raw)
		}
		if r := a.do("GET", "/api/v1/webhooks/"+id+"/deliveries?limit=201", acme.token, nil); r.Status != 400 || r.Field("limit") == "" {
			t.Errorf("limit 201: %d %s", r.Status, r.Raw)
		}
		if r := a.do("GET", "/api/v1/webhooks/nope", acme.token, nil); r.Status != 404 {
			t.Errorf("unknown id: %d", r.Status)
		}

		// Test: a signed webhook.test, logged with what the receiver said.
		d := a.must(200, "POST", "/api/v1/webhooks/"+id+"/test", acme.token, nil)
		if d.Str("success") != "true" || d.Str("response_status") != "202" || d.Str("event_type") != "webhook.test" || d.Str("response_body") != "thanks" {
			t.Errorf("test = %s", d.Raw)
		}
		if hdrs, _ := d.Body["response_headers"].(map[string]any); hdrs["X-Receiver"] != "yes" {
			t.Errorf("response headers = %v", d.Body["response_headers"])
		}

		// Live: with the worker running, a visitor's message arrives in a second.
		ctx, cancel := context.WithCancel(context.Background())
		go a.hooks.Run(ctx)
		defer func() { cancel(); a.hooks.Wait(context.Background()) }()
		_, vtok := a.visitor(acme.widgetKey)
		c := a.connect(t, vtok, nil)
		start := time.Now()
		c.send(map[string]any{"type": "message.send", "client_id": "w1", "body": "hello from the widget"})
		c.expect("ack")
		for {
			mu.Lock()
			n := strings.Count(strings.Join(got, "\n"), "hello from the widget")
			mu.Unlock()
			if n > 0 {
				break
			}
			if time.Since(start) > time.Second {
				t.Fatal("message.created did not arrive within a second")
			}
			time.Sleep(5 * time.Millisecond)
		}

		// The log pages; redeliver sends the same event again. (The log
		// is written once the receiver has answered: wait for it.)
		for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			all := a.must(200, "GET", "/api/v1/webhooks/"+id+"/deliveries", acme.token, nil)
			if ds, _ := all.Body["deliveries"].([]any); len(ds) >= 2 || time.Now().After(deadline) {
				break
			}
		}
		page := a.must(200, "GET", "/api/v1/webhooks/"+id+"/deliveries?limit=1", acme.token, nil)
		ds, _ := page.Body["deliveries"].([]any)
		if len(ds) != 1 || page.Str("next_cursor") == "" {
			t.Fatalf("first page = %s", page.Raw)
		}
		first := ds[0].(map[string]any)
		page2 := a.must(200, "GET", "/api/v1/webhooks/"+id+"/deliveries?limit=1&cursor="+page.Str("next_cursor"), acme.token, nil)
		if strings.Contains(page2.Raw, first["id"].(string)) {
			t.Errorf("the second page repeats the first")
		}
		re := a.must(200, "POST", "/api/v1/webhooks/"+id+"/deliveries/"+first["id"].(string)+"/redeliver", acme.token, nil)
		if re.Str("event_id") != first["event_id"] || re.Str("success") != "true" || re.Str("id") == first["id"] {
			t.Errorf("redeliver = %s", re.Raw)
		}
		if r := a.do("POST", "/api/v1/webhooks/"+id+"/deliveries/nope/redeliver", acme.token, nil); r.Status != 404 {
			t.Errorf("redeliver unknown: %d", r.Status)
		}

		// Update, rotate, delete.
		u := a.must(200, "PATCH", "/api/v1/webhooks/"+id, acme.token, map[string]any{"enabled": false, "include_private": true})
		if u.Str("enabled") != "false" || u.Str("include_private") != "true" || u.Str("url") != rcv.URL+"/in" {
			t.Errorf("patch = %s", u.Raw)
		}
		rot := a.must(200, "POST", "/api/v1/webhooks/"+id+"/rotate-secret", acme.token, nil)
		if rot.Str("secret") == secret || !strings.HasPrefix(rot.Str("secret"), "whsec_") || rot.Str("previous_secret_expires_at") == "" {
			t.Errorf("rotate = %s", rot.Raw)
		}
		a.must(204, "DELETE", "/api/v1/webhooks/"+id, acme.token, nil)
		if r := a.do("GET", "/api/v1/webhooks/"+id, acme.token, nil); r.Status != 404 {
			t.Errorf("after delete: %d", r.Status)
		}
	})
}

// TestWebhookLimitPerTenant: a workspace has at most 20 webhooks.
func TestWebhookLimitPerTenant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		b := a.signup("Many")
		for i := 0; i < 20; i++ {
			a.must(201, "POST", "/api/v1/webhooks", b.token, map[string]any{"url": "https://example.com/h", "events": []string{"message.created"}})
		}
		if r := a.do("POST", "/api/v1/webhooks", b.token, map[string]any{"url": "https://example.com/h", "events": []string{"message.created"}}); r.Status != 409 || r.Code() != "conflict" {
			t.Errorf("21st webhook: %d %s", r.Status, r.Raw)
		}
	})
}
