package api_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/prometheus/client_golang/prometheus"

	"kefu/api"
	"kefu/api/apitest"
	"kefu/chat"
	"kefu/flowrun"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// raw sends body as is with the given Content-Type (none when empty).
func (a *app) raw(method, path, token, contentType, body string, header ...string) resp {
	a.t.Helper()
	h := map[string]string{}
	for i := 0; i+1 < len(header); i += 2 {
		h[header[i]] = header[i+1]
	}
	return a.client(token).DoRequest(a.t, apitest.Request{Method: method, Path: path, Body: body, ContentType: contentType, NoContentType: contentType == "", Header: h})
}

// conversationWith opens a conversation as a new visitor and returns its id.
func (a *app) conversationWith(t *testing.T, b business) string {
	t.Helper()
	_, vtok := a.visitor(b.widgetKey)
	v := a.connect(t, vtok, nil)
	v.send(map[string]any{"type": "message.send", "client_id": "open", "body": "hello"})
	return v.expect("ack")["conversation_id"].(string)
}

// TestControlCharactersAreRefusedAtTheEdge: NUL (and the other C0 controls
// but tab, CR and LF) in any text a client sends is a 400 naming the field,
// the same on SQLite and PostgreSQL. On PostgreSQL these were 500s (security
// review, finding 7); on SQLite they were stored.
func TestControlCharactersAreRefusedAtTheEdge(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		acme := a.signup("Nul")
		conv := a.conversationWith(t, acme)
		cases := []struct {
			name, method, path, token string
			body                      any
			field                     string
		}{
			{"login with a NUL tenant", "POST", "/api/v1/auth/login", "", map[string]any{"tenant": "a\x00", "email": "x@y.zz", "password": "password1"}, "tenant"},
			{"signup with an escape in the company", "POST", "/api/v1/signup", "", map[string]any{"company": "Evil\x1b[2J", "email": "e@example.com", "password": "password1", "name": "E"}, "company"},
			{"a widget session with a NUL name", "POST", "/api/v1/widget/sessions", "", map[string]any{"widget_key": acme.widgetKey, "visitor": map[string]any{"name": "Vera\x00"}}, "visitor.name"},
			{"a widget session with a NUL deep in the attributes", "POST", "/api/v1/widget/sessions", "", map[string]any{"widget_key": acme.widgetKey, "visitor": map[string]any{"attributes": map[string]any{"plan": []any{"pro", map[string]any{"x": "a\x00"}}}}}, "visitor.attributes.plan[1].x"},
			{"a widget session with a NUL in an attribute key", "POST", "/api/v1/widget/sessions", "", map[string]any{"widget_key": acme.widgetKey, "visitor": map[string]any{"attributes": map[string]any{"a\x00b": 1}}}, `visitor.attributes["a\x00b"]`},
			{"a message with a NUL body", "POST", "/api/v1/conversations/" + conv + "/messages", acme.token, map[string]any{"body": "x\x00"}, "body"},
			{"a message with a NUL client_id", "POST", "/api/v1/conversations/" + conv + "/messages", acme.token, map[string]any{"body": "x", "client_id": "c\x00"}, "client_id"},
			{"an agent with a bell in the name", "POST", "/api/v1/agents", acme.token, map[string]any{"email": "b@example.com", "name": "B\x07", "password": "password1"}, "name"},
			{"a flow with a NUL name", "POST", "/api/v1/flows", acme.token, map[string]any{"name": "f\x00", "graph": map[string]any{"nodes": []any{}, "edges": []any{}}}, "name"},
			{"a NUL in a path parameter", "GET", "/api/v1/conversations/a%00b", acme.token, nil, "id"},
			{"a NUL in a query parameter", "GET", "/api/v1/conversations?assignee=a%00b", acme.token, nil, "assignee"},
			{"a NUL in an agent id", "PATCH", "/api/v1/agents/a%00b", acme.token, map[string]any{"name": "x"}, "id"},
			{"a NUL in the widget key", "GET", "/api/v1/widget/config?key=wk%00", "", nil, "key"},
			{"a NUL in a file link", "GET", "/api/v1/files/a%00/b?sig=x", "", nil, "tenant"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := a.do(c.method, c.path, c.token, c.body)
				if r.Status != 400 || r.Code() != "invalid_argument" || r.Field(c.field) == "" {
					t.Fatalf("got %d %s, want 400 invalid_argument naming %s", r.Status, r.Raw, c.field)
				}
			})
		}
		t.Run("tab, newline and carriage return are text", func(t *testing.T) {
			a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", acme.token, map[string]any{"body": "line 1\r\nline 2\tend"})
		})
		t.Run("over the WebSocket, a NUL body is an error frame and stores nothing", func(t *testing.T) {
			_, vtok := a.visitor(acme.widgetKey)
			v := a.connect(t, vtok, nil)
			v.send(map[string]any{"type": "message.send", "client_id": "bad", "body": "x\x00y"})
			e := v.expect("error")
			if e["code"] != "invalid_argument" || e["client_id"] != "bad" {
				t.Fatalf("error frame %v", e)
			}
			v.send(map[string]any{"type": "message.send", "client_id": "good", "body": "clean"})
			if ack := v.expect("ack"); ack["client_id"] != "good" || num(ack["seq"]) != 1 {
				t.Fatalf("ack %v: the bad message took a seq", ack)
			}
		})
	})
}

// TestTheAPISpeaksStrictJSON: bodies must be JSON (XML and form bodies were
// bound by Echo), an object may not name a key twice (the last one won),
// and nothing may follow the value (security review, finding 11).
func TestTheAPISpeaksStrictJSON(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		acme := a.signup("Strict")
		conv := a.conversationWith(t, acme)
		path := "/api/v1/conversations/" + conv + "/messages"
		for _, c := range []struct {
			name, contentType, body string
			status                  int
			field                   string
		}{
			{"an XML body", "application/xml", "<x><Body>hi from XML</Body></x>", 415, ""},
			{"a form body", "application/x-www-form-urlencoded", "body=hi+from+a+form", 415, ""},
			{"a JSON body without a content type", "", `{"body":"hi"}`, 415, ""},
			{"a JSON body sent as text", "text/plain", `{"body":"hi"}`, 415, ""},
			{"a duplicate key", "application/json", `{"body":"hi","private":false,"private":true}`, 400, "private"},
			{"a value after the value", "application/json", `{"body":"hi"} {"body":"again"}`, 400, ""},
			{"bytes that are not UTF-8", "application/json", "{\"body\":\"caf\xe9\"}", 400, "body"},
			{"an escaped NUL", "application/json", `{"body":"a\u0000b"}`, 400, "body"},
			{"nesting without end", "application/json", `{"body":"hi","attachments":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, 400, ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := a.raw("POST", path, acme.token, c.contentType, c.body)
				if r.Status != c.status || r.Code() != "invalid_argument" {
					t.Fatalf("got %d %s, want %d invalid_argument", r.Status, r.Raw, c.status)
				}
				if c.field != "" && r.Field(c.field) == "" {
					t.Fatalf("no fields.%s in %s", c.field, r.Raw)
				}
			})
		}
		t.Run("a duplicate key deep inside is named by its path", func(t *testing.T) {
			r := a.raw("POST", "/api/v1/widget/sessions", "", "application/json", `{"widget_key":"`+acme.widgetKey+`","visitor":{"name":"a","name":"b"}}`)
			if r.Status != 400 || r.Field("visitor.name") == "" {
				t.Fatalf("got %d %s", r.Status, r.Raw)
			}
		})
		t.Run("nothing of the refused bodies was stored", func(t *testing.T) {
			msgs := a.must(200, "GET", path, acme.token, nil)
			if strings.Contains(msgs.Raw, "XML") || strings.Contains(msgs.Raw, "form") || strings.Contains(msgs.Raw, `"private":true`) {
				t.Fatalf("stored: %s", msgs.Raw)
			}
		})
		t.Run("JSON with a charset parameter is JSON", func(t *testing.T) {
			if r := a.raw("POST", path, acme.token, "application/json; charset=utf-8", `{"body":"fine"}`); r.Status != 201 {
				t.Fatalf("got %d %s", r.Status, r.Raw)
			}
		})
	})
}

// webApp is the router with a small fake web build, for the page headers.
func webApp(t *testing.T, cfg api.Config) *app {
	t.Helper()
	store := tenantstest.SQLite(t)
	ten := tenants.NewService(store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
	cfg.Tenants = ten
	c := chat.NewService(chat.Config{Tenants: ten, Bus: chat.NewLocalBus()})
	flowrun.New(c, flowrun.Config{})
	t.Cleanup(func() { c.Close(context.Background()) })
	cfg.Chat = c
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Web = fstest.MapFS{
		"index.html":     {Data: []byte(`<!doctype html><script type="module" src="/assets/app.js"></script>`)},
		"demo.html":      {Data: []byte(`<!doctype html><meta name="kefu-demo" content="staff"><script src="/demo.js"></script>`)},
		"demo.js":        {Data: []byte(`/* demo */`)},
		"widget.js":      {Data: []byte(`/* widget */`)},
		"assets/app.js":  {Data: []byte(`/* app */`)},
		"assets/app.css": {Data: []byte(`body{}`)},
	}
	srv := httptest.NewServer(conform(api.New(cfg).Handler()))
	t.Cleanup(srv.Close)
	return &app{t: t, srv: srv, url: srv.URL}
}

// TestSecurityHeaders: the app's pages carry a strict Content-Security-Policy
// and may not be framed; every answer says nosniff and a referrer policy;
// HSTS when the public URL is https; the widget script, embedded in
// customers' sites, carries no page or frame policy (security review,
// finding 9).
func TestSecurityHeaders(t *testing.T) {
	a := webApp(t, api.Config{})
	host := strings.TrimPrefix(a.url, "http://")
	for _, page := range []string{"/", "/login", "/signup", "/app", "/app/admin/widget", "/demo?key=wk_x"} {
		t.Run("page "+page, func(t *testing.T) {
			r := a.raw("GET", page, "", "", "")
			csp := r.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "script-src 'self';", "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob:",
				"connect-src 'self' ws://" + host + " wss://" + host, "frame-ancestors 'none'", "base-uri 'self'", "form-action 'self'", "object-src 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-eval") || strings.Contains(strings.SplitN(csp, "style-src", 2)[0], "unsafe-inline") {
				t.Errorf("CSP %q allows inline script or eval", csp)
			}
			checkHeader(t, r, "X-Frame-Options", "DENY")
			checkHeader(t, r, "X-Content-Type-Options", "nosniff")
			checkHeader(t, r, "Referrer-Policy", "strict-origin-when-cross-origin")
			checkHeader(t, r, "Strict-Transport-Security", "")
		})
	}
	t.Run("the widget script can be embedded anywhere", func(t *testing.T) {
		r := a.raw("GET", "/widget.js", "", "", "")
		checkHeader(t, r, "Access-Control-Allow-Origin", "*")
		checkHeader(t, r, "X-Content-Type-Options", "nosniff")
		checkHeader(t, r, "X-Frame-Options", "")
		checkHeader(t, r, "Content-Security-Policy", "")
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/javascript") {
			t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
		}
	})
	t.Run("API answers may not be framed or sniffed", func(t *testing.T) {
		r := a.raw("GET", "/api/v1/me", "", "", "")
		checkHeader(t, r, "X-Content-Type-Options", "nosniff")
		checkHeader(t, r, "X-Frame-Options", "DENY")
		checkHeader(t, r, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	})
	t.Run("the demo page runs the widget for staff only, unless public", func(t *testing.T) {
		if r := a.raw("GET", "/demo?key=wk_x", "", "", ""); !strings.Contains(r.Raw, `content="staff"`) {
			t.Errorf("demo page: %s", r.Raw)
		}
		pub := webApp(t, api.Config{PublicDemo: true})
		if r := pub.raw("GET", "/demo?key=wk_x", "", "", ""); !strings.Contains(r.Raw, `content="public"`) {
			t.Errorf("public demo page: %s", r.Raw)
		}
	})
	t.Run("HSTS when the public URL is https", func(t *testing.T) {
		s := webApp(t, api.Config{PublicURL: "https://chat.example.com"})
		for _, p := range []string{"/", "/api/v1/me", "/widget.js", "/healthz"} {
			r := s.raw("GET", p, "", "", "")
			checkHeader(t, r, "Strict-Transport-Security", "max-age=31536000")
		}
		if csp := s.raw("GET", "/app", "", "", "").Header.Get("Content-Security-Policy"); !strings.Contains(csp, "wss://chat.example.com") {
			t.Errorf("CSP %q does not allow the public WebSocket", csp)
		}
	})
}

func checkHeader(t *testing.T, r resp, name, want string) {
	t.Helper()
	if got := r.Header.Get(name); got != want {
		t.Errorf("%s = %q, want %q", name, got, want)
	}
}

// TestMetricsAreNotPublic: /metrics answers loopback clients (not through a
// proxy) or the metrics token, and nothing when metrics have their own
// listener (security review, finding 11: it was public).
func TestMetricsAreNotPublic(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "kefu_test_total", Help: "x"}))
	proxied := []string{"X-Forwarded-For", "198.51.100.7"}

	a := webApp(t, api.Config{Gatherer: reg})
	if r := a.raw("GET", "/metrics", "", "", ""); r.Status != 200 || !strings.Contains(r.Raw, "kefu_test_total") {
		t.Fatalf("loopback: %d %s", r.Status, r.Raw)
	}
	if r := a.raw("GET", "/metrics", "", "", "", proxied...); r.Status != 403 || r.Code() != "permission_denied" {
		t.Fatalf("through a proxy: %d %s", r.Status, r.Raw)
	}

	const token = "metrics-token-0123456789"
	b := webApp(t, api.Config{Gatherer: reg, MetricsToken: token})
	if r := b.raw("GET", "/metrics", token, "", "", proxied...); r.Status != 200 || !strings.Contains(r.Raw, "kefu_test_total") {
		t.Fatalf("with the token: %d %s", r.Status, r.Raw)
	}
	if r := b.raw("GET", "/metrics", "wrong-token-0123456789", "", "", proxied...); r.Status != 401 {
		t.Fatalf("with a wrong token: %d %s", r.Status, r.Raw)
	}

	c := webApp(t, api.Config{Gatherer: nil})
	if r := c.raw("GET", "/metrics", "", "", ""); r.Status != 404 || strings.Contains(r.Raw, "kefu_") {
		t.Fatalf("metrics elsewhere: %d %s", r.Status, r.Raw)
	}
}

// TestRateLimitsCountIPv6ByItsSlash64: an IPv6 client has a whole /64 of
// addresses; each used to be its own bucket (security review, finding 11).
func TestRateLimitsCountIPv6ByItsSlash64(t *testing.T) {
	a := webApp(t, api.Config{TrustProxy: true, AuthPerMinute: 2})
	login := func(ip string) int {
		return a.raw("POST", "/api/v1/auth/login", "", "application/json", `{"tenant":"nobody","email":"a@b.co","password":"password1"}`, "X-Forwarded-For", ip).Status
	}
	limited := false
	for i := 1; i <= 6 && !limited; i++ {
		limited = login("2001:db8:1:2::"+string(rune('a'+i))) == 429
	}
	if !limited {
		t.Fatal("six addresses of one /64 were never limited")
	}
	if st := login("2001:db8:1:3::1"); st == 429 {
		t.Fatal("another /64 shares the budget")
	}
}
