package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"kefu/chat"
	"kefu/flowrun"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
	"kefu/webhook"
)

// clock is the webhook service's clock: real time plus an offset a test
// moves forward.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// node is one tenant's world on one backend: the chat service and a webhook
// service with its worker running (one "node"; a test may start more).
type node struct {
	t       *testing.T
	store   *tenants.Store
	ten     *tenants.Service
	chat    *chat.Service
	hooks   *webhook.Service
	clock   *clock
	tenant  tenants.Tenant
	owner   tenants.Principal
	visitor tenants.Principal
	wkey    string
}

// testConfig is fast: deliveries time out after 300 ms, the first retry
// comes after about 50 ms, and the worker polls every 50 ms.
func testConfig(c *webhook.Config) {
	c.AllowPrivateNetworks = true
	c.Timeout = 300 * time.Millisecond
	c.RetryBase = 50 * time.Millisecond
	c.RetryMax = 200 * time.Millisecond
	c.PollInterval = 50 * time.Millisecond
}

func newNode(t *testing.T, store *tenants.Store, tweak func(*webhook.Config)) *node {
	t.Helper()
	ctx := context.Background()
	ten := tenants.NewService(store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
	n := &node{t: t, store: store, ten: ten, chat: chat.NewService(chat.Config{Tenants: ten, Bus: chat.NewLocalBus()}), clock: &clock{}}
	flowrun.New(n.chat, flowrun.Config{})
	t.Cleanup(func() { n.chat.Close(context.Background()) })
	n.startHooks(tweak)
	res, err := ten.Signup(ctx, tenants.SignupInput{Company: "Hooks " + tenants.NewID()[24:], Email: "o@example.com", Password: "password1", Name: "Olga"})
	if err != nil {
		t.Fatal(err)
	}
	n.tenant, n.wkey = res.Tenant, res.Tenant.WidgetKey
	n.owner, _ = ten.Authenticate(ctx, res.Token)
	n.visitor = n.newVisitor()
	return n
}

// startHooks runs a webhook service (a node's worker) until the test ends.
func (n *node) startHooks(tweak func(*webhook.Config)) *webhook.Service {
	cfg := webhook.Config{Store: n.store, Chat: n.chat, Now: n.clock.now}
	testConfig(&cfg)
	if tweak != nil {
		tweak(&cfg)
	}
	h := webhook.NewService(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	go h.Run(ctx)
	n.t.Cleanup(func() {
		cancel()
		h.Wait(context.Background())
	})
	if n.hooks == nil {
		n.hooks = h
	}
	return h
}

func (n *node) newVisitor() tenants.Principal {
	n.t.Helper()
	ws, err := n.chat.StartWidgetSession(context.Background(), n.wkey, "", chat.VisitorInput{Name: "Vera"})
	if err != nil {
		n.t.Fatal(err)
	}
	p, _ := n.ten.Authenticate(context.Background(), ws.VisitorToken)
	return p
}

func (n *node) send(p tenants.Principal, conv, body string, private bool) chat.Message {
	n.t.Helper()
	m, _, err := n.chat.Send(context.Background(), p, chat.SendInput{ConversationID: conv, Body: body, ClientID: tenants.NewID(), Private: private})
	if err != nil {
		n.t.Fatal(err)
	}
	return m
}

func (n *node) create(url string, events ...string) webhook.Webhook {
	n.t.Helper()
	w, err := n.hooks.Create(context.Background(), n.tenant.ID, webhook.Input{URL: &url, Events: &events})
	if err != nil {
		n.t.Fatal(err)
	}
	return w
}

// hit is one request the receiver got, verified.
type hit struct {
	id, typ string
	body    []byte
	env     chat.HookEnvelope
	data    map[string]any
	status  int // what the receiver answered
	at      time.Time
}

// receiver is a real HTTP server that verifies both signatures of every
// request — webhook-signature with the Standard Webhooks library, and
// Kefu-Signature by its definition — against each of its secrets, and
// answers what answer says (200 by default).
type receiver struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	secrets []string
	hits    []hit
	bad     []string
	answer  func(h hit, n int) (status int, delay time.Duration) // n: this id's request count, from 1
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) url() string { return r.srv.URL + "/hook" }

func (r *receiver) setSecrets(s ...string) { r.mu.Lock(); r.secrets = s; r.mu.Unlock() }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	h := hit{id: req.Header.Get("webhook-id"), body: body, at: time.Now()}
	_ = json.Unmarshal(body, &h.env)
	h.typ = h.env.Type
	if m, ok := h.env.Data.(map[string]any); ok {
		h.data = m
	}
	r.mu.Lock()
	secrets := r.secrets
	n := 1
	for _, x := range r.hits {
		if x.id == h.id {
			n++
		}
	}
	r.mu.Unlock()
	for _, sec := range secrets {
		if p := verify(sec, req.Header, body); p != "" {
			r.mu.Lock()
			r.bad = append(r.bad, p)
			r.mu.Unlock()
		}
	}
	if h.env.ID != h.id {
		r.mu.Lock()
		r.bad = append(r.bad, fmt.Sprintf("payload id %q is not webhook-id %q", h.env.ID, h.id))
		r.mu.Unlock()
	}
	h.status = http.StatusOK
	var delay time.Duration
	if r.answer != nil {
		h.status, delay = r.answer(h, n)
	}
	r.mu.Lock()
	r.hits = append(r.hits, h)
	r.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	w.WriteHeader(h.status)
	_, _ = w.Write([]byte(`{"ok":true}`))
}

// verify checks a request's two signatures with one secret; "" when both
// hold.
func verify(secret string, hdr http.Header, body []byte) string {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return "bad secret: " + err.Error()
	}
	if err := wh.VerifyIgnoringTimestamp(body, hdr); err != nil {
		return "webhook-signature does not verify with " + secret[:12] + ": " + err.Error()
	}
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	ks := hdr.Get("Kefu-Signature")
	t, rest, ok := strings.Cut(ks, ",")
	if !ok || !strings.HasPrefix(t, "t=") || t[2:] != hdr.Get("webhook-timestamp") {
		return "bad Kefu-Signature " + ks
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(t[2:] + "." + string(body)))
	want := "v1=" + hex.EncodeToString(m.Sum(nil))
	for _, v := range strings.Split(rest, ",") {
		if v == want {
			return ""
		}
	}
	return "Kefu-Signature does not verify with " + secret[:12]
}

func (r *receiver) snapshot() ([]hit, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hit(nil), r.hits...), append([]string(nil), r.bad...)
}

// waitFor polls until cond holds on the hits so far, or fails after d.
func (r *receiver) waitFor(d time.Duration, what string, cond func([]hit) bool) []hit {
	r.t.Helper()
	deadline := time.Now().Add(d)
	for {
		hits, bad := r.snapshot()
		if len(bad) > 0 {
			r.t.Fatalf("signature problems: %v", bad)
		}
		if cond(hits) {
			return hits
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("after %v, still waiting for %s; got %d requests: %v", d, what, len(hits), types(hits))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func types(hits []hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, fmt.Sprintf("%s(%d)", h.typ, h.status))
	}
	return out
}

// ofType keeps the hits of one type, leaving out the default flow's
// greeting (a bot's message.created every new conversation gets).
func ofType(hits []hit, typ string) []hit {
	var out []hit
	for _, h := range hits {
		if h.typ == typ && !isBot(h) {
			out = append(out, h)
		}
	}
	return out
}

func isBot(h hit) bool {
	m, _ := h.data["message"].(map[string]any)
	a, _ := m["author"].(map[string]any)
	return a["type"] == "bot"
}

// human leaves out the default flow's greetings.
func human(hits []hit) []hit {
	var out []hit
	for _, h := range hits {
		if !isBot(h) {
			out = append(out, h)
		}
	}
	return out
}

// hitWithBody is the first delivery of the message.created whose message
// is body (nil: none yet).
func hitWithBody(hits []hit, body string) *hit {
	for i, h := range hits {
		if m, _ := h.data["message"].(map[string]any); m != nil && m["body"] == body {
			return &hits[i]
		}
	}
	return nil
}

// okOnce keeps, per event id, the request the receiver answered 2xx.
func okOnce(hits []hit) map[string]int {
	out := map[string]int{}
	for _, h := range hits {
		if h.status >= 200 && h.status < 300 {
			out[h.id]++
		}
	}
	return out
}

func outboxCount(t *testing.T, n *node, tenantID string) int64 {
	t.Helper()
	db, _ := n.store.Tenant(tenantID)
	var c int64
	if err := db.Raw(`SELECT count(*) FROM `+n.chat.OutboxTable(db)+` WHERE tenant_id = ?`, tenantID).Scan(&c).Error; err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMessageCreatedArrivesSignedWithinASecond(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			n := newNode(t, b.Store, nil)
			rcv := newReceiver(t)
			w := n.create(rcv.url(), chat.HookMessageCreated, chat.HookConversationCreated)
			if !strings.HasPrefix(w.Secret, "whsec_") {
				t.Fatalf("secret %q, want whsec_…", w.Secret)
			}
			rcv.setSecrets(w.Secret)
			start := time.Now()
			m := n.send(n.visitor, "", "hello webhook 你好", false)
			hits := rcv.waitFor(time.Second, "message.created within a second", func(h []hit) bool { return len(ofType(h, chat.HookMessageCreated)) == 1 })
			t.Logf("message.created arrived %v after the send", ofType(hits, chat.HookMessageCreated)[0].at.Sub(start))
			got := ofType(hits, chat.HookMessageCreated)[0]
			msg, _ := got.data["message"].(map[string]any)
			conv, _ := got.data["conversation"].(map[string]any)
			if msg["body"] != "hello webhook 你好" || msg["id"] != m.ID || msg["seq"] != float64(1) || conv["id"] != m.ConversationID || conv["status"] != "bot" {
				t.Errorf("message.created data = %s", got.body)
			}
			if got.env.TenantID != n.tenant.ID || got.env.Event != chat.HookMessageCreated || got.env.CreatedAt.IsZero() {
				t.Errorf("envelope = %s", got.body)
			}
			created := rcv.waitFor(time.Second, "conversation.created", func(h []hit) bool { return len(ofType(h, chat.HookConversationCreated)) == 1 })
			cc := ofType(created, chat.HookConversationCreated)[0]
			cv, _ := cc.data["conversation"].(map[string]any)
			vis, _ := cv["visitor"].(map[string]any)
			if cv["id"] != m.ConversationID || vis["name"] != "Vera" {
				t.Errorf("conversation.created data = %s", cc.body)
			}
			// conversation.created goes out before message.created (one chain).
			if created[0].typ != chat.HookConversationCreated {
				t.Errorf("order: %v", types(created))
			}
			// A second message, into the named conversation (the group commit).
			n.send(n.owner, m.ConversationID, "an agent's answer", false)
			hits = rcv.waitFor(time.Second, "the agent's message", func(h []hit) bool { return len(ofType(h, chat.HookMessageCreated)) == 2 })
			second := ofType(hits, chat.HookMessageCreated)[1]
			if mm, _ := second.data["message"].(map[string]any); mm["seq"].(float64) < 2 || mm["body"] != "an agent's answer" {
				t.Errorf("second message.created = %s", second.body)
			}
			// The delivery log has them, newest first.
			ds, _, err := n.hooks.Deliveries(context.Background(), n.tenant.ID, w.ID, 10, "")
			if err != nil || len(ds) < 3 || !ds[0].Success || ds[0].ResponseStatus != 200 || ds[0].RequestHeaders["webhook-id"] == "" {
				t.Fatalf("deliveries = %+v, %v", ds, err)
			}
		})
	}
}

func TestNoWebhookNoOutboxRows(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			n := newNode(t, b.Store, nil)
			m := n.send(n.visitor, "", "nobody listens", false)
			n.send(n.owner, m.ConversationID, "still nobody", false)
			if _, err := n.chat.Resolve(context.Background(), n.owner, m.ConversationID); err != nil {
				t.Fatal(err)
			}
			if c := outboxCount(t, n, n.tenant.ID); c != 0 {
				t.Fatalf("%d outbox rows for a tenant without webhooks", c)
			}
			// A webhook for another event only: still nothing for messages.
			rcv := newReceiver(t)
			n.create(rcv.url(), chat.HookConversationResolved)
			n.send(n.owner, m.ConversationID, "after", false)
			// The agent's reply reopens the conversation, in the background
			// (a note, message.created): wait for it before subscribing below.
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				c, err := n.chat.Conversation(context.Background(), n.owner, m.ConversationID)
				if err != nil {
					t.Fatal(err)
				}
				if c.Status != chat.StatusResolved {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the agent's reply did not reopen the conversation")
				}
			}
			if c := outboxCount(t, n, n.tenant.ID); c != 0 {
				t.Fatalf("%d outbox rows for events nobody subscribed to", c)
			}
			// A change that fails leaves no event either.
			url := rcv.url()
			if _, err := n.hooks.Update(context.Background(), n.tenant.ID, mustList(t, n)[0].ID, webhook.Input{URL: &url, Events: &[]string{chat.HookMessageCreated}}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := n.chat.Send(context.Background(), n.owner, chat.SendInput{ConversationID: tenants.NewID(), Body: "to nowhere"}); err == nil {
				t.Fatal("a send to no conversation succeeded")
			}
			if c := outboxCount(t, n, n.tenant.ID); c != 0 {
				t.Fatalf("%d outbox rows after a failed send", c)
			}
		})
	}
}

func mustList(t *testing.T, n *node) []webhook.Webhook {
	t.Helper()
	ws, err := n.hooks.List(context.Background(), n.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func TestConversationEventsAndPrivateNotes(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			n := newNode(t, b.Store, nil)
			all := newReceiver(t)
			public := newReceiver(t)
			wa := n.create(all.url(), chat.HookEvents()...)
			yes := true
			if _, err := n.hooks.Update(ctx, n.tenant.ID, wa.ID, webhook.Input{IncludePrivate: &yes}); err != nil {
				t.Fatal(err)
			}
			wp := n.create(public.url(), chat.HookMessageCreated)
			all.setSecrets(wa.Secret)
			public.setSecrets(wp.Secret)
			agent2, err := n.ten.CreateAgent(ctx, n.owner, tenants.AgentInput{Email: "b@example.com", Name: "Bo", Password: "password1"})
			if err != nil {
				t.Fatal(err)
			}
			m := n.send(n.visitor, "", "hi", false)
			n.send(n.owner, m.ConversationID, "secret note", true)
			if _, err := n.chat.Assign(ctx, n.owner, m.ConversationID, chat.AssignInput{AgentID: n.owner.ID}); err != nil {
				t.Fatal(err)
			}
			if _, err := n.chat.Assign(ctx, n.owner, m.ConversationID, chat.AssignInput{AgentID: agent2.ID}); err != nil {
				t.Fatal(err)
			}
			if _, err := n.chat.Resolve(ctx, n.owner, m.ConversationID); err != nil {
				t.Fatal(err)
			}
			want := []string{chat.HookConversationCreated, chat.HookMessageCreated, chat.HookMessageCreated, chat.HookConversationAssigned, chat.HookMessageCreated,
				chat.HookConversationTransferred, chat.HookMessageCreated, chat.HookConversationResolved, chat.HookMessageCreated}
			all.waitFor(3*time.Second, "every event in order", func(h []hit) bool { return len(human(h)) >= len(want) })
			time.Sleep(200 * time.Millisecond)
			hits, _ := all.snapshot()
			hits = human(hits)
			if got := types(hits); strings.Join(got, " ") != strings.Join(typesOf(want), " ") {
				t.Errorf("events, in order:\n got %v\nwant %v", got, typesOf(want))
			}
			tr := ofType(hits, chat.HookConversationTransferred)
			if len(tr) == 1 {
				cv, _ := tr[0].data["conversation"].(map[string]any)
				if tr[0].data["previous_assignee_id"] != n.owner.ID || cv["assignee_id"] != agent2.ID {
					t.Errorf("transferred = %s", tr[0].body)
				}
			}
			// The endpoint that did not ask for notes never gets one.
			public.waitFor(3*time.Second, "the public messages", func(h []hit) bool { return len(human(h)) >= 4 })
			time.Sleep(200 * time.Millisecond)
			ph, _ := public.snapshot()
			ph = human(ph)
			for _, h := range ph {
				if strings.Contains(string(h.body), "secret note") {
					t.Errorf("a private note went to an endpoint without include_private: %s", h.body)
				}
			}
			if len(ph) != 4 { // hi, assigned, transferred, resolved (system notes)
				t.Errorf("public endpoint got %d messages, want 4: %v", len(ph), types(ph))
			}
		})
	}
}

func typesOf(ts []string) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t + "(200)"
	}
	return out
}

func TestRetriesKeepTheWebhookID(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		for _, mode := range []string{"500", "timeout"} {
			t.Run(b.Name+"/"+mode, func(t *testing.T) {
				n := newNode(t, b.Store, nil)
				rcv := newReceiver(t)
				rcv.answer = func(h hit, nth int) (int, time.Duration) {
					if nth == 1 && mode == "500" {
						return 500, 0
					}
					if nth == 1 {
						return 200, time.Second // past the 300 ms timeout
					}
					return 200, 0
				}
				w := n.create(rcv.url(), chat.HookMessageCreated)
				rcv.setSecrets(w.Secret)
				n.send(n.visitor, "", "retry me", false)
				hits := rcv.waitFor(5*time.Second, "a second try", func(h []hit) bool { return len(human(h)) >= 2 })
				hits = human(hits)
				if hits[0].id != hits[1].id || hits[0].id == "" {
					t.Errorf("webhook-id changed across retries: %q then %q", hits[0].id, hits[1].id)
				}
				if string(hits[0].body) != string(hits[1].body) {
					t.Errorf("the body changed across retries")
				}
				time.Sleep(300 * time.Millisecond)
				if hits, _ := rcv.snapshot(); len(human(hits)) != 2 {
					t.Errorf("%d requests, want 2 (one failure, one success): %v", len(human(hits)), types(hits))
				}
				all, _, _ := n.hooks.Deliveries(context.Background(), n.tenant.ID, w.ID, 10, "")
				var ds []webhook.Delivery
				for _, d := range all {
					if d.EventID == hits[0].id {
						ds = append(ds, d)
					}
				}
				want := map[string]string{"500": "HTTP 500", "timeout": "timed out"}[mode]
				if len(ds) != 2 || ds[1].Error != want || ds[1].Attempt != 1 || !ds[0].Success || ds[0].Attempt != 2 {
					t.Errorf("log = %+v", ds)
				}
			})
		}
	}
}

func TestOrderPerConversation(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			n := newNode(t, b.Store, nil)
			rcv := newReceiver(t)
			a := n.send(n.visitor, "", "a0", false)
			other := n.newVisitor()
			bm := n.send(other, "", "b0", false)
			// The first event of conversation a fails three times; b's go
			// through meanwhile, a's wait and then arrive in order.
			rcv.answer = func(h hit, nth int) (int, time.Duration) {
				if m, _ := h.data["message"].(map[string]any); m["body"] == "a1" && nth <= 3 {
					return 503, 0
				}
				return 200, 0
			}
			w := n.create(rcv.url(), chat.HookMessageCreated)
			rcv.setSecrets(w.Secret)
			for i := 1; i <= 5; i++ {
				n.send(n.owner, a.ConversationID, fmt.Sprintf("a%d", i), false)
				n.send(n.owner, bm.ConversationID, fmt.Sprintf("b%d", i), false)
			}
			hits := rcv.waitFor(10*time.Second, "all ten", func(h []hit) bool { return len(okOnce(human(h))) == 10 })
			var seqA, seqB []string
			var lastB, firstA2 time.Time
			for _, h := range human(hits) {
				m, _ := h.data["message"].(map[string]any)
				body, _ := m["body"].(string)
				if h.status != 200 {
					continue
				}
				if strings.HasPrefix(body, "a") {
					seqA = append(seqA, body)
					if body == "a2" {
						firstA2 = h.at
					}
				} else {
					seqB = append(seqB, body)
					lastB = h.at
				}
			}
			if strings.Join(seqA, ",") != "a1,a2,a3,a4,a5" || strings.Join(seqB, ",") != "b1,b2,b3,b4,b5" {
				t.Errorf("delivered out of order: a %v, b %v", seqA, seqB)
			}
			if !lastB.Before(firstA2) {
				t.Errorf("conversation b waited for a's retries")
			}
		})
	}
}

func TestTwoNodesDeliverEachEventOnce(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			n := newNode(t, b.Store, nil)
			second := n.startHooks(nil) // another node's worker, same outbox
			_ = second
			rcv := newReceiver(t)
			rcv.answer = func(h hit, nth int) (int, time.Duration) { return 200, 5 * time.Millisecond }
			w := n.create(rcv.url(), chat.HookMessageCreated)
			rcv.setSecrets(w.Secret)
			var convs []string
			for i := 0; i < 10; i++ {
				convs = append(convs, n.send(n.newVisitor(), "", "open", false).ConversationID)
			}
			var wg sync.WaitGroup
			for i, c := range convs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := 0; k < 10; k++ {
						n.send(n.owner, c, fmt.Sprintf("c%d-%d", i, k), false)
					}
				}()
			}
			wg.Wait()
			// 10 conversations: the opening message, the greeting, 10 more.
			rcv.waitFor(15*time.Second, "120 events", func(h []hit) bool { return len(okOnce(h)) == 120 })
			time.Sleep(300 * time.Millisecond)
			hits, _ := rcv.snapshot()
			// Each event is claimed by one worker: the delivery log holds
			// one attempt 1 per event and one success. The receiver may
			// still see an event twice where the worker gave up on an
			// answer that came later than its timeout (the machine loaded):
			// that is a retry, logged as a failed attempt before the
			// success — the at-least-once receivers dedupe by webhook-id.
			logged := deliveryLog(t, n, w.ID)
			for deadline := time.Now().Add(5 * time.Second); len(logged) < 120 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				logged = deliveryLog(t, n, w.ID) // the last attempts' log rows are written after their answer
			}
			retried := 0
			for id, c := range okOnce(hits) {
				var firsts, wins, fails int
				for _, d := range logged[id] {
					if d.Attempt == 1 {
						firsts++
					}
					if d.Success {
						wins++
					} else {
						fails++
					}
				}
				if firsts != 1 || wins != 1 {
					t.Errorf("event %s: %d requests answered 2xx, logged as %d first attempts and %d successes (two workers claimed it)", id, c, firsts, wins)
				}
				if c > 1 && fails < c-1 {
					t.Errorf("event %s delivered %d times with %d failed attempts logged", id, c, fails)
				}
				retried += len(logged[id]) - 1
			}
			if len(hits) != 120+retried {
				t.Errorf("%d requests for 120 events and %d logged retries", len(hits), retried)
			}
		})
	}
}

func TestRotationKeepsTheOldSecretValid(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			n := newNode(t, b.Store, nil)
			rcv := newReceiver(t)
			w := n.create(rcv.url(), chat.HookMessageCreated)
			rotated, err := n.hooks.RotateSecret(context.Background(), n.tenant.ID, w.ID)
			if err != nil || rotated.Secret == w.Secret || rotated.PreviousSecretExpiresAt == nil {
				t.Fatalf("rotate = %+v, %v", rotated, err)
			}
			if got, _ := n.hooks.Get(context.Background(), n.tenant.ID, w.ID); got.Secret != "" {
				t.Errorf("a read shows the secret")
			}
			// Both secrets verify a delivery during the grace period.
			// Deliveries are found by their message, not their place in the
			// receiver's log: under load an attempt past the client timeout
			// is retried (the same event again), and the bot's notes are
			// message.created too.
			withBody := func(body string) func(h []hit) bool {
				return func(h []hit) bool { return hitWithBody(h, body) != nil }
			}
			rcv.setSecrets(w.Secret, rotated.Secret)
			n.send(n.visitor, "", "during the grace", false)
			rcv.waitFor(10*time.Second, "a delivery both secrets verify", withBody("during the grace"))
			// After 24 h only the new one signs.
			n.clock.advance(25 * time.Hour)
			rcv.setSecrets(rotated.Secret)
			n.send(n.visitor, "", "after the grace", false)
			hits := rcv.waitFor(10*time.Second, "the next delivery", withBody("after the grace"))
			sigs := strings.Fields(headerOf(t, n, w.ID, hitWithBody(hits, "after the grace").id))
			if len(sigs) != 1 {
				t.Errorf("after the grace, %d signatures (want 1)", len(sigs))
			}
		})
	}
}

// headerOf is the webhook-signature the log recorded for an event.
func headerOf(t *testing.T, n *node, webhookID, eventID string) string {
	t.Helper()
	return loggedDelivery(t, n, webhookID, eventID).RequestHeaders["webhook-signature"]
}

// deliveryLog is a webhook's whole delivery log by event.
func deliveryLog(t *testing.T, n *node, webhookID string) map[string][]webhook.Delivery {
	t.Helper()
	out := map[string][]webhook.Delivery{}
	cursor := ""
	for {
		ds, next, err := n.hooks.Deliveries(context.Background(), n.tenant.ID, webhookID, 200, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			out[d.EventID] = append(out[d.EventID], d)
		}
		if next == "" {
			return out
		}
		cursor = next
	}
}

// loggedDelivery is the logged attempt of an event (the log is written once
// the receiver has answered, so it may take a moment).
func loggedDelivery(t *testing.T, n *node, webhookID, eventID string) webhook.Delivery {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		ds, _, err := n.hooks.Deliveries(context.Background(), n.tenant.ID, webhookID, 200, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.EventID == eventID {
				return d
			}
		}
	}
	t.Fatalf("no delivery of %s in the log", eventID)
	return webhook.Delivery{}
}

func TestEndpointDisabledAfterTheRetryWindow(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			n := newNode(t, b.Store, nil)
			rcv := newReceiver(t)
			rcv.answer = func(hit, int) (int, time.Duration) { return 500, 0 }
			w := n.create(rcv.url(), chat.HookMessageCreated)
			rcv.setSecrets(w.Secret)
			n.send(n.visitor, "", "nobody takes this", false)
			rcv.waitFor(3*time.Second, "a few failed tries", func(h []hit) bool { return len(h) >= 3 })
			if got, _ := n.hooks.Get(ctx, n.tenant.ID, w.ID); !got.Enabled {
				t.Fatal("disabled before the window ended")
			}
			n.clock.advance(24*time.Hour + time.Minute)
			deadline := time.Now().Add(5 * time.Second)
			for {
				got, _ := n.hooks.Get(ctx, n.tenant.ID, w.ID)
				if !got.Enabled {
					if got.DisabledReason == nil || !strings.Contains(*got.DisabledReason, "HTTP 500") || got.DisabledAt == nil {
						t.Errorf("disabled without a reason: %+v", got)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the endpoint is still enabled after the retry window")
				}
				time.Sleep(20 * time.Millisecond)
			}
			before, _ := rcv.snapshot()
			n.send(n.visitor, "", "after it was disabled", false)
			time.Sleep(500 * time.Millisecond)
			if after, _ := rcv.snapshot(); len(after) != len(before) {
				t.Errorf("a disabled endpoint got %d more requests", len(after)-len(before))
			}
			// Enabling it again clears the reason.
			yes := true
			got, err := n.hooks.Update(ctx, n.tenant.ID, w.ID, webhook.Input{Enabled: &yes})
			if err != nil || !got.Enabled || got.DisabledReason != nil {
				t.Errorf("re-enable = %+v, %v", got, err)
			}
		})
	}
}

func TestSSRFGuard(t *testing.T) {
	b := tenantstest.Backends(t)[0]
	n := newNode(t, b.Store, func(c *webhook.Config) { c.AllowPrivateNetworks = false })
	ctx := context.Background()
	for _, u := range []string{"http://127.0.0.1:9/x", "http://[::1]/x", "http://169.254.169.254/latest/meta-data", "http://10.0.0.1/", "http://localhost:8080/",
		"http://[::ffff:127.0.0.1]/", "ftp://example.com/", "http://user:pw@example.com/", "not a url", ""} {
		events := []string{chat.HookMessageCreated}
		if _, err := n.hooks.Create(ctx, n.tenant.ID, webhook.Input{URL: &u, Events: &events}); err == nil {
			t.Errorf("created a webhook for %q", u)
		}
	}
	// A name that resolves to a private address is refused when dialled,
	// and nothing reaches the receiver.
	rcv := newReceiver(t)
	u := strings.Replace(rcv.url(), "127.0.0.1", "localtest.invalid", 1)
	events := []string{chat.HookMessageCreated}
	w, err := n.hooks.Create(ctx, n.tenant.ID, webhook.Input{URL: &u, Events: &events})
	if err != nil {
		t.Fatal(err)
	}
	db, _ := n.store.Tenant(n.tenant.ID)
	if err := db.Exec(`UPDATE `+db.Table("webhooks")+` SET url = ? WHERE id = ?`, rcv.url(), w.ID).Error; err != nil {
		t.Fatal(err)
	}
	d, err := n.hooks.Test(ctx, n.tenant.ID, w.ID)
	if err != nil || d.Success || d.Error != "address not allowed" {
		t.Errorf("test delivery to a loopback address = %+v, %v", d, err)
	}
	if hits, _ := rcv.snapshot(); len(hits) != 0 {
		t.Errorf("the loopback receiver got %d requests", len(hits))
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	b := tenantstest.Backends(t)[0]
	n := newNode(t, b.Store, nil)
	target := newReceiver(t)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.url(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirect.Close)
	w := n.create(redirect.URL, chat.HookMessageCreated)
	d, err := n.hooks.Test(context.Background(), n.tenant.ID, w.ID)
	if err != nil || d.Success || d.ResponseStatus != 307 || d.Error != "HTTP 307" {
		t.Errorf("delivery to a redirect = %+v, %v", d, err)
	}
	if hits, _ := target.snapshot(); len(hits) != 0 {
		t.Errorf("the redirect was followed")
	}
}

func TestTestAndRedeliver(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			n := newNode(t, b.Store, nil)
			rcv := newReceiver(t)
			w := n.create(rcv.url(), chat.HookMessageCreated)
			rcv.setSecrets(w.Secret)
			d, err := n.hooks.Test(ctx, n.tenant.ID, w.ID)
			if err != nil || !d.Success || d.EventType != chat.HookTest {
				t.Fatalf("test = %+v, %v", d, err)
			}
			n.send(n.visitor, "", "deliver me twice", false)
			hits := rcv.waitFor(2*time.Second, "the message", func(h []hit) bool { return len(ofType(h, chat.HookMessageCreated)) == 1 })
			first := ofType(hits, chat.HookMessageCreated)[0]
			logged := loggedDelivery(t, n, w.ID, first.id)
			again, err := n.hooks.Redeliver(ctx, n.tenant.ID, w.ID, logged.ID)
			if err != nil || !again.Success || again.EventID != first.id {
				t.Fatalf("redeliver = %+v, %v", again, err)
			}
			hits = rcv.waitFor(time.Second, "the redelivery", func(h []hit) bool { return len(ofType(h, chat.HookMessageCreated)) == 2 })
			if r := ofType(hits, chat.HookMessageCreated)[1]; r.id != first.id || string(r.body) != string(first.body) {
				t.Errorf("the redelivery differs: %s vs %s", r.body, first.body)
			}
			// Paging: three entries or more, one per page, each once, in
			// the order of the whole list (paged again if a delivery came
			// in meanwhile).
			var seen, ids []string
			for attempt := 0; attempt < 3; attempt++ {
				before, _, _ := n.hooks.Deliveries(ctx, n.tenant.ID, w.ID, 200, "")
				seen = seen[:0]
				cursor := ""
				for i := 0; i < 10; i++ {
					page, next, err := n.hooks.Deliveries(ctx, n.tenant.ID, w.ID, 1, cursor)
					if err != nil {
						t.Fatal(err)
					}
					for _, d := range page {
						seen = append(seen, d.ID)
					}
					if next == "" {
						break
					}
					cursor = next
				}
				after, _, _ := n.hooks.Deliveries(ctx, n.tenant.ID, w.ID, 200, "")
				ids = ids[:0]
				for _, d := range after {
					ids = append(ids, d.ID)
				}
				if len(before) == len(after) {
					break
				}
			}
			if fmt.Sprint(seen) != fmt.Sprint(ids) || len(seen) < 3 {
				t.Errorf("paged through %v, the whole list is %v", seen, ids)
			}
			if _, _, err := n.hooks.Deliveries(ctx, n.tenant.ID, w.ID, 1, "!!"); err == nil {
				t.Error("a bad cursor was accepted")
			}
			if _, err := n.hooks.Redeliver(ctx, n.tenant.ID, w.ID, tenants.NewID()); err == nil {
				t.Error("redelivered an unknown delivery")
			}
		})
	}
}
