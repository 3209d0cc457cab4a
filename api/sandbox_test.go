package api_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"kefu/chat"
	"kefu/routing"
	"kefu/tenants/tenantstest"
)

// reviewBomb is the expression of the security review (finding 1): 40
// doublings of the visitor's name by let, 2^46 bytes if nothing stops them.
func reviewBomb() string {
	var b strings.Builder
	b.WriteString("let a0=visitor.name+visitor.name;")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "let a%d=a%d+a%d;", i, i-1, i-1)
	}
	b.WriteString("len(a40)>0")
	return b.String()
}

// bombGraph is the review's graph: start → c (the expression) → q on true
// and false, and no error branch.
func bombGraph(expr string) map[string]any {
	return map[string]any{
		"nodes": []map[string]any{{"id": "start", "type": "start"}, {"id": "c", "type": "condition", "data": map[string]any{"expr": expr}}, {"id": "q", "type": "queue"}},
		"edges": []map[string]any{{"id": "e1", "source": "start", "target": "c"}, {"id": "e2", "source": "c", "target": "q", "label": "true"}, {"id": "e3", "source": "c", "target": "q", "label": "false"}},
	}
}

// TestExpressionBombOverAPI: the review's three requests (signup, create,
// simulate) and its persistent variant (publish, one visitor message) end
// with the bomb stopped, the conversation queued and the server answering.
func TestExpressionBombOverAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		evil := a.signup("Evil")
		name := strings.Repeat("x", 64)
		f := a.must(201, "POST", "/api/v1/flows", evil.token, map[string]any{"name": "f", "graph": bombGraph("true")})
		flowID := f.Str("id")

		t.Run("simulating the bomb as a draft stops it and queues", func(t *testing.T) {
			sim := a.must(200, "POST", "/api/v1/flows/"+flowID+"/simulate", evil.token, map[string]any{"event": "conversation.created", "visitor": map[string]any{"name": name}, "graph": bombGraph(reviewBomb())})
			trace, _ := sim.Body["trace"].([]any)
			if sim.Str("result", "action") != "queue" || len(trace) < 2 {
				t.Fatalf("simulate: %s", sim.Raw)
			}
			c := trace[1].(map[string]any)
			if c["node"] != "c" || c["outcome"] != "error" || !strings.Contains(c["detail"].(string), "over the limit") {
				t.Fatalf("the condition's step: %v", c)
			}
		})

		t.Run("the bomb saves and publishes, and a visitor message is routed", func(t *testing.T) {
			a.must(200, "PUT", "/api/v1/flows/"+flowID, evil.token, map[string]any{"name": "f", "graph": bombGraph(reviewBomb())})
			sim := a.must(200, "POST", "/api/v1/flows/"+flowID+"/simulate", evil.token, map[string]any{"visitor": map[string]any{"name": name}})
			if sim.Str("result", "action") != "queue" {
				t.Fatalf("simulate the saved version: %s", sim.Raw)
			}
			a.must(200, "POST", "/api/v1/flows/"+flowID+"/publish", evil.token, nil)
			r := a.must(201, "POST", "/api/v1/widget/sessions", "", map[string]any{"widget_key": evil.widgetKey, "visitor": map[string]any{"name": name}})
			v := a.connect(t, r.Str("visitor_token"), nil)
			v.send(map[string]any{"type": "message.send", "client_id": "boom", "body": "hello"})
			conv := v.expect("ack")["conversation_id"].(string)
			if c := a.settle(evil.token, conv); c.Str("status") != "queued" {
				t.Fatalf("the conversation: %s", c.Raw)
			}
			ev := a.must(200, "GET", "/api/v1/conversations/"+conv+"/events", evil.token, nil)
			if !strings.Contains(ev.Raw, "over the limit") {
				t.Fatalf("the routing log does not say why: %s", ev.Raw)
			}
		})

		t.Run("the server still answers every tenant", func(t *testing.T) {
			a.must(200, "GET", "/healthz", "", nil)
			other := a.signup("Bystander")
			_, tok := a.visitor(other.widgetKey)
			v := a.connect(t, tok, nil)
			v.send(map[string]any{"type": "message.send", "client_id": "hi", "body": "still there?"})
			v.expect("ack")
		})

		t.Run("a dynamic regex is refused when saved, naming the node", func(t *testing.T) {
			r := a.do("POST", "/api/v1/flows", evil.token, map[string]any{"name": "re", "graph": bombGraph("message.text matches message.text")})
			if r.Status != 422 || r.Code() != "invalid_flow" || !strings.Contains(r.Field("c"), "string literal") {
				t.Fatalf("got %d %s", r.Status, r.Raw)
			}
		})

		t.Run("an oversized sample event is 413", func(t *testing.T) {
			r := a.do("POST", "/api/v1/flows/"+flowID+"/simulate", evil.token, map[string]any{"message": map[string]any{"text": strings.Repeat("x", routing.MaxInputBytes)}})
			if r.Status != 413 || r.Code() != "too_large" {
				t.Fatalf("got %d %s", r.Status, r.Raw)
			}
		})

		t.Run("replay says whether it was cut short", func(t *testing.T) {
			rep := a.must(200, "POST", "/api/v1/flows/"+flowID+"/replay", evil.token, nil)
			if rep.Str("truncated") != "false" || rep.Str("total") != "1" {
				t.Fatalf("replay: %s", rep.Raw)
			}
		})
	})
}

// TestConcurrentSimulations: past the tenant's concurrent simulations (and
// a short wait), simulate answers 429 rate_limited; the others run.
func TestConcurrentSimulations(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			a := newAppWithChat(t, b.Store, chat.Config{Simulations: 1, SimulateWait: time.Millisecond})
			biz := a.signup("Busy")
			// Each run spends its whole evaluation time.
			slow := bombGraph(`any(1..10000, {any(1..10000, {message.text contains "zz"})})`)
			f := a.must(201, "POST", "/api/v1/flows", biz.token, map[string]any{"name": "slow", "graph": slow})
			var mu sync.Mutex
			statuses := map[int]int{}
			var wg sync.WaitGroup
			for i := 0; i < 6; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := a.do("POST", "/api/v1/flows/"+f.Str("id")+"/simulate", biz.token, map[string]any{"message": map[string]any{"text": strings.Repeat("a", 16384)}})
					if r.Status == 429 && r.Code() != "rate_limited" {
						t.Errorf("429 with %s", r.Raw)
					}
					mu.Lock()
					statuses[r.Status]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if statuses[200] == 0 || statuses[429] == 0 || statuses[200]+statuses[429] != 6 {
				t.Fatalf("statuses %v, want some 200 and some 429", statuses)
			}
		})
	}
}
