package redis_test

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"kefu/chat"
	"kefu/redis"
)

func busNodes(t *testing.T, n int) ([]*redis.Bus, *goredis.Client, string) {
	t.Helper()
	url := os.Getenv("KEFU_TEST_REDIS_URL")
	if url == "" {
		t.Skip("KEFU_TEST_REDIS_URL not set: skipping the Redis bus test")
	}
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 6)
	_, _ = crand.Read(raw)
	prefix := "kefutest-" + hex.EncodeToString(raw)
	var out []*redis.Bus
	for range n {
		rdb := goredis.NewClient(opt)
		t.Cleanup(func() { rdb.Close() })
		bus, err := redis.NewBus(context.Background(), rdb, prefix, []byte("0123456789abcdef0123456789abcdef"), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bus.Close() })
		out = append(out, bus)
	}
	admin := goredis.NewClient(opt)
	t.Cleanup(func() { admin.Close() })
	return out, admin, prefix
}

// TestRedisBusHearsOnlyAcquiredTenants: a node subscribes to the tenants
// its sockets need and to the control channel, nothing else; it lets a
// tenant go after the last release (and the linger), and hears it again
// after the next Acquire.
func TestRedisBusHearsOnlyAcquiredTenants(t *testing.T) {
	nodes, admin, prefix := busNodes(t, 2)
	ctx := context.Background()
	a, b := nodes[0], nodes[1]
	b.SetLinger(50 * time.Millisecond)
	type seen struct {
		mu  sync.Mutex
		evs []string
	}
	var on [2]seen
	for i, n := range nodes {
		n.Subscribe(func(e chat.Event) {
			on[i].mu.Lock()
			on[i].evs = append(on[i].evs, e.Kind+"/"+e.TenantID)
			on[i].mu.Unlock()
		})
	}
	relA, err := a.Acquire(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	defer relA()
	relB, err := b.Acquire(ctx, "t2")
	if err != nil {
		t.Fatal(err)
	}
	relB2, _ := b.Acquire(ctx, "t2") // a second socket of the same tenant
	for _, e := range []chat.Event{{Kind: chat.EventTyping, TenantID: "t1"}, {Kind: chat.EventTyping, TenantID: "t2"}, {Kind: chat.EventFlow, TenantID: "t3"},
		{Kind: chat.EventPresence, TenantID: "t3", UserID: "u", Status: chat.PresenceOnline}} {
		if err := a.Publish(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	want := [2][]string{{"typing/t1", "flow/t3", "agent.back/t3"}, {"typing/t2", "flow/t3", "agent.back/t3"}}
	waitFor := func(i int, want []string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			on[i].mu.Lock()
			got := fmt.Sprint(on[i].evs)
			on[i].mu.Unlock()
			if got == fmt.Sprint(want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d heard %s, want %v", i, got, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(0, want[0])
	waitFor(1, want[1])

	// Redis sees one subscriber per tenant channel and no pattern.
	subs, err := admin.PubSubNumSub(ctx, prefix+":t1:events", prefix+":t2:events", prefix+":t3:events", prefix+":control").Result()
	if err != nil {
		t.Fatal(err)
	}
	if subs[prefix+":t1:events"] != 1 || subs[prefix+":t2:events"] != 1 || subs[prefix+":t3:events"] != 0 || subs[prefix+":control"] != 2 {
		t.Fatalf("subscribers per channel: %v", subs)
	}

	relB()
	time.Sleep(150 * time.Millisecond)
	if b.Subscriptions() != 1 {
		t.Fatalf("a tenant still held by a socket was let go: %d subscriptions", b.Subscriptions())
	}
	relB2()
	relB2() // releasing twice counts once
	deadline := time.Now().Add(5 * time.Second)
	for b.Subscriptions() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the tenant channel was not let go after its last socket")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for {
		subs, _ = admin.PubSubNumSub(ctx, prefix+":t2:events").Result()
		if subs[prefix+":t2:events"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Redis still counts a subscriber on the released channel")
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = a.Publish(ctx, chat.Event{Kind: chat.EventTyping, TenantID: "t2"}) // nobody hears it
	time.Sleep(300 * time.Millisecond)
	rel, err := b.Acquire(ctx, "t2")
	if err != nil {
		t.Fatal(err)
	}
	defer rel()
	_ = a.Publish(ctx, chat.Event{Kind: chat.EventRead, TenantID: "t2"})
	waitFor(1, append(want[1], "read/t2"))
}

// TestRedisBusSocketChurnLosesNothing is the race the per-tenant
// subscriptions must win: while a publisher commits and publishes a steady
// stream of messages for a few tenants, sockets on the other node open
// (Acquire, then read the catch-up from the "database") and close, over and
// over, the tenants' channels coming and going with them (no linger). Every
// socket must see every message from its catch-up on, none missing.
func TestRedisBusSocketChurnLosesNothing(t *testing.T) {
	nodes, _, _ := busNodes(t, 2)
	pub, sub := nodes[0], nodes[1]
	sub.SetLinger(0)
	ctx := context.Background()
	const tenants = 4
	var committed [tenants]atomic.Int64 // the "database": the last seq stored per tenant

	// Live events on the subscribing node go to the sockets open for it.
	type socket struct {
		tenant int
		mu     sync.Mutex
		got    map[int64]bool
	}
	var mu sync.Mutex
	open := map[*socket]bool{}
	sub.Subscribe(func(e chat.Event) {
		if e.Kind != chat.EventMessage || e.Message == nil {
			return
		}
		var tn int
		_, _ = fmt.Sscanf(e.TenantID, "churn%d", &tn)
		mu.Lock()
		defer mu.Unlock()
		for s := range open {
			if s.tenant == tn {
				s.mu.Lock()
				s.got[e.Message.Seq] = true
				s.mu.Unlock()
			}
		}
	})

	stop := make(chan struct{})
	var pubWG sync.WaitGroup
	for tn := range tenants {
		pubWG.Add(1)
		go func() {
			defer pubWG.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				seq := committed[tn].Add(1) // stored first, then published
				_ = pub.Publish(ctx, chat.Event{Kind: chat.EventMessage, TenantID: fmt.Sprintf("churn%d", tn), Message: &chat.Message{Seq: seq}})
				time.Sleep(time.Duration(200+rand.IntN(600)) * time.Microsecond)
			}
		}()
	}

	var sockWG sync.WaitGroup
	var failures atomic.Int64
	var checked atomic.Int64
	until := time.Now().Add(6 * time.Second)
	for w := range 8 {
		sockWG.Add(1)
		go func() {
			defer sockWG.Done()
			for time.Now().Before(until) {
				s := &socket{tenant: (w + rand.IntN(2)) % tenants, got: map[int64]bool{}}
				mu.Lock()
				open[s] = true // registered with the hub before Acquire returns: as ws does
				mu.Unlock()
				release, err := sub.Acquire(ctx, fmt.Sprintf("churn%d", s.tenant))
				if err != nil {
					t.Error(err)
					return
				}
				since := committed[s.tenant].Load() // the catch-up read
				time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
				last := committed[s.tenant].Load()
				// Everything committed before the socket closes reaches it
				// (give the bus a moment to deliver it).
				deadline := time.Now().Add(5 * time.Second)
				for {
					s.mu.Lock()
					missing := int64(0)
					for q := since + 1; q <= last; q++ {
						if !s.got[q] {
							missing++
						}
					}
					s.mu.Unlock()
					if missing == 0 {
						break
					}
					if time.Now().After(deadline) {
						failures.Add(1)
						t.Errorf("a socket of tenant %d missed %d of the messages %d..%d", s.tenant, missing, since+1, last)
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				checked.Add(last - since)
				mu.Lock()
				delete(open, s)
				mu.Unlock()
				release()
			}
		}()
	}
	sockWG.Wait()
	close(stop)
	pubWG.Wait()
	if checked.Load() < 1000 {
		t.Fatalf("only %d deliveries checked: the test did not exercise the race", checked.Load())
	}
	t.Logf("%d deliveries checked over socket churn, %d sockets failed", checked.Load(), failures.Load())
}

// TestRedisBusWithACLUser: KEFU_REDIS_URL's user and password (Redis 6
// ACLs) are what the bus authenticates with: a node with the right ones
// carries events, one with a wrong password does not start; rediss:// asks
// for TLS.
func TestRedisBusWithACLUser(t *testing.T) {
	_, admin, prefix := busNodes(t, 0)
	ctx := context.Background()
	user, pass := prefix+"-user", "pw-"+prefix
	if err := admin.Do(ctx, "ACL", "SETUSER", user, "on", ">"+pass, "~"+prefix+":*", "&"+prefix+":*", "+@all").Err(); err != nil {
		t.Skipf("this Redis has no ACLs: %v", err)
	}
	t.Cleanup(func() { admin.Do(context.Background(), "ACL", "DELUSER", user) })
	base := admin.Options()
	url := fmt.Sprintf("redis://%s:%s@%s/%d", user, pass, base.Addr, base.DB)
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	bus, err := redis.NewBus(ctx, rdb, prefix, []byte("0123456789abcdef0123456789abcdef"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("the bus with an ACL user: %v", err)
	}
	t.Cleanup(func() { bus.Close() })
	got := make(chan chat.Event, 1)
	bus.Subscribe(func(e chat.Event) { got <- e })
	rel, err := bus.Acquire(ctx, "acl")
	if err != nil {
		t.Fatal(err)
	}
	defer rel()
	_ = bus.Publish(ctx, chat.Event{Kind: chat.EventTyping, TenantID: "acl"})
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("no event through the ACL user's connection")
	}

	bad, _ := goredis.ParseURL(fmt.Sprintf("redis://%s:wrong@%s/%d", user, base.Addr, base.DB))
	badClient := goredis.NewClient(bad)
	t.Cleanup(func() { badClient.Close() })
	if _, err := redis.NewBus(ctx, badClient, prefix, []byte("0123456789abcdef0123456789abcdef"), slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("a wrong password started a bus")
	}
	tlsOpt, err := goredis.ParseURL("rediss://u:p@redis.example.com:6380/0")
	if err != nil || tlsOpt.TLSConfig == nil || tlsOpt.TLSConfig.ServerName != "redis.example.com" || tlsOpt.Username != "u" || tlsOpt.Password != "p" {
		t.Fatalf("rediss:// is not TLS with AUTH: %+v %v", tlsOpt, err)
	}
}
