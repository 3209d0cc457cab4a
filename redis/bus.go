package redis

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
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"kefu/chat"
)

// Bus fans events out across nodes over Redis pub/sub, one channel per
// tenant ("<prefix>:<tenant>:events") for what sockets show, and one
// control channel ("<prefix>:control") for what every node's caches must
// hear (a flow published, webhooks or roles changed, a model call
// cancelled, an agent gone or back). Every node, the publisher included,
// receives events through its subscriptions, so there is one delivery path.
//
// A node subscribes to a tenant's channel only while it holds a socket of
// that tenant (Acquire, counted per tenant; the channel is let go a while
// after the last socket closed), so a node hears the tenants its sockets
// need, not every tenant's traffic. Acquire returns once Redis has
// confirmed the subscription: a socket that acquires before reading its
// catch-up from the database misses nothing in between.
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
type Bus struct {
	rdb    *goredis.Client
	aead   cipher.AEAD
	prefix string
	log    *slog.Logger
	ps     *goredis.PubSub
	cancel context.CancelFunc
	done   chan struct{}
	subs   chat.Subscribers

	// Per-tenant subscriptions (Acquire). mu also orders the SUBSCRIBE and
	// UNSUBSCRIBE commands sent for one channel with the decisions to send
	// them.
	mu      sync.Mutex
	tenants map[string]*tenantSub
	linger  time.Duration
	closed  bool

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

// tenantSub is a node's subscription to one tenant's channel.
type tenantSub struct {
	refs    int
	ready   chan struct{} // closed when Redis confirmed the subscription
	late    bool          // an Acquire stopped waiting for it: resync when it comes
	idle    *time.Timer   // unsubscribes after the last release
	channel string
}

// DefaultLinger is how long a node keeps a tenant's channel after its
// last socket of that tenant closed (a reconnecting client comes back to a
// live subscription).
const DefaultLinger = 30 * time.Second

// busConfirmWait bounds how long Acquire waits for Redis to confirm a
// subscription; past it the socket goes on and gets a resync when the
// confirmation comes (Redis away: nothing is published either).
const busConfirmWait = 3 * time.Second

// NewBus subscribes to the control channel under prefix. secret is
// the server secret (KEFU_SECRET, the same on every node): the key that seals
// events is derived from it.
func NewBus(ctx context.Context, rdb *goredis.Client, prefix string, secret []byte, log *slog.Logger) (*Bus, error) {
	if prefix == "" {
		prefix = "kefu"
	}
	aead, err := busCipher(secret)
	if err != nil {
		return nil, err
	}
	b := &Bus{rdb: rdb, aead: aead, prefix: prefix, log: log, done: make(chan struct{}),
		out: make(chan busItem, busQueue), stopPub: make(chan struct{}), pubDone: make(chan struct{}),
		tenants: map[string]*tenantSub{}, linger: DefaultLinger}
	b.ps = rdb.Subscribe(ctx, b.control())
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

func (b *Bus) channel(tenant string) string { return b.prefix + ":" + tenant + ":events" }

func (b *Bus) control() string { return b.prefix + ":control" }

// controlKinds travel on the control channel: every node's caches must
// hear them, whether or not it holds the tenant's sockets.
var controlKinds = map[string]bool{chat.EventFlow: true, chat.EventHooks: true, chat.EventKnowledge: true, chat.EventBotCancel: true,
	chat.EventPolicies: true, chat.EventAgentGone: true, chat.EventAgentBack: true}

// SetLinger sets how long a tenant's channel stays subscribed after its
// last release (DefaultLinger).
func (b *Bus) SetLinger(d time.Duration) {
	b.mu.Lock()
	b.linger = d
	b.mu.Unlock()
}

// Acquire subscribes this node to the tenant's channel, unless it already
// is, and returns once Redis has confirmed it (or ctx ended, or
// busConfirmWait passed: then a resync follows the confirmation). Call
// release when the socket that needed it closes.
func (b *Bus) Acquire(ctx context.Context, tenantID string) (release func(), err error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, errors.New("redis bus: closed")
	}
	ts := b.tenants[tenantID]
	if ts == nil {
		ts = &tenantSub{ready: make(chan struct{}), channel: b.channel(tenantID)}
		b.tenants[tenantID] = ts
		// Sent under mu: an UNSUBSCRIBE decided earlier went out first.
		if err := b.ps.Subscribe(ctx, ts.channel); err != nil {
			// go-redis keeps the channel and subscribes on reconnecting.
			b.log.Warn("bus: subscribe", "tenant_id", tenantID, "err", err)
		}
	}
	ts.refs++
	if ts.idle != nil {
		ts.idle.Stop()
		ts.idle = nil
	}
	b.mu.Unlock()
	var once sync.Once
	release = func() { once.Do(func() { b.release(tenantID, ts) }) }
	t := time.NewTimer(busConfirmWait)
	defer t.Stop()
	select {
	case <-ts.ready:
		return release, nil
	case <-t.C:
	case <-ctx.Done():
	}
	b.mu.Lock()
	select {
	case <-ts.ready:
	default:
		ts.late = true
	}
	b.mu.Unlock()
	if ctx.Err() != nil {
		release()
		return nil, ctx.Err()
	}
	b.log.Warn("bus: Redis has not confirmed a subscription yet; going on, a resync follows", "tenant_id", tenantID)
	return release, nil
}

func (b *Bus) release(tenantID string, ts *tenantSub) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ts.refs--
	if ts.refs > 0 || b.closed || b.tenants[tenantID] != ts {
		return
	}
	ts.idle = time.AfterFunc(b.linger, func() { b.unsubscribe(tenantID, ts) })
}

// unsubscribe lets go of an idle tenant channel.
func (b *Bus) unsubscribe(tenantID string, ts *tenantSub) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ts.refs > 0 || b.closed || b.tenants[tenantID] != ts {
		return
	}
	select {
	case <-ts.ready:
	default:
		// Not confirmed yet: a confirmation of this channel must not be
		// taken for a later subscription's. Try again later.
		ts.idle = time.AfterFunc(b.linger, func() { b.unsubscribe(tenantID, ts) })
		return
	}
	delete(b.tenants, tenantID)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.ps.Unsubscribe(ctx, ts.channel); err != nil {
		b.log.Warn("bus: unsubscribe", "tenant_id", tenantID, "err", err)
	}
}

// Subscriptions is how many tenant channels this node is subscribed to.
func (b *Bus) Subscriptions() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.tenants)
}

// confirmed handles Redis's confirmation of a channel subscription.
func (b *Bus) confirmed(channel string) {
	tenantID, ok := strings.CutSuffix(strings.TrimPrefix(channel, b.prefix+":"), ":events")
	if !ok {
		return
	}
	b.mu.Lock()
	ts := b.tenants[tenantID]
	resync := false
	if ts != nil {
		select {
		case <-ts.ready:
			// A resubscription after a lost connection: the control
			// channel's resync covers it.
		default:
			close(ts.ready)
			resync = ts.late
		}
	}
	b.mu.Unlock()
	if resync {
		b.deliver(chat.Event{Kind: chat.EventResync, TenantID: tenantID})
	}
}

func (b *Bus) run(ctx context.Context) {
	defer close(b.done)
	ch := b.ps.ChannelWithSubscriptions(goredis.WithChannelSize(4096))
	subscribed := true // NewBus consumed the first confirmation
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			switch m := m.(type) {
			case *goredis.Subscription:
				// go-redis resubscribes by itself after a lost connection
				// (the control channel first); whatever was published
				// meanwhile is gone, so tell the sockets to catch up from
				// the database.
				if m.Kind == "subscribe" && m.Channel != b.control() {
					b.confirmed(m.Channel)
				}
				if m.Kind == "subscribe" && m.Channel == b.control() {
					if subscribed {
						b.log.Warn("bus: resubscribed to Redis; resyncing sockets")
						b.deliver(chat.Event{Kind: chat.EventResync})
					}
					subscribed = true
				}
			case *goredis.Message:
				var e chat.Event
				plain, err := b.open(m.Channel, m.Payload)
				if err == nil {
					err = json.Unmarshal(plain, &e)
				}
				if err != nil {
					b.log.Warn("bus: dropped an event that does not open (another KEFU_SECRET, or not Kefu's)", "channel", m.Channel, "err", err)
					continue
				}
				if m.Channel != b.control() && !strings.HasPrefix(m.Channel, b.prefix+":"+e.TenantID+":") {
					continue // an event must travel on its own tenant's channel
				}
				if m.Channel == b.control() && !controlKinds[e.Kind] {
					continue
				}
				b.deliver(e)
			}
		}
	}
}

func (b *Bus) deliver(e chat.Event) { b.subs.Deliver(e) }

// Publish queues e, sealed, for its tenant's channel; the publisher sends
// it with whatever else has queued. A failed send is logged: what it
// carried is stored, and clients catch up by seq.
func (b *Bus) Publish(ctx context.Context, e chat.Event) error {
	payload, err := json.Marshal(e)
	if err != nil {
		return err
	}
	ch := b.channel(e.TenantID)
	if controlKinds[e.Kind] {
		ch = b.control()
	}
	if e.Kind == chat.EventPresence && e.Status == chat.PresenceOnline {
		// The nodes without the tenant's sockets hear of it too: they keep
		// who is gone (agent.gone).
		if err := b.Publish(ctx, chat.Event{Kind: chat.EventAgentBack, TenantID: e.TenantID, UserID: e.UserID, At: e.At}); err != nil {
			return err
		}
	}
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
func (b *Bus) publisher() {
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

func (b *Bus) send(batch []busItem) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	if len(batch) == 1 {
		err = b.rdb.Publish(ctx, batch[0].channel, batch[0].payload).Err()
	} else {
		_, err = b.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
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
func (b *Bus) seal(channel string, payload []byte) []byte {
	out := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(payload)+b.aead.Overhead())
	_, _ = rand.Read(out)
	return b.aead.Seal(out, out, payload, []byte(channel))
}

func (b *Bus) open(channel, data string) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(data) < n+b.aead.Overhead() {
		return nil, errors.New("too short")
	}
	raw := []byte(data)
	return b.aead.Open(nil, raw[:n], raw[n:], []byte(channel))
}

// Subscribe registers fn.
func (b *Bus) Subscribe(fn func(chat.Event)) func() { return b.subs.Add(fn) }

// Ping checks Redis.
func (b *Bus) Ping(ctx context.Context) error { return b.rdb.Ping(ctx).Err() }

// Close sends what is queued and stops the subscription.
func (b *Bus) Close() error {
	b.mu.Lock()
	b.closed = true
	for _, ts := range b.tenants {
		if ts.idle != nil {
			ts.idle.Stop()
		}
	}
	b.mu.Unlock()
	close(b.stopPub)
	<-b.pubDone
	b.cancel()
	err := b.ps.Close()
	<-b.done
	return err
}
