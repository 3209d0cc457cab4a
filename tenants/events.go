package tenants

import (
	"context"
	"sync"
)

// Account event kinds.
const (
	// AccountSignedOut: sessions of a user were revoked — one (Session), or
	// all of them but Keep (Keep empty: all).
	AccountSignedOut = "signed_out"
	// AccountDeactivated: a user was deactivated or deleted; every session
	// is gone and they must leave routing now.
	AccountDeactivated = "deactivated"
	// AccountRoleChanged: a user's role is now Role.
	AccountRoleChanged = "role_changed"
	// AccountKeyRevoked: the API key UserID was revoked.
	AccountKeyRevoked = "key_revoked"
	// AccountPoliciesChanged: the tenant's roles or their permissions
	// changed; every node must drop the policies it loaded.
	AccountPoliciesChanged = "policies_changed"
)

// AccountEvent says that a principal's credentials or rights changed. The
// tenants service only announces it, after the change is stored; whoever
// subscribed (the chat service) tells every node, which closes the sockets
// that still carry the old rights.
type AccountEvent struct {
	Kind     string
	TenantID string
	UserID   string // the user, or for AccountKeyRevoked the key's id
	Session  string // AccountSignedOut: only this session (a SessionID)
	Keep     string // AccountSignedOut: every session but this one
	Role     string // AccountRoleChanged: the new role
	Name     string // AccountDeactivated: the user's name, for the notes on their conversations
}

// observers is the list of account event subscribers.
type observers struct {
	mu   sync.RWMutex
	next int
	fns  map[int]func(context.Context, AccountEvent)
}

// OnAccountEvent registers fn for every account event; fn is called after
// the change is committed, on the caller's goroutine, and must not block
// for long. It returns the function that unregisters fn.
func (s *Service) OnAccountEvent(fn func(context.Context, AccountEvent)) (cancel func()) {
	o := &s.observers
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fns == nil {
		o.fns = map[int]func(context.Context, AccountEvent){}
	}
	id := o.next
	o.next++
	o.fns[id] = fn
	return func() {
		o.mu.Lock()
		delete(o.fns, id)
		o.mu.Unlock()
	}
}

func (s *Service) announce(ctx context.Context, e AccountEvent) {
	o := &s.observers
	o.mu.RLock()
	defer o.mu.RUnlock()
	for _, fn := range o.fns {
		fn(context.WithoutCancel(ctx), e)
	}
}
