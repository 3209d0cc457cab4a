package chat_test

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"sync"
	"testing"
	"time"

	"kefu"
	"kefu/chat"
	"kefu/flowrun"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// fixture is one tenant on one backend with an owner, an agent, an API key
// and a visitor, and a recorder of every event published.
type fixture struct {
	ten     *tenants.Service
	chat    *chat.Service
	tenant  tenants.Tenant
	owner   tenants.Principal
	agent   tenants.Principal
	apiKey  tenants.Principal
	visitor tenants.Principal
	events  *recorder
}

type recorder struct {
	mu sync.Mutex
	ev []chat.Event
}

func (r *recorder) add(e chat.Event) { r.mu.Lock(); r.ev = append(r.ev, e); r.mu.Unlock() }

func (r *recorder) kinds(kind string) []chat.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []chat.Event
	for _, e := range r.ev {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func newFixture(t *testing.T, store *tenants.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	ten := tenants.NewService(store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
	bus := chat.NewLocalBus()
	f := &fixture{ten: ten, chat: chat.NewService(chat.Config{Tenants: ten, Bus: bus}), events: &recorder{}}
	flowrun.New(f.chat, flowrun.Config{})
	t.Cleanup(func() { f.chat.Close(context.Background()) })
	bus.Subscribe(f.events.add)
	res, err := ten.Signup(ctx, tenants.SignupInput{Company: "Chat Co " + tenants.NewID()[24:], Email: "owner@example.com", Password: "password1", Name: "Olga"})
	if err != nil {
		t.Fatal(err)
	}
	f.tenant = res.Tenant
	f.owner = mustAuth(t, ten, res.Token)
	if _, err := ten.CreateAgent(ctx, f.owner, tenants.AgentInput{Email: "ann@example.com", Name: "Ann", Password: "password1"}); err != nil {
		t.Fatal(err)
	}
	tok, _, err := ten.Login(ctx, res.Tenant.Slug, "ann@example.com", "password1")
	if err != nil {
		t.Fatal(err)
	}
	f.agent = mustAuth(t, ten, tok)
	_, key, err := ten.CreateAPIKey(ctx, f.owner, "crm", "developer")
	if err != nil {
		t.Fatal(err)
	}
	f.apiKey = mustAuth(t, ten, key)
	f.visitor = f.newVisitor(t)
	return f
}

func (f *fixture) newVisitor(t *testing.T) tenants.Principal {
	t.Helper()
	ws, err := f.chat.StartWidgetSession(context.Background(), f.tenant.WidgetKey, "", chat.VisitorInput{Name: "Vera", Attributes: map[string]any{"plan": "pro"}})
	if err != nil {
		t.Fatal(err)
	}
	return mustAuth(t, f.ten, ws.VisitorToken)
}

func mustAuth(t *testing.T, ten *tenants.Service, token string) tenants.Principal {
	t.Helper()
	p, err := ten.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// open starts a conversation and waits for the default flow to settle it
// (greeting sent, queued since nobody is online).
func (f *fixture) open(t *testing.T) string {
	t.Helper()
	m, _, err := f.chat.Send(context.Background(), f.visitor, chat.SendInput{ClientID: "first-" + tenants.NewID(), Body: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	f.settled(t, m.ConversationID)
	return m.ConversationID
}

// settled waits until routing has decided on the conversation.
func (f *fixture) settled(t *testing.T, conv string) chat.Conversation {
	t.Helper()
	var c chat.Conversation
	waitFor(t, func() bool {
		c, _ = f.chat.Conversation(context.Background(), f.owner, conv)
		evs, _ := f.chat.ConversationEvents(context.Background(), f.owner, conv)
		return c.Status != chat.StatusBot && len(evs) > 0
	})
	return c
}

func (f *fixture) count(t *testing.T, conv string) int64 {
	t.Helper()
	c, err := f.chat.Conversation(context.Background(), f.owner, conv)
	if err != nil {
		t.Fatal(err)
	}
	return c.LastSeq
}

func TestChatStore(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()

			t.Run("concurrent senders get gap-free, unique seqs", func(t *testing.T) {
				f := newFixture(t, b.Store)
				conv := f.open(t)
				base := f.count(t, conv)
				senders := []tenants.Principal{f.visitor, f.owner, f.agent, f.apiKey, f.visitor, f.agent}
				const each = 25
				var wg sync.WaitGroup
				errs := make(chan error, len(senders)*each)
				for i, p := range senders {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for j := 0; j < each; j++ {
							_, _, err := f.chat.Send(ctx, p, chat.SendInput{ConversationID: conv, ClientID: fmt.Sprintf("s%d-%d", i, j), Body: "x"})
							if err != nil {
								errs <- err
							}
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatalf("send: %v", err)
				}
				msgs, err := f.chat.Messages(ctx, f.owner, conv, 0, 500)
				if err != nil {
					t.Fatal(err)
				}
				var seqs []int64
				for _, m := range msgs {
					seqs = append(seqs, m.Seq)
				}
				sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
				for i, s := range seqs {
					if s != int64(i+1) {
						t.Fatalf("seq %d at position %d: gap or duplicate in %v", s, i, seqs)
					}
				}
				if want := int(base) + len(senders)*each; len(seqs) != want {
					t.Fatalf("%d messages, want %d", len(seqs), want)
				}
				c, _ := f.chat.Conversation(ctx, f.owner, conv)
				if c.LastSeq != int64(len(seqs)) {
					t.Fatalf("last_seq %d, want %d", c.LastSeq, len(seqs))
				}
			})

			t.Run("a send returns only after its message is committed", func(t *testing.T) {
				f := newFixture(t, b.Store)
				conv := f.open(t)
				var wg sync.WaitGroup
				for i := 0; i < 8; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for j := 0; j < 25; j++ {
							m, _, err := f.chat.Send(ctx, f.agent, chat.SendInput{ConversationID: conv, ClientID: fmt.Sprintf("c%d-%d", i, j), Body: "x"})
							if err != nil {
								t.Errorf("send: %v", err)
								return
							}
							// Read back at once, on another connection: it must be there.
							got, err := f.chat.MessagesAfter(ctx, f.owner, chat.Scope{All: true}, conv, m.Seq-1, 1)
							if err != nil || len(got) != 1 || got[0].ID != m.ID {
								t.Errorf("message %s (seq %d) not readable after its ack: %v %v", m.ID, m.Seq, got, err)
								return
							}
						}
					}()
				}
				wg.Wait()
			})

			t.Run("a resent client_id returns the original and stores nothing", func(t *testing.T) {
				f := newFixture(t, b.Store)
				first, dup, err := f.chat.Send(ctx, f.visitor, chat.SendInput{ClientID: "c-1", Body: "hi"})
				if err != nil || dup {
					t.Fatalf("first: %v dup=%v", err, dup)
				}
				var wg sync.WaitGroup
				results := make(chan chat.Message, 10)
				for i := 0; i < 10; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						m, dup, err := f.chat.Send(ctx, f.visitor, chat.SendInput{ClientID: "c-1", Body: "hi"})
						if err != nil || !dup {
							t.Errorf("resend: %v dup=%v", err, dup)
						}
						results <- m
					}()
				}
				wg.Wait()
				close(results)
				for m := range results {
					if m.ID != first.ID || m.Seq != first.Seq {
						t.Fatalf("resend gave %s/%d, want %s/%d", m.ID, m.Seq, first.ID, first.Seq)
					}
				}
				f.settled(t, first.ConversationID)
				msgs, _ := f.chat.Messages(ctx, f.owner, first.ConversationID, 0, 100)
				n := 0
				for _, m := range msgs {
					if m.ClientID == "c-1" {
						n++
					}
				}
				if n != 1 {
					t.Fatalf("%d messages with the client_id stored, want 1", n)
				}
			})

			t.Run("concurrent first sends of one new client_id store it once", func(t *testing.T) {
				f := newFixture(t, b.Store)
				conv := f.open(t)
				base := f.count(t, conv)
				var wg sync.WaitGroup
				ids := make(chan string, 8)
				for i := 0; i < 8; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						m, _, err := f.chat.Send(ctx, f.agent, chat.SendInput{ConversationID: conv, ClientID: "same", Body: "once"})
						if err != nil {
							t.Errorf("send: %v", err)
							return
						}
						ids <- m.ID
					}()
				}
				wg.Wait()
				close(ids)
				seen := map[string]bool{}
				for id := range ids {
					seen[id] = true
				}
				msgs, _ := f.chat.Messages(ctx, f.owner, conv, 0, 100)
				if len(seen) != 1 || len(msgs) != int(base)+1 {
					t.Fatalf("ids %v, messages %d; want one id and %d messages", seen, len(msgs), base+1)
				}
			})

			t.Run("read state only moves forward under concurrency", func(t *testing.T) {
				f := newFixture(t, b.Store)
				conv := f.open(t)
				for i := 0; i < 30; i++ {
					if _, _, err := f.chat.Send(ctx, f.agent, chat.SendInput{ConversationID: conv, Body: "m"}); err != nil {
						t.Fatal(err)
					}
				}
				var wg sync.WaitGroup
				var mu sync.Mutex
				maxSeq := int64(0)
				for i := 0; i < 20; i++ {
					seq := int64(rand.Intn(31) + 1)
					mu.Lock()
					maxSeq = max(maxSeq, seq)
					mu.Unlock()
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := f.chat.MarkRead(ctx, f.agent, conv, seq); err != nil {
							t.Errorf("read: %v", err)
						}
					}()
				}
				wg.Wait()
				got, err := f.chat.MarkRead(ctx, f.agent, conv, 1)
				if err != nil || got != maxSeq {
					t.Fatalf("last_read_seq %d (%v), want %d", got, err, maxSeq)
				}
				last := f.count(t, conv)
				if got, _ := f.chat.MarkRead(ctx, f.agent, conv, 1000); got != last {
					t.Fatalf("read past the end: %d, want clamp to %d", got, last)
				}
			})

			t.Run("a visitor's messages continue one open conversation", func(t *testing.T) {
				f := newFixture(t, b.Store)
				var wg sync.WaitGroup
				convs := make(chan string, 6)
				for i := 0; i < 6; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						m, _, err := f.chat.Send(ctx, f.visitor, chat.SendInput{Body: "hi"})
						if err != nil {
							t.Errorf("send: %v", err)
							return
						}
						convs <- m.ConversationID
					}()
				}
				wg.Wait()
				close(convs)
				seen := map[string]bool{}
				for c := range convs {
					seen[c] = true
				}
				if len(seen) != 1 {
					t.Fatalf("first messages opened %d conversations, want 1", len(seen))
				}
			})

			t.Run("visitors and other tenants cannot reach a conversation", func(t *testing.T) {
				f := newFixture(t, b.Store)
				conv := f.open(t)
				other := f.newVisitor(t)
				if _, err := f.chat.Messages(ctx, other, conv, 0, 10); kefu.Code(err) != kefu.ENotFound {
					t.Fatalf("other visitor: %v", err)
				}
				if _, _, err := f.chat.Send(ctx, other, chat.SendInput{ConversationID: conv, Body: "x"}); kefu.Code(err) != kefu.ENotFound {
					t.Fatalf("other visitor send: %v", err)
				}
				g := newFixture(t, b.Store)
				if _, err := g.chat.Conversation(ctx, g.owner, conv); kefu.Code(err) != kefu.ENotFound {
					t.Fatalf("other tenant: %v", err)
				}
			})

			t.Run("a new conversation goes to an online agent, else waits in the queue", func(t *testing.T) {
				f := newFixture(t, b.Store)
				conv := f.open(t)
				c, _ := f.chat.Conversation(ctx, f.owner, conv)
				if c.Status != chat.StatusQueued {
					t.Fatalf("status %s with nobody online, want queued", c.Status)
				}
				f.chat.UserConnected(f.agent)
				if err := f.chat.SetPresence(ctx, f.agent, chat.PresenceOnline, ""); err != nil {
					t.Fatal(err)
				}
				waitFor(t, func() bool {
					c, _ := f.chat.Conversation(ctx, f.owner, conv)
					return c.Status == chat.StatusAssigned && c.AssigneeID == f.agent.ID
				})
				msgs, _ := f.chat.Messages(ctx, f.owner, conv, 0, 10)
				if last := msgs[len(msgs)-1]; last.Author.Type != chat.AuthorSystem || last.Body != "Assigned to Ann" {
					t.Fatalf("last message %+v, want the system note 'Assigned to Ann'", last)
				}
				v2 := f.newVisitor(t)
				m, _, _ := f.chat.Send(ctx, v2, chat.SendInput{Body: "second visitor"})
				c2 := f.settled(t, m.ConversationID)
				if c2.AssigneeID != f.agent.ID {
					t.Fatalf("second conversation assignee %q, want the online agent", c2.AssigneeID)
				}
				if len(f.events.kinds(chat.EventConversation)) < 2 {
					t.Fatal("no conversation events published")
				}
			})
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met within 5s")
}
