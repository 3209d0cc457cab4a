package chat

import (
	"context"

	"kefu/tenants"
)

// accountEvent turns the tenants service's news about credentials into a
// revoke event on the bus, so every node closes the sockets that still
// carry the old rights (ws does the closing). A deactivated user's open
// conversations go back to the queue at once, on this node only — the one
// that made the change — rather than after the offline grace.
func (s *Service) accountEvent(ctx context.Context, e tenants.AccountEvent) {
	ev := Event{Kind: EventRevoke, TenantID: e.TenantID, UserID: e.UserID}
	switch e.Kind {
	case tenants.AccountSignedOut:
		ev.Reason, ev.Session, ev.Keep = RevokeSignedOut, e.Session, e.Keep
	case tenants.AccountDeactivated:
		ev.Reason = RevokeDeactivated
	case tenants.AccountRoleChanged:
		ev.Reason, ev.Role = RevokeRole, e.Role
	case tenants.AccountKeyRevoked:
		ev.Reason = RevokeKey
	case tenants.AccountPoliciesChanged:
		s.publish(ctx, Event{Kind: EventPolicies, TenantID: e.TenantID})
		return
	default:
		return
	}
	s.publish(ctx, ev)
	if e.Kind == tenants.AccountDeactivated {
		tenantID, userID := e.TenantID, e.UserID
		s.background(func() {
			ctx := context.Background()
			s.requeueAgent(ctx, tenantID, userID, requeueDeactivated)
			s.observe(ctx, Happening{What: CapacityFreed, TenantID: tenantID})
		})
	}
}
