package chat

import (
	"context"
	"sync"
	"time"

	"kefu/tenants"
)

// monthlyFresh is how long a node trusts its count of a tenant's
// conversations of the month, adding those it opened since, before
// counting again.
const monthlyFresh = 10 * time.Second

// monthly is a tenant's conversations of the month as this node last
// counted them (at, from month), plus those it opened since.
type monthly struct {
	mu    sync.Mutex
	at    time.Time
	month time.Time
	n     int64
}

// ConversationsSince counts the tenant's conversations opened at or after t.
func (s *Service) ConversationsSince(ctx context.Context, tenantID string, t time.Time) (int64, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return 0, err
	}
	var n int64
	err = db.WithContext(ctx).Model(&conversationRow{}).Where("created_at >= ?", t).Count(&n).Error
	return n, err
}

// admitConversation refuses a new conversation when the tenant's plan
// allows no more this month (quota_exceeded). It is a coarse cap, like the
// tenant's upload quota: each node counts from the database at most every
// monthlyFresh and adds what it opens meanwhile, so conversations opened on
// other nodes within those seconds may pass it by as many. It reads the
// database, so it must not run inside a transaction on the tenant's handle.
func (s *Service) admitConversation(ctx context.Context, tenantID string) error {
	plan, err := s.tenants.PlanOf(ctx, tenantID)
	if err != nil || plan.ConversationsPerMonth == 0 {
		return err
	}
	m, _ := s.monthly.Get(tenantID)
	if m == nil {
		m = &monthly{}
		s.monthly.Add(tenantID, m)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := s.stamp()
	month := tenants.MonthStart(now)
	if !m.month.Equal(month) || now.Sub(m.at) > monthlyFresh || now.Before(m.at) {
		n, err := s.ConversationsSince(ctx, tenantID, month)
		if err != nil {
			return err
		}
		m.at, m.month, m.n = now, month, n
	}
	if limit := int64(plan.ConversationsPerMonth); m.n >= limit {
		return tenants.QuotaError(plan, "conversations this month", limit, m.n)
	}
	return nil
}

// countConversation adds a conversation this node opened to its count.
func (s *Service) countConversation(tenantID string) {
	if m, ok := s.monthly.Get(tenantID); ok {
		m.mu.Lock()
		m.n++
		m.mu.Unlock()
	}
}
