package main

import (
	"context"
	"sync"
	"time"
)

// stallMeter measures how long the machine kept this process from running:
// a ticker every tick, and the most any tick came late since the last
// reset. The timing checks (an answer within the write deadline, presence
// within a heartbeat, shutdown within its deadline) assert a guarantee of
// the server's clock; seen from a client on a machine shared with the
// server, PostgreSQL, Redis and other work, every observation also carries
// the time the scheduler took away from both. A check allows its deadline,
// a second, and the stall measured over the same window — so on a quiet
// machine it is as strict as the guarantee, and on a starved one it still
// fails on what the guarantee rules out (silence, a second deadline behind
// a stuck batch, presence never rebuilt) rather than on the load.
type stallMeter struct {
	mu   sync.Mutex
	most time.Duration
}

const stallTick = 10 * time.Millisecond

func (s *stallMeter) run(ctx context.Context) {
	t := time.NewTicker(stallTick)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			// The ticker's own time says when it fired; time.Now when this
			// goroutine ran. Both late ticks and dropped ones count.
			late := max(time.Since(now), now.Sub(last)-stallTick)
			last = now
			s.mu.Lock()
			s.most = max(s.most, late)
			s.mu.Unlock()
		}
	}
}

// reset starts a new window.
func (s *stallMeter) reset() {
	s.mu.Lock()
	s.most = 0
	s.mu.Unlock()
}

// max is the longest stall seen in the window.
func (s *stallMeter) max() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.most
}
