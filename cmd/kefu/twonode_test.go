package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

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

	var su struct {
		Tenant struct {
			ID        string `json:"id"`
			WidgetKey string `json:"widget_key"`
		} `json:"tenant"`
		Token string `json:"token"`
	}
	post(t, nodeA.baseURL()+"/api/v1/signup", "", map[string]any{"company": "Two Nodes " + randHex(4), "email": "o@example.com", "password": "password1", "name": "Olga"}, &su)
	schemas.add(su.Tenant.ID)

	agent := dialNode(t, nodeB, su.Token, nil)
	agent.send(t, map[string]any{"type": "presence", "status": "online"})
	agent.waitFor(t, func(f map[string]any) bool { return f["type"] == "presence" })

	var ws struct {
		Token string `json:"visitor_token"`
	}
	post(t, nodeA.baseURL()+"/api/v1/widget/sessions", "", map[string]any{"widget_key": su.Tenant.WidgetKey}, &ws)
	visitor := dialNode(t, nodeA, ws.Token, nil)

	// A normal exchange across the nodes.
	visitor.send(t, map[string]any{"type": "message.send", "client_id": "hello", "body": "hello from node A"})
	ack := visitor.waitFor(t, func(f map[string]any) bool { return f["type"] == "ack" })
	conv := ack["conversation_id"].(string)
	agent.waitFor(t, func(f map[string]any) bool {
		return f["type"] == "message.new" && f["message"].(map[string]any)["body"] == "hello from node A"
	})
	agent.send(t, map[string]any{"type": "message.send", "client_id": "reply", "conversation_id": conv, "body": "hello from node B"})
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
			visitor.close()
			visitor = dialNode(t, nodeB, ws.Token, map[string]int64{conv: visitor.lastSeq(conv)})
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
	for agent.lastSeq(conv) < last && time.Now().Before(deadline) {
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

func doJSON(t *testing.T, method, url, token string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, url, res.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
	}
}

// nodeSocket is a socket to one node, recording message seqs per conversation.
type nodeSocket struct {
	c      *websocket.Conn
	frames chan map[string]any
	mu     sync.Mutex
	got    map[string][]seen // per conversation, in arrival order
}

// seen is a seq the socket was given: a message.new, or an ack (which
// delivers the sender's own message to its socket).
type seen struct {
	seq int64
	ack bool
}

func dialNode(t *testing.T, srv *kefuServer, token string, since map[string]int64) *nodeSocket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), journeyWait)
	defer cancel()
	c, _, err := websocket.Dial(ctx, srv.wsURL(), nil)
	if err != nil {
		t.Fatalf("dial %s: %v", srv.addr, err)
	}
	s := &nodeSocket{c: c, frames: make(chan map[string]any, 4096), got: map[string][]seen{}}
	go func() {
		defer close(s.frames)
		for {
			_, data, err := c.Read(context.Background())
			if err != nil {
				return
			}
			var f map[string]any
			if json.Unmarshal(data, &f) != nil {
				continue
			}
			if f["type"] == "message.new" || f["type"] == "ack" {
				s.mu.Lock()
				conv := f["conversation_id"].(string)
				s.got[conv] = append(s.got[conv], seen{int64(f["seq"].(float64)), f["type"] == "ack"})
				s.mu.Unlock()
			}
			s.frames <- f
		}
	}()
	s.send(t, map[string]any{"type": "hello", "token": token, "since": since})
	s.waitFor(t, func(f map[string]any) bool { return f["type"] == "welcome" })
	t.Cleanup(s.close)
	return s
}

func (s *nodeSocket) close() { s.c.CloseNow() }

func (s *nodeSocket) trySend(v any) error {
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.c.Write(ctx, websocket.MessageText, b)
}

func (s *nodeSocket) send(t *testing.T, v any) {
	t.Helper()
	if err := s.trySend(v); err != nil {
		t.Fatalf("ws write: %v", err)
	}
}

func (s *nodeSocket) next(match func(map[string]any) bool, d time.Duration) (map[string]any, error) {
	timeout := time.After(d)
	for {
		select {
		case f, ok := <-s.frames:
			if !ok {
				return nil, fmt.Errorf("socket closed")
			}
			if match(f) {
				return f, nil
			}
		case <-timeout:
			return nil, fmt.Errorf("timeout")
		}
	}
}

func (s *nodeSocket) waitFor(t *testing.T, match func(map[string]any) bool) map[string]any {
	t.Helper()
	f, err := s.next(match, journeyWait)
	if err != nil {
		t.Fatalf("waiting for a frame: %v", err)
	}
	return f
}

// lastSeq is the highest seq received for conv.
func (s *nodeSocket) lastSeq(conv string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var m int64
	for _, x := range s.got[conv] {
		m = max(m, x.seq)
	}
	return m
}

// seqs returns the distinct seqs received for conv, in arrival order, and
// how many message.new frames repeated a seq. (An ack may follow the
// message.new of the same seq: the socket's own message raced its ack.)
func (s *nodeSocket) seqs(conv string) ([]int64, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	had := map[int64]bool{}
	news := map[int64]bool{}
	var out []int64
	dups := 0
	for _, x := range s.got[conv] {
		if !x.ack {
			if news[x.seq] {
				dups++
			}
			news[x.seq] = true
		}
		if !had[x.seq] {
			had[x.seq] = true
			out = append(out, x.seq)
		}
	}
	return out, dups
}
