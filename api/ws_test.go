package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"kefu/ws"
)

func TestWebSocket(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		acme := a.signup("Sock")

		t.Run("visitor and owner chat: ack after store, live delivery, seqs in order", func(t *testing.T) {
			owner := a.connect(t, acme.token, nil)
			owner.send(map[string]any{"type": "presence", "status": "online"})
			if p := owner.expect("presence"); p["status"] != "online" {
				t.Fatalf("presence: %v", p)
			}
			_, vtok := a.visitor(acme.widgetKey)
			v := a.connect(t, vtok, nil)
			v.send(map[string]any{"type": "message.send", "client_id": "c1", "body": "hello"})
			ack := v.expect("ack")
			conv := ack["conversation_id"].(string)
			if num(ack["seq"]) != 1 || ack["message_id"] == "" {
				t.Fatalf("ack: %v", ack)
			}
			up := owner.expect("conversation.updated")
			if c := up["conversation"].(map[string]any); c["id"] != conv {
				t.Fatalf("update: %v", up)
			}
			// The visitor's message, the bot's greeting, then "Assigned to Olga",
			// each once and in order.
			var got []int64
			for {
				m := owner.expect("message.new")
				if m["conversation_id"] != conv {
					continue
				}
				got = append(got, num(m["seq"]))
				if m["message"].(map[string]any)["author"].(map[string]any)["type"] == "system" {
					break
				}
			}
			for i, s := range got {
				if s != int64(i+1) {
					t.Fatalf("owner got seqs %v, want 1…n", got)
				}
			}
			owner.send(map[string]any{"type": "message.send", "client_id": "o1", "conversation_id": conv, "body": "Hi! How can I help?"})
			mine := int64(len(got) + 1)
			if a := owner.expect("ack"); num(a["seq"]) != mine {
				t.Fatalf("owner ack: %v, want seq %d", a, mine)
			}
			for {
				m := v.expect("message.new")
				msg := m["message"].(map[string]any)
				if num(m["seq"]) == mine {
					if msg["author"].(map[string]any)["type"] != "agent" || msg["body"] != "Hi! How can I help?" {
						t.Fatalf("visitor got %v", m)
					}
					break
				}
			}
			t.Run("a private note never reaches the visitor", func(t *testing.T) {
				a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", acme.token, map[string]any{"body": "secret note", "private": true})
				owner.expect("message.new")
				v.quiet("message.new", 300*time.Millisecond)
				vr := a.connect(t, vtok, nil) // replay from 0 skips it too
				for i := int64(0); i < mine; i++ {
					if m := vr.expect("message.new"); strings.Contains(m["message"].(map[string]any)["body"].(string), "secret") {
						t.Fatal("note replayed to the visitor")
					}
				}
				vr.quiet("message.new", 300*time.Millisecond)
			})
			t.Run("typing and read reach the other side", func(t *testing.T) {
				v.send(map[string]any{"type": "typing", "conversation_id": conv, "state": true})
				if f := owner.expect("typing"); f["state"] != true {
					t.Fatalf("typing: %v", f)
				}
				v.send(map[string]any{"type": "read", "conversation_id": conv, "seq": mine})
				if f := owner.expect("read"); num(f["seq"]) != mine {
					t.Fatalf("read: %v", f)
				}
			})
		})

		t.Run("a resent client_id gets the same ack and stores nothing", func(t *testing.T) {
			_, vtok := a.visitor(acme.widgetKey)
			v := a.connect(t, vtok, nil)
			v.send(map[string]any{"type": "message.send", "client_id": "dup", "body": "once"})
			first := v.expect("ack")
			v.send(map[string]any{"type": "message.send", "client_id": "dup", "body": "once"})
			second := v.expect("ack")
			if first["message_id"] != second["message_id"] || first["seq"] != second["seq"] {
				t.Fatalf("acks differ: %v vs %v", first, second)
			}
			list := a.must(200, "GET", "/api/v1/conversations/"+first["conversation_id"].(string)+"/messages", acme.token, nil)
			if n := strings.Count(list.Raw, `"once"`); n != 1 {
				t.Fatalf("body stored %d times", n)
			}
		})

		t.Run("a reconnecting client resumes after since, in order, exactly once", func(t *testing.T) {
			_, vtok := a.visitor(acme.widgetKey)
			v := a.connect(t, vtok, nil)
			v.send(map[string]any{"type": "message.send", "client_id": "r1", "body": "before"})
			conv := v.expect("ack")["conversation_id"].(string)
			settled := a.settle(acme.token, conv)
			seen, _ := strconv.ParseInt(settled.Str("last_seq"), 10, 64)
			v.WS.Close(websocket.StatusNormalClosure, "")
			for _, body := range []string{"missed one", "missed two"} {
				a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", acme.token, map[string]any{"body": body})
			}
			v2 := a.connect(t, vtok, map[string]int64{conv: seen})
			var bodies []string
			var seqs []int64
			for len(bodies) < 2 {
				m := v2.expect("message.new")
				seqs = append(seqs, num(m["seq"]))
				bodies = append(bodies, m["message"].(map[string]any)["body"].(string))
			}
			if bodies[0] != "missed one" || bodies[1] != "missed two" || seqs[0] != seen+1 || seqs[1] != seen+2 {
				t.Fatalf("resumed %v %v", seqs, bodies)
			}
			v2.quiet("message.new", 300*time.Millisecond)
		})

		t.Run("bad JSON and unknown types get an error frame and the socket stays", func(t *testing.T) {
			_, vtok := a.visitor(acme.widgetKey)
			v := a.connect(t, vtok, nil)
			if err := v.sendRaw([]byte("{not json")); err != nil {
				t.Fatal(err)
			}
			if e := v.expect("error"); e["code"] != "invalid_argument" {
				t.Fatalf("bad json: %v", e)
			}
			v.send(map[string]any{"type": "teleport"})
			if e := v.expect("error"); e["code"] != "invalid_argument" {
				t.Fatalf("unknown type: %v", e)
			}
			v.send(map[string]any{"type": "message.send", "client_id": "big", "body": strings.Repeat("x", 20000)})
			if e := v.expect("error"); e["code"] != "too_large" || e["client_id"] != "big" {
				t.Fatalf("big body: %v", e)
			}
			v.send(map[string]any{"type": "presence", "status": "online"})
			if e := v.expect("error"); e["code"] != "permission_denied" {
				t.Fatalf("visitor presence: %v", e)
			}
			v.send(map[string]any{"type": "ping"})
			v.expect("pong")
		})

		t.Run("a frame over 64 KiB closes the socket with 1009", func(t *testing.T) {
			_, vtok := a.visitor(acme.widgetKey)
			v := a.connect(t, vtok, nil)
			big, _ := json.Marshal(map[string]any{"type": "message.send", "client_id": "x", "body": strings.Repeat("y", 70*1024)})
			_ = v.sendRaw(big)
			err := v.closeErr()
			if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
				t.Fatalf("close: %v (status %d), want 1009", err, websocket.CloseStatus(err))
			}
		})

		t.Run("nothing is accepted before hello", func(t *testing.T) {
			w := a.dial(t)
			w.send(map[string]any{"type": "message.send", "client_id": "x", "body": "sneak"})
			if e := w.expect("error"); e["code"] != "unauthenticated" {
				t.Fatalf("pre-hello: %v", e)
			}
			if st := websocket.CloseStatus(w.closeErr()); st != websocket.StatusPolicyViolation {
				t.Fatalf("close status %d, want 1008", st)
			}
			w2 := a.dial(t)
			w2.send(map[string]any{"type": "hello", "token": "kfv_forged.sig"})
			if e := w2.expect("error"); e["code"] != "unauthenticated" {
				t.Fatalf("bad token: %v", e)
			}
		})

		t.Run("sending too fast is rate limited", func(t *testing.T) {
			// A server of its own with a slow limit: on a busy machine the
			// reader (one commit per send) could otherwise be slower than
			// the limit itself.
			a := newAppOpts(t, a.store, appOptions{ws: &ws.Config{SendRate: 1, SendBurst: 5}})
			acme := a.signup("Acme")
			_, vtok := a.visitor(acme.widgetKey)
			v := a.connect(t, vtok, nil)
			for i := 0; i < 60; i++ {
				v.send(map[string]any{"type": "message.send", "client_id": "rl" + string(rune('a'+i%26)) + string(rune('a'+i/26)), "body": "spam"})
			}
			if e := v.expect("error"); e["code"] != "rate_limited" {
				t.Fatalf("rate limit: %v", e)
			}
		})

		t.Run("origins outside the tenant's list are refused", func(t *testing.T) {
			a.must(200, "PATCH", "/api/v1/tenant", acme.token, map[string]any{"allowed_origins": []string{"https://shop.example.com"}})
			defer a.must(200, "PATCH", "/api/v1/tenant", acme.token, map[string]any{"allowed_origins": []string{}})
			_, vtok := a.visitor(acme.widgetKey)
			for origin, ok := range map[string]bool{"https://evil.example.net": false, "https://shop.example.com": true, a.url: true} {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(a.url, "http")+"/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
				if err != nil {
					cancel()
					t.Fatal(err)
				}
				hello, _ := json.Marshal(map[string]any{"type": "hello", "token": vtok})
				_ = c.Write(ctx, websocket.MessageText, hello)
				_, data, _ := c.Read(ctx)
				var f map[string]any
				_ = json.Unmarshal(data, &f)
				if got := f["type"] == "welcome"; got != ok {
					t.Errorf("origin %s: got %v, want welcome=%v", origin, f, ok)
				}
				c.CloseNow()
				cancel()
			}
		})

		t.Run("an agent who comes online gets the queued conversation with its history", func(t *testing.T) {
			biz := a.signup("Queue")
			_, vtok := a.visitor(biz.widgetKey)
			v := a.connect(t, vtok, nil)
			v.send(map[string]any{"type": "message.send", "client_id": "q1", "body": "anyone there?"})
			conv := v.expect("ack")["conversation_id"].(string)
			if c := a.settle(biz.token, conv); c.Str("status") != "queued" {
				t.Fatalf("status %s, want queued", c.Str("status"))
			}
			owner := a.connect(t, biz.token, nil)
			owner.send(map[string]any{"type": "presence", "status": "online"})
			for {
				up := owner.expect("conversation.updated")
				if c := up["conversation"].(map[string]any); c["id"] == conv && c["assignee_id"] == biz.ownerID {
					break
				}
			}
			m := owner.expect("message.new")
			if num(m["seq"]) != 1 || m["message"].(map[string]any)["body"] != "anyone there?" {
				t.Fatalf("first replayed message: %v", m)
			}
		})
	})
}
