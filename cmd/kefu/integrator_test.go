package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"kefu/api/apitest"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestIntegratorJourney is issue 10's acceptance, as an integrator with only
// an API key lives it, against two built kefu nodes on one PostgreSQL and one
// Redis: register a webhook; a visitor writes over /ws and the signed
// message.created arrives within a second and verifies (Standard Webhooks
// library and Kefu-Signature); look the contact up; reply by the API and the
// visitor hears it; search finds the Chinese phrase; erase the contact and
// the text leaves search and the export; then kill -9 one node while a
// visitor writes, and every stored message's event still arrives, under one
// webhook-id however often it was sent.
func TestIntegratorJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the integrator journey")
	}
	dbURL, redisURL := os.Getenv("KEFU_TEST_DATABASE_URL"), os.Getenv("KEFU_TEST_REDIS_URL")
	if dbURL == "" || redisURL == "" {
		t.Skip("KEFU_TEST_DATABASE_URL/KEFU_TEST_REDIS_URL not set: skipping the integrator journey")
	}
	bin := buildKefu(t)
	// A short delivery bound: a node that dies mid-delivery lets its claimed
	// events go after 30 s plus 1 s per event of a conversation (plus 10 s
	// each by default).
	env := []string{"KEFU_WEBHOOK_TIMEOUT=1s"}
	nodeA := startKefu(t, journeyConfig{bin: bin, dataDir: t.TempDir(), databaseURL: dbURL, redisURL: redisURL, env: env})
	nodeB := startKefu(t, journeyConfig{bin: bin, dataDir: t.TempDir(), databaseURL: dbURL, redisURL: redisURL, env: env})
	schemas := newTenantSchemas(t, dbURL)
	start := time.Now()

	su := apitest.New(nodeA.baseURL()).Signup(t, "Integrator "+randHex(4), "o@example.com", "password1", "Olga")
	schemas.add(su.TenantID)
	// The owner makes a key; from here on the integrator has only the key.
	var k struct {
		Key string `json:"key"`
	}
	post(t, nodeA.baseURL()+"/api/v1/api-keys", su.Token, map[string]any{"name": "crm", "role": "admin"}, &k)
	key := k.Key

	rcv := newIntegratorReceiver()
	hook := httptest.NewServer(rcv)
	t.Cleanup(hook.Close)
	var wh struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	post(t, nodeB.baseURL()+"/api/v1/webhooks", key, map[string]any{"url": hook.URL, "events": []string{"message.created"}}, &wh)
	rcv.setSecret(t, wh.Secret)

	// A visitor on node A writes; the signed webhook arrives within 1 s.
	var vs struct {
		VisitorID string `json:"visitor_id"`
		Token     string `json:"visitor_token"`
	}
	email := "mei-" + randHex(3) + "@example.com"
	post(t, nodeA.baseURL()+"/api/v1/widget/sessions", "", map[string]any{"widget_key": su.WidgetKey, "visitor": map[string]any{"name": "王美", "email": email}}, &vs)
	visitor := dialNode(t, nodeA, vs.Token, nil)
	sent := time.Now()
	visitor.Send(t, map[string]any{"type": "message.send", "client_id": "first", "body": "你好，我想申请退款，订单 A-1001"})
	ack := visitor.waitFor(t, func(f map[string]any) bool { return f["type"] == "ack" })
	conv, firstID := ack["conversation_id"].(string), ack["message_id"].(string)
	ev := rcv.waitMessage(t, firstID, 5*time.Second)
	if took := ev.at.Sub(sent); took > time.Second {
		t.Errorf("message.created arrived %v after the visitor sent, want within 1 s", took)
	} else {
		t.Logf("message.created arrived %v after the visitor sent (verified with the Standard Webhooks library and Kefu-Signature)", took.Round(time.Millisecond))
	}
	if ev.conversation != conv || ev.body != "你好，我想申请退款，订单 A-1001" {
		t.Errorf("the event is about %q saying %q, want %q", ev.conversation, ev.body, conv)
	}

	// The contact, by the API.
	var contacts struct {
		Contacts []struct {
			ID    string `json:"id"`
			Name  string `json:"name"`
			Email string `json:"email"`
		} `json:"contacts"`
	}
	get(t, nodeB.baseURL()+"/api/v1/contacts?q="+url.QueryEscape(email), key, &contacts)
	if len(contacts.Contacts) != 1 || contacts.Contacts[0].ID != vs.VisitorID || contacts.Contacts[0].Name != "王美" {
		t.Fatalf("contacts for %s: %+v, want the visitor %s", email, contacts.Contacts, vs.VisitorID)
	}
	contactID := contacts.Contacts[0].ID

	// A reply by the API on node B reaches the visitor on node A, as the bot.
	var reply struct {
		ID     string `json:"id"`
		Author struct {
			Type string `json:"type"`
			Name string `json:"name"`
		} `json:"author"`
	}
	post(t, nodeB.baseURL()+"/api/v1/conversations/"+conv+"/messages", key, map[string]any{"body": "退款已受理 / your refund is on its way", "client_id": "crm-1"}, &reply)
	if reply.Author.Type != "bot" || reply.Author.Name != "crm" {
		t.Errorf("a key's message has author %+v, want the bot named after the key", reply.Author)
	}
	got := visitor.waitFor(t, func(f map[string]any) bool {
		return f["type"] == "message.new" && f["message"].(map[string]any)["id"] == reply.ID
	})
	if got["message"].(map[string]any)["body"] != "退款已受理 / your refund is on its way" {
		t.Errorf("the visitor got %v", got["message"])
	}

	// Search finds the two-character phrase in that conversation.
	type hits struct {
		Results []struct {
			ConversationID string `json:"conversation_id"`
			Snippet        string `json:"snippet"`
		} `json:"results"`
	}
	var found hits
	get(t, nodeA.baseURL()+"/api/v1/search?q="+url.QueryEscape("退款")+"&type=messages", key, &found)
	inConv := 0
	for _, h := range found.Results {
		if h.ConversationID == conv && strings.Contains(h.Snippet, "退款") {
			inConv++
		}
	}
	if inConv != 2 {
		t.Fatalf("search 退款 found %d of the conversation's 2 messages: %+v", inConv, found.Results)
	}

	// Erase the contact: the text leaves search and the export.
	post(t, nodeB.baseURL()+"/api/v1/contacts/"+contactID+"/erase", key, nil, nil)
	found = hits{}
	get(t, nodeA.baseURL()+"/api/v1/search?q="+url.QueryEscape("退款")+"&type=messages", key, &found)
	for _, h := range found.Results {
		if h.ConversationID == conv {
			t.Errorf("after the erasure search still finds %q in the conversation", h.Snippet)
		}
	}
	export := rawGet(t, nodeA.baseURL()+"/api/v1/contacts/"+contactID+"/export", key)
	for _, s := range []string{"退款", email, "王美"} {
		if strings.Contains(export, s) {
			t.Errorf("after the erasure the export still holds %q:\n%s", s, export)
		}
	}
	visitor.CloseNow()
	t.Logf("webhook, contact, reply, search and erasure took %v", time.Since(start).Round(time.Millisecond))

	// kill -9 node A while its visitor writes: node A's commits wake its
	// own webhook worker, so it holds claimed events when it dies; node B
	// must deliver them once their lease runs out, under the same ids. The
	// visitor reconnects to node B and resends what was not acked.
	rcv.slow(20 * time.Millisecond) // deliveries in flight when node A dies
	_, vs2Token := apitest.New(nodeA.baseURL()).Visitor(t, su.WidgetKey, nil)
	v2 := dialNode(t, nodeA, vs2Token, nil)
	const total = 60
	var conv2 string
	var killOnce sync.Once
	for i := range total {
		if i == total/3 {
			go killOnce.Do(func() { nodeA.killQuietly() }) // without waiting for anything in flight
		}
		id := fmt.Sprintf("s-%02d", i)
		for attempt := 0; ; attempt++ {
			if attempt > 5 {
				t.Fatalf("%s: not acked after 5 reconnects", id)
			}
			if err := v2.trySend(map[string]any{"type": "message.send", "client_id": id, "body": "stream " + id}); err == nil {
				if f, err := v2.next(func(f map[string]any) bool { return f["type"] == "ack" && f["client_id"] == id }, 3*time.Second); err == nil {
					conv2 = f["conversation_id"].(string)
					break
				}
			}
			v2.CloseNow()
			since := map[string]int64{}
			if conv2 != "" {
				since[conv2] = v2.MaxSeq(conv2)
			}
			v2 = dialNode(t, nodeB, vs2Token, since)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if nodeA.running() {
		t.Fatal("node A was never killed")
	}
	var page struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	get(t, nodeB.baseURL()+"/api/v1/conversations/"+conv2+"/messages?limit=500", key, &page)
	if len(page.Messages) < total {
		t.Fatalf("%d messages stored, want at least %d", len(page.Messages), total)
	}
	waitUntil(t, 100*time.Second, "every stored message's webhook after the kill", func() bool {
		for _, m := range page.Messages {
			if !rcv.accepted(m.ID) {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second) // a late duplicate would show now
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.bad) > 0 {
		t.Errorf("deliveries that do not verify: %v", rcv.bad)
	}
	dups := 0
	for _, m := range page.Messages {
		if ids := rcv.idsOf[m.ID]; len(ids) != 1 {
			t.Errorf("message %s was sent under %d webhook-ids %v, want one, stable across retries", m.ID, len(ids), ids)
		}
		for id := range rcv.idsOf[m.ID] {
			dups += rcv.times[id] - 1
		}
	}
	t.Logf("after kill -9: %d messages, each delivered (%d sent again and deduplicated by webhook-id); whole journey %v",
		len(page.Messages), dups, time.Since(start).Round(time.Millisecond))
}

// integratorReceiver is the integrator's endpoint: it verifies both
// signatures, accepts, and deduplicates by webhook-id.
type integratorReceiver struct {
	mu     sync.Mutex
	secret string
	key    []byte
	delay  time.Duration
	first  map[string]receivedEvent   // webhook-id → the first accepted delivery
	times  map[string]int             // webhook-id → deliveries accepted
	idsOf  map[string]map[string]bool // message id → webhook-ids it came under
	byMsg  map[string]receivedEvent   // message id → its event
	bad    []string
	notify chan struct{}
}

type receivedEvent struct {
	at           time.Time
	conversation string
	body         string
}

func newIntegratorReceiver() *integratorReceiver {
	return &integratorReceiver{first: map[string]receivedEvent{}, times: map[string]int{}, idsOf: map[string]map[string]bool{},
		byMsg: map[string]receivedEvent{}, notify: make(chan struct{}, 1)}
}

func (r *integratorReceiver) setSecret(t *testing.T, secret string) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatalf("the webhook secret %q is not whsec_<base64>: %v", secret, err)
	}
	r.mu.Lock()
	r.secret, r.key = secret, key
	r.mu.Unlock()
}

func (r *integratorReceiver) slow(d time.Duration) {
	r.mu.Lock()
	r.delay = d
	r.mu.Unlock()
}

func (r *integratorReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	secret, key, delay := r.secret, r.key, r.delay
	r.mu.Unlock()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err == nil {
		err = wh.Verify(body, req.Header)
	}
	if err == nil {
		err = verifyKefuSignature(key, req.Header.Get("Kefu-Signature"), body)
	}
	if err != nil {
		r.mu.Lock()
		r.bad = append(r.bad, err.Error())
		r.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	time.Sleep(delay)
	var ev struct {
		Type string `json:"type"`
		Data struct {
			Message struct {
				ID             string `json:"id"`
				ConversationID string `json:"conversation_id"`
				Body           string `json:"body"`
			} `json:"message"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &ev)
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	r.times[id]++
	if _, seen := r.first[id]; !seen { // dedupe: the first delivery of an id is the event
		e := receivedEvent{at: at, conversation: ev.Data.Message.ConversationID, body: ev.Data.Message.Body}
		r.first[id] = e
		if m := ev.Data.Message.ID; m != "" {
			if r.idsOf[m] == nil {
				r.idsOf[m] = map[string]bool{}
			}
			r.idsOf[m][id] = true
			if _, ok := r.byMsg[m]; !ok {
				r.byMsg[m] = e
			}
		}
	}
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *integratorReceiver) accepted(messageID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.byMsg[messageID]
	return ok
}

func (r *integratorReceiver) waitMessage(t *testing.T, messageID string, d time.Duration) receivedEvent {
	t.Helper()
	deadline := time.After(d)
	for {
		r.mu.Lock()
		e, ok := r.byMsg[messageID]
		bad := r.bad
		r.mu.Unlock()
		if ok {
			return e
		}
		if len(bad) > 0 {
			t.Fatalf("deliveries that do not verify: %v", bad)
		}
		select {
		case <-r.notify:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no message.created for %s within %v", messageID, d)
		}
	}
}

// verifyKefuSignature checks "t=<ts>,v1=<hex HMAC-SHA256 of ts.body>".
func verifyKefuSignature(key []byte, header string, body []byte) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		switch k, v, _ := strings.Cut(part, "="); k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts + "."))
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("Kefu-Signature %q does not verify", header)
}

func rawGet(t *testing.T, url, token string) string {
	t.Helper()
	return apitest.New("").As(token).Must(t, http.StatusOK, "GET", url, nil).Raw
}
