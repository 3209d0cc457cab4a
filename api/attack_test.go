package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"kefu/api/apitest"
	"kefu/tenants"
)

// The suite that keeps Kefu closed: attacks generated from the route table
// and the spec's frame types, so that a new endpoint or frame cannot escape
// them. Every route × {no token, another tenant's principals with this
// tenant's ids, each principal the route does not admit, NUL in every
// string field of its body, wrong types, a malformed and an oversized
// body, NUL in its query and path parameters}; every client frame type ×
// {before hello, another tenant's ids, bad fields}. The answer is the
// contract's error — never a 500, never a byte of the other tenant.

// Principals the suite speaks as.
const (
	asAnon     = "anonymous"
	asVisitor  = "visitor"
	asAgent    = "agent"
	asSuper    = "supervisor"
	asAdmin    = "admin"
	asOwner    = "owner"
	asDevKey   = "developer key"
	asAdminKey = "admin key"
)

var allPrincipals = []string{asAnon, asVisitor, asAgent, asSuper, asAdmin, asOwner, asDevKey, asAdminKey}

// Who a route admits. Every route the server serves must be in access: a
// new endpoint fails this suite until someone decides who may call it.
var (
	public       = []string{asAnon, asVisitor, asAgent, asSuper, asAdmin, asOwner, asDevKey, asAdminKey}
	participant  = []string{asVisitor, asAgent, asSuper, asAdmin, asOwner, asDevKey, asAdminKey}
	anyUserOrKey = []string{asAgent, asSuper, asAdmin, asOwner, asDevKey, asAdminKey}
	usersOnly    = []string{asAgent, asSuper, asAdmin, asOwner}
	assigners    = []string{asSuper, asAdmin, asOwner, asDevKey, asAdminKey}
	admins       = []string{asAdmin, asOwner, asAdminKey}
	adminUsers   = []string{asAdmin, asOwner}
	visitorsOnly = []string{asVisitor}
	// reportReaders: reports:read, which supervisors and above hold (and
	// admin keys, whose role is admin).
	reportReaders = []string{asSuper, asAdmin, asOwner, asAdminKey}
)

var access = map[string][]string{
	"GET /healthz":                                                public,
	"GET /readyz":                                                 public,
	"GET /metrics":                                                public,
	"POST /api/v1/signup":                                         public,
	"POST /api/v1/auth/login":                                     public,
	"POST /api/v1/auth/forgot":                                    public,
	"POST /api/v1/auth/reset":                                     public,
	"GET /api/v1/config":                                          public,
	"GET /api/v1/onboarding":                                      admins,
	"PATCH /api/v1/onboarding":                                    admins,
	"GET /api/v1/widget/config":                                   public,
	"POST /api/v1/widget/sessions":                                public,
	"POST /api/v1/widget/csat":                                    visitorsOnly,
	"POST /api/v1/widget/prechat":                                 visitorsOnly,
	"GET /api/v1/widget-settings":                                 admins,
	"PUT /api/v1/widget-settings":                                 admins,
	"POST /api/v1/widget-settings/identity-secret":                admins,
	"POST /api/v1/widget/offline":                                 public,
	"GET /api/v1/business-hours":                                  admins,
	"PUT /api/v1/business-hours":                                  admins,
	"GET /api/v1/contacts":                                        anyUserOrKey,
	"POST /api/v1/contacts":                                       anyUserOrKey,
	"GET /api/v1/contacts/:id":                                    anyUserOrKey,
	"PATCH /api/v1/contacts/:id":                                  anyUserOrKey,
	"POST /api/v1/contacts/:id/merge":                             assigners,
	"GET /api/v1/files/:tenant/:id":                               public,
	"POST /api/v1/uploads":                                        participant,
	"POST /api/v1/auth/logout":                                    anyUserOrKey,
	"POST /api/v1/auth/logout-all":                                usersOnly,
	"GET /api/v1/me":                                              anyUserOrKey,
	"POST /api/v1/me/password":                                    usersOnly,
	"GET /api/v1/me/sessions":                                     usersOnly,
	"DELETE /api/v1/me/sessions/:id":                              usersOnly,
	"GET /api/v1/tenant":                                          anyUserOrKey,
	"PATCH /api/v1/tenant":                                        admins,
	"GET /api/v1/agents":                                          anyUserOrKey,
	"POST /api/v1/agents":                                         admins,
	"GET /api/v1/agents/:id":                                      anyUserOrKey,
	"PATCH /api/v1/agents/:id":                                    admins,
	"DELETE /api/v1/agents/:id":                                   admins,
	"POST /api/v1/agents/:id/deactivate":                          admins,
	"POST /api/v1/agents/:id/reactivate":                          admins,
	"POST /api/v1/agents/:id/password":                            admins,
	"POST /api/v1/invites/lookup":                                 public,
	"POST /api/v1/invites/accept":                                 public,
	"GET /api/v1/invites":                                         admins,
	"POST /api/v1/invites":                                        admins,
	"DELETE /api/v1/invites/:id":                                  admins,
	"GET /api/v1/roles":                                           anyUserOrKey,
	"POST /api/v1/roles":                                          adminUsers,
	"PUT /api/v1/roles/:name":                                     adminUsers,
	"DELETE /api/v1/roles/:name":                                  adminUsers,
	"GET /api/v1/reports/overview":                                reportReaders,
	"GET /api/v1/reports/agents":                                  reportReaders,
	"GET /api/v1/reports/teams":                                   reportReaders,
	"GET /api/v1/reports/heatmap":                                 reportReaders,
	"GET /api/v1/api-keys":                                        admins,
	"POST /api/v1/api-keys":                                       admins,
	"DELETE /api/v1/api-keys/:id":                                 admins,
	"GET /api/v1/conversations":                                   anyUserOrKey,
	"GET /api/v1/conversations/:id":                               anyUserOrKey,
	"GET /api/v1/conversations/:id/transcript":                    anyUserOrKey,
	"GET /api/v1/contacts/:id/export":                             admins,
	"POST /api/v1/contacts/:id/erase":                             admins,
	"GET /api/v1/audit":                                           admins,
	"GET /api/v1/conversations/:id/messages":                      anyUserOrKey,
	"POST /api/v1/conversations/:id/messages":                     anyUserOrKey,
	"POST /api/v1/conversations/:id/assign":                       assigners,
	"POST /api/v1/conversations/:id/resolve":                      anyUserOrKey,
	"POST /api/v1/conversations/:id/reopen":                       anyUserOrKey,
	"POST /api/v1/conversations/:id/read":                         anyUserOrKey,
	"GET /api/v1/conversations/:id/events":                        anyUserOrKey,
	"GET /api/v1/conversations/counts":                            anyUserOrKey,
	"PATCH /api/v1/conversations/:id":                             anyUserOrKey,
	"POST /api/v1/conversations/:id/unassign":                     anyUserOrKey,
	"GET /api/v1/search":                                          anyUserOrKey,
	"GET /api/v1/teams":                                           anyUserOrKey,
	"GET /api/v1/teams/:id":                                       anyUserOrKey,
	"POST /api/v1/teams":                                          admins,
	"PUT /api/v1/teams/:id":                                       admins,
	"PATCH /api/v1/teams/:id":                                     admins,
	"DELETE /api/v1/teams/:id":                                    admins,
	"GET /api/v1/canned-replies":                                  anyUserOrKey,
	"POST /api/v1/canned-replies":                                 anyUserOrKey,
	"PUT /api/v1/canned-replies/:id":                              anyUserOrKey,
	"PATCH /api/v1/canned-replies/:id":                            anyUserOrKey,
	"DELETE /api/v1/canned-replies/:id":                           anyUserOrKey,
	"GET /api/v1/flows":                                           admins,
	"POST /api/v1/flows":                                          admins,
	"GET /api/v1/flows/:id":                                       admins,
	"PUT /api/v1/flows/:id":                                       admins,
	"POST /api/v1/flows/:id/publish":                              admins,
	"POST /api/v1/flows/:id/rollback":                             admins,
	"GET /api/v1/flows/:id/versions":                              admins,
	"POST /api/v1/flows/:id/simulate":                             admins,
	"POST /api/v1/flows/:id/replay":                               admins,
	"GET /api/v1/webhooks":                                        admins,
	"POST /api/v1/webhooks":                                       admins,
	"GET /api/v1/webhooks/events":                                 admins,
	"GET /api/v1/webhooks/:id":                                    admins,
	"PATCH /api/v1/webhooks/:id":                                  admins,
	"DELETE /api/v1/webhooks/:id":                                 admins,
	"POST /api/v1/webhooks/:id/rotate-secret":                     admins,
	"POST /api/v1/webhooks/:id/test":                              admins,
	"GET /api/v1/webhooks/:id/deliveries":                         admins,
	"POST /api/v1/webhooks/:id/deliveries/:delivery_id/redeliver": admins,
	"POST /api/v1/conversations/:id/suggest":                      anyUserOrKey,
	"GET /api/v1/faqs":                                            admins,
	"POST /api/v1/faqs":                                           admins,
	"GET /api/v1/faqs/export":                                     admins,
	"POST /api/v1/faqs/import":                                    admins,
	"POST /api/v1/faqs/match":                                     admins,
	"GET /api/v1/faqs/:id":                                        admins,
	"PUT /api/v1/faqs/:id":                                        admins,
	"DELETE /api/v1/faqs/:id":                                     admins,
	"GET /api/v1/articles":                                        admins,
	"POST /api/v1/articles":                                       admins,
	"GET /api/v1/articles/:id":                                    admins,
	"PUT /api/v1/articles/:id":                                    admins,
	"DELETE /api/v1/articles/:id":                                 admins,
	"GET /api/v1/bots/llm":                                        admins,
	"PUT /api/v1/bots/llm":                                        admins,
	"POST /api/v1/bots/llm/test":                                  admins,
	"GET /api/v1/bots/settings":                                   admins,
	"PUT /api/v1/bots/settings":                                   admins,
	"GET /api/v1/bots/usage":                                      admins,
	"GET /api/v1/usage":                                           anyUserOrKey,
	"POST /api/v1/conversations":                                  anyUserOrKey,
	"GET /api/openapi.yaml":                                       public,
	"GET /api/docs":                                               public,
}

// attackFixture is tenant A (the victim, with one principal of each kind and
// a conversation holding secrets) and tenant B (the attacker).
type attackFixture struct {
	a, b    business
	tokensA map[string]string
	tokensB map[string]string
	ids     map[string]string // resource → an id of A's ("conversations" → A's conversation)
	markers []string          // strings only A's principals may ever see
	convA   string
}

func newAttackFixture(t *testing.T, a *app) *attackFixture {
	t.Helper()
	f := &attackFixture{a: a.signup("Victim"), b: a.signup("Attacker"), tokensA: map[string]string{}, tokensB: map[string]string{}, ids: map[string]string{}}
	secret := "SECRET-A-" + tenants.NewID()[24:]
	for _, tb := range []struct {
		biz    business
		tokens map[string]string
		tag    string
	}{{f.a, f.tokensA, secret}, {f.b, f.tokensB, "b"}} {
		tb.tokens[asOwner] = tb.biz.token
		for _, role := range []string{asAgent, asSuper, asAdmin} {
			email := strings.ReplaceAll(role, " ", "") + "@example.com"
			r := a.must(201, "POST", "/api/v1/agents", tb.biz.token, map[string]any{"email": email, "name": role + " " + tb.tag, "password": "password1", "role": role})
			if tb.tag != "b" && role == asAgent {
				f.ids["agents"] = r.Str("id")
			}
			tb.tokens[role] = a.must(200, "POST", "/api/v1/auth/login", "", map[string]any{"tenant": tb.biz.slug, "email": email, "password": "password1"}).Str("token")
		}
		dev := a.must(201, "POST", "/api/v1/api-keys", tb.biz.token, map[string]any{"name": "dev " + tb.tag, "role": "developer"})
		tb.tokens[asDevKey] = dev.Str("key")
		tb.tokens[asAdminKey] = a.must(201, "POST", "/api/v1/api-keys", tb.biz.token, map[string]any{"name": "admin " + tb.tag, "role": "admin"}).Str("key")
		if tb.tag != "b" {
			f.ids["api-keys"] = dev.Str("id")
		}
		_, tb.tokens[asVisitor] = a.visitor(tb.biz.widgetKey)
	}
	// A's conversation: the visitor's secret, an agent's reply, a private note.
	ws := a.connect(t, f.tokensA[asVisitor], nil)
	ws.send(map[string]any{"type": "message.send", "client_id": "s1", "body": secret + " visitor"})
	f.convA = ws.expect("ack")["conversation_id"].(string)
	a.settle(f.a.token, f.convA)
	a.must(201, "POST", "/api/v1/conversations/"+f.convA+"/messages", f.a.token, map[string]any{"body": secret + " reply"})
	a.must(201, "POST", "/api/v1/conversations/"+f.convA+"/messages", f.a.token, map[string]any{"body": secret + " note", "private": true})
	f.ids["conversations"] = f.convA
	f.ids["contacts"] = a.must(201, "POST", "/api/v1/contacts", f.a.token, map[string]any{"name": secret, "notes": secret + " notes"}).Str("id")
	// A flow of A's own (every tenant's default flow has the id "default").
	flow := a.must(201, "POST", "/api/v1/flows", f.a.token, map[string]any{"name": secret, "graph": map[string]any{
		"nodes": []any{map[string]any{"id": "start", "type": "start"}, map[string]any{"id": "q", "type": "queue"}},
		"edges": []any{map[string]any{"id": "e", "source": "start", "target": "q"}}}})
	f.ids["flows"] = flow.Str("id")
	f.ids["teams"] = a.must(201, "POST", "/api/v1/teams", f.a.token, map[string]any{"name": secret}).Str("id")
	f.ids["canned-replies"] = a.must(201, "POST", "/api/v1/canned-replies", f.a.token, map[string]any{"shortcut": "s", "body": secret, "scope": "tenant"}).Str("id")
	f.ids["files"] = f.a.tenantID
	// A webhook of A's, pointing at a receiver on this machine (tests and
	// redeliveries go there), with a delivery in its log.
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	t.Cleanup(rcv.Close)
	hook := a.must(201, "POST", "/api/v1/webhooks", f.a.token, map[string]any{"url": rcv.URL + "/" + secret, "events": []string{"message.created"}, "description": secret})
	f.ids["webhooks"] = hook.Str("id")
	a.must(200, "POST", "/api/v1/webhooks/"+hook.Str("id")+"/test", f.a.token, nil)
	// Knowledge of A's own: an FAQ entry and an article holding the secret.
	f.ids["faqs"] = a.must(201, "POST", "/api/v1/faqs", f.a.token, map[string]any{"question": secret + " question", "answer": secret + " answer"}).Str("id")
	f.ids["articles"] = a.must(201, "POST", "/api/v1/articles", f.a.token, map[string]any{"title": secret, "body": secret + " body"}).Str("id")
	f.markers = []string{secret, f.a.widgetKey, hook.Str("secret")}
	return f
}

// fill puts A's ids into a route's path parameters (an unknown resource
// gets a fresh id: not found either way).
func (f *attackFixture) fill(path string, param func(name string) string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = param(p[1:])
		}
	}
	return strings.Join(parts, "/")
}

func (f *attackFixture) idsOfA(path string) func(string) string {
	resource := ""
	if rest, ok := strings.CutPrefix(path, "/api/v1/"); ok {
		resource, _, _ = strings.Cut(rest, "/")
	}
	return func(name string) string {
		if resource == "files" && name == "tenant" {
			return f.a.tenantID
		}
		if id, ok := f.ids[resource]; ok && name == "id" && resource != "files" {
			return id
		}
		return tenants.NewID()
	}
}

type route struct{ method, path string }

func (r route) key() string { return r.method + " " + r.path }

// servedRoutes is the router's table, minus the web app's catch-alls and
// CORS preflights; routes that end the caller's own session go last.
func servedRoutes(t *testing.T, a *app) []route {
	t.Helper()
	var out []route
	for _, r := range a.api.Routes() {
		if strings.Contains(r.Path, "*") || r.Path == "/" || strings.HasPrefix(r.Method, "echo_route_") || r.Method == "OPTIONS" || r.Method == "HEAD" {
			continue
		}
		if !strings.HasPrefix(r.Path, "/api/") && r.Path != "/healthz" && r.Path != "/readyz" && r.Path != "/metrics" {
			continue // pages of the web app
		}
		out = append(out, route{r.Method, r.Path})
	}
	selfEnding := regexp.MustCompile(`logout|sessions|password|deactivate|/agents/:id$`)
	sort.SliceStable(out, func(i, j int) bool {
		ei, ej := selfEnding.MatchString(out[i].path), selfEnding.MatchString(out[j].path)
		if ei != ej {
			return !ei
		}
		return out[i].key() < out[j].key()
	})
	return out
}

// body is a request body that passes the route's shape checks, built from
// the spec's schema (required fields filled), so authorization is what
// decides the answer.
func exampleBody(t *testing.T, doc map[string]any, r route) (map[string]any, map[string]any, bool) {
	op := findOperation(doc, r.method, specPath(r.path))
	schema := mapAt(op, "requestBody", "content", "application/json", "schema")
	if schema == nil {
		return nil, nil, false
	}
	s := deref(t, doc, schema)
	body := map[string]any{}
	props := mapAt(s, "properties")
	required, _ := s["required"].([]any)
	for _, k := range required {
		name := fmt.Sprint(k)
		body[name] = exampleValue(t, doc, props[name], name)
	}
	return body, props, true
}

func exampleValue(t *testing.T, doc map[string]any, v any, name string) any {
	s := deref(t, doc, v)
	if e, ok := s["enum"].([]any); ok && len(e) > 0 {
		return e[0]
	}
	if c, ok := s["const"]; ok {
		return c
	}
	typ := fmt.Sprint(s["type"])
	switch {
	case strings.Contains(typ, "string"):
		switch {
		case s["format"] == "email" || strings.Contains(name, "email"):
			return "someone@example.com"
		case strings.Contains(name, "password"):
			return "password1-long"
		}
		return "x"
	case strings.Contains(typ, "integer"), strings.Contains(typ, "number"):
		return 1
	case strings.Contains(typ, "boolean"):
		return false
	case strings.Contains(typ, "array"):
		return []any{}
	case strings.Contains(typ, "object"):
		return map[string]any{}
	}
	return "x"
}

func specPath(p string) string {
	return regexp.MustCompile(`:([a-z_]+)`).ReplaceAllString(p, "{$1}")
}

func wrongTypeFor(t *testing.T, doc map[string]any, v any) any {
	typ := fmt.Sprint(deref(t, doc, v)["type"])
	if strings.Contains(typ, "string") {
		return 12345
	}
	return "not the right type"
}

// rawDo sends raw bytes with a content type and an optional token.
func (a *app) rawDo(method, path, token, contentType string, body []byte) resp {
	a.t.Helper()
	return a.client(token).DoRequest(a.t, apitest.Request{Method: method, Path: path, Body: body, ContentType: contentType, NoContentType: contentType == ""})
}

func TestAttackSurface(t *testing.T) {
	doc := loadSpec(t)
	forEachBackend(t, func(t *testing.T, a *app) {
		f := newAttackFixture(t, a)
		// Frames first: some routes end the caller's own sessions.
		t.Run("frames", func(t *testing.T) { attackFrames(t, a, f, doc) })
		routes := servedRoutes(t, a)
		for _, r := range routes {
			if _, ok := access[r.key()]; !ok {
				t.Errorf("%s is served but the attack suite does not know who may call it: add it to access", r.key())
			}
		}
		// checkAnswer: the contract's shape for errors, no 500, none of A's
		// secrets unless the caller is A's.
		checkAnswer := func(t *testing.T, what string, res resp, fromA bool) {
			t.Helper()
			if res.Status >= 500 {
				t.Errorf("%s: %d %s", what, res.Status, res.Raw)
			}
			if res.Status >= 400 && res.Code() == "" {
				t.Errorf("%s: %d without the contract's error shape: %.200s", what, res.Status, res.Raw)
			}
			if !fromA {
				for _, m := range f.markers {
					if strings.Contains(res.Raw, m) {
						t.Errorf("%s: the answer carries tenant A's %q", what, m)
					}
				}
			}
		}
		for _, r := range routes {
			allowed, known := access[r.key()]
			if !known {
				continue
			}
			body, props, hasBody := exampleBody(t, doc, r)
			send := func(token string, path string, b any) resp {
				if !hasBody && r.method == "GET" {
					return a.do(r.method, path, token, nil)
				}
				if b == nil {
					b = map[string]any{}
				}
				return a.do(r.method, path, token, b)
			}
			pathA := f.fill(r.path, f.idsOfA(r.path))
			t.Run(r.key(), func(t *testing.T) {
				// Principals the route does not admit, A's own included.
				for _, who := range allPrincipals {
					if contains(allowed, who) {
						continue
					}
					res := send(f.tokensA[who], pathA, body)
					if res.Status != 401 && res.Status != 403 && res.Status != 404 {
						t.Errorf("%s as A's %s: %d, want 401, 403 or 404: %.200s", r.key(), who, res.Status, res.Raw)
					}
					checkAnswer(t, r.key()+" as A's "+who, res, true)
				}
				// Reads by the principals it admits work (writes are
				// left alone: their effects are not this suite's business).
				if r.method == "GET" {
					for _, who := range allowed {
						res := send(f.tokensA[who], pathA, nil)
						if res.Status == 401 || res.Status == 403 || res.Status >= 500 {
							t.Errorf("%s as A's %s: %d %.200s", r.key(), who, res.Status, res.Raw)
						}
					}
				}
				// Tenant B with A's ids: nothing of A, and nothing done to A.
				if r.path != "/metrics" {
					injected := clone(body)
					for k, v := range injected {
						if _, ok := v.(string); ok {
							injected[k] = "INJECTED by B"
						}
					}
					for _, who := range allPrincipals[1:] {
						res := send(f.tokensB[who], pathA, injected)
						if strings.Contains(r.path, ":") && res.Status < 300 && !strings.HasPrefix(r.path, "/api/v1/files/") {
							t.Errorf("%s as B's %s with A's ids: %d, want an error: %.200s", r.key(), who, res.Status, res.Raw)
						}
						checkAnswer(t, r.key()+" as B's "+who, res, false)
					}
				}
				// Malformed input, as the best-placed principal of A.
				best := f.tokensA[allowed[len(allowed)-1]]
				if contains(allowed, asOwner) {
					best = f.tokensA[asOwner]
				}
				for name, v := range map[string]string{"a NUL": "a\x00b", "invalid UTF-8 with a NUL": "\xff\xfe\x00"} {
					bad := f.fill(r.path, func(string) string { return url.PathEscape(v) })
					if bad != r.path {
						res := a.do(r.method, bad, best, body)
						if res.Status != 400 && res.Status != 404 {
							t.Errorf("%s with %s in its path: %d %.200s", r.key(), name, res.Status, res.Raw)
						}
						checkAnswer(t, r.key()+" path "+name, res, true)
					}
					for _, q := range queryParams(doc, r) {
						res := a.do(r.method, pathA+"?"+q+"="+url.QueryEscape(v), best, body)
						if res.Status != 400 {
							t.Errorf("%s with %s in ?%s: %d, want 400: %.200s", r.key(), name, q, res.Status, res.Raw)
						}
						checkAnswer(t, r.key()+" ?"+q+" "+name, res, true)
					}
				}
				if !hasBody || strings.Contains(r.path, "logout") {
					return
				}
				for field, schema := range props {
					for name, v := range map[string]any{"a NUL": "a\x00b", "a wrong type": wrongTypeFor(t, doc, schema)} {
						b := clone(body)
						b[field] = v
						res := a.do(r.method, pathA, best, b)
						if res.Status != 400 {
							t.Errorf("%s with %s in %q: %d, want 400: %.200s", r.key(), name, field, res.Status, res.Raw)
						}
						checkAnswer(t, r.key()+" "+name+" in "+field, res, true)
					}
				}
				for name, raw := range map[string][]byte{
					"malformed JSON":     []byte(`{"x":`),
					"a JSON array":       []byte(`[1,2]`),
					"an oversized body":  append(append([]byte(`{"x":"`), bytes.Repeat([]byte("a"), 2<<20)...), '"', '}'),
					"a duplicated key":   []byte(`{"private":false,"private":true}`),
					"a NUL in a raw key": []byte("{\"a\\u0000\":1}"),
				} {
					res := a.rawDo(r.method, pathA, best, "application/json", raw)
					want := 400
					if name == "an oversized body" {
						want = 413
					}
					if res.Status != want {
						t.Errorf("%s with %s: %d, want %d: %.200s", r.key(), name, res.Status, want, res.Raw)
					}
					checkAnswer(t, r.key()+" "+name, res, true)
				}
				res := a.rawDo(r.method, pathA, best, "application/xml", []byte(`<x><body>hi</body></x>`))
				if res.Status < 400 {
					t.Errorf("%s accepts an XML body: %d", r.key(), res.Status)
				}
				checkAnswer(t, r.key()+" XML", res, true)
			})
		}
		r := a.must(200, "GET", "/api/v1/conversations/"+f.convA+"/messages", f.a.token, nil)
		if strings.Contains(r.Raw, "INJECTED") {
			t.Errorf("A's conversation holds an attacker's message: %s", r.Raw)
		}
	})
}

func queryParams(doc map[string]any, r route) []string {
	var out []string
	params, _ := findOperation(doc, r.method, specPath(r.path))["parameters"].([]any)
	for _, p := range params {
		m, _ := asMap(p)
		if ref, ok := m["$ref"].(string); ok {
			v, _ := resolve(doc, ref)
			m, _ = asMap(v)
		}
		if m["in"] == "query" {
			out = append(out, fmt.Sprint(m["name"]))
		}
	}
	return out
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func contains(list []string, x string) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

// clientFrames are the frame types a client may send, from the spec.
func clientFrames(t *testing.T, doc map[string]any) []string {
	var out []string
	mapping := mapAt(doc, "components", "schemas", "WsClientFrame", "discriminator", "mapping")
	for k := range mapping {
		out = append(out, k)
	}
	sort.Strings(out)
	if len(out) < 6 {
		t.Fatalf("the spec lists only %d client frames", len(out))
	}
	return out
}

func attackFrames(t *testing.T, a *app, f *attackFixture, doc map[string]any) {
	frames := clientFrames(t, doc)
	foreign := func(typ string) map[string]any {
		return map[string]any{"type": typ, "conversation_id": f.convA, "client_id": "x1", "body": "INJECTED", "seq": 1, "state": true, "status": "online", "since": map[string]any{f.convA: 0}, "token": f.tokensB[asVisitor]}
	}
	for _, typ := range frames {
		if typ == "hello" {
			continue
		}
		t.Run("before hello/"+typ, func(t *testing.T) {
			w := a.dial(t)
			w.send(foreign(typ))
			if e := w.expect("error"); e["code"] != "unauthenticated" {
				t.Errorf("%s before hello: %v", typ, e)
			}
			if st := websocket.CloseStatus(w.closeErr()); st != websocket.StatusPolicyViolation {
				t.Errorf("%s before hello: closed with %d, want 1008", typ, st)
			}
		})
	}
	for _, who := range []string{asVisitor, asOwner, asAgent} {
		for _, typ := range frames {
			if typ == "hello" || typ == "ping" {
				continue
			}
			t.Run("foreign ids/"+who+"/"+typ, func(t *testing.T) {
				w := a.connect(t, f.tokensB[who], map[string]int64{f.convA: 0})
				w.send(foreign(typ))
				w.send(map[string]any{"type": "ping"})
				w.expect("pong")
				for _, fr := range w.seen {
					b, _ := json.Marshal(fr)
					for _, m := range f.markers {
						if strings.Contains(string(b), m) {
							t.Fatalf("B's %s got A's %q: %s", who, m, b)
						}
					}
					if fr["type"] == "ack" {
						t.Fatalf("B's %s was acked for A's conversation: %s", who, b)
					}
				}
			})
		}
	}
	for _, typ := range frames {
		t.Run("bad fields/"+typ, func(t *testing.T) {
			w := a.connect(t, f.tokensA[asOwner], nil)
			for _, bad := range []map[string]any{
				{"type": typ, "conversation_id": 123, "client_id": []any{1}, "body": map[string]any{}, "seq": "x", "state": "yes", "status": 5, "since": "x"},
				{"type": typ, "conversation_id": "a\x00b", "client_id": "\x00", "body": "a\x00b", "status": "\x00"},
			} {
				w.send(bad)
				e := w.expect("error")
				if e["code"] != "invalid_argument" && e["code"] != "not_found" {
					t.Errorf("%s with bad fields: %v", typ, e)
				}
			}
			w.send(map[string]any{"type": "ping"})
			w.expect("pong")
		})
	}
}
