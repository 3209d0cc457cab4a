package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"kefu/chat"
	"kefu/flowrun"
	"kefu/redis"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// TestRedisBus runs two bus instances — two nodes — against the real Redis.
func TestRedisBus(t *testing.T) {
	url := os.Getenv("KEFU_TEST_REDIS_URL")
	if url == "" {
		t.Skip("KEFU_TEST_REDIS_URL not set: skipping the Redis bus test")
	}
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "kefutest-" + hex.EncodeToString(b)
	ctx := context.Background()
	node := func() *redis.Bus {
		rdb := goredis.NewClient(opt)
		t.Cleanup(func() { rdb.Close() })
		bus, err := redis.NewBus(ctx, rdb, prefix, []byte("0123456789abcdef0123456789abcdef"), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bus.Close() })
		return bus
	}
	a, bnode := node(), node()
	for _, n := range []*redis.Bus{a, bnode} {
		release, err := n.Acquire(ctx, "tenant-1")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(release)
	}
	got := make(chan chat.Event, 10)
	bnode.Subscribe(func(e chat.Event) { got <- e })
	own := make(chan chat.Event, 10)
	a.Subscribe(func(e chat.Event) { own <- e })

	want := chat.Event{Kind: chat.EventMessage, TenantID: "tenant-1", ConversationID: "c1", VisitorID: "v1", Message: &chat.Message{ID: "m1", Seq: 7, Body: "hi"}}
	if err := a.Publish(ctx, want); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]chan chat.Event{"the other node": got, "the publishing node": own} {
		select {
		case e := <-ch:
			if e.TenantID != "tenant-1" || e.Message == nil || e.Message.Seq != 7 || e.Message.Body != "hi" {
				t.Fatalf("%s got %+v", name, e)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s got nothing", name)
		}
	}
	if err := a.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRedisBusResyncsAfterReconnect: when the subscriber's connection drops,
// go-redis resubscribes and the bus tells its subscribers to resync, since
// events published meanwhile are lost.
func TestRedisBusResyncsAfterReconnect(t *testing.T) {
	url := os.Getenv("KEFU_TEST_REDIS_URL")
	if url == "" {
		t.Skip("KEFU_TEST_REDIS_URL not set: skipping the Redis bus test")
	}
	opt, _ := goredis.ParseURL(url)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "kefutest-" + hex.EncodeToString(b)
	named := *opt
	named.ClientName = prefix // so the test cuts only its own connection
	rdb := goredis.NewClient(&named)
	defer rdb.Close()
	bus, err := redis.NewBus(context.Background(), rdb, prefix, []byte("0123456789abcdef0123456789abcdef"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	release, err := bus.Acquire(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	got := make(chan chat.Event, 10)
	bus.Subscribe(func(e chat.Event) { got <- e })
	admin := goredis.NewClient(opt)
	defer admin.Close()
	list, err := admin.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, " name="+prefix+" ") && strings.Contains(line, " sub=2 ") {
			for _, f := range strings.Fields(line) {
				if id, ok := strings.CutPrefix(f, "id="); ok {
					admin.Do(context.Background(), "CLIENT", "KILL", "ID", id)
					killed++
				}
			}
		}
	}
	if killed == 0 {
		t.Fatalf("the bus's subscription is not in CLIENT LIST:\n%s", list)
	}
	select {
	case e := <-got:
		if e.Kind != chat.EventResync {
			t.Fatalf("got %+v, want a resync", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no resync after the subscription was cut")
	}
	// And it still delivers afterwards, on the tenant's channel too
	// (resubscribed with the connection).
	if err := bus.Publish(context.Background(), chat.Event{Kind: chat.EventTyping, TenantID: "t"}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-got:
		if e.Kind != chat.EventTyping {
			t.Fatalf("got %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing delivered after the reconnect")
	}
}

// TestRedisBusCarriesNoBodies watches the raw pub/sub traffic while two
// nodes chat through the service: no message body, private note or visitor
// detail crosses Redis in the clear, the other node still gets every event
// whole, and what is published without the key — forged, or a sealed event
// copied onto another tenant's channel — is dropped.
func TestRedisBusCarriesNoBodies(t *testing.T) {
	url := os.Getenv("KEFU_TEST_REDIS_URL")
	if url == "" {
		t.Skip("KEFU_TEST_REDIS_URL not set: skipping the Redis bus test")
	}
	opt, _ := goredis.ParseURL(url)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "kefutest-" + hex.EncodeToString(b)
	ctx := context.Background()
	secret := []byte("0123456789abcdef0123456789abcdef")
	newBus := func(secret []byte) *redis.Bus {
		rdb := goredis.NewClient(opt)
		t.Cleanup(func() { rdb.Close() })
		bus, err := redis.NewBus(ctx, rdb, prefix, secret, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bus.Close() })
		return bus
	}
	// The wiretap: every payload on the prefix's channels.
	tap := goredis.NewClient(opt)
	t.Cleanup(func() { tap.Close() })
	ps := tap.PSubscribe(ctx, prefix+":*")
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	var wire []*goredis.Message
	var wireMu sync.Mutex
	go func() {
		for m := range ps.Channel() {
			wireMu.Lock()
			wire = append(wire, m)
			wireMu.Unlock()
		}
	}()
	t.Cleanup(func() { ps.Close() })

	store := tenantstest.SQLite(t)
	ten := tenants.NewService(store, tenants.Config{Secret: secret})
	nodeA := chat.NewService(chat.Config{Tenants: ten, Bus: newBus(secret)})
	flowrun.New(nodeA, flowrun.Config{})
	t.Cleanup(func() { nodeA.Close(ctx) })
	busB := newBus(secret)
	var mu sync.Mutex
	var onB []chat.Event
	busB.Subscribe(func(e chat.Event) { mu.Lock(); onB = append(onB, e); mu.Unlock() })
	stranger := newBus([]byte("another-secret-another-secret-00"))
	var onStranger []chat.Event
	stranger.Subscribe(func(e chat.Event) { mu.Lock(); onStranger = append(onStranger, e); mu.Unlock() })

	res, err := ten.Signup(ctx, tenants.SignupInput{Company: "Wiretap " + tenants.NewID()[24:], Email: "o@example.com", Password: "password1", Name: "Olga"})
	if err != nil {
		t.Fatal(err)
	}
	owner, _ := ten.Authenticate(ctx, res.Token)
	for bus, tenant := range map[*redis.Bus][]string{busB: {res.Tenant.ID, "other-tenant"}, stranger: {res.Tenant.ID}} {
		for _, id := range tenant {
			release, err := bus.Acquire(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(release)
		}
	}
	ws, err := nodeA.StartWidgetSession(ctx, res.Tenant.WidgetKey, "", chat.VisitorInput{Name: "Visitor Vexillum", Email: "vexillum@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	visitor, _ := ten.Authenticate(ctx, ws.VisitorToken)
	m, _, err := nodeA.Send(ctx, visitor, chat.SendInput{Body: "public zanzibar-marker"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := nodeA.Send(ctx, owner, chat.SendInput{ConversationID: m.ConversationID, Body: "private quetzal-marker", Private: true}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		var bodies []string
		for _, e := range onB {
			if e.Message != nil {
				bodies = append(bodies, e.Message.Body)
			}
		}
		mu.Unlock()
		if strings.Contains(strings.Join(bodies, "|"), "private quetzal-marker") && strings.Contains(strings.Join(bodies, "|"), "public zanzibar-marker") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other node got %v", bodies)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	wireMu.Lock()
	seen := len(wire)
	for _, w := range wire {
		for _, marker := range []string{"zanzibar", "quetzal", "Vexillum", "vexillum@", `"body"`, `"m":`} {
			if strings.Contains(w.Payload, marker) {
				t.Errorf("the Redis traffic carries %q in the clear on %s", marker, w.Channel)
			}
		}
	}
	sealed := wire[len(wire)-1].Payload
	wireMu.Unlock()
	if seen < 2 {
		t.Fatalf("the wiretap saw %d payloads", seen)
	}
	mu.Lock()
	if len(onStranger) != 0 {
		t.Errorf("a node with another secret read %d events", len(onStranger))
	}
	before := len(onB)
	mu.Unlock()
	// Forged in the clear, and a sealed event moved to another tenant.
	forged := `{"k":"message","t":"` + res.Tenant.ID + `","c":"` + m.ConversationID + `","m":{"id":"x","seq":99,"body":"forged"}}`
	tap.Publish(ctx, prefix+":"+res.Tenant.ID+":events", forged)
	tap.Publish(ctx, prefix+":other-tenant:events", sealed)
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for _, e := range onB[before:] {
		if e.TenantID == "other-tenant" || (e.Message != nil && e.Message.Body == "forged") {
			t.Errorf("the node delivered an event published without the key: %+v", e)
		}
	}
}
