package api_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"kefu/api"
	"kefu/chat"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

func TestListFilters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Filters")
		key := a.apiKey(biz, "developer")
		c1 := a.conversation(t, biz, "first")
		time.Sleep(20 * time.Millisecond)
		mid := time.Now().UTC()
		time.Sleep(20 * time.Millisecond)
		c2 := a.conversation(t, biz, "second")
		a.must(200, "PATCH", "/api/v1/conversations/"+c2, key, map[string]any{"labels": []string{"vip"}})

		list := func(q string) resp { return a.must(200, "GET", "/api/v1/conversations?"+q, key, nil) }
		t.Run("updated_since leaves out what did not change since", func(t *testing.T) {
			got := ids(list("updated_since="+url.QueryEscape(mid.Format(time.RFC3339Nano))), "conversations")
			if !has(got, c2) || has(got, c1) {
				t.Fatalf("%v (c1 %s, c2 %s)", got, c1, c2)
			}
		})
		t.Run("sort by created_at both ways, paged", func(t *testing.T) {
			up := list("sort=created_at&limit=1")
			if got := ids(up, "conversations"); len(got) != 1 || got[0] != c1 {
				t.Fatalf("created_at: %v", got)
			}
			next := a.must(200, "GET", "/api/v1/conversations?sort=created_at&limit=1&cursor="+up.Str("next_cursor"), key, nil)
			if got := ids(next, "conversations"); len(got) != 1 || got[0] != c2 {
				t.Fatalf("page 2: %v", got)
			}
			if got := ids(list("sort=-created_at"), "conversations"); len(got) != 2 || got[0] != c2 {
				t.Fatalf("-created_at: %v", got)
			}
		})
		t.Run("label, assignee and a total", func(t *testing.T) {
			r := list("label=vip&include=total")
			if got := ids(r, "conversations"); len(got) != 1 || got[0] != c2 || r.Str("total") != "1" {
				t.Fatalf("%s", r.Raw)
			}
			if r := list("assignee=none&include=total&limit=1"); r.Str("total") != "2" {
				t.Fatalf("assignee=none: %s", r.Raw)
			}
			if r := list("limit=1"); r.Body["total"] != nil {
				t.Fatal("a total nobody asked for")
			}
		})
		t.Run("bad filters name their field", func(t *testing.T) {
			for q, field := range map[string]string{"updated_since=yesterday": "updated_since", "include=everything": "include", "sort=name": "sort", "status=open": "status"} {
				r := a.do("GET", "/api/v1/conversations?"+q, key, nil)
				if r.Status != 400 || r.Field(field) == "" {
					t.Errorf("%s: %d %s", q, r.Status, r.Raw)
				}
			}
		})
		t.Run("custom attributes, snooze and reopen through the API", func(t *testing.T) {
			p := "/api/v1/conversations/" + c1
			r := a.must(200, "PATCH", p, key, map[string]any{"attributes": map[string]any{"order": "A-17", "amount": 42}})
			if r.Str("attributes", "order") != "A-17" || r.Str("attributes", "amount") != "42" {
				t.Fatalf("%s", r.Raw)
			}
			r = a.must(200, "PATCH", p, key, map[string]any{"attributes": map[string]any{"order": nil}})
			if _, ok := r.Body["attributes"].(map[string]any)["order"]; ok || r.Str("attributes", "amount") != "42" {
				t.Fatalf("remove: %s", r.Raw)
			}
			if r := a.do("PATCH", p, key, map[string]any{"attributes": map[string]any{"": 1}}); r.Status != 400 || r.Field("attributes") == "" {
				t.Fatalf("empty key: %d %s", r.Status, r.Raw)
			}
			until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
			if r := a.must(200, "PATCH", p, key, map[string]any{"snoozed_until": until}); r.Str("snoozed_until") == "" {
				t.Fatalf("snooze: %s", r.Raw)
			}
			a.must(200, "POST", p+"/resolve", key, nil)
			if r := a.must(200, "POST", p+"/reopen", key, nil); r.Str("status") == "resolved" {
				t.Fatalf("reopen: %s", r.Raw)
			}
		})
	})
}

// TestContactsUpdatedSince: a CRM syncs contacts by updated_since and sees
// those created or changed since, whoever changed them (the API, the widget,
// an erasure), and not the others.
func TestContactsUpdatedSince(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Contact sync")
		key := a.apiKey(biz, "admin")
		old := a.must(201, "POST", "/api/v1/contacts", key, map[string]any{"name": "Old"}).Str("id")
		byAPI := a.must(201, "POST", "/api/v1/contacts", key, map[string]any{"name": "Changed by the API"}).Str("id")
		vid, vtok := a.visitor(biz.widgetKey)
		erased := a.must(201, "POST", "/api/v1/contacts", key, map[string]any{"name": "Erased"}).Str("id")
		time.Sleep(20 * time.Millisecond)
		since := time.Now().UTC()
		time.Sleep(20 * time.Millisecond)
		a.must(200, "PATCH", "/api/v1/contacts/"+byAPI, key, map[string]any{"phone": "13800138000"})
		a.must(201, "POST", "/api/v1/widget/sessions", "", map[string]any{"widget_key": biz.widgetKey, "visitor_token": vtok, "visitor": map[string]any{"email": "vera@new.example.com"}})
		a.must(200, "POST", "/api/v1/contacts/"+erased+"/erase", key, nil)
		fresh := a.must(201, "POST", "/api/v1/contacts", key, map[string]any{"name": "New"}).Str("id")

		got := ids(a.must(200, "GET", "/api/v1/contacts?updated_since="+url.QueryEscape(since.Format(time.RFC3339Nano)), key, nil), "contacts")
		for _, want := range []string{byAPI, vid, erased, fresh} {
			if !has(got, want) {
				t.Errorf("updated_since left out %s: %v", want, got)
			}
		}
		if has(got, old) || len(got) != 4 {
			t.Errorf("updated_since: %v (the unchanged one is %s)", got, old)
		}
		if r := a.do("GET", "/api/v1/contacts?updated_since=yesterday", key, nil); r.Status != 400 || r.Field("updated_since") == "" {
			t.Errorf("a bad updated_since: %d %s", r.Status, r.Raw)
		}
	})
}

func TestStartConversation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Outbound")
		key := a.apiKey(biz, "developer")
		vid, vtok := a.visitor(biz.widgetKey)
		agentID, _ := a.staff(biz, "ann@example.com", "agent", nil)

		r := a.must(201, "POST", "/api/v1/conversations", key, map[string]any{"contact_id": vid, "message": "Your parcel is on its way", "assignee_id": agentID})
		conv := r.Str("id")
		if r.Str("assignee_id") != agentID || r.Str("status") != "assigned" || r.Str("visitor", "id") != vid {
			t.Fatalf("%s", r.Raw)
		}
		msgs := a.must(200, "GET", "/api/v1/conversations/"+conv+"/messages", key, nil)
		if list := msgs.Body["messages"].([]any); len(list) == 0 || list[0].(map[string]any)["body"] != "Your parcel is on its way" {
			t.Fatalf("%s", msgs.Raw)
		}
		t.Run("the visitor sees it when they come back", func(t *testing.T) {
			w := a.connect(t, vtok, nil)
			for {
				f := w.expect("message.new")
				if f["conversation_id"] == conv {
					if m := f["message"].(map[string]any); m["body"] != "Your parcel is on its way" {
						t.Fatalf("%v", f)
					}
					return
				}
			}
		})
		t.Run("bad and foreign ids", func(t *testing.T) {
			if r := a.do("POST", "/api/v1/conversations", key, map[string]any{}); r.Status != 400 || r.Field("visitor_id") == "" {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
			if r := a.do("POST", "/api/v1/conversations", key, map[string]any{"visitor_id": "nope"}); r.Status != 404 || r.Field("visitor_id") == "" {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
			other := a.signup("Other")
			ovid, _ := a.visitor(other.widgetKey)
			if r := a.do("POST", "/api/v1/conversations", key, map[string]any{"visitor_id": ovid}); r.Status != 404 {
				t.Fatalf("another tenant's visitor: %d %s", r.Status, r.Raw)
			}
			if r := a.do("POST", "/api/v1/conversations", key, map[string]any{"visitor_id": vid, "assignee_id": "nope"}); r.Status != 404 || r.Field("assignee_id") == "" {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
		})
		t.Run("without an agent it waits in the queue", func(t *testing.T) {
			r := a.must(201, "POST", "/api/v1/conversations", key, map[string]any{"visitor_id": vid})
			if r.Str("status") != "queued" || r.Str("assignee_id") != "" {
				t.Fatalf("%s", r.Raw)
			}
		})
	})
}

// API keys open /ws and hear the whole tenant; they send only if their role
// may write conversations.
func TestAPIKeySockets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Live")
		key := a.apiKey(biz, "developer")
		w := a.dial(t)
		w.send(map[string]any{"type": "hello", "token": key})
		welcome := w.expect("welcome")
		if p := welcome["principal"].(map[string]any); p["type"] != "api_key" || p["role"] != "developer" {
			t.Fatalf("%v", welcome)
		}
		conv := a.conversation(t, biz, "where is my order?")
		for {
			f := w.expect("message.new")
			if f["conversation_id"] == conv {
				break
			}
		}
		w.expect("conversation.updated")
		w.send(map[string]any{"type": "message.send", "client_id": "k1", "conversation_id": conv, "body": "on its way"})
		if ack := w.expect("ack"); ack["conversation_id"] != conv {
			t.Fatalf("%v", ack)
		}

		t.Run("a key whose role may not write only listens", func(t *testing.T) {
			db, err := a.store.Tenant(biz.tenantID)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Exec(`DELETE FROM `+db.Table("casbin_rules")+` WHERE ptype = 'p' AND v0 = ? AND v2 = ? AND v3 = ?`, tenants.RoleDeveloper, tenants.ObjConversations, tenants.ActWrite).Error; err != nil {
				t.Fatal(err)
			}
			b := newApp(t, a.store) // a node that loads the edited policy
			r := b.dial(t)
			r.send(map[string]any{"type": "hello", "token": key})
			r.expect("welcome")
			r.send(map[string]any{"type": "message.send", "client_id": "k2", "conversation_id": conv, "body": "nope"})
			if e := r.expect("error"); e["code"] != "permission_denied" || e["client_id"] != "k2" {
				t.Fatalf("%v", e)
			}
		})
		t.Run("revoking the key closes its socket", func(t *testing.T) {
			keys := a.must(200, "GET", "/api/v1/api-keys", biz.token, nil)
			id := ids(keys, "api_keys")[0]
			a.must(204, "DELETE", "/api/v1/api-keys/"+id, biz.token, nil)
			w.closedWithin(5 * time.Second)
		})
	})
}

func TestRateLimitHeaders(t *testing.T) {
	a := newAppOpts(t, tenantstest.SQLite(t), appOptions{tenants: func(c *tenants.Config) { c.DefaultPlan = tenants.PlanFree }})
	biz := a.signup("Rate")
	key := a.apiKey(biz, "developer")
	r := a.must(200, "GET", "/api/v1/conversations", key, nil)
	if r.Header.Get("RateLimit-Limit") != "60" || r.Header.Get("RateLimit-Remaining") != "59" || r.Header.Get("RateLimit-Reset") != "1" {
		t.Fatalf("%v", r.Header)
	}
	if r := a.must(200, "GET", "/api/v1/conversations", biz.token, nil); r.Header.Get("RateLimit-Limit") != "" {
		t.Fatal("people signed in are not limited by the API rate")
	}
}

// Two nodes sharing Redis count one bucket per key: the free plan's 60
// requests a minute hold across both.
func TestRateLimitAcrossNodes(t *testing.T) {
	url := os.Getenv("KEFU_TEST_REDIS_URL")
	pg := tenantstest.Postgres(t)
	if url == "" || pg == nil {
		t.Skip("KEFU_TEST_REDIS_URL or KEFU_TEST_DATABASE_URL not set: the two-node rate limit test needs both")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	prefix := fmt.Sprintf("kefu-test-%d:", time.Now().UnixNano())
	node := func() *app {
		return newAppOpts(t, pg, appOptions{
			tenants:   func(c *tenants.Config) { c.DefaultPlan = tenants.PlanFree },
			configure: func(_ *chat.Config, ac *api.Config) { ac.Redis, ac.RedisPrefix = rdb, prefix },
		})
	}
	n1, n2 := node(), node()
	biz := n1.signup("Shared")
	key := n1.apiKey(biz, "developer")
	// The free plan's 60 a minute refill one a second: the i-th request
	// (taking turns between the nodes) leaves 59-i, plus what has refilled
	// since the first — on a loaded machine the 60 take more than a
	// second. Two buckets, one per node, would leave about 59-i/2.
	start := time.Now()
	for i := range 60 {
		n := n1
		if i%2 == 1 {
			n = n2
		}
		r := n.do("GET", "/api/v1/usage", key, nil)
		if r.Status != 200 {
			t.Fatalf("request %d: %d %s", i, r.Status, r.Raw)
		}
		refilled := int(time.Since(start).Seconds()) + 1
		got, err := strconv.Atoi(r.Header.Get("RateLimit-Remaining"))
		if err != nil || got < 59-i || got > min(59, 59-i+refilled) {
			t.Fatalf("request %d: remaining %q, want %d (up to %d refilled in %v)", i, r.Header.Get("RateLimit-Remaining"), 59-i, refilled, time.Since(start))
		}
	}
	// Spent on both nodes: each answers 429 once the refills since are
	// spent too (a handful of requests at most).
	for _, n := range []*app{n1, n2} {
		var r resp
		for try := 0; try < 10; try++ {
			if r = n.do("GET", "/api/v1/usage", key, nil); r.Status != 200 {
				break
			}
		}
		if r.Status != 429 || r.Code() != "rate_limited" || r.Header.Get("Retry-After") == "" || r.Header.Get("RateLimit-Remaining") != "0" {
			t.Fatalf("over the limit: %d %v %s", r.Status, r.Header, r.Raw)
		}
	}
	other := n2.apiKey(biz, "developer") // its own bucket
	if r := n2.do("GET", "/api/v1/usage", other, nil); r.Status != 200 {
		t.Fatalf("another key: %d %s", r.Status, r.Raw)
	}
	keys, _ := rdb.Keys(context.Background(), prefix+"*").Result()
	if len(keys) == 0 {
		t.Fatal("no buckets in Redis")
	}
	rdb.Del(context.Background(), keys...)
}

func TestPlanQuotas(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			a := newAppOpts(t, b.Store, appOptions{tenants: func(c *tenants.Config) { c.DefaultPlan = tenants.PlanFree }})
			biz := a.signup("Quota")
			u := a.must(200, "GET", "/api/v1/usage", biz.token, nil)
			if u.Str("plan") != "free" || u.Str("seats", "used") != "1" || u.Str("seats", "limit") != "3" || u.Str("conversations", "limit") != "500" {
				t.Fatalf("%s", u.Raw)
			}
			t.Run("the free plan's seats", func(t *testing.T) {
				a.staff(biz, "a1@example.com", "agent", nil)
				a.staff(biz, "a2@example.com", "agent", nil)
				r := a.do("POST", "/api/v1/agents", biz.token, map[string]any{"email": "a3@example.com", "name": "a3", "password": "password1", "role": "agent"})
				if r.Status != 402 || r.Code() != "quota_exceeded" || r.Str("error", "params", "limit") != "3" || r.Str("error", "params", "used") != "3" || r.Str("error", "params", "resource") != "seats" {
					t.Fatalf("%d %s", r.Status, r.Raw)
				}
				if err := a.chat.Tenants().SetPlan(context.Background(), biz.slug, tenants.PlanPro); err != nil {
					t.Fatal(err)
				}
				a.must(201, "POST", "/api/v1/agents", biz.token, map[string]any{"email": "a3@example.com", "name": "a3", "password": "password1", "role": "agent"})
				if err := a.chat.Tenants().SetPlan(context.Background(), biz.slug, tenants.PlanFree); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("conversations of the month", func(t *testing.T) {
				db, err := a.store.Tenant(biz.tenantID)
				if err != nil {
					t.Fatal(err)
				}
				now := time.Now().UTC()
				vid, _ := a.visitor(biz.widgetKey)
				for i := range 500 {
					if err := db.Exec(`INSERT INTO `+db.Table("conversations")+` (id, visitor_id, status, created_at, updated_at) VALUES (?, ?, 'resolved', ?, ?)`, fmt.Sprintf("q%03d", i), vid, now, now).Error; err != nil {
						t.Fatal(err)
					}
				}
				r := a.do("POST", "/api/v1/conversations", biz.token, map[string]any{"visitor_id": vid})
				if r.Status != 402 || r.Code() != "quota_exceeded" || r.Str("error", "params", "limit") != "500" || r.Str("error", "params", "used") != "500" {
					t.Fatalf("%d %s", r.Status, r.Raw)
				}
				if u := a.must(200, "GET", "/api/v1/usage", biz.token, nil); u.Str("conversations", "used") != "500" {
					t.Fatalf("%s", u.Raw)
				}
			})
		})
	}
}

func TestSpecAndDocsAreServed(t *testing.T) {
	a := newApp(t, tenantstest.SQLite(t))
	file, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := a.must(200, "GET", "/api/openapi.yaml", "", nil)
	if r.Raw != string(file) || r.Header.Get("ETag") == "" || r.Header.Get("Content-Type") != "application/yaml; charset=utf-8" {
		t.Fatalf("the spec served differs from api/openapi.yaml (%d bytes vs %d) or lacks headers %v", len(r.Raw), len(file), r.Header)
	}
	if again := a.doWith("GET", "/api/openapi.yaml", "", nil, map[string]string{"If-None-Match": r.Header.Get("ETag")}); again.Status != 304 {
		t.Fatalf("If-None-Match: %d", again.Status)
	}
	d := a.must(200, "GET", "/api/docs", "", nil)
	csp := d.Header.Get("Content-Security-Policy")
	if !strings.Contains(d.Raw, `<script src="/api/docs/redoc.standalone.js">`) || !strings.Contains(d.Raw, `spec-url="/api/openapi.yaml"`) ||
		!strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "worker-src 'self' blob:") || strings.Contains(d.Raw, "cdn") {
		t.Fatalf("docs page: %v\n%s", d.Header, d.Raw)
	}
}
