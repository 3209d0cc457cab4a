package api_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		acme := a.signup("Acme")

		t.Run("health, readiness and metrics answer", func(t *testing.T) {
			a.must(200, "GET", "/healthz", "", nil)
			a.must(200, "GET", "/readyz", "", nil)
			if r := a.do("GET", "/metrics", "", nil); r.Status != 200 || !strings.Contains(r.Raw, "kefu_ws_connections") {
				t.Fatalf("metrics: %d", r.Status)
			}
		})

		t.Run("signup validates and refuses duplicates", func(t *testing.T) {
			cases := []struct {
				name   string
				body   any
				status int
				code   string
				field  string
			}{
				{"malformed JSON", `{"company":`, 400, "invalid_argument", ""},
				{"missing email", map[string]any{"company": "X Co", "password": "password1", "name": "X"}, 400, "invalid_argument", "email"},
				{"short password", map[string]any{"company": "X Co", "email": "x@example.com", "password": "short", "name": "X"}, 400, "invalid_argument", "password"},
				{"oversized body", `{"company":"` + strings.Repeat("x", 1<<20+10) + `"}`, 413, "too_large", ""},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					r := a.do("POST", "/api/v1/signup", "", c.body)
					if r.Status != c.status || r.Code() != c.code {
						t.Fatalf("got %d %s, want %d %s: %s", r.Status, r.Code(), c.status, c.code, r.Raw)
					}
					if c.field != "" && r.Field(c.field) == "" {
						t.Fatalf("no fields.%s in %s", c.field, r.Raw)
					}
				})
			}
			t.Run("a taken company name gets a free slug, naming no other workspace", func(t *testing.T) {
				r := a.must(201, "POST", "/api/v1/signup", "", map[string]any{"company": strings.ReplaceAll(acme.slug, "-", " "), "email": "x@example.com", "password": "password1", "name": "X"})
				if got := r.Str("tenant", "slug"); got == acme.slug || !strings.HasPrefix(got, acme.slug+"-") {
					t.Fatalf("slug %q, want %q with a suffix", got, acme.slug)
				}
			})
			t.Run("a chosen slug that is taken is already_exists", func(t *testing.T) {
				r := a.do("POST", "/api/v1/signup", "", map[string]any{"company": "Other", "slug": acme.slug, "email": "x@example.com", "password": "password1", "name": "X"})
				if r.Status != 409 || r.Code() != "already_exists" || r.Field("slug") == "" || strings.Contains(r.Raw, "workspace "+acme.slug) {
					t.Fatalf("got %d %s", r.Status, r.Raw)
				}
			})
			t.Run("the same email may sign up another business", func(t *testing.T) {
				a.must(201, "POST", "/api/v1/signup", "", map[string]any{"company": "Second Biz " + acme.tenantID[24:], "email": "owner@example.com", "password": "password1", "name": "Olga"})
			})
		})

		t.Run("login, me and logout", func(t *testing.T) {
			r := a.must(200, "POST", "/api/v1/auth/login", "", map[string]any{"tenant": acme.slug, "email": "owner@example.com", "password": "password1"})
			tok := r.Str("token")
			me := a.must(200, "GET", "/api/v1/me", tok, nil)
			if me.Str("user", "role") != "owner" || me.Str("tenant", "id") != acme.tenantID {
				t.Fatalf("me: %s", me.Raw)
			}
			if perms, _ := me.Body["permissions"].([]any); len(perms) == 0 {
				t.Fatal("no permissions")
			}
			if r := a.do("POST", "/api/v1/auth/login", "", map[string]any{"tenant": acme.slug, "email": "owner@example.com", "password": "wrong-password"}); r.Status != 401 || r.Code() != "unauthenticated" {
				t.Fatalf("wrong password: %s", r.Raw)
			}
			if r := a.do("POST", "/api/v1/auth/login", "", map[string]any{"tenant": acme.slug}); r.Status != 400 || r.Field("email") == "" {
				t.Fatalf("missing email: %s", r.Raw)
			}
			for _, tok := range []string{"", "garbage", "kfs_nope", "kf_nope"} {
				if r := a.do("GET", "/api/v1/me", tok, nil); r.Status != 401 || r.Code() != "unauthenticated" {
					t.Fatalf("token %q: %d %s", tok, r.Status, r.Raw)
				}
			}
			a.must(204, "POST", "/api/v1/auth/logout", tok, nil)
			a.must(401, "GET", "/api/v1/me", tok, nil)
		})

		var agentID, agentToken string
		t.Run("agents are created by admins and listed with status", func(t *testing.T) {
			r := a.must(201, "POST", "/api/v1/agents", acme.token, map[string]any{"email": "ann@example.com", "name": "Ann", "password": "password1", "role": "agent", "skills": []string{"billing"}, "max_concurrent": 5})
			agentID = r.Str("id")
			if r.Str("role") != "agent" || r.Str("status") != "offline" {
				t.Fatalf("agent: %s", r.Raw)
			}
			if r := a.do("POST", "/api/v1/agents", acme.token, map[string]any{"email": "ann@example.com", "name": "Ann 2", "password": "password1"}); r.Status != 409 || r.Code() != "already_exists" {
				t.Fatalf("duplicate email: %s", r.Raw)
			}
			if r := a.do("POST", "/api/v1/agents", acme.token, map[string]any{"email": "bob@example.com", "name": "Bob", "password": "password1", "role": "owner"}); r.Status != 400 || r.Field("role") == "" {
				t.Fatalf("bad role: %s", r.Raw)
			}
			if r := a.do("POST", "/api/v1/agents", acme.token, map[string]any{"email": "bob@example.com", "name": "Bob", "password": "password1", "max_concurrent": 0}); r.Status != 400 || r.Field("max_concurrent") == "" {
				t.Fatalf("bad cap: %s", r.Raw)
			}
			list := a.must(200, "GET", "/api/v1/agents", acme.token, nil)
			if agents, _ := list.Body["agents"].([]any); len(agents) != 2 {
				t.Fatalf("agents: %s", list.Raw)
			}
			a.must(200, "GET", "/api/v1/agents/"+agentID, acme.token, nil)
			a.must(404, "GET", "/api/v1/agents/nope", acme.token, nil)
			p := a.must(200, "PATCH", "/api/v1/agents/"+agentID, acme.token, map[string]any{"skills": []string{"billing", "vip"}})
			if !strings.Contains(p.Raw, "vip") {
				t.Fatalf("patch: %s", p.Raw)
			}
			agentToken = a.must(200, "POST", "/api/v1/auth/login", "", map[string]any{"tenant": acme.slug, "email": "ann@example.com", "password": "password1"}).Str("token")
		})

		t.Run("RBAC refuses what a role may not do", func(t *testing.T) {
			for _, c := range []struct{ method, path string }{
				{"POST", "/api/v1/agents"},
				{"PATCH", "/api/v1/agents/" + agentID},
				{"POST", "/api/v1/api-keys"},
				{"GET", "/api/v1/api-keys"},
				{"PATCH", "/api/v1/tenant"},
			} {
				if r := a.do(c.method, c.path, agentToken, map[string]any{"name": "x"}); r.Status != 403 || r.Code() != "permission_denied" {
					t.Errorf("agent %s %s: %d %s", c.method, c.path, r.Status, r.Raw)
				}
			}
			a.must(200, "GET", "/api/v1/agents", agentToken, nil)
			a.must(200, "GET", "/api/v1/conversations", agentToken, nil)
		})

		var devKey, keyID string
		t.Run("API keys are shown once, work, and can be revoked", func(t *testing.T) {
			r := a.must(201, "POST", "/api/v1/api-keys", acme.token, map[string]any{"name": "crm", "role": "developer"})
			devKey, keyID = r.Str("key"), r.Str("id")
			if !strings.HasPrefix(devKey, "kf_") {
				t.Fatalf("key %q", devKey)
			}
			list := a.must(200, "GET", "/api/v1/api-keys", acme.token, nil)
			if strings.Contains(list.Raw, devKey) {
				t.Fatal("the key is shown again in the list")
			}
			if r := a.do("POST", "/api/v1/api-keys", acme.token, map[string]any{"name": "x", "role": "owner"}); r.Status != 400 || r.Field("role") == "" {
				t.Fatalf("bad role: %s", r.Raw)
			}
			a.must(200, "GET", "/api/v1/conversations", devKey, nil)
			a.must(403, "POST", "/api/v1/agents", devKey, map[string]any{"email": "c@example.com", "name": "C", "password": "password1"})
			tmp := a.must(201, "POST", "/api/v1/api-keys", acme.token, map[string]any{"name": "tmp"})
			a.must(204, "DELETE", "/api/v1/api-keys/"+tmp.Str("id"), acme.token, nil)
			a.must(401, "GET", "/api/v1/conversations", tmp.Str("key"), nil)
			a.must(404, "DELETE", "/api/v1/api-keys/"+tmp.Str("id"), acme.token, nil)
		})

		t.Run("tenant settings", func(t *testing.T) {
			r := a.must(200, "PATCH", "/api/v1/tenant", acme.token, map[string]any{"allowed_origins": []string{"https://shop.example.com"}})
			if !strings.Contains(r.Raw, "https://shop.example.com") {
				t.Fatalf("patch tenant: %s", r.Raw)
			}
			if r := a.do("PATCH", "/api/v1/tenant", acme.token, map[string]any{"allowed_origins": []string{"javascript:alert(1)"}}); r.Status != 400 {
				t.Fatalf("bad origin accepted: %s", r.Raw)
			}
			a.must(200, "PATCH", "/api/v1/tenant", acme.token, map[string]any{"allowed_origins": []string{}})
			a.must(200, "GET", "/api/v1/tenant", agentToken, nil)
		})

		var visitorID, visitorToken string
		t.Run("widget sessions start and resume", func(t *testing.T) {
			visitorID, visitorToken = a.visitor(acme.widgetKey)
			r := a.must(201, "POST", "/api/v1/widget/sessions", "", map[string]any{"widget_key": acme.widgetKey, "visitor_token": visitorToken})
			if r.Str("visitor_id") != visitorID {
				t.Fatalf("resume gave %s, want %s", r.Str("visitor_id"), visitorID)
			}
			if r := a.do("POST", "/api/v1/widget/sessions", "", map[string]any{"widget_key": "wk_nope"}); r.Status != 404 || r.Code() != "not_found" {
				t.Fatalf("unknown key: %s", r.Raw)
			}
			if r := a.do("POST", "/api/v1/widget/sessions", "", map[string]any{}); r.Status != 400 || r.Field("widget_key") == "" {
				t.Fatalf("missing key: %s", r.Raw)
			}
			cfg := a.must(200, "GET", "/api/v1/widget/config?key="+acme.widgetKey, "", nil)
			if cfg.Str("tenant_name") == "" {
				t.Fatalf("widget config: %s", cfg.Raw)
			}
			// A visitor token is not an API credential.
			a.must(401, "GET", "/api/v1/conversations", visitorToken, nil)
		})

		// A visitor opens a conversation over the socket.
		v := a.connect(t, visitorToken, nil)
		v.send(map[string]any{"type": "message.send", "client_id": "v-1", "body": "hello"})
		ack := v.expect("ack")
		conv := ack["conversation_id"].(string)
		settled := a.settle(acme.token, conv)
		base, _ := strconv.Atoi(settled.Str("last_seq"))

		t.Run("conversations are listed, read and filtered", func(t *testing.T) {
			r := a.must(200, "GET", "/api/v1/conversations", acme.token, nil)
			if !strings.Contains(r.Raw, conv) {
				t.Fatalf("list: %s", r.Raw)
			}
			c := a.must(200, "GET", "/api/v1/conversations/"+conv, acme.token, nil)
			if c.Str("status") != "queued" || c.Str("visitor", "id") != visitorID || c.Str("last_seq") != strconv.Itoa(base) || c.Str("last_message", "author_type") != "bot" {
				t.Fatalf("conversation: %s", c.Raw)
			}
			q := a.must(200, "GET", "/api/v1/conversations?status=queued", acme.token, nil)
			if !strings.Contains(q.Raw, conv) {
				t.Fatal("status filter lost it")
			}
			if r := a.do("GET", "/api/v1/conversations?status=open-ish", acme.token, nil); r.Status != 400 || r.Field("status") == "" {
				t.Fatalf("bad status: %s", r.Raw)
			}
			if r := a.do("GET", "/api/v1/conversations?limit=-1", acme.token, nil); r.Status != 400 {
				t.Fatalf("bad limit: %s", r.Raw)
			}
			if r := a.do("GET", "/api/v1/conversations?cursor=@@@", acme.token, nil); r.Status != 400 {
				t.Fatalf("bad cursor: %s", r.Raw)
			}
			a.must(404, "GET", "/api/v1/conversations/nope", acme.token, nil)
		})

		t.Run("pages through conversations with the cursor", func(t *testing.T) {
			for i := 0; i < 3; i++ {
				_, tok := a.visitor(acme.widgetKey)
				w := a.connect(t, tok, nil)
				w.send(map[string]any{"type": "message.send", "client_id": "p", "body": fmt.Sprint("page ", i)})
				// Routed before paging: the list is newest-updated first, and
				// a conversation the flow moves while the pages are read moves
				// between them.
				a.settle(acme.token, w.expect("ack")["conversation_id"].(string))
			}
			seen := map[string]bool{}
			cursor := ""
			for pages := 0; pages < 10; pages++ {
				r := a.must(200, "GET", "/api/v1/conversations?limit=2&cursor="+cursor, acme.token, nil)
				for _, c := range r.Body["conversations"].([]any) {
					id := c.(map[string]any)["id"].(string)
					if seen[id] {
						t.Fatalf("conversation %s on two pages", id)
					}
					seen[id] = true
				}
				cursor = r.Str("next_cursor")
				if cursor == "" {
					break
				}
			}
			if len(seen) != 4 {
				t.Fatalf("paged %d conversations, want 4", len(seen))
			}
		})

		t.Run("messages are posted, deduplicated and limited", func(t *testing.T) {
			m := a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", devKey, map[string]any{"body": "from the CRM", "client_id": "crm-1"})
			if m.Str("author", "type") != "bot" || m.Str("author", "name") != "crm" || m.Str("seq") != strconv.Itoa(base+1) {
				t.Fatalf("api key message: %s", m.Raw)
			}
			again := a.must(200, "POST", "/api/v1/conversations/"+conv+"/messages", devKey, map[string]any{"body": "from the CRM", "client_id": "crm-1"})
			if again.Str("id") != m.Str("id") || again.Str("seq") != m.Str("seq") {
				t.Fatalf("resend: %s", again.Raw)
			}
			n := a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", acme.token, map[string]any{"body": "internal note", "private": true})
			if n.Str("author", "type") != "agent" || n.Str("private") != "true" {
				t.Fatalf("note: %s", n.Raw)
			}
			if r := a.do("POST", "/api/v1/conversations/"+conv+"/messages", acme.token, map[string]any{"body": strings.Repeat("x", 70000)}); r.Status != 413 || r.Code() != "too_large" {
				t.Fatalf("big message: %d %s", r.Status, r.Raw)
			}
			if r := a.do("POST", "/api/v1/conversations/"+conv+"/messages", acme.token, map[string]any{"body": "  "}); r.Status != 400 || r.Field("body") == "" {
				t.Fatalf("empty body: %s", r.Raw)
			}
			a.must(404, "POST", "/api/v1/conversations/nope/messages", acme.token, map[string]any{"body": "x"})
			list := a.must(200, "GET", "/api/v1/conversations/"+conv+"/messages?after_seq=0", acme.token, nil)
			msgs := list.Body["messages"].([]any)
			if len(msgs) != base+2 {
				t.Fatalf("%d messages, want %d: %s", len(msgs), base+2, list.Raw)
			}
			for i, m := range msgs {
				if got := num(m.(map[string]any)["seq"]); got != int64(i+1) {
					t.Fatalf("message %d has seq %d", i, got)
				}
			}
			after := a.must(200, "GET", "/api/v1/conversations/"+conv+"/messages?after_seq="+strconv.Itoa(base+1)+"&limit=10", acme.token, nil)
			if len(after.Body["messages"].([]any)) != 1 {
				t.Fatalf("after_seq=2: %s", after.Raw)
			}
			if r := a.do("GET", "/api/v1/conversations/"+conv+"/messages?after_seq=x", acme.token, nil); r.Status != 400 {
				t.Fatalf("bad after_seq: %s", r.Raw)
			}
		})

		t.Run("read state never moves back", func(t *testing.T) {
			top := strconv.Itoa(base + 2)
			r := a.must(200, "POST", "/api/v1/conversations/"+conv+"/read", acme.token, map[string]any{"seq": base + 2})
			if r.Str("last_read_seq") != top {
				t.Fatalf("read: %s", r.Raw)
			}
			r = a.must(200, "POST", "/api/v1/conversations/"+conv+"/read", acme.token, map[string]any{"seq": 1})
			if r.Str("last_read_seq") != top {
				t.Fatalf("read moved back: %s", r.Raw)
			}
			if r := a.do("POST", "/api/v1/conversations/"+conv+"/read", acme.token, map[string]any{}); r.Status != 400 || r.Field("seq") == "" {
				t.Fatalf("missing seq: %s", r.Raw)
			}
			var wg sync.WaitGroup
			for i := 1; i <= 20; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					a.do("POST", "/api/v1/conversations/"+conv+"/read", agentToken, map[string]any{"seq": i % (base + 3)})
				}()
			}
			wg.Wait()
			r = a.must(200, "POST", "/api/v1/conversations/"+conv+"/read", agentToken, map[string]any{"seq": 0})
			if r.Str("last_read_seq") != top {
				t.Fatalf("after concurrent reads: %s", r.Raw)
			}
		})

		t.Run("assign and resolve", func(t *testing.T) {
			if r := a.do("POST", "/api/v1/conversations/"+conv+"/assign", agentToken, map[string]any{"agent_id": acme.ownerID}); r.Status != 403 {
				t.Fatalf("agent assigning to others: %s", r.Raw)
			}
			r := a.must(200, "POST", "/api/v1/conversations/"+conv+"/assign", agentToken, map[string]any{"agent_id": agentID})
			if r.Str("assignee_id") != agentID || r.Str("status") != "assigned" {
				t.Fatalf("self-assign: %s", r.Raw)
			}
			if r := a.do("POST", "/api/v1/conversations/"+conv+"/assign", acme.token, map[string]any{"agent_id": "nope"}); r.Status != 404 {
				t.Fatalf("unknown agent: %s", r.Raw)
			}
			if r := a.do("POST", "/api/v1/conversations/"+conv+"/assign", acme.token, map[string]any{}); r.Status != 400 {
				t.Fatalf("empty assign: %s", r.Raw)
			}
			r = a.must(200, "POST", "/api/v1/conversations/"+conv+"/resolve", acme.token, nil)
			if r.Str("status") != "resolved" {
				t.Fatalf("resolve: %s", r.Raw)
			}
		})

		t.Run("another tenant sees none of it", func(t *testing.T) {
			other := a.signup("Other")
			for _, c := range []struct{ method, path string }{
				{"GET", "/api/v1/conversations/" + conv},
				{"GET", "/api/v1/conversations/" + conv + "/messages"},
				{"POST", "/api/v1/conversations/" + conv + "/messages"},
				{"POST", "/api/v1/conversations/" + conv + "/read"},
				{"POST", "/api/v1/conversations/" + conv + "/assign"},
				{"POST", "/api/v1/conversations/" + conv + "/resolve"},
				{"GET", "/api/v1/agents/" + agentID},
				{"PATCH", "/api/v1/agents/" + agentID},
				{"DELETE", "/api/v1/api-keys/" + keyID},
			} {
				body := map[string]any{"body": "x", "seq": 1, "agent_id": other.ownerID, "name": "x"}
				if r := a.do(c.method, c.path, other.token, body); r.Status != 404 || r.Code() != "not_found" {
					t.Errorf("%s %s with tenant B's token: %d %s", c.method, c.path, r.Status, r.Raw)
				}
			}
			list := a.must(200, "GET", "/api/v1/conversations", other.token, nil)
			if strings.Contains(list.Raw, conv) {
				t.Fatal("tenant B lists tenant A's conversation")
			}
			agents := a.must(200, "GET", "/api/v1/agents", other.token, nil)
			if strings.Contains(agents.Raw, agentID) {
				t.Fatal("tenant B lists tenant A's agent")
			}
			// Over the socket: B's owner cannot send into, open, or read A's conversation.
			w := a.connect(t, other.token, map[string]int64{conv: 0})
			w.send(map[string]any{"type": "message.send", "client_id": "x", "conversation_id": conv, "body": "intrude"})
			if e := w.expect("error"); e["code"] != "not_found" {
				t.Fatalf("ws send into A: %v", e)
			}
			w.send(map[string]any{"type": "subscribe", "conversation_id": conv, "since": 0})
			if e := w.expect("error"); e["code"] != "not_found" {
				t.Fatalf("ws subscribe to A: %v", e)
			}
			w.quiet("message.new", 300e6)
		})

		t.Run("unknown API paths are 404 in the error shape", func(t *testing.T) {
			if r := a.do("GET", "/api/v1/nope", acme.token, nil); r.Status != 404 || r.Code() != "not_found" {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
		})
	})
}
