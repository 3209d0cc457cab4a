// Package routing decides who answers a conversation. It knows agents only
// through the small types it declares; the chat package feeds it candidates.
package routing

import (
	"sort"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Candidate is an agent that may take a conversation now.
type Candidate struct {
	ID   string
	Name string
}

// RoundRobin hands conversations to candidates in turn, per tenant. It keeps
// the last chosen id per tenant, so the rotation survives candidates coming
// and going: the next pick is the first id after the last one, in id order.
// It remembers the tenants that assigned most recently (rotationTenants); a
// tenant that falls out starts again from the lowest id.
type RoundRobin struct {
	mu   sync.Mutex
	last *lru.Cache[string, string]
}

const rotationTenants = 10000

// NewRoundRobin returns an empty rotation.
func NewRoundRobin() *RoundRobin {
	last, _ := lru.New[string, string](rotationTenants)
	return &RoundRobin{last: last}
}

// Pick chooses the next candidate for tenant, or false when there is none.
func (r *RoundRobin) Pick(tenant string, cands []Candidate) (Candidate, bool) {
	if len(cands) == 0 {
		return Candidate{}, false
	}
	sorted := append([]Candidate(nil), cands...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	r.mu.Lock()
	defer r.mu.Unlock()
	last, _ := r.last.Get(tenant)
	pick := sorted[0]
	for _, c := range sorted {
		if c.ID > last {
			pick = c
			break
		}
	}
	r.last.Add(tenant, pick.ID)
	return pick, true
}
