package api_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"slices"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"kefu/redis"
	"kefu/tenants/tenantstest"
)

func rolePerms(r resp, name string) []string {
	roles, _ := r.Body["roles"].([]any)
	for _, x := range roles {
		m, _ := x.(map[string]any)
		if m["name"] == name {
			var out []string
			for _, p := range m["permissions"].([]any) {
				out = append(out, p.(string))
			}
			return out
		}
	}
	return nil
}

// TestRoles: the role × permission table over the API — built-in roles as
// defaults, custom roles, edits enforced at once, the owner never locked
// out, RBAC and tenant isolation.
func TestRoles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Roles")
		other := a.signup("Other")
		_, agentTok := a.addUser(biz, "agent@example.com", "agent")
		_, superTok := a.addUser(biz, "super@example.com", "supervisor")
		_, adminTok := a.addUser(biz, "admin@example.com", "admin")

		t.Run("the built-in roles are listed with their defaults", func(t *testing.T) {
			r := a.must(200, "GET", "/api/v1/roles", agentTok, nil)
			if got := rolePerms(r, "owner"); len(got) != len(r.Body["permissions"].([]any)) {
				t.Fatalf("owner holds %v, not every permission", got)
			}
			agent := rolePerms(r, "agent")
			if !slices.Contains(agent, "conversations:write") || slices.Contains(agent, "reports:read") {
				t.Fatalf("agent: %v", agent)
			}
			if !slices.Contains(rolePerms(r, "supervisor"), "reports:read") {
				t.Fatalf("supervisor lacks reports: %s", r.Raw)
			}
		})
		t.Run("only owners and admins edit roles", func(t *testing.T) {
			a.must(403, "POST", "/api/v1/roles", superTok, map[string]any{"name": "x1", "permissions": []string{}})
			a.must(403, "PUT", "/api/v1/roles/agent", agentTok, map[string]any{"permissions": []string{}})
		})
		t.Run("bad names and unknown permissions are invalid_argument", func(t *testing.T) {
			r := a.must(400, "POST", "/api/v1/roles", adminTok, map[string]any{"name": "Bad Name", "permissions": []string{"everything:all"}})
			if r.Field("name") == "" || r.Field("permissions") == "" {
				t.Fatalf("fields: %s", r.Raw)
			}
			a.must(409, "POST", "/api/v1/roles", adminTok, map[string]any{"name": "admin", "permissions": []string{}})
		})
		t.Run("the owner's role cannot be edited", func(t *testing.T) {
			a.must(409, "PUT", "/api/v1/roles/owner", biz.token, map[string]any{"permissions": []string{}})
		})

		r := a.must(201, "POST", "/api/v1/roles", adminTok, map[string]any{"name": "billing", "permissions": []string{"conversations:read", "reports:read", "reports:read"}})
		if r.Str("name") != "billing" || r.Str("built_in") != "false" {
			t.Fatalf("create: %s", r.Raw)
		}
		a.must(409, "POST", "/api/v1/roles", adminTok, map[string]any{"name": "billing", "permissions": []string{}})

		t.Run("another tenant does not see or change it", func(t *testing.T) {
			if o := a.must(200, "GET", "/api/v1/roles", other.token, nil); rolePerms(o, "billing") != nil {
				t.Fatalf("other tenant lists billing: %s", o.Raw)
			}
			a.must(404, "PUT", "/api/v1/roles/billing", other.token, map[string]any{"permissions": []string{}})
			a.must(404, "DELETE", "/api/v1/roles/billing", other.token, nil)
			a.must(400, "POST", "/api/v1/agents", other.token, map[string]any{"email": "b@example.com", "name": "B", "password": "password1", "role": "billing"})
		})

		id, billTok := a.addUser(biz, "bill@example.com", "billing")
		t.Run("a custom role's edits are enforced at once", func(t *testing.T) {
			a.must(403, "GET", "/api/v1/flows", billTok, nil)
			a.must(200, "PUT", "/api/v1/roles/billing", biz.token, map[string]any{"permissions": []string{"conversations:read", "flows:read"}})
			a.must(200, "GET", "/api/v1/flows", billTok, nil)
		})
		t.Run("editing a built-in role changes that role only", func(t *testing.T) {
			a.must(200, "GET", "/api/v1/conversations", agentTok, nil)
			a.must(200, "PUT", "/api/v1/roles/agent", adminTok, map[string]any{"permissions": []string{"agents:read", "tenant:read"}})
			a.must(403, "GET", "/api/v1/conversations", agentTok, nil)
			a.must(200, "GET", "/api/v1/conversations", superTok, nil)
			a.must(200, "GET", "/api/v1/flows", adminTok, nil)
		})
		t.Run("the owner keeps every permission whatever admins do", func(t *testing.T) {
			a.must(200, "PUT", "/api/v1/roles/admin", adminTok, map[string]any{"permissions": []string{}})
			a.must(403, "GET", "/api/v1/roles", adminTok, nil)
			a.must(200, "GET", "/api/v1/flows", biz.token, nil)
			a.must(200, "PUT", "/api/v1/roles/admin", biz.token, map[string]any{"permissions": []string{"agents:read", "agents:write", "tenant:read", "tenant:write", "flows:read"}})
			a.must(200, "GET", "/api/v1/roles", adminTok, nil)
		})
		t.Run("a role users hold cannot be deleted", func(t *testing.T) {
			a.must(409, "DELETE", "/api/v1/roles/billing", adminTok, nil)
			a.must(409, "DELETE", "/api/v1/roles/agent", adminTok, nil)
			a.must(200, "PATCH", "/api/v1/agents/"+id, adminTok, map[string]any{"role": "agent"})
			a.must(204, "DELETE", "/api/v1/roles/billing", adminTok, nil)
			a.must(404, "DELETE", "/api/v1/roles/billing", adminTok, nil)
		})
		t.Run("a supervisor may not give a custom role", func(t *testing.T) {
			a.must(201, "POST", "/api/v1/roles", adminTok, map[string]any{"name": "viewer", "permissions": []string{"conversations:read"}})
			a.must(200, "PUT", "/api/v1/roles/supervisor", adminTok, map[string]any{"permissions": []string{"agents:read", "agents:write", "tenant:read"}})
			r := a.do("POST", "/api/v1/agents", superTok, map[string]any{"email": "v@example.com", "name": "V", "password": "password1", "role": "viewer"})
			if r.Status != 403 {
				t.Fatalf("supervisor gave a custom role: %d %s", r.Status, r.Raw)
			}
		})
	})
}

// TestRolesAcrossNodes: two servers on one database and one Redis; a role
// edited on node A is enforced on node B at the next request.
func TestRolesAcrossNodes(t *testing.T) {
	url := os.Getenv("KEFU_TEST_REDIS_URL")
	if url == "" {
		t.Skip("KEFU_TEST_REDIS_URL not set: skipping the two-node roles test")
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
			biz := nodeA.signup("Two Nodes Roles")
			_, tok := nodeA.addUser(biz, "ann@example.com", "agent")
			nodeB.must(200, "GET", "/api/v1/conversations", tok, nil) // node B loads the policies
			nodeA.must(200, "PUT", "/api/v1/roles/agent", biz.token, map[string]any{"permissions": []string{"tenant:read"}})
			// The bus is asynchronous: allow it a moment, as a next click would.
			for i := 0; ; i++ {
				r := nodeB.do("GET", "/api/v1/conversations", tok, nil)
				if r.Status == 403 {
					break
				}
				if i > 100 {
					t.Fatalf("node B still lets the agent list conversations: %d", r.Status)
				}
				sleepMs(10)
			}
			nodeA.must(200, "PUT", "/api/v1/roles/agent", biz.token, map[string]any{"permissions": []string{"conversations:read"}})
			for i := 0; nodeB.do("GET", "/api/v1/conversations", tok, nil).Status != 200; i++ {
				if i > 100 {
					t.Fatal("node B did not pick up the second edit")
				}
				sleepMs(10)
			}
		})
	}
}

func sleepMs(n int) { time.Sleep(time.Duration(n) * time.Millisecond) }
