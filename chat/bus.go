package chat

import (
	"context"
	"sync"
)

// Bus carries events from the node that committed them to every node that
// holds a socket interested in them. Delivery is at most once: a missed event
// costs latency, never a message, because clients resume by seq from the
// database.
type Bus interface {
	Publish(ctx context.Context, e Event) error
	// Subscribe registers fn for every event; fn must not block.
	Subscribe(fn func(Event)) (cancel func())
	// Acquire makes sure this node hears the tenant's events until release
	// is called (once per socket: counted). It returns once events
	// published from now on will arrive, so a socket that acquires before
	// reading its catch-up from the database misses nothing.
	Acquire(ctx context.Context, tenantID string) (release func(), err error)
	Ping(ctx context.Context) error
	Close() error
}

// Subscribers is the set of handlers a Bus delivers to; implementations
// (LocalBus here, kefu/redis.Bus) keep one and call Deliver for each event
// they receive. The zero value is ready to use.
type Subscribers struct {
	mu   sync.RWMutex
	next int
	subs map[int]func(Event)
}

// Add registers fn and returns what unregisters it.
func (s *Subscribers) Add(fn func(Event)) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subs == nil {
		s.subs = map[int]func(Event){}
	}
	id := s.next
	s.next++
	s.subs[id] = fn
	return func() {
		s.mu.Lock()
		delete(s.subs, id)
		s.mu.Unlock()
	}
}

// Deliver calls every handler with e, synchronously.
func (s *Subscribers) Deliver(e Event) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, fn := range s.subs {
		fn(e)
	}
}

// LocalBus is the in-process bus of a single node.
type LocalBus struct{ subs Subscribers }

// NewLocalBus returns an in-process bus.
func NewLocalBus() *LocalBus { return &LocalBus{} }

// Publish calls every subscriber synchronously.
func (b *LocalBus) Publish(_ context.Context, e Event) error {
	b.subs.Deliver(e)
	return nil
}

// Subscribe registers fn.
func (b *LocalBus) Subscribe(fn func(Event)) func() { return b.subs.Add(fn) }

// Acquire has nothing to do: one node hears everything.
func (b *LocalBus) Acquire(context.Context, string) (func(), error) { return func() {}, nil }

// Ping always succeeds.
func (b *LocalBus) Ping(context.Context) error { return nil }

// Close does nothing.
func (b *LocalBus) Close() error { return nil }
