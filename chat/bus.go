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

// subscribers is the set of handlers a bus delivers to.
type subscribers struct {
	mu   sync.RWMutex
	next int
	subs map[int]func(Event)
}

func (s *subscribers) add(fn func(Event)) func() {
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

func (s *subscribers) deliver(e Event) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, fn := range s.subs {
		fn(e)
	}
}

// LocalBus is the in-process bus of a single node.
type LocalBus struct{ subs subscribers }

// NewLocalBus returns an in-process bus.
func NewLocalBus() *LocalBus { return &LocalBus{} }

// Publish calls every subscriber synchronously.
func (b *LocalBus) Publish(_ context.Context, e Event) error {
	b.subs.deliver(e)
	return nil
}

// Subscribe registers fn.
func (b *LocalBus) Subscribe(fn func(Event)) func() { return b.subs.add(fn) }

// Acquire has nothing to do: one node hears everything.
func (b *LocalBus) Acquire(context.Context, string) (func(), error) { return func() {}, nil }

// Ping always succeeds.
func (b *LocalBus) Ping(context.Context) error { return nil }

// Close does nothing.
func (b *LocalBus) Close() error { return nil }
