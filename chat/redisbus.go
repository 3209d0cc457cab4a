package chat

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisBus fans events out across nodes over Redis pub/sub, one channel per
// tenant ("<prefix>:<tenant>:events"). Every node, the publisher included,
// receives events through its subscription, so there is one delivery path.
//
// Events carry message bodies, private notes and visitors' details, and
// Redis is often shared and seldom locked down, so each event travels
// sealed: AES-256-GCM under a key derived from the server secret (which
// every node shares), with the channel as additional data. Whoever reads
// Redis traffic sees tenant ids in channel names and nothing else; an event
// forged or copied onto another tenant's channel without the key fails to
// open and is dropped. Sealing costs about a microsecond per event, where
// sending ids and letting each node read bodies back would cost every node
// a database read per message.
type RedisBus struct {
	rdb    *redis.Client
	aead   cipher.AEAD
	prefix string
	log    *slog.Logger
	ps     *redis.PubSub
	cancel context.CancelFunc
	done   chan struct{}
	subs   subscribers

	// Publishing: events queue here and one goroutine sends whatever has
	// queued in one pipeline, so a burst costs a round trip, not one per
	// event (in order: one writer).
	out     chan busItem
	stopPub chan struct{}
	pubDone chan struct{}
}

type busItem struct {
	channel string
	payload []byte
}

// busQueue is how many events may wait for the publisher; a full queue
// makes publishers wait (backpressure), never drops.
const busQueue = 8192

// NewRedisBus subscribes to every tenant's channel under prefix. secret is
// the server secret (KEFU_SECRET, the same on every node): the key that seals
// events is derived from it.
func NewRedisBus(ctx context.Context, rdb *redis.Client, prefix string, secret []byte, log *slog.Logger) (*RedisBus, error) {
	if prefix == "" {
		prefix = "kefu"
	}
	aead, err := busCipher(secret)
	if err != nil {
		return nil, err
	}
	b := &RedisBus{rdb: rdb, aead: aead, prefix: prefix, log: log, done: make(chan struct{}),
		out: make(chan busItem, busQueue), stopPub: make(chan struct{}), pubDone: make(chan struct{})}
	b.ps = rdb.PSubscribe(ctx, prefix+":*:events")
	if _, err := b.ps.Receive(ctx); err != nil { // wait for the subscription to be live
		b.ps.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	go b.run(runCtx)
	go b.publisher()
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
				plain, err := b.open(m.Channel, m.Payload)
				if err == nil {
					err = json.Unmarshal(plain, &e)
				}
				if err != nil {
					b.log.Warn("bus: dropped an event that does not open (another KEFU_SECRET, or not Kefu's)", "channel", m.Channel, "err", err)
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

// Publish queues e, sealed, for its tenant's channel; the publisher sends
// it with whatever else has queued. A failed send is logged: what it
// carried is stored, and clients catch up by seq.
func (b *RedisBus) Publish(ctx context.Context, e Event) error {
	payload, err := json.Marshal(e)
	if err != nil {
		return err
	}
	ch := b.channel(e.TenantID)
	select {
	case b.out <- busItem{channel: ch, payload: b.seal(ch, payload)}:
		return nil
	case <-b.stopPub:
		return errors.New("redis bus: closed")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// publisher sends the queued events in pipelines of up to maxPipeline.
func (b *RedisBus) publisher() {
	defer close(b.pubDone)
	const maxPipeline = 512
	batch := make([]busItem, 0, maxPipeline)
	for {
		batch = batch[:0]
		select {
		case it := <-b.out:
			batch = append(batch, it)
		case <-b.stopPub:
			// Send what is queued, then stop.
			for {
				select {
				case it := <-b.out:
					batch = append(batch, it)
					continue
				default:
				}
				break
			}
			b.send(batch)
			return
		}
	fill:
		for len(batch) < maxPipeline {
			select {
			case it := <-b.out:
				batch = append(batch, it)
			default:
				break fill
			}
		}
		b.send(batch)
	}
}

func (b *RedisBus) send(batch []busItem) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	if len(batch) == 1 {
		err = b.rdb.Publish(ctx, batch[0].channel, batch[0].payload).Err()
	} else {
		_, err = b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, it := range batch {
				p.Publish(ctx, it.channel, it.payload)
			}
			return nil
		})
	}
	if err != nil {
		b.log.Warn("bus: publish failed; sockets catch up by seq", "events", len(batch), "err", err)
	}
}

// busCipher is AES-256-GCM under HKDF-SHA256(secret, info "kefu-bus-v1").
func busCipher(secret []byte) (cipher.AEAD, error) {
	if len(secret) < 16 {
		return nil, errors.New("redis bus: the server secret is too short to derive a key from")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, "kefu-bus-v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal is a random nonce followed by the sealed payload, bound to the
// channel it travels on.
func (b *RedisBus) seal(channel string, payload []byte) []byte {
	out := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(payload)+b.aead.Overhead())
	_, _ = rand.Read(out)
	return b.aead.Seal(out, out, payload, []byte(channel))
}

func (b *RedisBus) open(channel, data string) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(data) < n+b.aead.Overhead() {
		return nil, errors.New("too short")
	}
	raw := []byte(data)
	return b.aead.Open(nil, raw[:n], raw[n:], []byte(channel))
}

// Subscribe registers fn.
func (b *RedisBus) Subscribe(fn func(Event)) func() { return b.subs.add(fn) }

// Ping checks Redis.
func (b *RedisBus) Ping(ctx context.Context) error { return b.rdb.Ping(ctx).Err() }

// Close sends what is queued and stops the subscription.
func (b *RedisBus) Close() error {
	close(b.stopPub)
	<-b.pubDone
	b.cancel()
	err := b.ps.Close()
	<-b.done
	return err
}
