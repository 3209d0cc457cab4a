package redis_test

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"kefu/chat"
	"kefu/redis"
	"kefu/tenants"
)

func testRedis(t *testing.T) *goredis.Client {
	t.Helper()
	url := os.Getenv("KEFU_TEST_REDIS_URL")
	if url == "" {
		t.Skip("KEFU_TEST_REDIS_URL not set: skipping the Redis presence test")
	}
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// TestRedisPresence runs two presence stores — two nodes — on the real Redis.
func TestRedisPresence(t *testing.T) {
	rdb := testRedis(t)
	prefix := "kefutest-" + tenants.NewID()[24:]
	t.Cleanup(func() {
		keys, _ := rdb.Keys(context.Background(), prefix+":*").Result()
		if len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
	})
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	nodeA := redis.NewPresence(rdb, prefix, log).WithTimings(2*time.Second, 500*time.Millisecond, 500*time.Millisecond)
	nodeB := redis.NewPresence(rdb, prefix, log).WithTimings(2*time.Second, 500*time.Millisecond, 500*time.Millisecond)
	var mu sync.Mutex
	expired := map[string]int{}
	bctx, stopB := context.WithCancel(ctx)
	defer stopB()
	go nodeB.Run(bctx, func(tenant, user string) { mu.Lock(); expired[tenant+"/"+user]++; mu.Unlock() })

	t.Run("a status set on one node is seen on the other", func(t *testing.T) {
		nodeA.Connect(ctx, "t1", "ann")
		if _, err := nodeA.Set(ctx, "t1", "ann", chat.PresenceOnline); err != nil {
			t.Fatal(err)
		}
		if got := nodeB.Online(ctx, "t1"); len(got) != 1 || got[0] != "ann" {
			t.Fatalf("node B sees %v", got)
		}
		if _, err := nodeA.Set(ctx, "t1", "ann", chat.PresenceAway); err != nil {
			t.Fatal(err)
		}
		if got := nodeB.Online(ctx, "t1"); len(got) != 0 || nodeB.Status(ctx, "t1", "ann") != chat.PresenceAway {
			t.Fatalf("away: node B sees %v, %s", got, nodeB.Status(ctx, "t1", "ann"))
		}
	})
	t.Run("the last socket closing anywhere means offline at once", func(t *testing.T) {
		nodeB.Connect(ctx, "t1", "ann") // a second tab, on node B
		_, _ = nodeA.Set(ctx, "t1", "ann", chat.PresenceOnline)
		if nodeA.Disconnect(ctx, "t1", "ann") {
			t.Fatal("offline while a socket remains on node B")
		}
		if got := nodeA.Online(ctx, "t1"); len(got) != 1 {
			t.Fatalf("online after one of two sockets closed: %v", got)
		}
		if !nodeB.Disconnect(ctx, "t1", "ann") {
			t.Fatal("not offline after the last socket closed")
		}
		if got := nodeA.Online(ctx, "t1"); len(got) != 0 {
			t.Fatalf("still online: %v", got)
		}
	})
	t.Run("a node that dies takes its users offline within the TTL", func(t *testing.T) {
		actx, stopA := context.WithCancel(ctx)
		go nodeA.Run(actx, func(string, string) {})
		nodeA.Connect(ctx, "t2", "bo")
		_, _ = nodeA.Set(ctx, "t2", "bo", chat.PresenceOnline)
		time.Sleep(2500 * time.Millisecond) // heartbeats keep bo alive past the TTL
		if got := nodeB.Online(ctx, "t2"); len(got) != 1 {
			t.Fatalf("bo lapsed while his node was alive: %v", got)
		}
		stopA() // the node dies: no disconnect, no more heartbeats
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			n := expired["t2/bo"]
			mu.Unlock()
			if n > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no expiry noticed within 5s")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if got := nodeB.Online(ctx, "t2"); len(got) != 0 {
			t.Fatalf("bo still online: %v", got)
		}
	})
}

// TestRedisPresenceRebuilt: when Redis loses everything (a restart without
// persistence, FLUSHALL; here the test's keys are deleted, the shared Redis
// is not flushed), each node writes its part back within one heartbeat:
// socket counts summed over the nodes, and the statuses chosen.
func TestRedisPresenceRebuilt(t *testing.T) {
	rdb := testRedis(t)
	prefix := "kefutest-" + tenants.NewID()[24:]
	wipe := func() {
		keys, _ := rdb.Keys(context.Background(), prefix+":*").Result()
		if len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
	}
	t.Cleanup(wipe)
	log := slog.New(slog.DiscardHandler)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	const heartbeat = 300 * time.Millisecond
	nodeA := redis.NewPresence(rdb, prefix, log).WithTimings(10*time.Second, heartbeat, time.Hour)
	nodeB := redis.NewPresence(rdb, prefix, log).WithTimings(10*time.Second, heartbeat, time.Hour)
	nodeA.Connect(ctx, "t1", "ann")
	nodeA.Connect(ctx, "t1", "ann")
	nodeB.Connect(ctx, "t1", "ann")
	nodeB.Connect(ctx, "t1", "bob")
	if _, err := nodeA.Set(ctx, "t1", "ann", chat.PresenceOnline); err != nil {
		t.Fatal(err)
	}
	if _, err := nodeB.Set(ctx, "t1", "bob", chat.PresenceAway); err != nil {
		t.Fatal(err)
	}
	go nodeA.Run(ctx, func(string, string) {})
	go nodeB.Run(ctx, func(string, string) {})
	time.Sleep(50 * time.Millisecond) // both nodes have marked themselves alive

	wipe()
	if got := nodeB.Online(ctx, "t1"); len(got) != 0 {
		t.Fatalf("after the wipe node B still sees %v online", got)
	}
	deadline := time.Now().Add(heartbeat + 500*time.Millisecond)
	for {
		online := nodeB.Online(ctx, "t1")
		if len(online) == 1 && online[0] == "ann" && nodeA.Status(ctx, "t1", "bob") == chat.PresenceAway {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("presence not rebuilt within a heartbeat: online %v, bob %s", online, nodeA.Status(ctx, "t1", "bob"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The counts were summed: ann goes offline with her third socket only.
	if nodeA.Disconnect(ctx, "t1", "ann") || nodeB.Disconnect(ctx, "t1", "ann") {
		t.Fatal("ann went offline with sockets still open")
	}
	if !nodeA.Disconnect(ctx, "t1", "ann") {
		t.Fatal("ann's last socket closed but she did not go offline")
	}
}
