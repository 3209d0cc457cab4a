package chat

import (
	"sort"
	"sync"
)

// Presence statuses.
const (
	PresenceOnline  = "online"
	PresenceAway    = "away"
	PresenceOffline = "offline"
)

// Presence tracks which users are connected and what status they chose. It
// is this node's view; the delivery issue moves it to Redis for many nodes.
type Presence struct {
	mu sync.Mutex
	m  map[string]map[string]*presenceEntry
}

type presenceEntry struct {
	status string
	conns  int
}

// NewPresence returns an empty registry.
func NewPresence() *Presence { return &Presence{m: map[string]map[string]*presenceEntry{}} }

func (p *Presence) entry(tenant, user string) *presenceEntry {
	t := p.m[tenant]
	if t == nil {
		t = map[string]*presenceEntry{}
		p.m[tenant] = t
	}
	e := t[user]
	if e == nil {
		e = &presenceEntry{status: PresenceOffline}
		t[user] = e
	}
	return e
}

// Connect counts a new socket of the user.
func (p *Presence) Connect(tenant, user string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.entry(tenant, user).conns++
}

// Disconnect uncounts a socket; when the last one goes the user is offline,
// and Disconnect reports whether the status changed.
func (p *Presence) Disconnect(tenant, user string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entry(tenant, user)
	e.conns--
	if e.conns > 0 {
		return false
	}
	was := e.status
	delete(p.m[tenant], user)
	if len(p.m[tenant]) == 0 {
		delete(p.m, tenant)
	}
	return was != PresenceOffline
}

// Set records a status for a connected user and returns the previous one.
func (p *Presence) Set(tenant, user, status string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entry(tenant, user)
	prev := e.status
	e.status = status
	return prev
}

// Status is the user's status (offline when not connected).
func (p *Presence) Status(tenant, user string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.m[tenant][user]; e != nil && e.conns > 0 {
		return e.status
	}
	return PresenceOffline
}

// Online lists the ids of the tenant's online users, sorted.
func (p *Presence) Online(tenant string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for id, e := range p.m[tenant] {
		if e.conns > 0 && e.status == PresenceOnline {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}
