package chat

import (
	"context"

	"kefu"
	"kefu/routing"
	"kefu/tenants"
)

// route offers a new conversation to the next online agent, round robin
// (owners and admins count as agents). With nobody online it stays queued
// and goes to the next agent who comes online.
func (s *Service) route(ctx context.Context, tenantID, convID string) {
	ctx = context.WithoutCancel(ctx)
	online := s.presence.Online(tenantID)
	if len(online) == 0 {
		s.metrics.routed.WithLabelValues("queued").Inc()
		return
	}
	users, err := s.tenants.Users(ctx, tenantID)
	if err != nil {
		s.log.Error("route: list agents", "tenant_id", tenantID, "err", err)
		return
	}
	byID := map[string]tenants.User{}
	for _, u := range users {
		byID[u.ID] = u
	}
	var cands []routing.Candidate
	for _, id := range online {
		if u, ok := byID[id]; ok {
			cands = append(cands, routing.Candidate{ID: u.ID, Name: u.Name})
		}
	}
	pick, ok := s.rr.Pick(tenantID, cands)
	if !ok {
		s.metrics.routed.WithLabelValues("queued").Inc()
		return
	}
	if _, err := s.assignTo(ctx, tenantID, convID, pick.ID, pick.Name, true); err != nil && kefu.Code(err) != kefu.ENotFound {
		s.log.Error("route: assign", "tenant_id", tenantID, "conversation_id", convID, "err", err)
		return
	}
	s.metrics.routed.WithLabelValues("assigned").Inc()
}

// drainQueue routes the tenant's queued conversations, oldest first, now
// that an agent is online.
func (s *Service) drainQueue(ctx context.Context, tenantID string) {
	db, err := s.db(tenantID)
	if err != nil {
		return
	}
	var ids []string
	if err := db.WithContext(ctx).Model(&conversationRow{}).Where("status = ?", StatusQueued).Order("created_at").Limit(100).Pluck("id", &ids).Error; err != nil {
		s.log.Error("drain queue", "tenant_id", tenantID, "err", err)
		return
	}
	for _, id := range ids {
		s.route(ctx, tenantID, id)
	}
}

// UserConnected counts a user's socket.
func (s *Service) UserConnected(p tenants.Principal) { s.presence.Connect(p.TenantID, p.ID) }

// UserDisconnected uncounts a user's socket; when it was their last, they go
// offline for routing.
func (s *Service) UserDisconnected(p tenants.Principal) {
	if s.presence.Disconnect(p.TenantID, p.ID) {
		s.publish(context.Background(), Event{Kind: EventPresence, TenantID: p.TenantID, UserID: p.ID, Status: PresenceOffline})
	}
}

// SetPresence records a user's chosen status; going online pulls queued
// conversations. It returns once routing counts the new status. origin is
// the session that asked, which confirms the change itself.
func (s *Service) SetPresence(ctx context.Context, p tenants.Principal, status, origin string) error {
	switch status {
	case PresenceOnline, PresenceAway, PresenceOffline:
	default:
		return kefu.Invalid(map[string]string{"status": "must be online, away or offline"})
	}
	prev := s.presence.Set(p.TenantID, p.ID, status)
	if prev != status {
		s.publish(ctx, Event{Kind: EventPresence, TenantID: p.TenantID, UserID: p.ID, Status: status, Origin: origin})
	}
	if status == PresenceOnline && prev != PresenceOnline {
		go s.drainQueue(context.WithoutCancel(ctx), p.TenantID)
	}
	return nil
}

// Status is a user's presence status.
func (s *Service) Status(tenantID, userID string) string { return s.presence.Status(tenantID, userID) }

// OnlineCount is how many of the tenant's agents are online.
func (s *Service) OnlineCount(tenantID string) int { return len(s.presence.Online(tenantID)) }
