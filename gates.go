package kefu

import (
	"context"
	"sync"
	"time"
)

// Gates bound how much of one kind of work each tenant has under way on
// this node at once, so that one tenant's work — however expensive within
// its budget — cannot occupy every core while other tenants wait (flow runs
// in flowrun, simulations in chat). A slot is taken before anything else
// (a conversation's lock in particular), so waiting for one never holds up
// another tenant. Only tenants with work under way or waiting have a gate.
type Gates struct {
	size int
	mu   sync.Mutex
	m    map[string]*gate
}

type gate struct {
	slots chan struct{}
	users int // holders and waiters: the gate goes when the last leaves
}

// NewGates gives each tenant size slots.
func NewGates(size int) *Gates {
	return &Gates{size: size, m: map[string]*gate{}}
}

// Size is the slots a tenant has.
func (g *Gates) Size() int { return g.size }

// Open is how many tenants have work under way or waiting.
func (g *Gates) Open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.m)
}

// Acquire waits up to wait for one of tenant's slots; ok=false when none
// freed in time or ctx ended. release gives the slot back.
func (g *Gates) Acquire(ctx context.Context, tenant string, wait time.Duration) (release func(), ok bool) {
	g.mu.Lock()
	gt, found := g.m[tenant]
	if !found {
		gt = &gate{slots: make(chan struct{}, g.size)}
		g.m[tenant] = gt
	}
	gt.users++
	g.mu.Unlock()
	leave := func() {
		g.mu.Lock()
		if gt.users--; gt.users == 0 {
			delete(g.m, tenant)
		}
		g.mu.Unlock()
	}
	release = func() {
		<-gt.slots
		leave()
	}
	select {
	case gt.slots <- struct{}{}:
		return release, true
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case gt.slots <- struct{}{}:
		return release, true
	case <-t.C:
	case <-ctx.Done():
	}
	leave()
	return nil, false
}
