package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"kefu/api/apitest"

	"github.com/coder/websocket"
)

// TestTwoNodes runs two kefu processes on one PostgreSQL and one Redis: a
// visitor on node A and an agent on node B chat normally; then node A is
// killed (kill -9) while the visitor is sending, the visitor reconnects to
// node B with since and resends what was not acked, and nothing acked is
// lost or duplicated on either side.
func TestTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the two-node test")
	}
	dbURL, redisURL := os.Getenv("KEFU_TEST_DATABASE_URL"), os.Getenv("KEFU_TEST_REDIS_URL")
	if dbURL == "" || redisURL == "" {
		t.Skip("KEFU_TEST_DATABASE_URL/KEFU_TEST_REDIS_URL not set: skipping the two-node test")
	}
	bin := buildKefu(t)
	nodeA := startKefu(t, journeyConfig{bin: bin, dataDir: t.TempDir(), databaseURL: dbURL, redisURL: redisURL})
	nodeB := startKefu(t, journeyConfig{bin: bin, dataDir: t.TempDir(), databaseURL: dbURL, redisURL: redisURL})
	schemas := newTenantSchemas(t, dbURL)

	su := apitest.New(nodeA.baseURL()).Signup(t, "Two Nodes "+randHex(4), "o@example.com", "password1", "Olga")
	schemas.add(su.TenantID)

	agent := dialNode(t, nodeB, su.Token, nil)
	agent.Send(t, map[string]any{"type": "presence", "status": "online"})
	agent.waitFor(t, func(f map[string]any) bool { return f["type"] == "presence" })

	_, wsToken := apitest.New(nodeA.baseURL()).Visitor(t, su.WidgetKey, nil)
	visitor := dialNode(t, nodeA, wsToken, nil)

	// A normal exchange across the nodes.
	visitor.Send(t, map[string]any{"type": "message.send", "client_id": "hello", "body": "hello from node A"})
	ack := visitor.waitFor(t, func(f map[string]any) bool { return f["type"] == "ack" })
	conv := ack["conversation_id"].(string)
	agent.waitFor(t, func(f map[string]any) bool {
		return f["type"] == "message.new" && f["message"].(map[string]any)["body"] == "hello from node A"
	})
	agent.Send(t, map[string]any{"type": "message.send", "client_id": "reply", "conversation_id": conv, "body": "hello from node B"})
	visitor.waitFor(t, func(f map[string]any) bool {
		return f["type"] == "message.new" && f["message"].(map[string]any)["body"] == "hello from node B"
	})

	// Under load, node A dies.
	const total = 200
	acked := map[string]int64{} // client id → seq
	var killOnce sync.Once
	for i := 0; i < total; i++ {
		id := fmt.Sprintf("load-%03d", i)
		if i == total/3 {
			// Crash mid-stream, without waiting for anything in flight.
			go killOnce.Do(func() { nodeA.killQuietly() })
		}
		for attempt := 0; ; attempt++ {
			if attempt > 5 {
				t.Fatalf("%s: not acked after 5 reconnects", id)
			}
			if err := visitor.trySend(map[string]any{"type": "message.send", "client_id": id, "body": "load " + id}); err == nil {
				if f, err := visitor.next(func(f map[string]any) bool { return f["type"] == "ack" && f["client_id"] == id }, 3*time.Second); err == nil {
					acked[id] = int64(f["seq"].(float64))
					break
				}
			}
			// The socket or node is gone: reconnect to node B and resend
			// with the same client_id.
			visitor.CloseNow()
			visitor = dialNode(t, nodeB, wsToken, map[string]int64{conv: visitor.MaxSeq(conv)})
		}
	}
	if nodeA.running() {
		t.Fatal("node A was never killed")
	}

	// Every acked message reached the agent on node B exactly once, in order.
	last := int64(0)
	for _, seq := range acked {
		last = max(last, seq)
	}
	deadline := time.Now().Add(10 * time.Second)
	for agent.MaxSeq(conv) < last && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	seqs, dups := agent.seqs(conv)
	if dups > 0 {
		t.Fatalf("the agent received %d duplicate seqs", dups)
	}
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("agent's seqs are not 1..n without gaps: %v", seqs)
		}
	}
	for id, seq := range acked {
		if seq > int64(len(seqs)) {
			t.Fatalf("acked %s (seq %d) never reached the agent (last %d)", id, seq, len(seqs))
		}
	}
	// The store holds each client id once.
	var list struct {
		Messages []struct {
			ClientID string `json:"client_id"`
		} `json:"messages"`
	}
	get(t, nodeB.baseURL()+"/api/v1/conversations/"+conv+"/messages?limit=500", su.Token, &list)
	count := map[string]int{}
	for _, m := range list.Messages {
		count[m.ClientID]++
	}
	for id := range acked {
		if count[id] != 1 {
			t.Fatalf("%s stored %d times", id, count[id])
		}
	}
}

func post(t *testing.T, url, token string, body, out any) {
	t.Helper()
	doJSON(t, "POST", url, token, body, out)
}

func get(t *testing.T, url, token string, out any) {
	t.Helper()
	doJSON(t, "GET", url, token, nil, out)
}

// doJSON calls url (in full) and fails the test unless the answer is 2xx;
// out, if set, gets the answer decoded.
func doJSON(t *testing.T, method, url, token string, body, out any) {
	t.Helper()
	r := apitest.New("").As(token).Do(t, method, url, body)
	if r.Status/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, url, r.Status, r.Raw)
	}
	if out != nil {
		r.Into(t, out)
	}
}

// nodeSocket is a socket to one node (an apitest.Conn, which logs the seqs
// of message.new and ack frames per conversation) whose waits read frames
// as maps and drop the frames they pass over.
type nodeSocket struct{ *apitest.Conn }

func dialNode(t *testing.T, srv *kefuServer, token string, since map[string]int64) nodeSocket {
	t.Helper()
	s := nodeSocket{apitest.Dial(t, srv.wsURL(), apitest.DialOptions{Name: srv.addr, Discard: true, Timeout: journeyWait})}
	s.Send(t, map[string]any{"type": "hello", "token": token, "since": since})
	s.waitFor(t, func(f map[string]any) bool { return f["type"] == "welcome" })
	return s
}

func (s nodeSocket) trySend(v any) error {
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.WS.Write(ctx, websocket.MessageText, b)
}

func (s nodeSocket) next(match func(map[string]any) bool, d time.Duration) (map[string]any, error) {
	f, err := s.Next(func(f apitest.Frame) bool { return match(f.M) }, d)
	return f.M, err
}

func (s nodeSocket) waitFor(t *testing.T, match func(map[string]any) bool) map[string]any {
	t.Helper()
	f, err := s.next(match, journeyWait)
	if err != nil {
		t.Fatalf("waiting for a frame: %v", err)
	}
	return f
}

// seqs returns the distinct seqs received for conv, in arrival order, and
// how many message.new frames repeated a seq. (An ack may follow the
// message.new of the same seq: the socket's own message raced its ack.)
func (s nodeSocket) seqs(conv string) ([]int64, int) {
	had := map[int64]bool{}
	news := map[int64]bool{}
	var out []int64
	dups := 0
	for _, x := range s.Seqs(conv) {
		if !x.Ack {
			if news[x.Seq] {
				dups++
			}
			news[x.Seq] = true
		}
		if !had[x.Seq] {
			had[x.Seq] = true
			out = append(out, x.Seq)
		}
	}
	return out, dups
}
