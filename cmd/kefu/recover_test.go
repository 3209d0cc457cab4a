package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"kefu/api/apitest"
)

// TestDurableWorkSurvivesKill9 runs two nodes on PostgreSQL and Redis and,
// for each piece of work that waits for a time or a slow step, kills the
// node that planned it (kill -9) in the middle: the surviving node must
// finish it, and each conversation ends where it should.
//   - An agent's away grace: the agent's last socket closed on node A, A
//     dies within the grace; their waiting conversation is back in the
//     queue once the grace has passed (and not before).
//   - A queue deadline: a flow queued the conversation with a 3 s timeout
//     on node A, A dies; the flow still takes its timeout branch.
//   - A flow run: node A's flow is waiting on a slow webhook when it dies;
//     the conversation does not stay with the bot, it is queued.
//   - A snooze: set through A, A dies; the conversation wakes on time.
func TestDurableWorkSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the kill -9 recovery test")
	}
	dbURL, redisURL := os.Getenv("KEFU_TEST_DATABASE_URL"), os.Getenv("KEFU_TEST_REDIS_URL")
	if dbURL == "" || redisURL == "" {
		t.Skip("KEFU_TEST_DATABASE_URL/KEFU_TEST_REDIS_URL not set: skipping the kill -9 recovery test")
	}
	const grace = 4 * time.Second
	env := []string{"KEFU_AGENT_AWAY_GRACE=" + grace.String(), "KEFU_JOBS_POLL=200ms", "KEFU_RECOVER_EVERY=1s",
		"KEFU_RECOVER_STUCK_AFTER=2s"}
	bin := buildKefu(t)
	nodeA := startKefu(t, journeyConfig{bin: bin, dataDir: t.TempDir(), databaseURL: dbURL, redisURL: redisURL, env: env})
	nodeB := startKefu(t, journeyConfig{bin: bin, dataDir: t.TempDir(), databaseURL: dbURL, redisURL: redisURL, env: env})
	schemas := newTenantSchemas(t, dbURL)

	type workspace struct{ id, widgetKey, token string }
	signup := func(t *testing.T, name string) workspace {
		t.Helper()
		su := apitest.New(nodeB.baseURL()).Signup(t, name+" "+randHex(4), "o@example.com", "password1", "Olga")
		schemas.add(su.TenantID)
		return workspace{su.TenantID, su.WidgetKey, su.Token}
	}
	publishFlow := func(t *testing.T, w workspace, nodes, edges []map[string]any) {
		t.Helper()
		var f struct{ ID string }
		post(t, nodeB.baseURL()+"/api/v1/flows", w.token, map[string]any{"name": "Recovery", "graph": map[string]any{"nodes": nodes, "edges": edges}}, &f)
		post(t, nodeB.baseURL()+"/api/v1/flows/"+f.ID+"/publish", w.token, nil, nil)
	}
	// visitorWrites opens a conversation through node and returns its id.
	visitorWrites := func(t *testing.T, node *kefuServer, w workspace, body string) string {
		t.Helper()
		_, wsToken := apitest.New(node.baseURL()).Visitor(t, w.widgetKey, nil)
		v := dialNode(t, node, wsToken, nil)
		defer v.CloseNow()
		v.Send(t, map[string]any{"type": "message.send", "client_id": newClientID("v"), "body": body})
		ack := v.waitFor(t, func(f map[string]any) bool { return f["type"] == "ack" })
		return ack["conversation_id"].(string)
	}
	type conversation struct {
		Status       string  `json:"status"`
		AssigneeID   *string `json:"assignee_id"`
		SnoozedUntil *string `json:"snoozed_until"`
	}
	conv := func(t *testing.T, node *kefuServer, w workspace, id string) conversation {
		t.Helper()
		var c conversation
		get(t, node.baseURL()+"/api/v1/conversations/"+id, w.token, &c)
		return c
	}
	bodies := func(t *testing.T, node *kefuServer, w workspace, id string) string {
		t.Helper()
		var page struct {
			Data []struct {
				Body string `json:"body"`
			} `json:"messages"`
		}
		get(t, node.baseURL()+"/api/v1/conversations/"+id+"/messages", w.token, &page)
		var out []string
		for _, m := range page.Data {
			out = append(out, m.Body)
		}
		return strings.Join(out, " | ")
	}
	restartA := func(t *testing.T) {
		t.Helper()
		if !nodeA.running() {
			nodeA.start(t)
		}
	}

	t.Run("away grace: the agent's node dies within it", func(t *testing.T) {
		defer restartA(t)
		w := signup(t, "Grace")
		agent := dialNode(t, nodeA, w.token, nil)
		agent.Send(t, map[string]any{"type": "presence", "status": "online"})
		agent.waitFor(t, func(f map[string]any) bool { return f["type"] == "presence" })
		id := visitorWrites(t, nodeB, w, "is anyone there?")
		waitUntil(t, 10*time.Second, "the conversation to be assigned", func() bool { return conv(t, nodeB, w, id).Status == "assigned" })
		agent.CloseNow() // the agent's last socket: the grace starts on node A
		time.Sleep(500 * time.Millisecond)
		nodeA.kill(t)
		closed := time.Now()
		time.Sleep(grace / 2)
		if c := conv(t, nodeB, w, id); c.Status != "assigned" {
			t.Fatalf("requeued before the grace had passed: %+v", c)
		}
		waitUntil(t, grace+10*time.Second, "the conversation back in the queue after the grace", func() bool { return conv(t, nodeB, w, id).Status == "queued" })
		if d := time.Since(closed); d < grace-time.Second {
			t.Fatalf("requeued %v after the agent left, before the %v grace", d, grace)
		}
	})

	t.Run("queue deadline: the node that queued dies", func(t *testing.T) {
		defer restartA(t)
		w := signup(t, "Deadline")
		publishFlow(t, w, []map[string]any{
			{"id": "start", "type": "start"},
			{"id": "wait", "type": "queue", "data": map[string]any{"timeout_seconds": 3}},
			{"id": "late", "type": "reply", "data": map[string]any{"text": "Everyone is busy: we will write back by email."}},
			{"id": "end", "type": "end"},
		}, []map[string]any{
			{"id": "e1", "source": "start", "target": "wait"},
			{"id": "e2", "source": "wait", "target": "late", "label": "timeout"},
			{"id": "e3", "source": "late", "target": "end"},
		})
		id := visitorWrites(t, nodeA, w, "hello?")
		waitUntil(t, 10*time.Second, "the conversation to be queued", func() bool { return conv(t, nodeB, w, id).Status == "queued" })
		nodeA.kill(t)
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(bodies(t, nodeB, w, id), "we will write back by email") {
			if time.Now().After(deadline) {
				t.Fatalf("the timeout branch did not run on the surviving node: %+v, messages %s", conv(t, nodeB, w, id), bodies(t, nodeB, w, id))
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The reply is stored before the run's end hands the conversation
		// back to the bot (seen once in go test -count=3: status queued
		// right after the reply), so the status is waited for, not read once.
		waitUntil(t, 10*time.Second, "the conversation with the bot after the timeout branch", func() bool { return conv(t, nodeB, w, id).Status == "bot" })
		if n := strings.Count(bodies(t, nodeB, w, id), "we will write back by email"); n != 1 {
			t.Fatalf("the timeout branch ran %d times: %s", n, bodies(t, nodeB, w, id))
		}
	})

	t.Run("flow run: the node dies while the flow waits on a webhook", func(t *testing.T) {
		defer restartA(t)
		w := signup(t, "Stuck")
		var once sync.Once
		called, stop := make(chan struct{}), make(chan struct{})
		hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			once.Do(func() { close(called) })
			select { // hang until the caller is gone
			case <-r.Context().Done():
			case <-stop:
			}
		}))
		t.Cleanup(func() { close(stop); hook.Close() })
		publishFlow(t, w, []map[string]any{
			{"id": "start", "type": "start"},
			{"id": "hook", "type": "webhook", "data": map[string]any{"url": hook.URL + "/slow", "timeout_ms": 25000}},
			{"id": "assign", "type": "assign", "data": map[string]any{"strategy": "round_robin"}},
		}, []map[string]any{
			{"id": "e1", "source": "start", "target": "hook"},
			{"id": "e2", "source": "hook", "target": "assign"},
		})
		id := visitorWrites(t, nodeA, w, "help")
		select {
		case <-called:
		case <-time.After(15 * time.Second):
			t.Fatal("the flow never called the webhook")
		}
		nodeA.kill(t)
		if c := conv(t, nodeB, w, id); c.Status != "bot" {
			t.Fatalf("before the recovery: %+v", c)
		}
		waitUntil(t, 20*time.Second, "the conversation a dead flow run left with the bot to be queued", func() bool {
			return conv(t, nodeB, w, id).Status == "queued"
		})
	})

	t.Run("snooze: set through the node that dies", func(t *testing.T) {
		defer restartA(t)
		w := signup(t, "Snooze")
		id := visitorWrites(t, nodeA, w, "later please")
		until := time.Now().Add(3 * time.Second).UTC().Format(time.RFC3339Nano)
		doJSON(t, "PATCH", nodeA.baseURL()+"/api/v1/conversations/"+id, w.token, map[string]any{"snoozed_until": until}, nil)
		if c := conv(t, nodeB, w, id); c.SnoozedUntil == nil {
			t.Fatalf("not snoozed: %+v", c)
		}
		nodeA.kill(t)
		waitUntil(t, 15*time.Second, "the snooze to end", func() bool { return conv(t, nodeB, w, id).SnoozedUntil == nil })
	})
}
