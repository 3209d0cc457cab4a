package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"kefu/chat"
	"kefu/redis"
)

// redisCPU is the Redis server's CPU time so far (user + system).
func redisCPU(b *testing.B, rdb *goredis.Client) time.Duration {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// BenchmarkRedisBusFanout: two nodes, 200 tenants, each tenant's sockets on
// one node (half on each); every op publishes one message event of 200
// bytes to one tenant, round robin. Reported: events each node received per
// published event (recv/node/op: 1.0 when every node hears every tenant,
// 0.5 when a node hears only its own tenants) and Redis CPU per event.
func BenchmarkRedisBusFanout(b *testing.B) {
	url := os.Getenv("KEFU_TEST_REDIS_URL")
	if url == "" {
		b.Skip("KEFU_TEST_REDIS_URL not set")
	}
	opt, err := goredis.ParseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	raw := make([]byte, 6)
	_, _ = rand.Read(raw)
	prefix := "kefubench-" + hex.EncodeToString(raw)
	ctx := context.Background()
	const tenants = 200
	var recv [2]atomic.Int64
	var nodes [2]*redis.Bus
	for i := range nodes {
		rdb := goredis.NewClient(opt)
		b.Cleanup(func() { _ = rdb.Close() })
		bus, err := redis.NewBus(ctx, rdb, prefix, []byte("0123456789abcdef0123456789abcdef"), slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = bus.Close() })
		bus.Subscribe(func(e chat.Event) {
			if e.Kind == chat.EventMessage {
				recv[i].Add(1)
			}
		})
		nodes[i] = bus
	}
	for t := range tenants {
		release, err := nodes[t%2].Acquire(ctx, fmt.Sprintf("t%d", t))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(release)
	}
	ctl := goredis.NewClient(opt)
	defer ctl.Close()
	body := strings.Repeat("x", 200)
	b.ResetTimer()
	cpu0 := redisCPU(b, ctl)
	for i := range b.N {
		t := i % tenants
		e := chat.Event{Kind: chat.EventMessage, TenantID: fmt.Sprintf("t%d", t), ConversationID: "c", Message: &chat.Message{ID: "m", Seq: int64(i), Body: body}}
		if err := nodes[(i/7)%2].Publish(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	// Wait until the events stop arriving.
	for last := int64(-1); ; {
		time.Sleep(200 * time.Millisecond)
		n := recv[0].Load() + recv[1].Load()
		if n == last {
			break
		}
		last = n
	}
	b.StopTimer()
	cpu := redisCPU(b, ctl) - cpu0
	b.ReportMetric(float64(recv[0].Load()+recv[1].Load())/2/float64(b.N), "recv/node/op")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "redis-cpu-us/op")
}
