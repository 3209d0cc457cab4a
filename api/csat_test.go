package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCSAT: the visitor rates their own resolved conversation over REST or
// the socket; agents see it on the conversation, webhooks get
// csat.submitted; other visitors, other tenants, users and keys cannot.
func TestCSAT(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		shop := a.signup("Rated")
		other := a.signup("Elsewhere")
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
		a.must(201, "POST", "/api/v1/webhooks", shop.token, map[string]any{"url": rcv.URL, "events": []string{"csat.submitted"}})
		ctx, cancel := context.WithCancel(context.Background())
		go a.hooks.Run(ctx)
		defer func() { cancel(); a.hooks.Wait(context.Background()) }()

		_, vtok := a.visitor(shop.widgetKey)
		ws := a.connect(t, vtok, nil)
		ws.send(map[string]any{"type": "message.send", "client_id": "c1", "body": "where is my parcel?"})
		conv := ws.expect("ack")["conversation_id"].(string)
		a.settle(shop.token, conv)

		rate := func(token string, body map[string]any) resp { return a.do("POST", "/api/v1/widget/csat", token, body) }
		if r := rate(vtok, map[string]any{"conversation_id": conv, "score": 5}); r.Status != 409 || r.Code() != "conflict" {
			t.Fatalf("rating an open conversation = %d %s", r.Status, r.Raw)
		}
		a.must(200, "POST", "/api/v1/conversations/"+conv+"/resolve", shop.token, nil)

		t.Run("bad input is 400 naming the field", func(t *testing.T) {
			for _, tc := range []struct {
				body  map[string]any
				field string
			}{
				{map[string]any{"conversation_id": conv, "score": 0}, "score"},
				{map[string]any{"conversation_id": conv, "score": 6}, "score"},
				{map[string]any{"conversation_id": conv, "score": 3, "comment": strings.Repeat("长", 1001)}, "comment"},
				{map[string]any{"conversation_id": conv, "score": 3, "comment": "a\x00b"}, "comment"},
				{map[string]any{"score": 3}, "conversation_id"},
			} {
				if r := rate(vtok, tc.body); r.Status != 400 || r.Field(tc.field) == "" {
					t.Errorf("%v = %d %s", tc.body, r.Status, r.Raw)
				}
			}
			if r := a.rawDo("POST", "/api/v1/widget/csat", vtok, "application/json", []byte(`{"conversation_id":`)); r.Status != 400 {
				t.Errorf("malformed JSON = %d", r.Status)
			}
		})
		t.Run("only the conversation's own visitor may rate it", func(t *testing.T) {
			_, stranger := a.visitor(shop.widgetKey)
			_, foreign := a.visitor(other.widgetKey)
			for name, tok := range map[string]string{"another visitor": stranger, "another tenant's visitor": foreign} {
				if r := rate(tok, map[string]any{"conversation_id": conv, "score": 1}); r.Status != 404 {
					t.Errorf("%s = %d %s", name, r.Status, r.Raw)
				}
			}
			if r := rate(shop.token, map[string]any{"conversation_id": conv, "score": 1}); r.Status != 403 || r.Code() != "permission_denied" {
				t.Errorf("the owner = %d %s", r.Status, r.Raw)
			}
			if r := rate("", map[string]any{"conversation_id": conv, "score": 1}); r.Status != 401 {
				t.Errorf("no token = %d", r.Status)
			}
		})

		r := a.must(200, "POST", "/api/v1/widget/csat", vtok, map[string]any{"conversation_id": conv, "score": 4, "comment": "快，谢谢"})
		if r.Str("csat", "score") != "4" || r.Str("csat", "comment") != "快，谢谢" || r.Str("visitor") != "" {
			t.Fatalf("rated = %s", r.Raw)
		}
		first := r.Str("csat", "submitted_at")
		got := a.must(200, "GET", "/api/v1/conversations/"+conv, shop.token, nil)
		if got.Str("csat", "score") != "4" || got.Str("csat", "comment") != "快，谢谢" {
			t.Fatalf("the agent sees %s", got.Raw)
		}

		// The socket frame changes it (within 24 h), under the contract's
		// first name for the score; the time of the first rating stays.
		ws.send(map[string]any{"type": "csat", "conversation_id": conv, "rating": 2, "comment": "on second thought"})
		var c map[string]any
		for range 10 { // earlier frames (queued, resolved) may come first
			if c = ws.expect("conversation.updated")["conversation"].(map[string]any); c["csat"] != nil && num(c["csat"].(map[string]any)["score"]) == 2 {
				break
			}
		}
		if cs, _ := c["csat"].(map[string]any); cs == nil || num(cs["score"]) != 2 || cs["submitted_at"] != first {
			t.Fatalf("after the frame: %v", c)
		}
		if _, leaked := c["visitor"]; leaked {
			t.Errorf("the visitor got the agents' view: %v", c)
		}
		ws.send(map[string]any{"type": "csat", "conversation_id": conv, "score": 9, "client_id": "bad"})
		if e := ws.expect("error"); e["code"] != "invalid_argument" || e["client_id"] != "bad" {
			t.Errorf("bad frame = %v", e)
		}
		ws.send(map[string]any{"type": "csat", "conversation_id": "nope", "score": 3})
		if e := ws.expect("error"); e["code"] != "not_found" {
			t.Errorf("unknown conversation = %v", e)
		}

		// Two ratings, two csat.submitted events, each with the rating.
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			n := len(delivered)
			mu.Unlock()
			if n >= 2 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(delivered) != 2 {
			t.Fatalf("%d csat.submitted deliveries, want 2", len(delivered))
		}
		data := delivered[1]["data"].(map[string]any)
		if delivered[1]["type"] != "csat.submitted" || num(data["conversation"].(map[string]any)["csat"].(map[string]any)["score"]) != 2 {
			t.Errorf("delivery = %v", delivered[1])
		}

		// The reports count the rating (its latest score), on both backends.
		day := time.Now().UTC().Format("2006-01-02")
		o := a.must(200, "GET", "/api/v1/reports/overview?tz=UTC&from="+day+"&to="+day, shop.token, nil)
		cs, _ := o.Body["csat"].(map[string]any)
		if dist, _ := cs["distribution"].([]any); len(dist) != 5 || num(dist[1]) != 1 || num(cs["count"]) != 1 || num(cs["average"]) != 2 {
			t.Errorf("the overview's csat: %s", o.Raw)
		}
	})
}
