package ws_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"kefu/chat"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
	"kefu/ws"
)

type rig struct {
	chat   *chat.Service
	ten    *tenants.Service
	srv    *ws.Server
	http   *httptest.Server
	tenant tenants.Tenant
	agent  tenants.Principal
}

func newRig(t *testing.T, cfg ws.Config) *rig {
	t.Helper()
	ctx := context.Background()
	store := tenantstest.SQLite(t)
	ten := tenants.NewService(store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
	c := chat.NewService(chat.Config{Tenants: ten, Bus: chat.NewLocalBus()})
	srv := ws.NewServer(cfg, c, slog.New(slog.DiscardHandler), nil)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	res, err := ten.Signup(ctx, tenants.SignupInput{Company: "Hub " + tenants.NewID()[24:], Email: "o@example.com", Password: "password1", Name: "Olga"})
	if err != nil {
		t.Fatal(err)
	}
	agent, _ := ten.Authenticate(ctx, res.Token)
	return &rig{chat: c, ten: ten, srv: srv, http: hs, tenant: res.Tenant, agent: agent}
}

func (r *rig) visitorToken(t *testing.T) string {
	t.Helper()
	s, err := r.chat.StartWidgetSession(context.Background(), r.tenant.WidgetKey, "", chat.VisitorInput{})
	if err != nil {
		t.Fatal(err)
	}
	return s.VisitorToken
}

func (r *rig) dial(ctx context.Context, token string) (*websocket.Conn, error) {
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(r.http.URL, "http"), nil)
	if err != nil {
		return nil, err
	}
	hello, _ := json.Marshal(map[string]any{"type": "hello", "token": token})
	if err := c.Write(ctx, websocket.MessageText, hello); err != nil {
		return nil, err
	}
	if _, _, err := c.Read(ctx); err != nil { // welcome
		return nil, err
	}
	return c, nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitForWithin(t, 10*time.Second, what, cond)
}

func waitForWithin(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHubChurn connects, chats on and disconnects a thousand sockets at
// once under the race detector, then checks the hub is empty and the
// goroutines are back where they started.
func TestHubChurn(t *testing.T) {
	r := newRig(t, ws.Config{})
	tokens := make([]string, 20)
	for i := range tokens {
		tokens[i] = r.visitorToken(t)
	}
	base := runtime.NumGoroutine()
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := r.dial(ctx, tokens[i%len(tokens)])
			if err != nil {
				errs <- err
				return
			}
			if i%10 == 0 {
				msg, _ := json.Marshal(map[string]any{"type": "message.send", "client_id": "m" + string(rune('a'+i%26)), "body": "hi"})
				_ = c.Write(ctx, websocket.MessageText, msg)
			}
			if i%2 == 0 {
				c.Close(websocket.StatusNormalClosure, "")
			} else {
				c.CloseNow() // an abrupt drop
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("dial: %v", err)
	}
	waitFor(t, "the hub empties", func() bool { return r.srv.Count() == 0 })
	waitFor(t, "goroutines return to baseline", func() bool { return runtime.NumGoroutine() <= base+20 })
}

// TestSlowConsumerIsDropped: a socket that reads slower than its
// conversation produces is closed with 1013 once its queue is full (its
// client then resumes by seq), and the server does not wait for it.
func TestSlowConsumerIsDropped(t *testing.T) {
	r := newRig(t, ws.Config{QueueSize: 4, WriteTimeout: 10 * time.Second})
	ctx := context.Background()
	tok := r.visitorToken(t)
	p, _ := r.ten.Authenticate(ctx, tok)
	m, _, err := r.chat.Send(ctx, p, chat.SendInput{Body: "open"})
	if err != nil {
		t.Fatal(err)
	}
	slow, err := r.dial(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	var dropped atomic.Bool
	go func() {
		for {
			if _, _, err := slow.Read(ctx); err != nil {
				closed <- err
				return
			}
			if !dropped.Load() {
				time.Sleep(200 * time.Millisecond) // a slow reader, until the drop
			}
		}
	}()
	big := strings.Repeat("x", 16000)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 3000 && r.srv.Count() > 0; i++ {
				if _, _, err := r.chat.Send(ctx, r.agent, chat.SendInput{ConversationID: m.ConversationID, Body: big}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	defer wg.Wait()
	// Loaded CI machines produce slowly; give the queue time to fill.
	waitForWithin(t, 40*time.Second, "the server gives up on the slow socket", func() bool { return r.srv.SlowDrops() > 0 })
	dropped.Store(true) // the client catches up now, and so reads the close in time
	waitFor(t, "the slow socket is gone", func() bool { return r.srv.Count() == 0 })
	select {
	case err := <-closed:
		if st := websocket.CloseStatus(err); st != websocket.StatusTryAgainLater {
			t.Fatalf("close status %d (%v), want 1013", st, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the client never saw the close")
	}
}

// TestDrain: on shutdown every socket is closed with 1001 (so clients go to
// another node) and new ones are refused.
func TestDrain(t *testing.T) {
	r := newRig(t, ws.Config{})
	ctx := context.Background()
	var conns []*websocket.Conn
	for i := 0; i < 20; i++ {
		c, err := r.dial(ctx, r.visitorToken(t))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// Clients read (as browsers always do), so they answer the close.
	statuses := make(chan websocket.StatusCode, len(conns))
	for _, c := range conns {
		go func() {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			for {
				if _, _, err := c.Read(rctx); err != nil {
					statuses <- websocket.CloseStatus(err)
					return
				}
			}
		}()
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r.srv.Drain(dctx)
	for range conns {
		if st := <-statuses; st != websocket.StatusGoingAway {
			t.Fatalf("close status %d, want 1001", st)
		}
	}
	if r.srv.Count() != 0 {
		t.Fatalf("%d sockets left", r.srv.Count())
	}
	if _, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(r.http.URL, "http"), nil); err == nil {
		t.Fatal("a new socket was accepted while draining")
	}
}
