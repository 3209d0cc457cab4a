package ws_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"

	"kefu/chat"
	"kefu/flowrun"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
	"kefu/ws"
)

// deafBus loses every revoke event, as a bus may lose any event.
type deafBus struct{ *chat.LocalBus }

func (b deafBus) Publish(ctx context.Context, e chat.Event) error {
	if e.Kind == chat.EventRevoke {
		return nil
	}
	return b.LocalBus.Publish(ctx, e)
}

// TestSocketsRevalidate: with revocations lost on the bus, a user socket
// still notices within its revalidation interval that its session ended or
// its role changed.
func TestSocketsRevalidate(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			ten := tenants.NewService(b.Store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
			c := chat.NewService(chat.Config{Tenants: ten, Bus: deafBus{chat.NewLocalBus()}})
			flowrun.New(c, flowrun.Config{})
			srv := ws.NewServer(ws.Config{RevalidateInterval: 200 * time.Millisecond}, c, slog.New(slog.DiscardHandler), nil)
			t.Cleanup(func() { c.Close(context.Background()) })
			hs := httptest.NewServer(srv)
			t.Cleanup(hs.Close)
			res, err := ten.Signup(ctx, tenants.SignupInput{Company: "Revalidate " + tenants.NewID()[24:], Email: "o@example.com", Password: "password1", Name: "Olga"})
			if err != nil {
				t.Fatal(err)
			}
			owner, _ := ten.Authenticate(ctx, res.Token)
			r := &rig{chat: c, ten: ten, srv: srv, http: hs, tenant: res.Tenant}
			u, err := ten.CreateAgent(ctx, owner, tenants.AgentInput{Email: "ann@example.com", Name: "Ann", Password: "password1", Role: "admin"})
			if err != nil {
				t.Fatal(err)
			}
			login := func() (string, tenants.Principal) {
				tok, _, err := ten.Login(ctx, res.Tenant.Slug, u.Email, "password1")
				if err != nil {
					t.Fatal(err)
				}
				p, _ := ten.Authenticate(ctx, tok)
				return tok, p
			}
			// closed reads until the server closes the socket (within 2 s)
			// and returns the status and the last error frame's code.
			closed := func(conn *websocket.Conn) (websocket.StatusCode, string) {
				rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
				code := ""
				for {
					_, data, err := conn.Read(rctx)
					if err != nil {
						if rctx.Err() != nil {
							t.Fatal("socket still open 2s after its rights changed")
						}
						return websocket.CloseStatus(err), code
					}
					var f struct{ Type, Code string }
					_ = json.Unmarshal(data, &f)
					if f.Type == "error" {
						code = f.Code
					}
				}
			}

			t.Run("a logout the bus lost", func(t *testing.T) {
				tok, p := login()
				conn, err := r.dial(ctx, tok)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.CloseNow()
				if err := ten.Logout(ctx, p); err != nil {
					t.Fatal(err)
				}
				if status, code := closed(conn); status != websocket.StatusPolicyViolation || code != "unauthenticated" {
					t.Fatalf("closed with %v, error %q", status, code)
				}
			})

			t.Run("a role change the bus lost", func(t *testing.T) {
				tok, _ := login()
				conn, err := r.dial(ctx, tok)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.CloseNow()
				role := tenants.RoleAgent
				if _, err := ten.UpdateAgent(ctx, owner, u.ID, tenants.AgentUpdate{Role: &role}); err != nil {
					t.Fatal(err)
				}
				if status, _ := closed(conn); status != ws.StatusRoleChanged {
					t.Fatalf("closed with %v, want %v", status, ws.StatusRoleChanged)
				}
			})

			t.Run("a socket whose rights hold stays", func(t *testing.T) {
				tok, _ := login()
				conn, err := r.dial(ctx, tok)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.CloseNow()
				rctx, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
				defer cancel()
				if _, _, err := conn.Read(rctx); rctx.Err() == nil {
					t.Fatalf("a valid socket was closed or sent something: %v", err)
				}
			})
		})
	}
}
