package api_test

import (
	"testing"
)

// TestOnboarding: the checklist ticks itself from the workspace's data;
// putting it away is per user; admins only; tenants apart.
func TestOnboarding(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		shop := a.signup("Onboard")
		other := a.signup("Untouched")
		_, agentTok := a.addUser(shop, uniqueEmail("agent"), "agent")
		_, adminTok := a.addUser(shop, uniqueEmail("admin"), "admin")
		fresh := a.signup("Fresh")

		state := func(token string) (map[string]bool, resp) {
			t.Helper()
			r := a.must(200, "GET", "/api/v1/onboarding", token, nil)
			out := map[string]bool{}
			for _, s := range r.Body["steps"].([]any) {
				m := s.(map[string]any)
				out[m["id"].(string)] = m["done"].(bool)
			}
			return out, r
		}

		t.Run("a new workspace has every step to do", func(t *testing.T) {
			steps, r := state(fresh.token)
			if len(steps) != 6 || r.Str("done") != "0" || r.Str("total") != "6" || r.Str("dismissed") != "false" {
				t.Fatalf("checklist: %s", r.Raw)
			}
			for id, done := range steps {
				if done {
					t.Errorf("%s done in a new workspace", id)
				}
			}
		})
		t.Run("agents may not read it", func(t *testing.T) {
			a.must(403, "GET", "/api/v1/onboarding", agentTok, nil)
			a.must(403, "PATCH", "/api/v1/onboarding", agentTok, map[string]any{"dismissed": true})
		})
		t.Run("a second person ticks invite", func(t *testing.T) {
			if steps, r := state(shop.token); !steps["invite"] || steps["snippet"] {
				t.Fatalf("checklist: %s", r.Raw)
			}
		})
		t.Run("an invitation ticks invite", func(t *testing.T) {
			a.must(201, "POST", "/api/v1/invites", fresh.token, map[string]any{"email": uniqueEmail("ivy")})
			if steps, r := state(fresh.token); !steps["invite"] {
				t.Fatalf("checklist: %s", r.Raw)
			}
		})
		t.Run("a widget session ticks snippet, a visitor's message test_message", func(t *testing.T) {
			_, vtok := a.visitor(shop.widgetKey)
			if steps, r := state(shop.token); !steps["snippet"] || steps["test_message"] {
				t.Fatalf("checklist: %s", r.Raw)
			}
			ws := a.connect(t, vtok, nil)
			ws.send(map[string]any{"type": "message.send", "client_id": "c1", "body": "hello from the demo page"})
			conv := ws.expect("ack")["conversation_id"].(string)
			a.settle(shop.token, conv)
			if steps, r := state(shop.token); !steps["test_message"] {
				t.Fatalf("checklist: %s", r.Raw)
			}
		})
		t.Run("saved widget settings and business hours tick widget and business_hours", func(t *testing.T) {
			tuned := a.signup("Tuned")
			if steps, r := state(tuned.token); steps["widget"] || steps["business_hours"] {
				t.Fatalf("checklist: %s", r.Raw)
			}
			a.must(200, "PUT", "/api/v1/widget-settings", tuned.token, map[string]any{"color": "#aa3300", "greeting": "Hello"})
			a.must(200, "PUT", "/api/v1/business-hours", tuned.token, map[string]any{"enabled": true, "timezone": "Asia/Shanghai",
				"schedule": map[string]any{"mon": [][2]string{{"09:00", "18:00"}}}, "holidays": []string{}})
			if steps, r := state(tuned.token); !steps["widget"] || !steps["business_hours"] {
				t.Fatalf("checklist after saving the widget and the hours: %s", r.Raw)
			}
		})
		t.Run("widget settings tick widget", func(t *testing.T) {
			a.must(200, "PATCH", "/api/v1/tenant", shop.token, map[string]any{"allowed_origins": []string{"https://shop.example.com"}})
			if steps, r := state(shop.token); !steps["widget"] {
				t.Fatalf("checklist: %s", r.Raw)
			}
		})
		t.Run("a published flow with business hours ticks flow and business_hours", func(t *testing.T) {
			hours := map[string]any{"timezone": "Asia/Shanghai", "schedule": map[string]any{"mon": [][2]string{{"09:00", "18:00"}}}}
			graph := map[string]any{
				"nodes": []map[string]any{
					{"id": "s", "type": "start", "position": map[string]any{"x": 0, "y": 0}},
					{"id": "h", "type": "business_hours", "data": hours, "position": map[string]any{"x": 0, "y": 100}},
					{"id": "q", "type": "queue", "position": map[string]any{"x": 0, "y": 200}},
					{"id": "e", "type": "end", "position": map[string]any{"x": 100, "y": 200}},
				},
				"edges": []map[string]any{{"id": "1", "source": "s", "target": "h"}, {"id": "2", "source": "h", "target": "q", "label": "open"}, {"id": "3", "source": "h", "target": "e", "label": "closed"}},
			}
			f := a.must(201, "POST", "/api/v1/flows", shop.token, map[string]any{"name": "Hours", "graph": graph})
			if steps, r := state(shop.token); steps["flow"] || steps["business_hours"] {
				t.Fatalf("a draft ticks: %s", r.Raw)
			}
			a.must(200, "POST", "/api/v1/flows/"+f.Str("id")+"/publish", shop.token, nil)
			steps, r := state(shop.token)
			if !steps["flow"] || !steps["business_hours"] || r.Str("done") != "6" {
				t.Fatalf("checklist: %s", r.Raw)
			}
		})
		t.Run("another tenant's checklist is its own", func(t *testing.T) {
			if _, r := state(other.token); r.Str("done") != "0" {
				t.Fatalf("checklist: %s", r.Raw)
			}
		})
		t.Run("putting it away is per user", func(t *testing.T) {
			a.must(400, "PATCH", "/api/v1/onboarding", shop.token, map[string]any{})
			a.must(400, "PATCH", "/api/v1/onboarding", shop.token, map[string]any{"dismissed": "yes"})
			if r := a.must(200, "PATCH", "/api/v1/onboarding", shop.token, map[string]any{"dismissed": true}); r.Str("dismissed") != "true" {
				t.Fatalf("dismiss: %s", r.Raw)
			}
			a.must(200, "PATCH", "/api/v1/onboarding", shop.token, map[string]any{"dismissed": true}) // twice is fine
			if _, r := state(adminTok); r.Str("dismissed") != "false" {
				t.Fatalf("another admin's: %s", r.Raw)
			}
			if _, r := state(shop.token); r.Str("dismissed") != "true" {
				t.Fatalf("after dismiss: %s", r.Raw)
			}
			a.must(200, "PATCH", "/api/v1/onboarding", shop.token, map[string]any{"dismissed": false})
			if _, r := state(shop.token); r.Str("dismissed") != "false" {
				t.Fatalf("brought back: %s", r.Raw)
			}
		})
	})
}
