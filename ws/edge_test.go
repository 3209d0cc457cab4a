package ws_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"kefu/clientip"
	"kefu/ws"
)

// rawDial opens a socket without saying hello.
func (r *rig) rawDial(t *testing.T, header http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(r.http.URL, "http"), &websocket.DialOptions{HTTPHeader: header})
	if err == nil {
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, res, err
}

// next reads the next frame within d.
func next(t *testing.T, c *websocket.Conn, d time.Duration) (map[string]any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		return nil, err
	}
	var f map[string]any
	_ = json.Unmarshal(data, &f)
	return f, nil
}

func send(t *testing.T, c *websocket.Conn, v any) error {
	t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, b)
}

// expectRefusal wants an error frame with code, then close 1008.
func expectRefusal(t *testing.T, c *websocket.Conn, code string, within time.Duration) {
	t.Helper()
	f, err := next(t, c, within)
	if err != nil {
		t.Fatalf("no error frame: %v (close status %d)", err, websocket.CloseStatus(err))
	}
	if f["type"] != "error" || f["code"] != code {
		t.Fatalf("frame %v, want error %s", f, code)
	}
	_, err = next(t, c, 3*time.Second)
	if st := websocket.CloseStatus(err); st != websocket.StatusPolicyViolation {
		t.Fatalf("closed with %d (%v), want 1008", st, err)
	}
}

// TestHelloTimeout: a socket that says nothing gets an error frame and
// close 1008 when the hello timeout passes (it used to be dropped with
// 1006 and no frame), and it holds its slot no longer.
func TestHelloTimeout(t *testing.T) {
	r := newRig(t, ws.Config{HelloTimeout: 300 * time.Millisecond})
	c, _, err := r.rawDial(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	expectRefusal(t, c, "unauthenticated", 3*time.Second)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("refused after %v", d)
	}
}

// TestAdmission: one client address and one principal may hold only so
// many sockets (security review, finding 6: one visitor token opened 1,500).
func TestAdmission(t *testing.T) {
	t.Run("per client address, sockets waiting for hello included: 429 before the upgrade", func(t *testing.T) {
		r := newRig(t, ws.Config{MaxPerIP: 3, HelloTimeout: 10 * time.Second})
		var held []*websocket.Conn
		for i := 0; i < 3; i++ {
			c, _, err := r.rawDial(t, nil)
			if err != nil {
				t.Fatalf("socket %d: %v", i, err)
			}
			held = append(held, c)
		}
		_, res, err := r.rawDial(t, nil)
		if err == nil || res == nil || res.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("fourth socket: %v %v, want 429", err, res)
		}
		held[0].CloseNow()
		waitFor(t, "a slot frees when a socket closes", func() bool {
			c, _, err := r.rawDial(t, nil)
			if err == nil {
				c.CloseNow()
			}
			return err == nil
		})
	})
	t.Run("per principal: error frame rate_limited and close 1008", func(t *testing.T) {
		r := newRig(t, ws.Config{MaxPerPrincipal: 2})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tok := r.visitorToken(t)
		for i := 0; i < 2; i++ {
			c, err := r.dial(ctx, tok)
			if err != nil {
				t.Fatalf("socket %d: %v", i, err)
			}
			t.Cleanup(func() { c.CloseNow() })
		}
		c, _, err := r.rawDial(t, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := send(t, c, map[string]any{"type": "hello", "token": tok}); err != nil {
			t.Fatal(err)
		}
		expectRefusal(t, c, "rate_limited", 3*time.Second)
		other, err := r.dial(ctx, r.visitorToken(t))
		if err != nil {
			t.Fatalf("another visitor is refused too: %v", err)
		}
		other.CloseNow()
	})
	t.Run("the client address honours X-Forwarded-For only behind a trusted proxy", func(t *testing.T) {
		for _, trust := range []bool{false, true} {
			r := newRig(t, ws.Config{MaxPerIP: 1, ClientIP: clientip.Resolver(trust)})
			if _, _, err := r.rawDial(t, http.Header{"X-Forwarded-For": {"198.51.100.1"}}); err != nil {
				t.Fatal(err)
			}
			_, res, err := r.rawDial(t, http.Header{"X-Forwarded-For": {"198.51.100.2"}})
			if trust && err != nil {
				t.Fatalf("trusted proxy, another client: %v", err)
			}
			if !trust && (err == nil || res.StatusCode != http.StatusTooManyRequests) {
				t.Fatalf("untrusted header let a second socket in: %v", err)
			}
		}
	})
}

// TestFrameBudget: every frame type is budgeted (security review, finding
// 11: 2,000 read frames went through in 2 s, one database write each);
// excess frames get rate_limited, and a client that keeps flooding is
// closed with 1008. message.send keeps its own budget.
func TestFrameBudget(t *testing.T) {
	r := newRig(t, ws.Config{FrameRate: 5, FrameBurst: 20})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, typ := range []string{"read", "typing", "ping", "subscribe", "presence"} {
		t.Run(typ+" frames past the budget are refused, then the socket closes", func(t *testing.T) {
			tok := r.visitorToken(t)
			if typ == "subscribe" || typ == "presence" {
				tok = agentToken(t, r)
			}
			c, err := r.dial(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			frame := map[string]any{"type": typ, "conversation_id": "nope", "seq": 1, "state": true, "status": "online"}
			limited, closed := 0, false
			go func() {
				for i := 0; i < 500; i++ {
					if send(t, c, frame) != nil {
						return
					}
				}
			}()
			for !closed {
				f, err := next(t, c, 5*time.Second)
				switch {
				case err != nil:
					if st := websocket.CloseStatus(err); st != websocket.StatusPolicyViolation {
						t.Fatalf("closed with %d (%v), want 1008", st, err)
					}
					closed = true
				case f["code"] == "rate_limited":
					limited++
				}
			}
			if limited == 0 {
				t.Fatal("no rate_limited error before the close")
			}
		})
	}
	t.Run("a client that slows down stays", func(t *testing.T) {
		c, err := r.dial(ctx, r.visitorToken(t))
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		for i := 0; i < 25; i++ {
			if err := send(t, c, map[string]any{"type": "ping"}); err != nil {
				t.Fatal(err)
			}
		}
		// The burst's pongs and one rate_limited (at most one a second).
		pongs, limited := 0, 0
		for pongs < 20 || limited < 1 {
			f, err := next(t, c, 3*time.Second)
			if err != nil {
				t.Fatalf("after %d pongs and %d rate_limited: %v", pongs, limited, err)
			}
			switch {
			case f["type"] == "pong":
				pongs++
			case f["code"] == "rate_limited":
				limited++
			}
		}
		time.Sleep(time.Second) // the budget refills
		if err := send(t, c, map[string]any{"type": "ping"}); err != nil {
			t.Fatal(err)
		}
		for {
			f, err := next(t, c, 3*time.Second)
			if err != nil {
				t.Fatalf("no pong after slowing down: %v", err)
			}
			if f["type"] == "pong" {
				break
			}
		}
		if err := send(t, c, map[string]any{"type": "message.send", "client_id": "after", "body": "still here"}); err != nil {
			t.Fatal(err)
		}
		for {
			f, err := next(t, c, 3*time.Second)
			if err != nil {
				t.Fatalf("no ack: %v", err)
			}
			if f["type"] == "ack" {
				break
			}
		}
	})
}

// TestFramesWithControlCharacters: a frame carrying a NUL is refused with
// an error frame that keeps the client id, and the socket stays usable.
func TestFramesWithControlCharacters(t *testing.T) {
	r := newRig(t, ws.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := r.dial(ctx, r.visitorToken(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for _, frame := range []map[string]any{
		{"type": "message.send", "client_id": "m1", "body": "a\x00b"},
		{"type": "read", "conversation_id": "a\x00b", "seq": 1},
		{"type": "typing", "conversation_id": "\x01", "state": true},
	} {
		if err := send(t, c, frame); err != nil {
			t.Fatal(err)
		}
		f, err := next(t, c, 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if f["type"] != "error" || f["code"] != "invalid_argument" || (frame["client_id"] != nil && f["client_id"] != frame["client_id"]) {
			t.Fatalf("frame %v answered %v", frame, f)
		}
	}
	if err := send(t, c, map[string]any{"type": "ping"}); err != nil {
		t.Fatal(err)
	}
	if f, err := next(t, c, 3*time.Second); err != nil || f["type"] != "pong" {
		t.Fatalf("after the refusals: %v %v", f, err)
	}
}

func agentToken(t *testing.T, r *rig) string {
	t.Helper()
	tok, _, err := r.ten.Login(context.Background(), r.tenant.Slug, "o@example.com", "password1")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
