package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"kefu/tenants"
)

// TestWidgetSettings: admins read and replace the widget's settings, which
// are validated and bounded; the public widget config shows visitors only
// what they may see; agents may not touch them; each tenant has its own.
func TestWidgetSettings(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		shop := a.signup("Styled")
		other := a.signup("Plain")

		t.Run("the defaults come with an identity secret and no refused origins", func(t *testing.T) {
			r := a.must(200, "GET", "/api/v1/widget-settings", shop.token, nil)
			if r.Str("position") != "right" || !strings.HasPrefix(r.Str("identity_secret"), "kis_") || r.Str("refused_origins") != "[]" {
				t.Fatalf("defaults = %s", r.Raw)
			}
			again := a.must(200, "GET", "/api/v1/widget-settings", shop.token, nil)
			if again.Str("identity_secret") != r.Str("identity_secret") {
				t.Fatal("the identity secret changed between two reads")
			}
		})

		good := map[string]any{
			"color": "#AA3300", "position": "left", "greeting": "你好，欢迎光临", "launcher_text": "Chat", "avatar_url": "https://cdn.example.com/team.png",
			"language": "zh-CN", "allowed_origins": []string{"https://shop.example.com"},
			"prechat": map[string]any{"enabled": true, "fields": []any{
				map[string]any{"type": "name", "required": true},
				map[string]any{"type": "custom", "key": "order_no", "label": "Order number"},
			}},
		}
		t.Run("settings round-trip and reach the widget without secrets", func(t *testing.T) {
			r := a.must(200, "PUT", "/api/v1/widget-settings", shop.token, good)
			if r.Str("color") != "#aa3300" || r.Str("position") != "left" || r.Str("allowed_origins") != "[https://shop.example.com]" {
				t.Fatalf("put = %s", r.Raw)
			}
			cfg := a.must(200, "GET", "/api/v1/widget/config?key="+shop.widgetKey, "", nil)
			if cfg.Str("settings", "greeting") != "你好，欢迎光临" || cfg.Str("settings", "launcher_text") != "Chat" || cfg.Str("settings", "language") != "zh-CN" {
				t.Fatalf("config = %s", cfg.Raw)
			}
			for _, secret := range []string{"identity_secret", "allowed_origins", "shop.example.com", "kis_"} {
				if strings.Contains(cfg.Raw, secret) {
					t.Fatalf("the public config shows %q: %s", secret, cfg.Raw)
				}
			}
			if o := a.must(200, "GET", "/api/v1/widget/config?key="+other.widgetKey, "", nil); o.Str("settings", "greeting") != "" || o.Str("settings", "position") != "right" {
				t.Fatalf("another tenant's widget got the settings: %s", o.Raw)
			}
		})

		t.Run("bad settings are 400 naming each field, and nothing is written", func(t *testing.T) {
			fields := []any{}
			for i := 0; i < tenants.MaxPrechatFields+1; i++ {
				fields = append(fields, map[string]any{"type": "custom", "key": fmt.Sprintf("f%d", i), "label": "F"})
			}
			for _, tc := range []struct {
				name  string
				patch map[string]any
				field string
			}{
				{"a colour that is not hex", map[string]any{"color": "red"}, "color"},
				{"a position off the sides", map[string]any{"position": "top"}, "position"},
				{"an avatar over plain http", map[string]any{"avatar_url": "http://cdn.example.com/a.png"}, "avatar_url"},
				{"a javascript avatar", map[string]any{"avatar_url": "javascript:alert(1)"}, "avatar_url"},
				{"a greeting too long", map[string]any{"greeting": strings.Repeat("长", tenants.MaxGreeting+1)}, "greeting"},
				{"launcher text too long", map[string]any{"launcher_text": strings.Repeat("x", tenants.MaxLauncherText+1)}, "launcher_text"},
				{"a NUL in the greeting", map[string]any{"greeting": "hi\x00"}, "greeting"},
				{"a language Kefu does not speak", map[string]any{"language": "fr"}, "language"},
				{"an origin with a path", map[string]any{"allowed_origins": []string{"https://shop.example.com/cart"}}, "allowed_origins[0]"},
				{"an origin of another scheme", map[string]any{"allowed_origins": []string{"ftp://shop.example.com"}}, "allowed_origins[0]"},
				{"too many form fields", map[string]any{"prechat": map[string]any{"enabled": true, "fields": fields}}, "prechat.fields"},
				{"a field of no known type", map[string]any{"prechat": map[string]any{"fields": []any{map[string]any{"type": "date"}}}}, "prechat.fields[0].type"},
				{"a custom field with a bad key", map[string]any{"prechat": map[string]any{"fields": []any{map[string]any{"type": "custom", "key": "Bad Key", "label": "x"}}}}, "prechat.fields[0].key"},
				{"a custom field without a label", map[string]any{"prechat": map[string]any{"fields": []any{map[string]any{"type": "custom", "key": "k"}}}}, "prechat.fields[0].label"},
				{"one field twice", map[string]any{"prechat": map[string]any{"fields": []any{map[string]any{"type": "email"}, map[string]any{"type": "email"}}}}, "prechat.fields[1].key"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					body := map[string]any{}
					for k, v := range good {
						body[k] = v
					}
					for k, v := range tc.patch {
						body[k] = v
					}
					r := a.do("PUT", "/api/v1/widget-settings", shop.token, body)
					if r.Status != 400 || r.Code() != "invalid_argument" || r.Field(tc.field) == "" {
						t.Fatalf("status %d, want 400 with field %s: %s", r.Status, tc.field, r.Raw)
					}
				})
			}
			if r := a.must(200, "GET", "/api/v1/widget-settings", shop.token, nil); r.Str("color") != "#aa3300" || r.Str("allowed_origins") != "[https://shop.example.com]" {
				t.Fatalf("a refused PUT changed the settings: %s", r.Raw)
			}
		})

		t.Run("agents may not read or change them; each tenant sees its own", func(t *testing.T) {
			_, agent := a.addUser(shop, "agent-ws@example.com", "agent")
			for _, m := range []string{"GET", "PUT"} {
				if r := a.do(m, "/api/v1/widget-settings", agent, good); r.Status != 403 {
					t.Fatalf("agent %s = %d", m, r.Status)
				}
			}
			if r := a.do("POST", "/api/v1/widget-settings/identity-secret", agent, nil); r.Status != 403 {
				t.Fatalf("agent rotate = %d", r.Status)
			}
			mine := a.must(200, "GET", "/api/v1/widget-settings", shop.token, nil)
			theirs := a.must(200, "GET", "/api/v1/widget-settings", other.token, nil)
			if theirs.Str("color") != "" || theirs.Str("identity_secret") == mine.Str("identity_secret") {
				t.Fatalf("tenants share settings: %s vs %s", mine.Raw, theirs.Raw)
			}
			if r := a.do("GET", "/api/v1/widget-settings", "", nil); r.Status != 401 {
				t.Fatalf("anonymous = %d", r.Status)
			}
		})

		t.Run("a page of an origin not allowed is refused and the admin sees it", func(t *testing.T) {
			for _, tc := range []struct {
				origin string
				ok     bool
			}{{"https://evil.example.net", false}, {"https://shop.example.com", true}, {"", true}, {a.url, true}} {
				h := map[string]string{}
				if tc.origin != "" {
					h["Origin"] = tc.origin
				}
				cfg := a.doWith("GET", "/api/v1/widget/config?key="+shop.widgetKey, "", nil, h)
				sess := a.doWith("POST", "/api/v1/widget/sessions", "", map[string]any{"widget_key": shop.widgetKey}, h)
				if tc.ok && (cfg.Status != 200 || sess.Status != 201) {
					t.Fatalf("origin %q: config %d, session %d", tc.origin, cfg.Status, sess.Status)
				}
				if !tc.ok && (cfg.Status != 403 || cfg.Code() != "origin_not_allowed" || sess.Status != 403 || sess.Code() != "origin_not_allowed") {
					t.Fatalf("origin %q: config %s, session %s", tc.origin, cfg.Raw, sess.Raw)
				}
			}
			r := a.must(200, "GET", "/api/v1/widget-settings", shop.token, nil)
			refused, _ := r.Body["refused_origins"].([]any)
			if len(refused) != 1 || refused[0].(map[string]any)["origin"] != "https://evil.example.net" {
				t.Fatalf("refused origins = %s", r.Raw)
			}
			if o := a.must(200, "GET", "/api/v1/widget-settings", other.token, nil); o.Str("refused_origins") != "[]" {
				t.Fatalf("another tenant sees the refusals: %s", o.Raw)
			}
		})

		t.Run("refused origins keep the last 20 distinct", func(t *testing.T) {
			for i := 0; i < 25; i++ {
				r := a.doWith("GET", "/api/v1/widget/config?key="+shop.widgetKey, "", nil, map[string]string{"Origin": fmt.Sprintf("https://site%02d.example.org", i)})
				if r.Status != 403 {
					t.Fatalf("site %d = %d", i, r.Status)
				}
			}
			a.doWith("GET", "/api/v1/widget/config?key="+shop.widgetKey, "", nil, map[string]string{"Origin": "https://not an origin"})
			r := a.must(200, "GET", "/api/v1/widget-settings", shop.token, nil)
			refused, _ := r.Body["refused_origins"].([]any)
			if len(refused) != tenants.MaxRefusedOrigins {
				t.Fatalf("%d refused origins kept, want %d", len(refused), tenants.MaxRefusedOrigins)
			}
			if refused[0].(map[string]any)["origin"] != "https://site24.example.org" {
				t.Fatalf("latest first: %v", refused[0])
			}
		})

		t.Run("an empty list lets any site run the widget again", func(t *testing.T) {
			body := map[string]any{}
			for k, v := range good {
				body[k] = v
			}
			body["allowed_origins"] = []string{}
			a.must(200, "PUT", "/api/v1/widget-settings", shop.token, body)
			if r := a.doWith("GET", "/api/v1/widget/config?key="+shop.widgetKey, "", nil, map[string]string{"Origin": "https://evil.example.net"}); r.Status != 200 {
				t.Fatalf("status %d", r.Status)
			}
		})
	})
}

// session starts a widget session with an identity (nil: none).
func (a *app) identifiedSession(key, token string, identity map[string]any) resp {
	a.t.Helper()
	body := map[string]any{"widget_key": key}
	if token != "" {
		body["visitor_token"] = token
	}
	if identity != nil {
		body["identity"] = identity
	}
	return a.do("POST", "/api/v1/widget/sessions", "", body)
}

// TestWidgetIdentity: Kefu.identify with the tenant's HMAC binds a visitor
// to the contact of that external id on every device, which then share one
// history; a wrong hash, another tenant's secret or a rotated one never
// binds; a tenant may require an identity.
func TestWidgetIdentity(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		shop := a.signup("Known")
		other := a.signup("Stranger")
		secret := a.must(200, "GET", "/api/v1/widget-settings", shop.token, nil).Str("identity_secret")
		otherSecret := a.must(200, "GET", "/api/v1/widget-settings", other.token, nil).Str("identity_secret")
		ident := func(sec, id string) map[string]any {
			return map[string]any{"id": id, "name": "Ida Identified", "email": "ida@example.com", "hash": tenants.IdentityHash(sec, id)}
		}

		var idaID, conv string
		t.Run("an anonymous visitor who identifies keeps their conversation and becomes the contact", func(t *testing.T) {
			anon := a.must(201, "POST", "/api/v1/widget/sessions", "", map[string]any{"widget_key": shop.widgetKey})
			if anon.Str("identified") != "false" {
				t.Fatalf("anonymous = %s", anon.Raw)
			}
			w := a.connect(t, anon.Str("visitor_token"), nil)
			w.send(map[string]any{"type": "message.send", "client_id": "before", "body": "written before signing in"})
			conv = w.expect("ack")["conversation_id"].(string)
			r := a.identifiedSession(shop.widgetKey, anon.Str("visitor_token"), ident(secret, "user-42"))
			if r.Status != 201 || r.Str("identified") != "true" || r.Str("identity_error") != "" {
				t.Fatalf("identify = %d %s", r.Status, r.Raw)
			}
			idaID = r.Str("visitor_id")
			c := a.must(200, "GET", "/api/v1/contacts/"+idaID, shop.token, nil)
			if c.Str("external_id") != "user-42" || c.Str("name") != "Ida Identified" || c.Str("email") != "ida@example.com" {
				t.Fatalf("contact = %s", c.Raw)
			}
			convs, _ := c.Body["conversations"].([]any)
			if len(convs) != 1 || convs[0].(map[string]any)["id"] != conv {
				t.Fatalf("the contact's conversations = %v, want [%s]", convs, conv)
			}
		})

		t.Run("the same person on another device sees the same history", func(t *testing.T) {
			r := a.identifiedSession(shop.widgetKey, "", ident(secret, "user-42"))
			if r.Status != 201 || r.Str("visitor_id") != idaID {
				t.Fatalf("second device = %s, want visitor %s", r.Raw, idaID)
			}
			w := a.dial(t)
			w.send(map[string]any{"type": "hello", "token": r.Str("visitor_token")})
			welcome := w.expect("welcome")
			convs, _ := welcome["conversations"].([]any)
			if len(convs) != 1 || convs[0].(map[string]any)["id"] != conv {
				t.Fatalf("welcome conversations = %v", convs)
			}
			if m := w.expect("message.new"); m["message"].(map[string]any)["body"] != "written before signing in" {
				t.Fatalf("replay = %v", m)
			}
		})

		t.Run("a wrong hash, another tenant's secret or no hash never binds", func(t *testing.T) {
			for name, id := range map[string]map[string]any{
				"a wrong hash":            {"id": "user-42", "hash": strings.Repeat("ab", 32)},
				"another tenant's secret": ident(otherSecret, "user-42"),
				"the hash of another id":  {"id": "user-42", "hash": tenants.IdentityHash(secret, "user-43")},
				"no hash":                 {"id": "user-42"},
			} {
				r := a.identifiedSession(shop.widgetKey, "", id)
				if r.Status != 201 || r.Str("identified") != "false" || r.Str("identity_error") != "identity_invalid" || r.Str("visitor_id") == idaID {
					t.Fatalf("%s: %d %s", name, r.Status, r.Raw)
				}
			}
			if c := a.must(200, "GET", "/api/v1/contacts/"+idaID, shop.token, nil); c.Str("name") != "Ida Identified" {
				t.Fatalf("a refused identity changed the contact: %s", c.Raw)
			}
		})

		t.Run("bad identity input is 400", func(t *testing.T) {
			for _, id := range []map[string]any{{"id": ""}, {"id": strings.Repeat("x", 201)}, {"id": "a\x00"}, {"id": "u", "email": "not-an-email"}} {
				if r := a.identifiedSession(shop.widgetKey, "", id); r.Status != 400 {
					t.Fatalf("%v = %d %s", id, r.Status, r.Raw)
				}
			}
		})

		t.Run("a rotated secret stops old hashes at once", func(t *testing.T) {
			rot := a.must(200, "POST", "/api/v1/widget-settings/identity-secret", shop.token, nil)
			fresh := rot.Str("identity_secret")
			if fresh == secret || !strings.HasPrefix(fresh, "kis_") {
				t.Fatalf("rotate = %s", rot.Raw)
			}
			if r := a.identifiedSession(shop.widgetKey, "", ident(secret, "user-42")); r.Str("identified") != "false" {
				t.Fatalf("the old secret still binds: %s", r.Raw)
			}
			if r := a.identifiedSession(shop.widgetKey, "", ident(fresh, "user-42")); r.Str("identified") != "true" || r.Str("visitor_id") != idaID {
				t.Fatalf("the new secret does not bind: %s", r.Raw)
			}
			if g := a.must(200, "GET", "/api/v1/widget-settings", shop.token, nil); g.Str("identity_secret") != fresh {
				t.Fatal("GET does not show the rotated secret")
			}
			secret = fresh
		})

		t.Run("a tenant that requires an identity refuses anonymous and forged sessions", func(t *testing.T) {
			a.must(200, "PUT", "/api/v1/widget-settings", shop.token, map[string]any{"require_identity": true})
			if r := a.identifiedSession(shop.widgetKey, "", nil); r.Status != 403 || r.Code() != "identity_required" {
				t.Fatalf("anonymous = %d %s", r.Status, r.Raw)
			}
			if r := a.identifiedSession(shop.widgetKey, "", map[string]any{"id": "user-42", "hash": "00"}); r.Status != 403 || r.Code() != "identity_invalid" {
				t.Fatalf("forged = %d %s", r.Status, r.Raw)
			}
			if r := a.identifiedSession(shop.widgetKey, "", ident(secret, "user-7")); r.Status != 201 || r.Str("identified") != "true" {
				t.Fatalf("identified = %d %s", r.Status, r.Raw)
			}
			if cfg := a.must(200, "GET", "/api/v1/widget/config?key="+shop.widgetKey, "", nil); cfg.Str("settings", "require_identity") != "true" {
				t.Fatalf("config = %s", cfg.Raw)
			}
			a.must(200, "PUT", "/api/v1/widget-settings", shop.token, map[string]any{})
		})
	})
}

// TestWidgetPrechat: the pre-chat form's required fields are enforced by
// the server before a first message; the answers land on the contact; an
// anonymous visitor writes no contact.created, the form's answers do.
func TestWidgetPrechat(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		shop := a.signup("Asks")
		var mu sync.Mutex
		var delivered []map[string]any
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			var env map[string]any
			_ = json.Unmarshal(body, &env)
			mu.Lock()
			delivered = append(delivered, env)
			mu.Unlock()
			w.WriteHeader(204)
		}))
		defer rcv.Close()
		a.must(201, "POST", "/api/v1/webhooks", shop.token, map[string]any{"url": rcv.URL, "events": []string{"contact.created", "contact.updated"}})
		ctx, cancel := context.WithCancel(context.Background())
		go a.hooks.Run(ctx)
		defer func() { cancel(); a.hooks.Wait(context.Background()) }()

		a.must(200, "PUT", "/api/v1/widget-settings", shop.token, map[string]any{"prechat": map[string]any{"enabled": true, "fields": []any{
			map[string]any{"type": "name", "required": true},
			map[string]any{"type": "email", "required": true},
			map[string]any{"type": "phone"},
			map[string]any{"type": "custom", "key": "order_no", "label": "Order number", "required": true},
		}}})

		anon := a.must(201, "POST", "/api/v1/widget/sessions", "", map[string]any{"widget_key": shop.widgetKey, "visitor": map[string]any{"attributes": map[string]any{"page_url": "https://shop.example.com/"}}})
		if anon.Str("prechat_needed") != "true" {
			t.Fatalf("session = %s", anon.Raw)
		}
		vtok, vid := anon.Str("visitor_token"), anon.Str("visitor_id")

		t.Run("a first message before the form is refused", func(t *testing.T) {
			w := a.connect(t, vtok, nil)
			w.send(map[string]any{"type": "message.send", "client_id": "early", "body": "hello?"})
			e := w.expect("error")
			if e["code"] != "prechat_required" {
				t.Fatalf("error = %v", e)
			}
		})

		t.Run("answers are validated against the form", func(t *testing.T) {
			for _, tc := range []struct {
				body  map[string]any
				field string
			}{
				{map[string]any{"name": "Pia", "fields": map[string]any{"order_no": "A1"}}, "email"},
				{map[string]any{"name": "Pia", "email": "nope", "fields": map[string]any{"order_no": "A1"}}, "email"},
				{map[string]any{"name": "Pia", "email": "pia@example.com"}, "fields.order_no"},
				{map[string]any{"name": "Pia", "email": "pia@example.com", "fields": map[string]any{"order_no": "A1", "shoe_size": "42"}}, "fields.shoe_size"},
				{map[string]any{"name": strings.Repeat("x", 101), "email": "pia@example.com", "fields": map[string]any{"order_no": "A1"}}, "name"},
				{map[string]any{"name": "Pia", "email": "pia@example.com", "phone": strings.Repeat("1", 41), "fields": map[string]any{"order_no": "A1"}}, "phone"},
			} {
				if r := a.do("POST", "/api/v1/widget/prechat", vtok, tc.body); r.Status != 400 || r.Field(tc.field) == "" {
					t.Fatalf("%v: %d %s (want field %s)", tc.body, r.Status, r.Raw, tc.field)
				}
			}
			if r := a.do("POST", "/api/v1/widget/prechat", shop.token, map[string]any{"name": "x"}); r.Status != 403 {
				t.Fatalf("an agent answering = %d", r.Status)
			}
			if r := a.do("POST", "/api/v1/widget/prechat", "", map[string]any{"name": "x"}); r.Status != 401 {
				t.Fatalf("no token = %d", r.Status)
			}
		})

		t.Run("the answers land on the contact and the first message goes through", func(t *testing.T) {
			a.must(204, "POST", "/api/v1/widget/prechat", vtok, map[string]any{"name": "Pia Prechat", "email": "pia@example.com", "phone": "+86 138 0000 0000", "fields": map[string]any{"order_no": "A-1001"}})
			c := a.must(200, "GET", "/api/v1/contacts/"+vid, shop.token, nil)
			if c.Str("name") != "Pia Prechat" || c.Str("email") != "pia@example.com" || c.Str("phone") != "+86 138 0000 0000" || c.Str("attributes", "order_no") != "A-1001" || c.Str("attributes", "page_url") == "" {
				t.Fatalf("contact = %s", c.Raw)
			}
			if r := a.must(201, "POST", "/api/v1/widget/sessions", "", map[string]any{"widget_key": shop.widgetKey, "visitor_token": vtok}); r.Str("prechat_needed") != "false" {
				t.Fatalf("the form is asked again: %s", r.Raw)
			}
			w := a.connect(t, vtok, nil)
			w.send(map[string]any{"type": "message.send", "client_id": "after", "body": "my parcel"})
			w.expect("ack")
		})

		t.Run("only visitors with something to know are contacts in webhooks", func(t *testing.T) {
			// Anonymous visitors coming and going write nothing.
			for i := 0; i < 3; i++ {
				a.must(201, "POST", "/api/v1/widget/sessions", "", map[string]any{"widget_key": shop.widgetKey})
			}
			a.must(204, "POST", "/api/v1/widget/prechat", vtok, map[string]any{"name": "Pia P.", "email": "pia@example.com", "fields": map[string]any{"order_no": "A-1001"}})
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				var created, updated []map[string]any
				for _, d := range delivered {
					switch d["event"] {
					case "contact.created":
						created = append(created, d)
					case "contact.updated":
						updated = append(updated, d)
					}
				}
				mu.Unlock()
				if len(created) == 1 && len(updated) == 1 {
					c := created[0]["data"].(map[string]any)["contact"].(map[string]any)
					if c["id"] != vid || c["email"] != "pia@example.com" {
						t.Fatalf("contact.created = %v", c)
					}
					break
				}
				if len(created) > 1 || len(updated) > 1 || time.Now().After(deadline) {
					t.Fatalf("created %d, updated %d, want 1 and 1: %v", len(created), len(updated), delivered)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	})
}
