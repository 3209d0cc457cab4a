package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Who sees what: an agent sees the conversations assigned to them, the
// unassigned ones and their teams'; supervisors and up see all; a tenant may
// let agents see all. The rule holds on REST, the socket's subscribe and
// catch-up, and the lists; visitors never see internal fields.
func TestAgentsSeeTheirScope(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Scope")
		login := func(email, role string, teams []string) (id, token string) {
			r := a.must(201, "POST", "/api/v1/agents", biz.token, map[string]any{"email": email, "name": strings.Split(email, "@")[0], "password": "password1", "role": role, "teams": teams})
			l := a.must(200, "POST", "/api/v1/auth/login", "", map[string]any{"tenant": biz.slug, "email": email, "password": "password1"})
			return r.Str("id"), l.Str("token")
		}
		annID, ann := login("ann@example.com", "agent", nil)
		_, bob := login("bob@example.com", "agent", []string{"billing"})
		_, cara := login("cara@example.com", "supervisor", nil)

		_, vtok := a.visitor(biz.widgetKey)
		vis := a.connect(t, vtok, nil)
		vis.send(map[string]any{"type": "message.send", "client_id": "v1", "body": "my card is 4111"})
		conv := vis.expect("ack")["conversation_id"].(string)
		a.settle(biz.token, conv)

		// Unassigned: every agent sees it (the queue).
		a.must(200, "GET", "/api/v1/conversations/"+conv, bob, nil)

		a.must(200, "POST", "/api/v1/conversations/"+conv+"/assign", biz.token, map[string]any{"agent_id": annID})
		a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", ann, map[string]any{"body": "PRIVATE NOTE", "private": true})
		for _, path := range []string{"", "/messages", "/events"} {
			if r := a.do("GET", "/api/v1/conversations/"+conv+path, bob, nil); r.Status != 404 {
				t.Errorf("bob GET %s: %d, want 404: %s", path, r.Status, r.Raw)
			}
		}
		if r := a.do("POST", "/api/v1/conversations/"+conv+"/messages", bob, map[string]any{"body": "hi"}); r.Status != 404 {
			t.Errorf("bob posts into ann's conversation: %d %s", r.Status, r.Raw)
		}
		if r := a.do("POST", "/api/v1/conversations/"+conv+"/assign", bob, map[string]any{"agent_id": "me"}); r.Status != 404 && r.Status != 403 {
			t.Errorf("bob takes ann's conversation: %d %s", r.Status, r.Raw)
		}
		if r := a.do("POST", "/api/v1/conversations/"+conv+"/resolve", bob, nil); r.Status != 404 {
			t.Errorf("bob resolves ann's conversation: %d %s", r.Status, r.Raw)
		}
		if list := a.must(200, "GET", "/api/v1/conversations", bob, nil); strings.Contains(list.Raw, conv) {
			t.Errorf("bob's list shows ann's conversation")
		}
		a.must(200, "GET", "/api/v1/conversations/"+conv+"/messages", ann, nil)
		if r := a.must(200, "GET", "/api/v1/conversations/"+conv+"/messages", cara, nil); !strings.Contains(r.Raw, "PRIVATE NOTE") {
			t.Errorf("the supervisor does not see the note: %s", r.Raw)
		}

		// Over the socket: subscribe is refused, a since for it replays
		// nothing, and new messages do not reach bob.
		ws := a.connect(t, bob, map[string]int64{conv: 0})
		ws.send(map[string]any{"type": "subscribe", "conversation_id": conv})
		if e := ws.expect("error"); e["code"] != "not_found" {
			t.Errorf("bob subscribes: %v", e)
		}
		vis.send(map[string]any{"type": "message.send", "client_id": "v2", "body": "second secret"})
		vis.expect("ack")
		ws.quiet("message.new", 300*time.Millisecond)
		for _, f := range ws.seen {
			if strings.Contains(encodeJSON(f), conv) {
				t.Fatalf("bob's socket got a frame of ann's conversation: %v", f)
			}
		}

		// The team's conversations: bob sees it but may not take it from ann.
		a.must(200, "POST", "/api/v1/conversations/"+conv+"/assign", cara, map[string]any{"team": "billing"})
		time.Sleep(100 * time.Millisecond)
		a.must(200, "GET", "/api/v1/conversations/"+conv, bob, nil)
		if r := a.do("POST", "/api/v1/conversations/"+conv+"/assign", bob, map[string]any{"agent_id": bobID(a, bob)}); r.Status != 409 {
			t.Errorf("bob takes his team mate's conversation: %d %s", r.Status, r.Raw)
		}

		// A tenant that lets agents see all.
		a.must(200, "PATCH", "/api/v1/tenant", biz.token, map[string]any{"agents_see_all": true})
		_, dan := login("dan@example.com", "agent", nil)
		a.must(200, "GET", "/api/v1/conversations/"+conv+"/messages", dan, nil)

		// The visitor's frames carry no internal fields.
		v2 := a.connect(t, vtok, nil)
		for _, f := range append(vis.seen, v2.seen...) {
			s := encodeJSON(f)
			for _, internal := range []string{`"labels"`, `"team"`, `"assignee_id"`, `"plan"`, `"attributes"`} {
				if (f["type"] == "welcome" || f["type"] == "conversation.updated") && strings.Contains(s, internal) {
					t.Errorf("a visitor frame carries %s: %s", internal, s)
				}
			}
		}
	})
}

func bobID(a *app, token string) string {
	return a.must(200, "GET", "/api/v1/me", token, nil).Str("user", "id")
}

func encodeJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Errors keep their code; their message follows Accept-Language.
func TestErrorMessagesFollowAcceptLanguage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		req := func(lang string) resp {
			r, _ := http.NewRequest("POST", a.url+"/api/v1/auth/login", strings.NewReader(`{"tenant":"nobody-here","email":"x@example.com","password":"password1"}`))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Accept-Language", lang)
			res, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var out resp
			_ = json.NewDecoder(res.Body).Decode(&out.Body)
			out.Status = res.StatusCode
			return out
		}
		zh, en := req("zh-CN,zh;q=0.9"), req("en-US")
		if zh.Status != 401 || zh.Code() != "unauthenticated" || zh.Str("error", "message") != "凭据无效或已过期" {
			t.Errorf("zh-CN: %d %v", zh.Status, zh.Body)
		}
		if en.Code() != "unauthenticated" || en.Str("error", "message") != "invalid or expired credentials" {
			t.Errorf("en: %v", en.Body)
		}
	})
}
