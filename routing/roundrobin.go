// Package routing decides who answers a conversation. It knows agents only
// through the small types it declares; the chat package feeds it candidates.
package routing

import (
	"sort"
	"sync"
)

// Candidate is an agent that may take a conversation now.
type Candidate struct {
	ID   string
	Name string
}

// RoundRobin hands conversations to candidates in turn, per tenant. It keeps
// the last chosen id per tenant, so the rotation survives candidates coming
// and going: the next pick is the first id after the last one, in id order.
type RoundRobin struct {
	mu   sync.Mutex
	last map[string]string
}

// NewRoundRobin returns an empty rotation.
func NewRoundRobin() *RoundRobin { return &RoundRobin{last: map[string]string{}} }

// Pick chooses the next candidate for tenant, or false when there is none.
func (r *RoundRobin) Pick(tenant string, cands []Candidate) (Candidate, bool) {
	if len(cands) == 0 {
		return Candidate{}, false
	}
	sorted := append([]Candidate(nil), cands...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	r.mu.Lock()
	defer r.mu.Unlock()
	last := r.last[tenant]
	pick := sorted[0]
	for _, c := range sorted {
		if c.ID > last {
			pick = c
			break
		}
	}
	r.last[tenant] = pick.ID
	return pick, true
}
