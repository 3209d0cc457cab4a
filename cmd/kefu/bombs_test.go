package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"kefu/api/apitest"
)

// TestExpressionBombs is the acceptance test of security finding 1: the
// real binary, under a 4 GB address-space cap (ulimit -v), gets every
// expression bomb through the public API — simulated as a draft, then all
// of them published in one flow that a visitor's message runs — and must
// refuse or stop each one, keep answering, and stay alive. Before the
// sandbox the first simulate killed it (fatal error: out of memory).
func TestExpressionBombs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real server: skipped in -short mode")
	}
	bin := buildKefu(t)
	const fourGB = 4 << 20 // KiB
	t.Run("embedded_sqlite", func(t *testing.T) {
		throwBombs(t, startKefu(t, journeyConfig{bin: bin, dataDir: t.TempDir(), addressSpaceKB: fourGB}), nil)
	})
	t.Run("postgres_and_redis", func(t *testing.T) {
		dbURL, redisURL := os.Getenv("KEFU_TEST_DATABASE_URL"), os.Getenv("KEFU_TEST_REDIS_URL")
		if dbURL == "" || redisURL == "" {
			t.Skip("KEFU_TEST_DATABASE_URL/KEFU_TEST_REDIS_URL not set: skipping PostgreSQL+Redis")
		}
		schemas := newTenantSchemas(t, dbURL)
		throwBombs(t, startKefu(t, journeyConfig{bin: bin, dataDir: t.TempDir(), databaseURL: dbURL, redisURL: redisURL, addressSpaceKB: fourGB}), schemas)
	})
}

// doublings is `let a0=zero; let a1=double(a0); …; len(an)>0`, X standing
// for the previous binding in double.
func doublings(n int, zero, double string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "let a0=%s;", zero)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "let a%d=%s;", i, strings.ReplaceAll(double, "X", fmt.Sprintf("a%d", i-1)))
	}
	fmt.Fprintf(&b, "len(a%d)>0", n)
	return b.String()
}

// expressionBombs are boolean expressions that try to take all memory or
// a long time: growth by doubling, by builders, by nesting, by loops.
func expressionBombs() []string {
	return []string{
		doublings(40, "visitor.name+visitor.name", "X+X"), // the review's
		doublings(30, "message.text", "X+X"),
		doublings(40, "[visitor.name]", "[X, X]"),
		doublings(24, "{a: message.text}", "{a: X, b: X}"),
		doublings(40, "1..100", "concat(X, X)"),
		doublings(40, "message.text", "toBase64(X)"),
		doublings(30, "message.text", "replace(X, \"a\", \"aa\")"),
		doublings(30, "[message.text]", "flatten([X, X])"),
		doublings(30, "message.text", "join([X, X], X)"),
		`len(reduce(1..64, {#acc + #acc}, visitor.name)) > 0`,
		`len(reduce(1..64, {concat(#acc, #acc)}, [1])) > 0`,
		`len(reduce(1..10000, {[#acc, #acc]}, [])) > 0`,
		`len(map(1..10000, {map(1..10000, {#})})) > 0`,
		`len(flatten(map(1..1000, {1..1000}))) > 0`,
		`len(1..1000000000) > 0`,
		`get(1..1000000000, 5) > 0`,
		`sum(1..1000000000) > 0`,
		`max(map(1..10000, {len(repeat(message.text, #))})) > 0`,
		`all(1..10000, {len(sort(1..10000)) > 0})`,
		`len(uniq(1..10000)) > 0`,
		`len(join(map(1..10000, {message.text}), ",")) > 0`,
		`len(toJSON(map(1..10000, {visitor}))) > 0`,
		`len(string(map(1..10000, {visitor.attributes}))) > 0`,
		`len(repeat(visitor.name, 1000000000)) > 0`,
		`len(replace(message.text, "a", message.text)) > 0`,
		`len(split(message.text + message.text, "")) > 0`,
		`(message.text + message.text) | split("a") | map({# + message.text}) | join("") | len() > 0`,
		`len(map(1..10000, {message.text + visitor.name})) > 0`,
		`len(keys(fromPairs(map(1..10000, {[string(#), message.text]})))) > 0`,
		`any(1..10000, {any(1..10000, {any(1..10000, {false})})})`,
		`count(1..10000, {count(1..10000, {# > 0}) == 10000}) == 10000`,
		`any(1..10000, {any(1..10000, {message.text contains "zz"})})`,
		`contains_any(message.text, map(1..10000, {"z" + string(#)}))`,
		`len(` + strings.Repeat("[", 140) + "1" + strings.Repeat("]", 140) + `) > 0`,
		`fromJSON(repeat("[", 5000) + repeat("]", 5000)) != nil`,
		`none(1..10000, {message.text + "!" matches "(a+)+$"})`,
		`none(1..10000, {message.text matches "(a|aa)*b"})`,
		`message.text matches message.text`,
		`message.text matches "(a{1000}){1000}"`,
		`message.text matches "((a{1,10}){1,10}){1,10}b"`,
		`all(1..10000, {map(1..5000, {#}) == map(1..5000, {#})})`,
		`let r = 1..9000; all(1..10000, {-1 not in r})`,
		`len(toJSON($env)) > 0`,
		`len(groupBy(1..10000, # % 7)) > 0`,
		`date("2026-01-01").Year() > 0`,
	}
}

// bombFlow chains the expressions as conditions (every branch to the next)
// and ends with a set node that tries to store a large value, then a queue.
func bombFlow(exprs []string) map[string]any {
	nodes := []map[string]any{{"id": "start", "type": "start"}}
	var edges []map[string]any
	prev, labels := "start", []string{""}
	link := func(id string) {
		for _, l := range labels {
			edges = append(edges, map[string]any{"id": fmt.Sprintf("%s-%s-%s", prev, l, id), "source": prev, "target": id, "label": l})
		}
	}
	for i, e := range exprs {
		id := fmt.Sprintf("b%d", i)
		nodes = append(nodes, map[string]any{"id": id, "type": "condition", "data": map[string]any{"expr": e}})
		link(id)
		prev, labels = id, []string{"true", "false", "error"}
	}
	nodes = append(nodes, map[string]any{"id": "big", "type": "set", "data": map[string]any{"attribute": "big", "expr": `map(1..10000, {visitor})`}})
	link("big")
	prev, labels = "big", []string{"", "error"}
	nodes = append(nodes, map[string]any{"id": "q", "type": "queue"})
	link("q")
	return map[string]any{"nodes": nodes, "edges": edges}
}

func throwBombs(t *testing.T, srv *kefuServer, schemas *tenantSchemas) {
	api := newAPIClient(srv)
	r := api.Post(t, "/api/v1/signup", map[string]any{"company": "Evil " + randHex(4), "email": "e-" + randHex(4) + "@evil.test", "password": "password-1", "name": "E"}).Want(t, http.StatusCreated)
	var s apitest.SignupAnswer
	r.Into(t, &s)
	if schemas != nil {
		schemas.add(s.Tenant.ID)
	}
	owner := api.As(s.Token)
	var flow struct {
		ID string `json:"id"`
	}
	owner.Post(t, "/api/v1/flows", map[string]any{"name": "bombs", "graph": bombFlow([]string{"true"})}).Want(t, http.StatusCreated).Into(t, &flow)
	name := strings.Repeat("x", 64)
	alive := func(t *testing.T) {
		t.Helper()
		if !srv.running() {
			srv.logged = true
			t.Fatalf("kefu died; its output:\n%s", srv.log.tail(8<<10))
		}
		api.Get(t, "/healthz").Want(t, http.StatusOK)
	}

	var kept []string
	for i, expr := range expressionBombs() {
		res, err := owner.Call(http.MethodPost, "/api/v1/flows/"+flow.ID+"/simulate", map[string]any{
			"event": "message.created", "visitor": map[string]any{"name": name}, "message": map[string]any{"text": strings.Repeat("a", 16*1024)},
			"graph": bombFlow([]string{expr}),
		})
		if err != nil {
			t.Fatalf("bomb %d (%.80s): %v", i, expr, err)
		}
		switch res.Status {
		case http.StatusOK:
			kept = append(kept, expr)
			var sim struct {
				Trace []struct{ Node, Outcome, Detail string } `json:"trace"`
			}
			res.Into(t, &sim)
			if len(sim.Trace) < 2 || sim.Trace[1].Outcome != "error" {
				t.Errorf("bomb %d (%.80s) was not stopped: %s", i, expr, res)
			}
		case http.StatusUnprocessableEntity:
			res.WantError(t, http.StatusUnprocessableEntity, "invalid_flow")
		default:
			t.Errorf("bomb %d (%.80s): %s", i, expr, res)
		}
		alive(t)
	}

	owner.Do(t, http.MethodPut, "/api/v1/flows/"+flow.ID, map[string]any{"name": "bombs", "graph": bombFlow(kept)}).Want(t, http.StatusOK)
	owner.Post(t, "/api/v1/flows/"+flow.ID+"/publish", nil).Want(t, http.StatusOK)
	var ws apitest.WidgetSession
	api.Post(t, "/api/v1/widget/sessions", map[string]any{"widget_key": s.Tenant.WidgetKey, "visitor": map[string]any{"name": name}}).Want(t, http.StatusCreated).Into(t, &ws)
	v := dialWS(t, srv, "visitor", nil)
	v.Hello(t, ws.VisitorToken, nil, journeyWait)
	v.Send(t, map[string]any{"type": "message.send", "client_id": "boom", "body": strings.Repeat("a", 16*1024)})
	ack := v.Expect(t, "ack", journeyWait)
	deadline := time.Now().Add(journeyWait)
	for {
		var c apitest.Conversation
		owner.Get(t, "/api/v1/conversations/"+ack.ConversationID).Want(t, http.StatusOK).Into(t, &c)
		if c.Status == "queued" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the visitor's conversation was not routed: %+v", c)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var evs struct {
		Events []struct {
			Detail json.RawMessage `json:"detail"`
		} `json:"events"`
	}
	owner.Get(t, "/api/v1/conversations/"+ack.ConversationID+"/events").Want(t, http.StatusOK).Into(t, &evs)
	if len(evs.Events) != 1 || !strings.Contains(string(evs.Events[0].Detail), "budget is spent") {
		t.Errorf("the routing log: %+v", evs)
	}
	alive(t)
}
