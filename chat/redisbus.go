package chat

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// RedisBus fans events out across nodes over Redis pub/sub, one channel per
// tenant ("<prefix>:<tenant>:events"). Every node, the publisher included,
// receives events through its subscription, so there is one delivery path.
type RedisBus struct {
	rdb    *redis.Client
	prefix string
	log    *slog.Logger
	ps     *redis.PubSub
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.RWMutex
	next int
	subs map[int]func(Event)
}

// NewRedisBus subscribes to every tenant's channel under prefix.
func NewRedisBus(ctx context.Context, rdb *redis.Client, prefix string, log *slog.Logger) (*RedisBus, error) {
	if prefix == "" {
		prefix = "kefu"
	}
	b := &RedisBus{rdb: rdb, prefix: prefix, log: log, subs: map[int]func(Event){}, done: make(chan struct{})}
	b.ps = rdb.PSubscribe(ctx, prefix+":*:events")
	if _, err := b.ps.Receive(ctx); err != nil { // wait for the subscription to be live
		b.ps.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	go b.run(runCtx)
	return b, nil
}

func (b *RedisBus) channel(tenant string) string { return b.prefix + ":" + tenant + ":events" }

func (b *RedisBus) run(ctx context.Context) {
	defer close(b.done)
	ch := b.ps.Channel(redis.WithChannelSize(4096))
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			var e Event
			if err := json.Unmarshal([]byte(m.Payload), &e); err != nil {
				b.log.Warn("bus: bad event", "channel", m.Channel, "err", err)
				continue
			}
			if !strings.HasPrefix(m.Channel, b.prefix+":"+e.TenantID+":") {
				continue // an event must travel on its own tenant's channel
			}
			b.mu.RLock()
			for _, fn := range b.subs {
				fn(e)
			}
			b.mu.RUnlock()
		}
	}
}

// Publish sends e on its tenant's channel.
func (b *RedisBus) Publish(ctx context.Context, e Event) error {
	payload, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return b.rdb.Publish(ctx, b.channel(e.TenantID), payload).Err()
}

// Subscribe registers fn.
func (b *RedisBus) Subscribe(fn func(Event)) func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.next
	b.next++
	b.subs[id] = fn
	return func() {
		b.mu.Lock()
		delete(b.subs, id)
		b.mu.Unlock()
	}
}

// Ping checks Redis.
func (b *RedisBus) Ping(ctx context.Context) error { return b.rdb.Ping(ctx).Err() }

// Close stops the subscription.
func (b *RedisBus) Close() error {
	b.cancel()
	err := b.ps.Close()
	<-b.done
	return err
}
