package api_test

import (
	"strings"
	"testing"
	"time"
)

// flowGraph builds the acceptance flow: pro visitors go to a vip-skilled
// agent, everyone else waits in the queue.
func proFlow(expr string) map[string]any {
	return map[string]any{
		"nodes": []map[string]any{
			{"id": "start", "type": "start", "position": map[string]any{"x": 0, "y": 0}},
			{"id": "is_pro", "type": "condition", "data": map[string]any{"expr": expr}, "position": map[string]any{"x": 0, "y": 100}},
			{"id": "vip", "type": "assign", "data": map[string]any{"strategy": "skills", "skills": []string{"vip"}}, "position": map[string]any{"x": -100, "y": 200}},
			{"id": "wait", "type": "queue", "data": map[string]any{}, "position": map[string]any{"x": 100, "y": 200}},
		},
		"edges": []map[string]any{
			{"id": "e1", "source": "start", "target": "is_pro"},
			{"id": "e2", "source": "is_pro", "target": "vip", "label": "true"},
			{"id": "e3", "source": "is_pro", "target": "wait", "label": "false"},
		},
	}
}

func TestFlows(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Flows")
		// Two online agents: Val has the vip skill, Bo does not.
		val := a.must(201, "POST", "/api/v1/agents", biz.token, map[string]any{"email": "val@example.com", "name": "Vip Val", "password": "password1", "skills": []string{"vip"}})
		a.must(201, "POST", "/api/v1/agents", biz.token, map[string]any{"email": "bo@example.com", "name": "Bo", "password": "password1"})
		for _, email := range []string{"val@example.com", "bo@example.com"} {
			tok := a.must(200, "POST", "/api/v1/auth/login", "", map[string]any{"tenant": biz.slug, "email": email, "password": "password1"}).Str("token")
			w := a.connect(t, tok, nil)
			w.send(map[string]any{"type": "presence", "status": "online"})
			w.expect("presence")
		}

		t.Run("a new tenant has the default flow, published", func(t *testing.T) {
			r := a.must(200, "GET", "/api/v1/flows", biz.token, nil)
			if !strings.Contains(r.Raw, `"id":"default"`) || !strings.Contains(r.Raw, `"status":"published"`) {
				t.Fatalf("flows: %s", r.Raw)
			}
		})

		t.Run("an invalid expression is 422 naming the node", func(t *testing.T) {
			r := a.do("POST", "/api/v1/flows", biz.token, map[string]any{"name": "Pro", "graph": proFlow(`visitor.plan ==`)})
			if r.Status != 422 || r.Code() != "invalid_flow" || r.Field("is_pro") == "" {
				t.Fatalf("got %d %s", r.Status, r.Raw)
			}
			if r := a.do("POST", "/api/v1/flows", biz.token, map[string]any{"name": "x", "graph": "nope"}); r.Status != 400 {
				t.Fatalf("bad graph JSON: %d %s", r.Status, r.Raw)
			}
			if r := a.do("POST", "/api/v1/flows", biz.token, map[string]any{"name": "", "graph": proFlow("true")}); r.Status != 400 || r.Field("name") == "" {
				t.Fatalf("missing name: %d %s", r.Status, r.Raw)
			}
		})

		var flowID string
		t.Run("a valid flow saves as a draft, simulates with a trace, and publishes", func(t *testing.T) {
			r := a.must(201, "POST", "/api/v1/flows", biz.token, map[string]any{"name": "Pro", "graph": proFlow(`visitor.attributes.plan == "pro"`)})
			flowID = r.Str("id")
			if r.Str("status") != "draft" || r.Str("version") != "1" {
				t.Fatalf("created: %s", r.Raw)
			}
			sim := a.must(200, "POST", "/api/v1/flows/"+flowID+"/simulate", biz.token, map[string]any{"event": "conversation.created", "visitor": map[string]any{"attributes": map[string]any{"plan": "pro"}}, "message": map[string]any{"text": "hi"}})
			if sim.Str("result", "action") != "assign" || sim.Str("result", "agent_id") != val.Str("id") {
				t.Fatalf("simulate pro: %s", sim.Raw)
			}
			trace, _ := sim.Body["trace"].([]any)
			if len(trace) != 3 || trace[1].(map[string]any)["outcome"] != "true" {
				t.Fatalf("trace: %v", trace)
			}
			free := a.must(200, "POST", "/api/v1/flows/"+flowID+"/simulate", biz.token, map[string]any{"visitor": map[string]any{"attributes": map[string]any{"plan": "free"}}})
			if free.Str("result", "action") != "queue" {
				t.Fatalf("simulate free: %s", free.Raw)
			}
			if r := a.do("POST", "/api/v1/flows/"+flowID+"/simulate", biz.token, map[string]any{"event": "sneeze"}); r.Status != 400 {
				t.Fatalf("bad event: %s", r.Raw)
			}
			// Simulating assigns nobody and stores nothing.
			list := a.must(200, "GET", "/api/v1/conversations", biz.token, nil)
			if strings.Contains(list.Raw, `"id"`) {
				t.Fatalf("simulation created conversations: %s", list.Raw)
			}
			p := a.must(200, "POST", "/api/v1/flows/"+flowID+"/publish", biz.token, nil)
			if p.Str("status") != "published" || p.Str("active") != "true" {
				t.Fatalf("publish: %s", p.Raw)
			}
		})

		t.Run("a pro visitor goes to the vip agent, a free one waits with queue frames", func(t *testing.T) {
			_, proTok := visitorWith(a, biz.widgetKey, "pro")
			pv := a.connect(t, proTok, nil)
			pv.send(map[string]any{"type": "message.send", "client_id": "p1", "body": "I am pro"})
			proConv := pv.expect("ack")["conversation_id"].(string)
			c := a.settle(biz.token, proConv)
			if c.Str("status") != "assigned" || c.Str("assignee_id") != val.Str("id") {
				t.Fatalf("pro conversation: %s", c.Raw)
			}
			_, freeTok := visitorWith(a, biz.widgetKey, "free")
			fv := a.connect(t, freeTok, nil)
			fv.send(map[string]any{"type": "message.send", "client_id": "f1", "body": "I am free"})
			freeConv := fv.expect("ack")["conversation_id"].(string)
			if c := a.settle(biz.token, freeConv); c.Str("status") != "queued" {
				t.Fatalf("free conversation: %s", c.Raw)
			}
			q := fv.expect("queue")
			if q["conversation_id"] != freeConv || num(q["position"]) != 1 || q["estimated_wait_seconds"] != nil {
				// No conversation has left this tenant's queue yet: the
				// wait is unknown, not a made-up minute.
				t.Fatalf("queue frame: %v", q)
			}
			ev := a.must(200, "GET", "/api/v1/conversations/"+freeConv+"/events", biz.token, nil)
			if !strings.Contains(ev.Raw, `"routing"`) || !strings.Contains(ev.Raw, `"wait"`) {
				t.Fatalf("decision log: %s", ev.Raw)
			}
		})

		t.Run("replay reports what a draft would route differently", func(t *testing.T) {
			a.must(200, "PUT", "/api/v1/flows/"+flowID, biz.token, map[string]any{"name": "Pro v2", "graph": proFlow(`visitor.attributes.plan == "nobody"`)})
			rep := a.must(200, "POST", "/api/v1/flows/"+flowID+"/replay", biz.token, map[string]any{"limit": 10})
			if rep.Str("total") != "2" || rep.Str("different") != "1" {
				t.Fatalf("replay: %s", rep.Raw)
			}
		})

		t.Run("rollback restores the old routing", func(t *testing.T) {
			a.must(200, "POST", "/api/v1/flows/"+flowID+"/publish", biz.token, nil) // v2: nobody is pro
			_, tok := visitorWith(a, biz.widgetKey, "pro")
			v := a.connect(t, tok, nil)
			v.send(map[string]any{"type": "message.send", "client_id": "x", "body": "pro again"})
			conv := v.expect("ack")["conversation_id"].(string)
			if c := a.settle(biz.token, conv); c.Str("status") != "queued" {
				t.Fatalf("under v2 a pro visitor should wait: %s", c.Raw)
			}
			vs := a.must(200, "GET", "/api/v1/flows/"+flowID+"/versions", biz.token, nil)
			if n := len(vs.Body["versions"].([]any)); n != 2 {
				t.Fatalf("versions: %s", vs.Raw)
			}
			rb := a.must(200, "POST", "/api/v1/flows/"+flowID+"/rollback", biz.token, map[string]any{"version": 1})
			if rb.Str("published_version") != "1" || rb.Str("status") != "draft" {
				t.Fatalf("rollback: %s", rb.Raw)
			}
			_, tok2 := visitorWith(a, biz.widgetKey, "pro")
			v2 := a.connect(t, tok2, nil)
			v2.send(map[string]any{"type": "message.send", "client_id": "y", "body": "pro after rollback"})
			conv2 := v2.expect("ack")["conversation_id"].(string)
			if c := a.settle(biz.token, conv2); c.Str("assignee_id") != val.Str("id") {
				t.Fatalf("after rollback: %s", c.Raw)
			}
			if r := a.do("POST", "/api/v1/flows/"+flowID+"/rollback", biz.token, map[string]any{"version": 9}); r.Status != 404 {
				t.Fatalf("rollback to a missing version: %s", r.Raw)
			}
		})

		t.Run("agents may not edit flows, and other tenants cannot see them", func(t *testing.T) {
			tok := a.must(200, "POST", "/api/v1/auth/login", "", map[string]any{"tenant": biz.slug, "email": "bo@example.com", "password": "password1"}).Str("token")
			a.must(403, "POST", "/api/v1/flows", tok, map[string]any{"name": "x", "graph": proFlow("true")})
			other := a.signup("Other Flows")
			for _, p := range []string{"/api/v1/flows/" + flowID, "/api/v1/flows/" + flowID + "/versions"} {
				a.must(404, "GET", p, other.token, nil)
			}
			a.must(404, "POST", "/api/v1/flows/"+flowID+"/publish", other.token, nil)
		})
	})
}

func visitorWith(a *app, widgetKey, plan string) (string, string) {
	a.t.Helper()
	r := a.must(201, "POST", "/api/v1/widget/sessions", "", map[string]any{"widget_key": widgetKey, "visitor": map[string]any{"name": "V " + plan, "attributes": map[string]any{"plan": plan}}})
	return r.Str("visitor_id"), r.Str("visitor_token")
}

// TestQueueTimeout: a conversation waiting at a queue node past its
// timeout resumes by the node's timeout branch.
func TestQueueTimeout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Overflow")
		graph := map[string]any{
			"nodes": []map[string]any{
				{"id": "start", "type": "start"},
				{"id": "wait", "type": "queue", "data": map[string]any{"timeout_seconds": 1}},
				{"id": "sorry", "type": "reply", "data": map[string]any{"text": "Still busy, sorry! Leave your email and we will write."}},
				{"id": "done", "type": "end"},
			},
			"edges": []map[string]any{
				{"id": "e1", "source": "start", "target": "wait"},
				{"id": "e2", "source": "wait", "target": "sorry", "label": "timeout"},
				{"id": "e3", "source": "sorry", "target": "done"},
			},
		}
		f := a.must(201, "POST", "/api/v1/flows", biz.token, map[string]any{"name": "Overflow", "graph": graph})
		a.must(200, "POST", "/api/v1/flows/"+f.Str("id")+"/publish", biz.token, nil)
		_, tok := a.visitor(biz.widgetKey)
		v := a.connect(t, tok, nil)
		v.send(map[string]any{"type": "message.send", "client_id": "1", "body": "anyone?"})
		conv := v.expect("ack")["conversation_id"].(string)
		if c := a.settle(biz.token, conv); c.Str("status") != "queued" {
			t.Fatalf("first: %s", c.Raw)
		}
		v.expect("queue")
		for {
			m := v.expect("message.new")
			if strings.HasPrefix(m["message"].(map[string]any)["body"].(string), "Still busy") {
				break
			}
		}
		// The reply is sent during the run; the status follows when it ends.
		deadline := time.Now().Add(5 * time.Second)
		for {
			c := a.must(200, "GET", "/api/v1/conversations/"+conv, biz.token, nil)
			if c.Str("status") == "bot" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after the timeout branch ended the flow: %s", c.Raw)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
