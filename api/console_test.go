package api_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"kefu/chat"
	"kefu/tenants/tenantstest"
)

// staff adds a user of the role to biz and logs them in.
func (a *app) staff(biz business, email, role string, teams []string) (id, token string) {
	a.t.Helper()
	body := map[string]any{"email": email, "name": strings.Split(email, "@")[0], "password": "password1", "role": role}
	if teams != nil {
		body["teams"] = teams
	}
	r := a.must(201, "POST", "/api/v1/agents", biz.token, body)
	l := a.must(200, "POST", "/api/v1/auth/login", "", map[string]any{"tenant": biz.slug, "email": email, "password": "password1"})
	return r.Str("id"), l.Str("token")
}

// conversation opens a conversation from a new visitor with a first message.
func (a *app) conversation(t *testing.T, biz business, text string) string {
	t.Helper()
	_, vtok := a.visitor(biz.widgetKey)
	vis := a.connect(t, vtok, nil)
	vis.send(map[string]any{"type": "message.send", "client_id": "c1", "body": text})
	conv := vis.expect("ack")["conversation_id"].(string)
	a.settle(biz.token, conv)
	return conv
}

func ids(r resp, key string) []string {
	var out []string
	list, _ := r.Body[key].([]any)
	for _, x := range list {
		m, _ := x.(map[string]any)
		if id, ok := m["id"].(string); ok {
			out = append(out, id)
		} else if c, ok := m["conversation_id"].(string); ok {
			out = append(out, c)
		}
	}
	return out
}

func has(list []string, x string) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

func TestTeams(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Teams")
		other := a.signup("Teams other")
		annID, ann := a.staff(biz, "ann@example.com", "agent", nil)
		// A client written for team names still works: the name becomes a team.
		bobID, _ := a.staff(biz, "bob@example.com", "agent", []string{"Billing"})

		list := a.must(200, "GET", "/api/v1/teams", ann, nil)
		teams, _ := list.Body["teams"].([]any)
		if len(teams) != 1 {
			t.Fatalf("teams: %s", list.Raw)
		}
		billing := teams[0].(map[string]any)
		if billing["name"] != "billing" || !strings.Contains(list.Raw, bobID) {
			t.Errorf("the team made from bob's team name: %s", list.Raw)
		}
		if r := a.must(200, "GET", "/api/v1/agents/"+bobID, biz.token, nil); !strings.Contains(r.Raw, billing["id"].(string)) {
			t.Errorf("bob's teams hold the team's id: %s", r.Raw)
		}

		sales := a.must(201, "POST", "/api/v1/teams", biz.token, map[string]any{"name": "销售 Sales", "members": []string{annID}})
		salesID := sales.Str("id")
		if !strings.Contains(sales.Raw, annID) {
			t.Errorf("members: %s", sales.Raw)
		}
		if r := a.do("POST", "/api/v1/teams", biz.token, map[string]any{"name": "销售 sales"}); r.Status != 409 || r.Code() != "already_exists" {
			t.Errorf("a second team of the same name: %d %s", r.Status, r.Raw)
		}
		if r := a.do("POST", "/api/v1/teams", biz.token, map[string]any{"name": ""}); r.Status != 400 || r.Field("name") == "" {
			t.Errorf("no name: %d %s", r.Status, r.Raw)
		}
		if r := a.do("POST", "/api/v1/teams", biz.token, map[string]any{"name": "x", "members": []string{"nobody"}}); r.Status != 400 || r.Field("members") == "" {
			t.Errorf("an unknown member: %d %s", r.Status, r.Raw)
		}
		if r := a.do("POST", "/api/v1/teams", ann, map[string]any{"name": "mine"}); r.Status != 403 {
			t.Errorf("an agent creates a team: %d %s", r.Status, r.Raw)
		}
		r := a.must(200, "PUT", "/api/v1/teams/"+salesID, biz.token, map[string]any{"members": []string{annID, bobID}})
		if !strings.Contains(r.Raw, bobID) || !strings.Contains(r.Raw, annID) {
			t.Errorf("members after PUT: %s", r.Raw)
		}
		if r := a.must(200, "GET", "/api/v1/agents/"+annID, biz.token, nil); !strings.Contains(r.Raw, salesID) {
			t.Errorf("ann's teams: %s", r.Raw)
		}
		// Another tenant's ids are not found.
		for _, m := range []string{"GET", "PUT", "DELETE"} {
			if r := a.do(m, "/api/v1/teams/"+salesID, other.token, map[string]any{"name": "x"}); r.Status != 404 {
				t.Errorf("%s another tenant's team: %d %s", m, r.Status, r.Raw)
			}
		}

		// A conversation given to the team by id; deleting the team clears it.
		conv := a.conversation(t, biz, "hello")
		a.must(200, "POST", "/api/v1/conversations/"+conv+"/assign", biz.token, map[string]any{"team_id": salesID})
		if r := a.must(200, "GET", "/api/v1/conversations?team="+salesID, biz.token, nil); !has(ids(r, "conversations"), conv) {
			t.Errorf("the team's inbox: %s", r.Raw)
		}
		if r := a.do("POST", "/api/v1/conversations/"+conv+"/assign", biz.token, map[string]any{"team_id": "nope"}); r.Status != 404 || r.Field("team_id") == "" {
			t.Errorf("an unknown team: %d %s", r.Status, r.Raw)
		}
		a.must(204, "DELETE", "/api/v1/teams/"+salesID, biz.token, nil)
		if r := a.must(200, "GET", "/api/v1/conversations/"+conv, biz.token, nil); r.Str("team") != "" {
			t.Errorf("the deleted team stays on the conversation: %s", r.Raw)
		}
		if r := a.must(200, "GET", "/api/v1/agents/"+annID, biz.token, nil); strings.Contains(r.Raw, salesID) {
			t.Errorf("the deleted team stays on ann: %s", r.Raw)
		}
	})
}

// A transfer: the note reaches the new assignee as a private note, the new
// assignee hears of it live, and only roles with the assign permission move
// a conversation from someone else.
func TestTransferAndUnassign(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Transfer")
		annID, ann := a.staff(biz, "ann@example.com", "agent", []string{"support"})
		bobID, bob := a.staff(biz, "bob@example.com", "agent", []string{"support"})
		_, cara := a.staff(biz, "cara@example.com", "supervisor", nil)
		conv := a.conversation(t, biz, "where is my order")
		a.must(200, "POST", "/api/v1/conversations/"+conv+"/assign", ann, map[string]any{"agent_id": annID})

		bobWS := a.connect(t, bob, nil)
		// Ann (an agent) may not give it away; a supervisor may.
		if r := a.do("POST", "/api/v1/conversations/"+conv+"/assign", ann, map[string]any{"agent_id": bobID, "note": "over to you"}); r.Status != 403 {
			t.Errorf("an agent transfers: %d %s", r.Status, r.Raw)
		}
		r := a.must(200, "POST", "/api/v1/conversations/"+conv+"/assign", cara, map[string]any{"agent_id": bobID, "note": "VIP, be kind"})
		if r.Str("assignee_id") != bobID {
			t.Fatalf("assignee: %s", r.Raw)
		}
		for {
			f := bobWS.expect("conversation.updated")
			cv, _ := f["conversation"].(map[string]any)
			if cv["id"] == conv && cv["assignee_id"] == bobID {
				break
			}
		}
		msgs := a.must(200, "GET", "/api/v1/conversations/"+conv+"/messages", bob, nil)
		if !strings.Contains(msgs.Raw, "VIP, be kind") || !strings.Contains(msgs.Raw, `"private":true`) {
			t.Errorf("the transfer note: %s", msgs.Raw)
		}
		if r := a.do("POST", "/api/v1/conversations/"+conv+"/assign", cara, map[string]any{"agent_id": bobID, "note": strings.Repeat("x", 5000)}); r.Status != 400 || r.Field("note") == "" {
			t.Errorf("a long note: %d %s", r.Status, r.Raw)
		}

		// Ann (in the team, so she sees it) may not unassign bob's; bob may.
		a.must(200, "POST", "/api/v1/conversations/"+conv+"/assign", cara, map[string]any{"team": "support"})
		if r := a.do("POST", "/api/v1/conversations/"+conv+"/unassign", ann, nil); r.Status != 403 {
			t.Errorf("ann unassigns bob: %d %s", r.Status, r.Raw)
		}
		r = a.must(200, "POST", "/api/v1/conversations/"+conv+"/unassign", bob, nil)
		if r.Str("status") != "queued" || r.Str("assignee_id") != "" {
			t.Errorf("after unassign: %s", r.Raw)
		}
		if r := a.do("POST", "/api/v1/conversations/nope/unassign", bob, nil); r.Status != 404 {
			t.Errorf("unassign an unknown conversation: %d", r.Status)
		}
	})
}

// Labels, priority and snooze, and the list's filters and counts.
func TestTriage(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			a := newAppWithChat(t, b.Store, chat.Config{Recovery: chat.RecoveryConfig{JobsPoll: 100 * time.Millisecond}})
			// Start runs the durable jobs, snoozes' wakes among them (and what else a server runs).
			if err := a.chat.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.chat.Close(context.Background()) })
			biz := a.signup("Triage")
			other := a.signup("Triage other")
			c1 := a.conversation(t, biz, "refund please")
			c2 := a.conversation(t, biz, "just looking")
			c3 := a.conversation(t, biz, "invoice")

			r := a.must(200, "PATCH", "/api/v1/conversations/"+c1, biz.token, map[string]any{"labels": []string{"退款", "vip", "VIP"}, "priority": "urgent"})
			if r.Str("priority") != "urgent" || !strings.Contains(r.Raw, `"labels":["退款","vip"]`) {
				t.Errorf("patched: %s", r.Raw)
			}
			a.must(200, "PATCH", "/api/v1/conversations/"+c3, biz.token, map[string]any{"priority": "low"})
			for _, bad := range []map[string]any{
				{"priority": "extreme"}, {"labels": []string{""}}, {"snoozed_until": "tomorrow"},
				{"snoozed_until": time.Now().Add(-time.Hour).Format(time.RFC3339)}, {"labels": "vip"},
			} {
				if r := a.do("PATCH", "/api/v1/conversations/"+c1, biz.token, bad); r.Status != 400 {
					t.Errorf("PATCH %v: %d %s", bad, r.Status, r.Raw)
				}
			}
			if r := a.do("PATCH", "/api/v1/conversations/"+c1, other.token, map[string]any{"priority": "low"}); r.Status != 404 {
				t.Errorf("another tenant patches: %d", r.Status)
			}

			list := a.must(200, "GET", "/api/v1/conversations?label="+url.QueryEscape("退款"), biz.token, nil)
			if got := ids(list, "conversations"); len(got) != 1 || got[0] != c1 {
				t.Errorf("label filter: %v", got)
			}
			list = a.must(200, "GET", "/api/v1/conversations?sort=priority&limit=2", biz.token, nil)
			if got := ids(list, "conversations"); len(got) != 2 || got[0] != c1 || got[1] != c3 {
				t.Errorf("by priority: %v", got)
			}
			page2 := a.must(200, "GET", "/api/v1/conversations?sort=priority&limit=2&cursor="+url.QueryEscape(list.Str("next_cursor")), biz.token, nil)
			if got := ids(page2, "conversations"); len(got) != 1 || got[0] != c2 {
				t.Errorf("by priority, page 2: %v", got)
			}

			counts := a.must(200, "GET", "/api/v1/conversations/counts", biz.token, nil)
			if counts.Str("all") != "3" || counts.Str("queue") != "3" || counts.Str("snoozed") != "0" {
				t.Errorf("counts: %s", counts.Raw)
			}

			// Snooze c2 for a moment: gone from the inbox and the counts,
			// then back by itself, announced live.
			owner := a.connect(t, biz.token, nil)
			until := time.Now().Add(700 * time.Millisecond).UTC()
			a.must(200, "PATCH", "/api/v1/conversations/"+c2, biz.token, map[string]any{"snoozed_until": until.Format(time.RFC3339Nano)})
			if got := ids(a.must(200, "GET", "/api/v1/conversations", biz.token, nil), "conversations"); has(got, c2) {
				t.Errorf("a snoozed conversation in the inbox: %v", got)
			}
			if got := ids(a.must(200, "GET", "/api/v1/conversations?snoozed=only", biz.token, nil), "conversations"); len(got) != 1 || got[0] != c2 {
				t.Errorf("snoozed=only: %v", got)
			}
			if c := a.must(200, "GET", "/api/v1/conversations/counts", biz.token, nil); c.Str("all") != "2" || c.Str("snoozed") != "1" {
				t.Errorf("counts while snoozed: %s", c.Raw)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				f := owner.expect("conversation.updated")
				cv, _ := f["conversation"].(map[string]any)
				if cv["id"] == c2 && cv["snoozed_until"] == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the snooze never ended")
				}
			}
			if got := ids(a.must(200, "GET", "/api/v1/conversations", biz.token, nil), "conversations"); !has(got, c2) {
				t.Errorf("back after the snooze: %v", got)
			}
			// Ending a snooze by hand.
			a.must(200, "PATCH", "/api/v1/conversations/"+c3, biz.token, map[string]any{"snoozed_until": time.Now().Add(time.Hour).Format(time.RFC3339)})
			if r := a.must(200, "PATCH", "/api/v1/conversations/"+c3, biz.token, map[string]any{"snoozed_until": nil}); r.Str("snoozed_until") != "" {
				t.Errorf("unsnoozed: %s", r.Raw)
			}
		})
	}
}

func TestCannedReplies(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Canned")
		other := a.signup("Canned other")
		_, ann := a.staff(biz, "ann@example.com", "agent", nil)
		_, bob := a.staff(biz, "bob@example.com", "agent", nil)

		shared := a.must(201, "POST", "/api/v1/canned-replies", biz.token, map[string]any{"shortcut": "/hello", "body": "您好 {{visitor.name}}，我是 {{agent.name}}", "scope": "tenant"})
		if shared.Str("shortcut") != "hello" || shared.Str("scope") != "tenant" {
			t.Errorf("created: %s", shared.Raw)
		}
		if r := a.do("POST", "/api/v1/canned-replies", ann, map[string]any{"shortcut": "x", "body": "y", "scope": "tenant"}); r.Status != 403 {
			t.Errorf("an agent writes a tenant reply: %d %s", r.Status, r.Raw)
		}
		mine := a.must(201, "POST", "/api/v1/canned-replies", ann, map[string]any{"shortcut": "bye", "body": "Bye {{visitor.name}}"})
		if mine.Str("scope") != "personal" {
			t.Errorf("default scope: %s", mine.Raw)
		}
		// The same shortcut is fine for another agent, not twice for one.
		a.must(201, "POST", "/api/v1/canned-replies", bob, map[string]any{"shortcut": "bye", "body": "Ciao", "scope": "personal"})
		if r := a.do("POST", "/api/v1/canned-replies", ann, map[string]any{"shortcut": "BYE", "body": "again"}); r.Status != 409 {
			t.Errorf("a taken shortcut: %d %s", r.Status, r.Raw)
		}
		for _, bad := range []map[string]any{{"shortcut": "has space", "body": "x"}, {"shortcut": "ok", "body": ""}, {"shortcut": "ok", "body": "x", "scope": "global"}, {"body": "x"}} {
			if r := a.do("POST", "/api/v1/canned-replies", ann, bad); r.Status != 400 {
				t.Errorf("POST %v: %d %s", bad, r.Status, r.Raw)
			}
		}
		list := a.must(200, "GET", "/api/v1/canned-replies", ann, nil)
		if got := ids(list, "canned_replies"); len(got) != 2 || strings.Contains(list.Raw, "Ciao") {
			t.Errorf("ann's list: %s", list.Raw)
		}
		// Bob may neither see nor change ann's; ann may not change the tenant's.
		if r := a.do("PUT", "/api/v1/canned-replies/"+mine.Str("id"), bob, map[string]any{"body": "hijack"}); r.Status != 404 {
			t.Errorf("bob edits ann's reply: %d", r.Status)
		}
		if r := a.do("DELETE", "/api/v1/canned-replies/"+shared.Str("id"), ann, nil); r.Status != 403 {
			t.Errorf("ann deletes the tenant's reply: %d", r.Status)
		}
		if r := a.do("GET", "/api/v1/canned-replies", other.token, nil); strings.Contains(r.Raw, "hello") {
			t.Errorf("another tenant sees the replies: %s", r.Raw)
		}
		if r := a.do("DELETE", "/api/v1/canned-replies/"+shared.Str("id"), other.token, nil); r.Status != 404 {
			t.Errorf("another tenant deletes: %d", r.Status)
		}
		up := a.must(200, "PUT", "/api/v1/canned-replies/"+mine.Str("id"), ann, map[string]any{"body": "See you {{visitor.name}}"})
		if up.Str("body") != "See you {{visitor.name}}" {
			t.Errorf("updated: %s", up.Raw)
		}
		a.must(204, "DELETE", "/api/v1/canned-replies/"+mine.Str("id"), ann, nil)
		a.must(204, "DELETE", "/api/v1/canned-replies/"+shared.Str("id"), biz.token, nil)
		if got := ids(a.must(200, "GET", "/api/v1/canned-replies", ann, nil), "canned_replies"); len(got) != 0 {
			t.Errorf("after delete: %v", got)
		}
	})
}

func TestSearch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Search")
		other := a.signup("Search other")
		annID, ann := a.staff(biz, "ann@example.com", "agent", nil)
		_, bob := a.staff(biz, "bob@example.com", "agent", nil)
		c1 := a.conversation(t, biz, "你好，我想退货，茶壶坏了")
		c2 := a.conversation(t, biz, "Where is my TEAPOT?")
		a.must(200, "POST", "/api/v1/conversations/"+c1+"/assign", biz.token, map[string]any{"agent_id": annID})
		a.must(201, "POST", "/api/v1/conversations/"+c1+"/messages", ann, map[string]any{"body": "内部备注：退货已批准", "private": true})
		a.conversation(t, other, "我想退货")

		search := func(token, q, typ string) resp {
			return a.must(200, "GET", "/api/v1/search?q="+url.QueryEscape(q)+"&type="+typ, token, nil)
		}
		// Two characters (under the trigram index) and more, both found.
		for _, q := range []string{"退货", "茶壶坏", "teapot"} {
			r := search(ann, q, "messages")
			got := ids(r, "results")
			if len(got) == 0 {
				t.Errorf("%q: nothing found: %s", q, r.Raw)
			}
			if strings.Contains(r.Raw, other.tenantID) {
				t.Errorf("%q: another tenant's message", q)
			}
		}
		r := search(ann, "退货", "messages")
		res, _ := r.Body["results"].([]any)
		if len(res) != 2 { // the visitor's message and ann's note
			t.Fatalf("退货 for ann: %s", r.Raw)
		}
		hit := res[1].(map[string]any)
		snippet := []rune(hit["snippet"].(string))
		hl := hit["highlights"].([]any)[0].([]any)
		if string(snippet[int(hl[0].(float64)):int(hl[1].(float64))]) != "退货" {
			t.Errorf("highlight: %v in %q", hl, string(snippet))
		}
		r = search(ann, "TeaPot", "messages")
		if res, _ := r.Body["results"].([]any); len(res) != 1 || res[0].(map[string]any)["conversation_id"] != c2 {
			t.Errorf("any case: %s", r.Raw)
		}
		// Bob, another agent, does not find ann's conversation at all.
		if got := ids(search(bob, "退货", "messages"), "results"); has(got, c1) {
			t.Errorf("bob finds ann's conversation: %v", got)
		}
		// Paging.
		p1 := a.must(200, "GET", "/api/v1/search?q="+url.QueryEscape("退货")+"&limit=1", biz.token, nil)
		p2 := a.must(200, "GET", "/api/v1/search?q="+url.QueryEscape("退货")+"&limit=1&cursor="+url.QueryEscape(p1.Str("next_cursor")), biz.token, nil)
		m1, _ := p1.Body["results"].([]any)
		m2, _ := p2.Body["results"].([]any)
		if len(m1) != 1 || len(m2) != 1 || encodeJSON(m1[0]) == encodeJSON(m2[0]) || p2.Str("next_cursor") != "" {
			t.Errorf("pages: %s / %s", p1.Raw, p2.Raw)
		}
		// Contacts and conversations by the visitor's name.
		if got := ids(search(biz.token, "vera@", "contacts"), "results"); len(got) != 2 {
			t.Errorf("contacts: %v", got)
		}
		if got := ids(search(biz.token, "Vera", "conversations"), "results"); len(got) != 2 {
			t.Errorf("conversations: %v", got)
		}
		for _, q := range []string{"", strings.Repeat("长", 201)} {
			if r := a.do("GET", "/api/v1/search?q="+url.QueryEscape(q), ann, nil); r.Status != 400 || r.Field("q") == "" {
				t.Errorf("q %q: %d %s", q, r.Status, r.Raw)
			}
		}
		if r := a.do("GET", "/api/v1/search?q=x&type=files", ann, nil); r.Status != 400 {
			t.Errorf("bad type: %d", r.Status)
		}
		if r := a.do("GET", "/api/v1/search?q=x", "", nil); r.Status != 401 {
			t.Errorf("no token: %d", r.Status)
		}
	})
}
