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
	Ping(ctx context.Context) error
	Close() error
}

// LocalBus is the in-process bus of a single node.
type LocalBus struct {
	mu   sync.RWMutex
	next int
	subs map[int]func(Event)
}

// NewLocalBus returns an in-process bus.
func NewLocalBus() *LocalBus { return &LocalBus{subs: map[int]func(Event){}} }

// Publish calls every subscriber synchronously.
func (b *LocalBus) Publish(_ context.Context, e Event) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, fn := range b.subs {
		fn(e)
	}
	return nil
}

// Subscribe registers fn.
func (b *LocalBus) Subscribe(fn func(Event)) func() {
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

// Ping always succeeds.
func (b *LocalBus) Ping(context.Context) error { return nil }

// Close does nothing.
func (b *LocalBus) Close() error { return nil }
