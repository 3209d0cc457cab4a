package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestContactsAPI drives /api/v1/contacts as the console and an integrator
// do: create, list with search and paging, read with history, change,
// merge — with its errors, roles, tenant isolation and webhooks.
func TestContactsAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		shop := a.signup("Contacts")
		other := a.signup("Strangers")
		var mu sync.Mutex
		var events []string
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			var env struct {
				Type string `json:"type"`
				Data struct {
					Contact struct {
						Name string `json:"name"`
					} `json:"contact"`
				} `json:"data"`
			}
			_ = json.Unmarshal(body, &env)
			mu.Lock()
			events = append(events, env.Type+" "+env.Data.Contact.Name)
			mu.Unlock()
			w.WriteHeader(204)
		}))
		defer rcv.Close()
		a.must(201, "POST", "/api/v1/webhooks", shop.token, map[string]any{"url": rcv.URL, "events": []string{"contact.created", "contact.updated"}})
		ctx, cancel := context.WithCancel(context.Background())
		go a.hooks.Run(ctx)
		defer func() { cancel(); a.hooks.Wait(context.Background()) }()

		// Create, with every field.
		ann := a.must(201, "POST", "/api/v1/contacts", shop.token, map[string]any{
			"name": "安娜", "email": "ann@example.com", "phone": "+86 138 0000 0000", "notes": "VIP\nprefers e-mail",
			"attributes": map[string]any{"plan": "pro"}, "external_id": "crm-1"})
		annID := ann.Str("id")
		if ann.Str("name") != "安娜" || ann.Str("attributes", "plan") != "pro" || ann.Str("external_id") != "crm-1" || ann.Str("notes") != "VIP\nprefers e-mail" {
			t.Fatalf("created %s", ann.Raw)
		}
		if r := a.do("POST", "/api/v1/contacts", shop.token, map[string]any{"name": "dup", "external_id": "crm-1"}); r.Status != 409 {
			t.Errorf("a second external id = %d %s", r.Status, r.Raw)
		}

		t.Run("bad input is 400 naming the field", func(t *testing.T) {
			for _, tc := range []struct {
				body  map[string]any
				field string
			}{
				{map[string]any{"email": "not-an-address"}, "email"},
				{map[string]any{"name": strings.Repeat("名", 101)}, "name"},
				{map[string]any{"phone": strings.Repeat("1", 41)}, "phone"},
				{map[string]any{"notes": strings.Repeat("n", 10001)}, "notes"},
				{map[string]any{"notes": "a\x00b"}, "notes"},
				{map[string]any{"attributes": map[string]any{"big": strings.Repeat("x", 9000)}}, "attributes"},
			} {
				if r := a.do("POST", "/api/v1/contacts", shop.token, tc.body); r.Status != 400 || r.Field(tc.field) == "" {
					t.Errorf("create %v = %d %s", tc.field, r.Status, r.Raw)
				}
				if r := a.do("PATCH", "/api/v1/contacts/"+annID, shop.token, tc.body); r.Status != 400 || r.Field(tc.field) == "" {
					t.Errorf("patch %v = %d %s", tc.field, r.Status, r.Raw)
				}
			}
			for _, q := range []string{"limit=0", "limit=101", "limit=x", "cursor=garbage!"} {
				if r := a.do("GET", "/api/v1/contacts?"+q, shop.token, nil); r.Status != 400 {
					t.Errorf("list ?%s = %d", q, r.Status)
				}
			}
		})

		// A visitor who writes is a contact too, with their conversation.
		vid, vtok := a.visitor(shop.widgetKey)
		ws := a.connect(t, vtok, nil)
		ws.send(map[string]any{"type": "message.send", "client_id": "c1", "body": "hello"})
		conv := ws.expect("ack")["conversation_id"].(string)
		a.settle(shop.token, conv)
		got := a.must(200, "GET", "/api/v1/contacts/"+vid, shop.token, nil)
		if cs, _ := got.Body["conversations"].([]any); len(cs) != 1 || cs[0].(map[string]any)["id"] != conv {
			t.Fatalf("the visitor's contact = %s", got.Raw)
		}

		// Paging and search.
		for i := range 5 {
			a.must(201, "POST", "/api/v1/contacts", shop.token, map[string]any{"name": fmt.Sprintf("Page %d", i), "email": fmt.Sprintf("p%d@shop.test", i)})
		}
		seen := map[string]bool{}
		cursor := ""
		for pages := 0; ; pages++ {
			r := a.must(200, "GET", "/api/v1/contacts?limit=3&cursor="+cursor, shop.token, nil)
			for _, c := range r.Body["contacts"].([]any) {
				id := c.(map[string]any)["id"].(string)
				if seen[id] {
					t.Fatalf("%s twice", id)
				}
				seen[id] = true
			}
			cursor = r.Str("next_cursor")
			if cursor == "" || pages > 10 {
				break
			}
		}
		if len(seen) != 7 {
			t.Errorf("paged through %d contacts, want 7", len(seen))
		}
		for q, want := range map[string]int{"安娜": 1, "SHOP.TEST": 5, "crm-": 1, "138 0000": 1, "100%": 0, "nobody": 0} {
			r := a.must(200, "GET", "/api/v1/contacts?q="+url.QueryEscape(q)+"&limit=100", shop.token, nil)
			if n := len(r.Body["contacts"].([]any)); n != want {
				t.Errorf("q=%q: %d contacts, want %d", q, n, want)
			}
		}

		// Change: absent fields stay, attributes are replaced.
		p := a.must(200, "PATCH", "/api/v1/contacts/"+annID, shop.token, map[string]any{"phone": "", "attributes": map[string]any{"tier": "gold"}, "external_id": "ignored"})
		if p.Str("phone") != "" || p.Str("name") != "安娜" || p.Str("attributes", "tier") != "gold" || p.Str("attributes", "plan") != "" || p.Str("external_id") != "crm-1" {
			t.Fatalf("patched %s", p.Raw)
		}

		t.Run("roles", func(t *testing.T) {
			a.must(201, "POST", "/api/v1/agents", shop.token, map[string]any{"email": "ag@example.com", "name": "Agent", "password": "password1", "role": "agent"})
			agent := a.must(200, "POST", "/api/v1/auth/login", "", map[string]any{"tenant": shop.slug, "email": "ag@example.com", "password": "password1"}).Str("token")
			a.must(200, "GET", "/api/v1/contacts", agent, nil)
			a.must(200, "PATCH", "/api/v1/contacts/"+annID, agent, map[string]any{"notes": "called back"})
			if r := a.do("POST", "/api/v1/contacts/"+annID+"/merge", agent, map[string]any{"other_id": vid}); r.Status != 403 {
				t.Errorf("an agent merges = %d", r.Status)
			}
			if r := a.do("GET", "/api/v1/contacts", vtok, nil); r.Status != 401 && r.Status != 403 {
				t.Errorf("a visitor lists contacts = %d", r.Status)
			}
			if r := a.do("GET", "/api/v1/contacts", "", nil); r.Status != 401 {
				t.Errorf("anonymous = %d", r.Status)
			}
		})

		t.Run("another tenant's ids are 404", func(t *testing.T) {
			for _, r := range []resp{
				a.do("GET", "/api/v1/contacts/"+annID, other.token, nil),
				a.do("PATCH", "/api/v1/contacts/"+annID, other.token, map[string]any{"name": "x"}),
				a.do("POST", "/api/v1/contacts/"+annID+"/merge", other.token, map[string]any{"other_id": vid}),
			} {
				if r.Status != 404 {
					t.Errorf("= %d %s", r.Status, r.Raw)
				}
			}
			if l := a.must(200, "GET", "/api/v1/contacts?limit=100", other.token, nil); strings.Contains(l.Raw, annID) {
				t.Error("the other tenant lists A's contact")
			}
			mine := a.must(201, "POST", "/api/v1/contacts", other.token, map[string]any{"name": "theirs"}).Str("id")
			if r := a.do("POST", "/api/v1/contacts/"+annID+"/merge", shop.token, map[string]any{"other_id": mine}); r.Status != 404 {
				t.Errorf("merging in another tenant's contact = %d", r.Status)
			}
		})

		// Merge the visitor into Ann: her conversation moves, the visitor goes.
		if r := a.do("POST", "/api/v1/contacts/"+annID+"/merge", shop.token, map[string]any{"other_id": annID}); r.Status != 400 {
			t.Errorf("merge into itself = %d", r.Status)
		}
		m := a.must(200, "POST", "/api/v1/contacts/"+annID+"/merge", shop.token, map[string]any{"other_id": vid})
		if cs, _ := m.Body["conversations"].([]any); len(cs) != 1 || cs[0].(map[string]any)["id"] != conv {
			t.Fatalf("merged = %s", m.Raw)
		}
		if r := a.do("GET", "/api/v1/contacts/"+vid, shop.token, nil); r.Status != 404 {
			t.Errorf("the merged-away contact = %d", r.Status)
		}
		if c := a.must(200, "GET", "/api/v1/conversations/"+conv, shop.token, nil); c.Str("visitor", "id") != annID {
			t.Errorf("the conversation's visitor = %s", c.Str("visitor", "id"))
		}

		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			all := strings.Join(events, "|")
			mu.Unlock()
			if strings.Contains(all, "contact.created 安娜") && strings.Count(all, "contact.updated 安娜") >= 3 || time.Now().After(deadline) {
				if !strings.Contains(all, "contact.created 安娜") || strings.Count(all, "contact.updated 安娜") < 3 {
					t.Errorf("webhook events %s", all)
				}
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
