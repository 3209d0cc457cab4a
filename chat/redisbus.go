package chat

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"

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
	subs   subscribers
}

// NewRedisBus subscribes to every tenant's channel under prefix.
func NewRedisBus(ctx context.Context, rdb *redis.Client, prefix string, log *slog.Logger) (*RedisBus, error) {
	if prefix == "" {
		prefix = "kefu"
	}
	b := &RedisBus{rdb: rdb, prefix: prefix, log: log, done: make(chan struct{})}
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
	ch := b.ps.ChannelWithSubscriptions(redis.WithChannelSize(4096))
	subscribed := true // NewRedisBus consumed the first confirmation
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			switch m := m.(type) {
			case *redis.Subscription:
				// go-redis resubscribes by itself after a lost connection;
				// whatever was published meanwhile is gone, so tell the
				// sockets to catch up from the database.
				if m.Kind == "psubscribe" {
					if subscribed {
						b.log.Warn("bus: resubscribed to Redis; resyncing sockets")
						b.deliver(Event{Kind: EventResync})
					}
					subscribed = true
				}
			case *redis.Message:
				var e Event
				if err := json.Unmarshal([]byte(m.Payload), &e); err != nil {
					b.log.Warn("bus: bad event", "channel", m.Channel, "err", err)
					continue
				}
				if !strings.HasPrefix(m.Channel, b.prefix+":"+e.TenantID+":") {
					continue // an event must travel on its own tenant's channel
				}
				b.deliver(e)
			}
		}
	}
}

func (b *RedisBus) deliver(e Event) { b.subs.deliver(e) }

// Publish sends e on its tenant's channel.
func (b *RedisBus) Publish(ctx context.Context, e Event) error {
	payload, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return b.rdb.Publish(ctx, b.channel(e.TenantID), payload).Err()
}

// Subscribe registers fn.
func (b *RedisBus) Subscribe(fn func(Event)) func() { return b.subs.add(fn) }

// Ping checks Redis.
func (b *RedisBus) Ping(ctx context.Context) error { return b.rdb.Ping(ctx).Err() }

// Close stops the subscription.
func (b *RedisBus) Close() error {
	b.cancel()
	err := b.ps.Close()
	<-b.done
	return err
}
