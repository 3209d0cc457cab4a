package chat

import "sync"

// batcher gathers work per tenant the way the group commit gathers
// messages: while a batch of a tenant is under way, what arrives for that
// tenant waits and goes in the next batch, up to max items. Alone, an item
// goes at once; under a burst, each round trip carries many. The openings
// of new visitors (openbatch.go), the routing decisions (eventlog.go) and
// automatic assignments (assignbatch.go) use it.
//
// Up to par batches of one tenant are under way at once (each on its own
// goroutine and, usually, its own database connection); items of different
// tenants never share a batch. flush answers each item itself (items carry
// their reply channel).
type batcher[T any] struct {
	max, par int
	flush    func(tenantID string, batch []T)
	mu       sync.Mutex
	m        map[string]*batchQueue[T] // tenants with items pending or a batch under way, only
}

type batchQueue[T any] struct {
	items   []T
	running int // drains under way
}

func newBatcher[T any](size, par int, flush func(tenantID string, batch []T)) *batcher[T] {
	return &batcher[T]{max: size, par: max(par, 1), flush: flush, m: map[string]*batchQueue[T]{}}
}

// add queues item for one of the tenant's next batches, starting a drain
// when fewer than par are under way.
func (b *batcher[T]) add(tenantID string, item T) {
	b.mu.Lock()
	q := b.m[tenantID]
	if q == nil {
		q = &batchQueue[T]{}
		b.m[tenantID] = q
	}
	q.items = append(q.items, item)
	start := q.running < b.par
	if start {
		q.running++
	}
	b.mu.Unlock()
	if start {
		go b.drain(tenantID, q)
	}
}

// drain flushes the tenant's pending items, a batch at a time, until none
// are left.
func (b *batcher[T]) drain(tenantID string, q *batchQueue[T]) {
	for {
		b.mu.Lock()
		if len(q.items) == 0 {
			q.running--
			if q.running == 0 {
				delete(b.m, tenantID)
			}
			b.mu.Unlock()
			return
		}
		n := min(len(q.items), b.max)
		batch := q.items[:n:n]
		q.items = q.items[n:]
		b.mu.Unlock()
		b.flush(tenantID, batch)
	}
}
