package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"kefu/api/apitest"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestWebhookSurvivesKill9 commits messages while the receiver refuses them,
// kills the server with SIGKILL between those commits and their delivery,
// and starts it again: every message.created still arrives, verified with
// the Standard Webhooks library, and each event is accepted exactly once
// (by its webhook-id), on SQLite and on PostgreSQL.
func TestWebhookSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the webhook crash test")
	}
	bin := buildKefu(t)
	t.Run("sqlite", func(t *testing.T) {
		killBetweenCommitAndDelivery(t, journeyConfig{bin: bin, dataDir: t.TempDir()}, nil)
	})
	t.Run("postgres", func(t *testing.T) {
		dbURL := os.Getenv("KEFU_TEST_DATABASE_URL")
		if dbURL == "" {
			t.Skip("KEFU_TEST_DATABASE_URL not set")
		}
		killBetweenCommitAndDelivery(t, journeyConfig{bin: bin, dataDir: t.TempDir(), databaseURL: dbURL}, newTenantSchemas(t, dbURL))
	})
}

// hookReceiver refuses every delivery (503) until open, then accepts; it
// counts the accepted deliveries per webhook-id.
type hookReceiver struct {
	mu       sync.Mutex
	open     bool
	secret   string
	tried    int
	accepted map[string]int    // webhook-id → 2xx answers
	messages map[string]string // webhook-id → message id
	bad      []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tried++
	wh, err := standardwebhooks.NewWebhook(h.secret)
	if err == nil {
		err = wh.Verify(body, r.Header)
	}
	if err != nil {
		h.bad = append(h.bad, err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if !h.open {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var ev struct {
		Type string `json:"type"`
		Data struct {
			Message struct {
				ID string `json:"id"`
			} `json:"message"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &ev)
	id := r.Header.Get("webhook-id")
	h.accepted[id]++
	h.messages[id] = ev.Data.Message.ID
	w.WriteHeader(http.StatusNoContent)
}

func killBetweenCommitAndDelivery(t *testing.T, cfg journeyConfig, schemas *tenantSchemas) {
	rcv := &hookReceiver{accepted: map[string]int{}, messages: map[string]string{}}
	hook := httptest.NewServer(rcv)
	t.Cleanup(hook.Close)
	srv := startKefu(t, cfg)
	su := apitest.New(srv.baseURL()).Signup(t, "Hooks "+randHex(4), "o@example.com", "password1", "Olga")
	if schemas != nil {
		schemas.add(su.TenantID)
	}
	var created struct {
		Secret string `json:"secret"`
	}
	post(t, srv.baseURL()+"/api/v1/webhooks", su.Token, map[string]any{"url": hook.URL, "events": []string{"message.created"}}, &created)
	rcv.mu.Lock()
	rcv.secret = created.Secret
	rcv.mu.Unlock()

	_, wsToken := apitest.New(srv.baseURL()).Visitor(t, su.WidgetKey, nil)
	visitor := dialNode(t, srv, wsToken, nil)
	visitor.Send(t, map[string]any{"type": "message.send", "client_id": "open", "body": "hello"})
	ack := visitor.waitFor(t, func(f map[string]any) bool { return f["type"] == "ack" })
	conv := ack["conversation_id"].(string)
	visitor.CloseNow()
	for i := 0; i < 20; i++ {
		post(t, srv.baseURL()+"/api/v1/conversations/"+conv+"/messages", su.Token, map[string]any{"body": fmt.Sprintf("reply %d", i), "client_id": fmt.Sprintf("r%d", i)}, nil)
	}
	// The worker has tried (and been refused); now the process dies.
	waitUntil(t, 10*time.Second, "a refused delivery", func() bool { rcv.mu.Lock(); defer rcv.mu.Unlock(); return rcv.tried > 0 })
	srv.kill(t)
	rcv.mu.Lock()
	rcv.open = true
	rcv.mu.Unlock()
	srv.start(t)

	var page struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	get(t, srv.baseURL()+"/api/v1/conversations/"+conv+"/messages?limit=500", su.Token, &page)
	if len(page.Messages) < 21 {
		t.Fatalf("%d messages stored, want at least 21", len(page.Messages))
	}
	waitUntil(t, 30*time.Second, "every stored message's event", func() bool {
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		return len(rcv.accepted) >= len(page.Messages)
	})
	time.Sleep(2 * time.Second) // anything sent twice would show by now
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.bad) > 0 {
		t.Errorf("deliveries that do not verify: %v", rcv.bad)
	}
	delivered := map[string]bool{}
	for id, n := range rcv.accepted {
		if n != 1 {
			t.Errorf("event %s accepted %d times", id, n)
		}
		delivered[rcv.messages[id]] = true
	}
	for _, m := range page.Messages {
		if !delivered[m.ID] {
			t.Errorf("message %s was committed but its event never arrived", m.ID)
		}
	}
	if len(rcv.accepted) != len(page.Messages) {
		t.Errorf("%d events accepted for %d messages", len(rcv.accepted), len(page.Messages))
	}
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after %v, still waiting for %s", d, what)
		}
	}
}
