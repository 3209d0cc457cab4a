package chat_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"kefu/chat"
)

// TestRedisBus runs two bus instances — two nodes — against the real Redis.
func TestRedisBus(t *testing.T) {
	url := os.Getenv("KEFU_TEST_REDIS_URL")
	if url == "" {
		t.Skip("KEFU_TEST_REDIS_URL not set: skipping the Redis bus test")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "kefutest-" + hex.EncodeToString(b)
	ctx := context.Background()
	node := func() *chat.RedisBus {
		rdb := redis.NewClient(opt)
		t.Cleanup(func() { rdb.Close() })
		bus, err := chat.NewRedisBus(ctx, rdb, prefix, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bus.Close() })
		return bus
	}
	a, bnode := node(), node()
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
	opt, _ := redis.ParseURL(url)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "kefutest-" + hex.EncodeToString(b)
	named := *opt
	named.ClientName = prefix // so the test cuts only its own connection
	rdb := redis.NewClient(&named)
	defer rdb.Close()
	bus, err := chat.NewRedisBus(context.Background(), rdb, prefix, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	got := make(chan chat.Event, 10)
	bus.Subscribe(func(e chat.Event) { got <- e })
	admin := redis.NewClient(opt)
	defer admin.Close()
	list, err := admin.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, " name="+prefix+" ") && strings.Contains(line, "psub=1") {
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
	// And it still delivers afterwards.
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
