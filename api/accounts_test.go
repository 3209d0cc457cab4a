package api_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	goredis "github.com/redis/go-redis/v9"

	"kefu/redis"
	"kefu/tenants/tenantstest"
	"kefu/ws"
)

// addUser creates a user of the business with the role and signs them in.
func (a *app) addUser(b business, email, role string) (id, token string) {
	a.t.Helper()
	r := a.must(201, "POST", "/api/v1/agents", b.token, map[string]any{"email": email, "name": "User " + role, "password": "password1", "role": role})
	return r.Str("id"), a.login(b, email, "password1")
}

func (a *app) login(b business, email, password string) string {
	a.t.Helper()
	return a.client("").Login(a.t, b.slug, email, password)
}

// closedWithin waits up to d for the server to close the socket and returns
// the close status and the error frame it sent first (nil if none).
func (w *wsClient) closedWithin(d time.Duration) (websocket.StatusCode, map[string]any) {
	w.t.Helper()
	var errFrame map[string]any
	deadline := time.After(d)
	for {
		select {
		case fr, ok := <-w.Frames():
			if !ok {
				return websocket.CloseStatus(w.Err()), errFrame
			}
			if fr.M["type"] == "error" {
				errFrame = fr.M
			}
		case <-deadline:
			w.t.Fatalf("socket still open %s after the revocation", d)
			return 0, nil
		}
	}
}

// stillOpen checks the socket answers a ping.
func (w *wsClient) stillOpen() {
	w.t.Helper()
	w.send(map[string]any{"type": "ping"})
	w.expect("pong")
}

// revoked asserts the socket was closed for a revoked session within a
// second: an error frame unauthenticated, then 1008.
func (w *wsClient) revoked() {
	w.t.Helper()
	code, f := w.closedWithin(time.Second)
	if code != websocket.StatusPolicyViolation || f == nil || f["code"] != "unauthenticated" {
		w.t.Fatalf("closed with %v after %v, want an unauthenticated error frame and 1008", code, f)
	}
}

// startChat opens a conversation from a new visitor and returns its id.
func (a *app) startChat(t *testing.T, b business, body string) string {
	t.Helper()
	_, vtok := a.visitor(b.widgetKey)
	v := a.connect(t, vtok, nil)
	v.send(map[string]any{"type": "message.send", "client_id": "open", "body": body})
	return v.expect("ack")["conversation_id"].(string)
}

// TestRevocationReachesSockets: finding 3 of the security review. Logout,
// sign-out everywhere, password changes, role changes and deactivation
// close (or renew) the user's open sockets at once.
func TestRevocationReachesSockets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Revoke")

		t.Run("after logout the socket is closed within a second and acts on nothing more", func(t *testing.T) {
			_, tok1 := a.addUser(biz, "ann@example.com", "agent")
			tok2 := a.login(biz, "ann@example.com", "password1")
			conv := a.startChat(t, biz, "hello before the logout")
			a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", biz.token, map[string]any{"body": "PRIVATE NOTE", "private": true})
			w1 := a.connect(t, tok1, nil)
			w2 := a.connect(t, tok2, nil) // another session of Ann's
			a.must(204, "POST", "/api/v1/auth/logout", tok1, nil)
			// Whatever the socket sends from now on is not acted on.
			_ = w1.sendRaw([]byte(`{"type":"message.send","client_id":"late","conversation_id":"` + conv + `","body":"sent after logout"}`))
			_ = w1.sendRaw([]byte(`{"type":"subscribe","conversation_id":"` + conv + `","since":0}`))
			w1.revoked()
			for _, f := range w1.seen {
				if f["type"] == "ack" || f["type"] == "message.new" {
					t.Fatalf("the signed-out socket got %v", f)
				}
			}
			msgs := a.must(200, "GET", "/api/v1/conversations/"+conv+"/messages", biz.token, nil)
			if strings.Contains(msgs.Raw, "sent after logout") {
				t.Fatal("a message sent after logout was stored")
			}
			w2.stillOpen() // only the signed-out session's sockets close
			a.must(200, "GET", "/api/v1/me", tok2, nil)
		})

		t.Run("sign out everywhere closes every socket of the user", func(t *testing.T) {
			_, tok1 := a.addUser(biz, "bea@example.com", "supervisor")
			tok2 := a.login(biz, "bea@example.com", "password1")
			w1, w2 := a.connect(t, tok1, nil), a.connect(t, tok2, nil)
			other := a.connect(t, biz.token, nil)
			a.must(204, "POST", "/api/v1/auth/logout-all", tok1, nil)
			w1.revoked()
			w2.revoked()
			a.must(401, "GET", "/api/v1/me", tok1, nil)
			a.must(401, "GET", "/api/v1/me", tok2, nil)
			other.stillOpen()
		})

		t.Run("a demoted admin's socket closes and the new one no longer sees others' conversations", func(t *testing.T) {
			id, tok := a.addUser(biz, "cai@example.com", "admin")
			w := a.connect(t, tok, nil)
			a.must(200, "PATCH", "/api/v1/agents/"+id, biz.token, map[string]any{"role": "agent"})
			code, _ := w.closedWithin(time.Second)
			if code != ws.StatusRoleChanged {
				t.Fatalf("closed with %v, want %v", code, ws.StatusRoleChanged)
			}
			w = a.connect(t, tok, nil) // the console reconnects
			if role := w.seen[len(w.seen)-1]["principal"].(map[string]any)["role"]; role != "agent" {
				t.Fatalf("welcome role %v, want agent", role)
			}
			// A conversation the owner has: staff hear of its changes, an
			// agent does not.
			owner := a.connect(t, biz.token, nil)
			owner.send(map[string]any{"type": "presence", "status": "online"})
			owner.expect("presence")
			defer owner.send(map[string]any{"type": "presence", "status": "offline"})
			conv := a.startChat(t, biz, "a conversation for the owner")
			if c := a.settle(biz.token, conv); c.Str("assignee_id") != biz.ownerID {
				t.Fatalf("the conversation went to %q, want the owner", c.Str("assignee_id"))
			}
			a.must(200, "POST", "/api/v1/conversations/"+conv+"/resolve", biz.token, nil)
			for {
				f := owner.expect("conversation.updated")
				if c := f["conversation"].(map[string]any); c["id"] == conv && c["status"] == "resolved" {
					break
				}
			}
			deadline := time.After(300 * time.Millisecond)
			for {
				select {
				case fr := <-w.Frames():
					f := fr.M
					if c, _ := f["conversation"].(map[string]any); f["type"] == "conversation.updated" && c["id"] == conv && c["assignee_id"] == biz.ownerID {
						t.Fatalf("the demoted admin heard of the owner's conversation: %v", f)
					}
					continue
				case <-deadline:
				}
				break
			}
		})

		t.Run("a role change that keeps the role closes nothing", func(t *testing.T) {
			id, tok := a.addUser(biz, "dan@example.com", "agent")
			w := a.connect(t, tok, nil)
			a.must(200, "PATCH", "/api/v1/agents/"+id, biz.token, map[string]any{"role": "agent", "max_concurrent": 3})
			time.Sleep(100 * time.Millisecond)
			w.stillOpen()
		})

		t.Run("deactivation closes sockets, blocks login, revokes the user's keys and requeues their conversations", func(t *testing.T) {
			id, tok := a.addUser(biz, "eve@example.com", "admin")
			key := a.must(201, "POST", "/api/v1/api-keys", tok, map[string]any{"name": "eve's crm", "role": "developer"}).Str("key")
			a.must(200, "GET", "/api/v1/conversations", key, nil)
			w := a.connect(t, tok, nil)
			w.send(map[string]any{"type": "presence", "status": "online"})
			w.expect("presence")
			conv := a.startChat(t, biz, "route me to eve")
			if c := a.settle(biz.token, conv); c.Str("assignee_id") != id {
				t.Fatalf("conversation went to %q, want eve", c.Str("assignee_id"))
			}
			r := a.must(200, "POST", "/api/v1/agents/"+id+"/deactivate", biz.token, nil)
			if r.Body["active"] != false || r.Str("deactivated_at") == "" {
				t.Fatalf("deactivated agent: %s", r.Raw)
			}
			w.revoked()
			a.must(401, "GET", "/api/v1/me", tok, nil)
			a.must(401, "GET", "/api/v1/conversations", key, nil)
			if r := a.do("POST", "/api/v1/auth/login", "", map[string]any{"tenant": biz.slug, "email": "eve@example.com", "password": "password1"}); r.Status != 401 || r.Code() != "unauthenticated" {
				t.Fatalf("login when deactivated: %s", r.Raw)
			}
			waitUntil(t, "the conversation back in the queue", func() bool {
				c := a.must(200, "GET", "/api/v1/conversations/"+conv, biz.token, nil)
				return c.Str("status") == "queued" && c.Str("assignee_id") == ""
			})
			if r := a.do("POST", "/api/v1/conversations/"+conv+"/assign", biz.token, map[string]any{"agent_id": id}); r.Status != 409 {
				t.Fatalf("assigning to a deactivated agent: %s", r.Raw)
			}
			list := a.must(200, "GET", "/api/v1/agents", biz.token, nil)
			if !strings.Contains(list.Raw, `"active":false`) {
				t.Fatalf("the list should still show eve, deactivated: %s", list.Raw)
			}

			a.must(200, "POST", "/api/v1/agents/"+id+"/reactivate", biz.token, nil)
			tok = a.login(biz, "eve@example.com", "password1")
			a.must(200, "GET", "/api/v1/me", tok, nil)
			a.must(401, "GET", "/api/v1/conversations", key, nil) // revoked keys stay revoked
		})

		t.Run("a changed password ends the other sessions and their sockets", func(t *testing.T) {
			_, tok1 := a.addUser(biz, "fay@example.com", "agent")
			tok2 := a.login(biz, "fay@example.com", "password1")
			w1, w2 := a.connect(t, tok1, nil), a.connect(t, tok2, nil)
			r := a.must(400, "POST", "/api/v1/me/password", tok1, map[string]any{"current_password": "wrong one", "new_password": "new password 1"})
			if r.Field("current_password") == "" {
				t.Fatalf("wrong current password: %s", r.Raw)
			}
			a.must(400, "POST", "/api/v1/me/password", tok1, map[string]any{"current_password": "password1", "new_password": "short"})
			a.must(204, "POST", "/api/v1/me/password", tok1, map[string]any{"current_password": "password1", "new_password": "new password 1"})
			w2.revoked()
			w1.stillOpen()
			a.must(200, "GET", "/api/v1/me", tok1, nil)
			a.must(401, "GET", "/api/v1/me", tok2, nil)
			a.must(401, "POST", "/api/v1/auth/login", "", map[string]any{"tenant": biz.slug, "email": "fay@example.com", "password": "password1"})
			a.login(biz, "fay@example.com", "new password 1")
		})

		t.Run("an admin's password reset ends every session of the user", func(t *testing.T) {
			id, tok := a.addUser(biz, "gus@example.com", "agent")
			w := a.connect(t, tok, nil)
			a.must(400, "POST", "/api/v1/agents/"+id+"/password", biz.token, map[string]any{"password": "short"})
			a.must(204, "POST", "/api/v1/agents/"+id+"/password", biz.token, map[string]any{"password": "reset password 1"})
			w.revoked()
			a.must(401, "GET", "/api/v1/me", tok, nil)
			a.login(biz, "gus@example.com", "reset password 1")
			if r := a.do("POST", "/api/v1/agents/"+biz.ownerID+"/password", biz.token, map[string]any{"password": "reset password 1"}); r.Status != 409 {
				t.Fatalf("resetting one's own password without the current one: %s", r.Raw)
			}
		})

		t.Run("one session is listed and signed out by id", func(t *testing.T) {
			_, tok1 := a.addUser(biz, "hal@example.com", "agent")
			tok2 := a.login(biz, "hal@example.com", "password1")
			w2 := a.connect(t, tok2, nil)
			r := a.must(200, "GET", "/api/v1/me/sessions", tok1, nil)
			sessions := r.Body["sessions"].([]any)
			if len(sessions) != 2 {
				t.Fatalf("sessions: %s", r.Raw)
			}
			var other string
			for _, s := range sessions {
				if m := s.(map[string]any); m["current"] == false {
					other = m["id"].(string)
				}
			}
			a.must(404, "DELETE", "/api/v1/me/sessions/"+other, biz.token, nil) // not the owner's session
			a.must(204, "DELETE", "/api/v1/me/sessions/"+other, tok1, nil)
			w2.revoked()
			a.must(200, "GET", "/api/v1/me", tok1, nil)
		})
	})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRevocationAcrossNodes: two servers on one database and one Redis; a
// revocation made on node A closes the user's sockets on node B.
func TestRevocationAcrossNodes(t *testing.T) {
	url := os.Getenv("KEFU_TEST_REDIS_URL")
	if url == "" {
		t.Skip("KEFU_TEST_REDIS_URL not set: skipping the two-node revocation test")
	}
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			p := make([]byte, 6)
			_, _ = rand.Read(p)
			prefix := "kefutest-" + hex.EncodeToString(p)
			node := func() *app {
				rdb := goredis.NewClient(opt)
				t.Cleanup(func() { rdb.Close() })
				bus, err := redis.NewBus(context.Background(), rdb, prefix, []byte("0123456789abcdef0123456789abcdef"), nopLog())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { bus.Close() })
				return newAppWithBus(t, b.Store, bus)
			}
			nodeA, nodeB := node(), node()
			biz := nodeA.signup("Two Nodes")
			id, tok := nodeA.addUser(biz, "ivy@example.com", "admin")
			tok2 := nodeA.login(biz, "ivy@example.com", "password1")

			w := nodeB.connect(t, tok, nil)
			nodeA.must(204, "POST", "/api/v1/auth/logout", tok, nil)
			w.revoked()

			w = nodeB.connect(t, tok2, nil)
			nodeA.must(200, "PATCH", "/api/v1/agents/"+id, biz.token, map[string]any{"role": "supervisor"})
			if code, _ := w.closedWithin(time.Second); code != ws.StatusRoleChanged {
				t.Fatalf("role change on node A: socket on node B closed with %v", code)
			}

			w = nodeB.connect(t, tok2, nil)
			nodeA.must(200, "POST", "/api/v1/agents/"+id+"/deactivate", biz.token, nil)
			w.revoked()
		})
	}
}

func nopLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestUserAdminOverHTTP: finding 4 of the security review, over HTTP.
// Every kind of caller against every user-admin endpoint and target role:
// API keys never manage users or keys, supervisors and agents never, admins
// never the owner, and the last owner stays.
func TestUserAdminOverHTTP(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Rules")
		tokens := map[string]string{"owner": biz.token}
		for _, role := range []string{"admin", "supervisor", "agent"} {
			_, tokens[role] = a.addUser(biz, "actor-"+role+"@example.com", role)
		}
		tokens["developer key"] = a.must(201, "POST", "/api/v1/api-keys", biz.token, map[string]any{"name": "dev", "role": "developer"}).Str("key")
		tokens["admin key"] = a.must(201, "POST", "/api/v1/api-keys", biz.token, map[string]any{"name": "adm", "role": "admin"}).Str("key")
		n := 0
		shared := map[string]string{}
		// target returns a user with the role: a fresh one when the call
		// may change it, else one shared by the refused calls.
		target := func(role string, fresh bool) string {
			if role == "owner" {
				return biz.ownerID
			}
			if id, ok := shared[role]; ok && !fresh {
				return id
			}
			n++
			id := a.must(201, "POST", "/api/v1/agents", biz.token, map[string]any{"email": fmt.Sprintf("target%d@example.com", n), "name": "Target", "password": "password1", "role": role}).Str("id")
			if !fresh {
				shared[role] = id
			}
			return id
		}
		type call struct {
			name       string
			method     string
			path       string // %s: the target's id
			body       any
			ok, onSelf int // statuses when allowed, and when the target is the caller (the only owner)
		}
		calls := []call{
			{"rename", "PATCH", "/api/v1/agents/%s", map[string]any{"name": "Mallory"}, 200, 200},
			{"demote", "PATCH", "/api/v1/agents/%s", map[string]any{"role": "agent"}, 200, 409},
			{"promote to admin", "PATCH", "/api/v1/agents/%s", map[string]any{"role": "admin"}, 200, 409},
			{"deactivate", "POST", "/api/v1/agents/%s/deactivate", nil, 200, 409},
			{"reactivate", "POST", "/api/v1/agents/%s/reactivate", nil, 200, 200},
			{"reset the password", "POST", "/api/v1/agents/%s/password", map[string]any{"password": "chosen by me"}, 204, 409},
			{"delete", "DELETE", "/api/v1/agents/%s", nil, 204, 409},
		}
		rank := map[string]int{"agent": 1, "supervisor": 2, "admin": 3, "owner": 4}
		for _, actor := range []string{"owner", "admin", "supervisor", "agent", "developer key", "admin key"} {
			for _, c := range calls {
				for _, role := range []string{"owner", "admin", "supervisor", "agent"} {
					want := c.ok
					switch {
					case actor == "admin key" && (rank[role] > rank["supervisor"] || c.name == "promote to admin"):
						want = 403 // keys manage agents and supervisors only
					case actor == "admin key":
					case rank[actor] < rank["admin"]: // developer keys, supervisors, agents
						want = 403
					case rank[role] > rank[actor]:
						want = 403
					case role == "owner":
						want = c.onSelf
					}
					t.Run(fmt.Sprintf("%s may %s a %s: %d", actor, c.name, role, want), func(t *testing.T) {
						id := target(role, want < 400)
						if r := a.do(c.method, fmt.Sprintf(c.path, id), tokens[actor], c.body); r.Status != want {
							t.Fatalf("%s %s: %d, want %d: %s", c.method, fmt.Sprintf(c.path, id), r.Status, want, r.Raw)
						}
					})
				}
			}
			t.Run(actor+" creating users and keys", func(t *testing.T) {
				want, keyWant := map[string]int{"agent": 201, "admin": 201}, map[string]int{"developer": 201, "admin": 201}
				switch {
				case actor == "admin key":
					// Agents and supervisors, and developer keys that belong
					// to the key's own creator.
					want["admin"], keyWant["admin"] = 403, 403
				case rank[actor] < rank["admin"]:
					want, keyWant = map[string]int{"agent": 403, "admin": 403}, map[string]int{"developer": 403, "admin": 403}
				}
				for _, role := range []string{"agent", "admin"} {
					n++
					if r := a.do("POST", "/api/v1/agents", tokens[actor], map[string]any{"email": fmt.Sprintf("new%d@example.com", n), "name": "New", "password": "chosen by me", "role": role}); r.Status != want[role] {
						t.Fatalf("create %s: %d, want %d: %s", role, r.Status, want[role], r.Raw)
					}
				}
				for _, role := range []string{"developer", "admin"} {
					if r := a.do("POST", "/api/v1/api-keys", tokens[actor], map[string]any{"name": "more", "role": role}); r.Status != keyWant[role] {
						t.Fatalf("create a %s key: %d, want %d: %s", role, r.Status, keyWant[role], r.Raw)
					}
				}
			})
		}
		if r := a.must(200, "GET", "/api/v1/me", biz.token, nil); r.Str("user", "role") != "owner" || r.Str("user", "name") != "Mallory" {
			t.Fatalf("the owner after the table: %s", r.Raw) // renamed by themselves, still the owner
		}
	})
}

// TestLoginLockoutOverHTTP: after 10 failed sign-ins for one workspace and
// email, the 11th answers 429 with Retry-After — for an account that exists
// and one that does not alike — while other accounts sign in.
func TestLoginLockoutOverHTTP(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Lockout")
		for _, email := range []string{"owner@example.com", "nobody@example.com"} {
			for i := 0; i < 10; i++ {
				r := a.do("POST", "/api/v1/auth/login", "", map[string]any{"tenant": biz.slug, "email": email, "password": fmt.Sprint("guess ", i)})
				if r.Status != 401 {
					t.Fatalf("%s attempt %d: %s", email, i+1, r.Raw)
				}
			}
			r := a.do("POST", "/api/v1/auth/login", "", map[string]any{"tenant": biz.slug, "email": email, "password": "password1"})
			if r.Status != 429 || r.Code() != "rate_limited" || r.Header.Get("Retry-After") == "" || r.Header.Get("Retry-After") == "0" {
				t.Fatalf("%s after 10 failures: %d %s (Retry-After %q)", email, r.Status, r.Raw, r.Header.Get("Retry-After"))
			}
		}
		a.addUser(biz, "other@example.com", "agent") // (the owner's token still works for this)
	})
}
