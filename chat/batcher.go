package chat

import "sync"

// batcher gathers work per tenant the way the group commit gathers
// messages: while one batch of a tenant is under way, what arrives for
// that tenant waits and goes in the next batch, up to max items. Alone, an
// item goes at once; under a burst, each round trip carries many. The
// openings of new visitors (openbatch.go), the routing decisions
// (eventlog.go) and automatic assignments (assignbatch.go) use it.
//
// flush runs on the tenant's drain goroutine, one batch at a time; items
// of different tenants never share a batch. flush answers each item itself
// (items carry their reply channel).
type batcher[T any] struct {
	max   int
	flush func(tenantID string, batch []T)
	mu    sync.Mutex
	m     map[string][]T // tenants with items pending or a batch under way, only
}

func newBatcher[T any](max int, flush func(tenantID string, batch []T)) *batcher[T] {
	return &batcher[T]{max: max, flush: flush, m: map[string][]T{}}
}

// add queues item for the tenant's next batch, starting the tenant's drain
// when none is under way.
func (b *batcher[T]) add(tenantID string, item T) {
	b.mu.Lock()
	q, busy := b.m[tenantID]
	b.m[tenantID] = append(q, item)
	b.mu.Unlock()
	if !busy {
		go b.drain(tenantID)
	}
}

// drain flushes the tenant's pending items, a batch at a time, until none
// are left.
func (b *batcher[T]) drain(tenantID string) {
	for {
		b.mu.Lock()
		q := b.m[tenantID]
		if len(q) == 0 {
			delete(b.m, tenantID)
			b.mu.Unlock()
			return
		}
		n := min(len(q), b.max)
		batch := q[:n:n]
		b.m[tenantID] = q[n:]
		b.mu.Unlock()
		b.flush(tenantID, batch)
	}
}
