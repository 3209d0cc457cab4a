package chat

import (
	"context"
	"sync"
	"time"
)

// Defaults of the per-tenant caps on flow work (Config).
const (
	DefaultFlowRuns      = 32 // runs mostly wait on the database; each one's evaluation is bounded by its budget
	DefaultFlowRunWait   = 30 * time.Second
	DefaultSimulations   = 2
	DefaultSimulateWait  = 5 * time.Second
	DefaultReplayTimeout = 10 * time.Second
)

// gates bound how much of one kind of work each tenant has under way on
// this node at once, so that one tenant's flows — however expensive within
// their budget — cannot occupy every core while other tenants wait. A slot
// is taken before anything else (the conversation lock in particular), so
// waiting for one never holds up another tenant.
type gates struct {
	size int
	mu   sync.Mutex
	m    map[string]*gate // tenants with work under way or waiting, only
}

type gate struct {
	slots chan struct{}
	users int // holders and waiters: the gate goes when the last leaves
}

func newGates(size int) *gates {
	return &gates{size: size, m: map[string]*gate{}}
}

// acquire waits up to wait for one of tenant's slots; ok=false when none
// freed in time or ctx ended. release gives the slot back.
func (g *gates) acquire(ctx context.Context, tenant string, wait time.Duration) (release func(), ok bool) {
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
