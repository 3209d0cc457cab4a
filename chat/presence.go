package chat

import (
	"context"
	"sort"
	"sync"
)

// Presence statuses.
const (
	PresenceOnline  = "online"
	PresenceAway    = "away"
	PresenceOffline = "offline"
)

// PresenceStore tracks which users are connected and the status they chose.
// LocalPresence is one node's view (the embedded default); redis.Presence
// shares it between nodes.
type PresenceStore interface {
	// Connect counts a new socket of the user.
	Connect(ctx context.Context, tenant, user string)
	// Disconnect uncounts a socket and reports whether the user went
	// offline (their last socket anywhere closed).
	Disconnect(ctx context.Context, tenant, user string) bool
	// Set records a status and returns the previous one.
	Set(ctx context.Context, tenant, user, status string) (string, error)
	// Status is the user's status (offline when not connected).
	Status(ctx context.Context, tenant, user string) string
	// Online lists the tenant's online users, sorted.
	Online(ctx context.Context, tenant string) []string
	// Run keeps the store alive until ctx ends; onExpire is called when a
	// user's presence lapses without a clean disconnect (a crashed node).
	Run(ctx context.Context, onExpire func(tenant, user string))
}

// LocalPresence is the in-process presence of a single node.
type LocalPresence struct {
	mu sync.Mutex
	m  map[string]map[string]*presenceEntry
}

type presenceEntry struct {
	status string
	conns  int
}

// NewLocalPresence returns an empty registry.
func NewLocalPresence() *LocalPresence {
	return &LocalPresence{m: map[string]map[string]*presenceEntry{}}
}

func (p *LocalPresence) entry(tenant, user string) *presenceEntry {
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
func (p *LocalPresence) Connect(_ context.Context, tenant, user string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.entry(tenant, user).conns++
}

// Disconnect uncounts a socket; when the last one goes the user is offline,
// and Disconnect reports whether the status changed.
func (p *LocalPresence) Disconnect(_ context.Context, tenant, user string) bool {
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
func (p *LocalPresence) Set(_ context.Context, tenant, user, status string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entry(tenant, user)
	prev := e.status
	e.status = status
	return prev, nil
}

// Status is the user's status (offline when not connected).
func (p *LocalPresence) Status(_ context.Context, tenant, user string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.m[tenant][user]; e != nil && e.conns > 0 {
		return e.status
	}
	return PresenceOffline
}

// Online lists the ids of the tenant's online users, sorted.
func (p *LocalPresence) Online(_ context.Context, tenant string) []string {
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

// Run does nothing: a single node's presence cannot lapse.
func (p *LocalPresence) Run(context.Context, func(tenant, user string)) {}
