package chat

import (
	"context"
	"time"

	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// Tenant activity. The recovery sweep's first pass after a start visits
// every tenant; its periodic passes (several nodes, every
// RecoveryConfig.Every) visit only the tenants that were active lately,
// because what they finish — a flow run a dead node left, a queue deadline
// or away grace whose job was lost — follows something that happened in the
// tenant shortly before: a visitor's message, a conversation opened,
// requeued, resolved, a queue drained (every Happening, and every visitor
// message). A sweep over every tenant every two minutes on every node would
// cost each node one round of statements per tenant, and on PostgreSQL each
// connection the catalog entries of every tenant's tables.
//
// Each node writes a tenant's active_at (platform table tenant_activities,
// migration 0025) at most once per activityEvery, after the fact and off
// the request path. A periodic pass takes the tenants active within
// activeWindow: the tenant of a conversation left stuck at T was marked at
// T - activityEvery or later, the conversation is found from T + StuckAfter
// on, and the next pass comes within Every after that; the window is twice
// that, for slack and clock skew between nodes.

// activityEvery is how often one node writes one tenant's active_at.
const activityEvery = time.Minute

type activityRow struct {
	TenantID string `gorm:"primaryKey"`
	ActiveAt time.Time
}

func (activityRow) TableName(n schema.Namer) string { return n.TableName("tenant_activity") }

// markActive notes that something happened in the tenant (cheap: a cache
// lookup, and at most once per activityEvery a write in the background).
func (s *Service) markActive(tenantID string) {
	if tenantID == "" {
		return
	}
	now := s.stamp()
	if last, ok := s.activity.Get(tenantID); ok && now.Sub(last) < activityEvery {
		return
	}
	s.activity.Add(tenantID, now)
	s.background(func() {
		err := s.platform().WithContext(context.Background()).Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "tenant_id"}},
			DoUpdates: clause.Assignments(map[string]any{"active_at": now}),
		}).Create(&activityRow{TenantID: tenantID, ActiveAt: now}).Error
		if err != nil {
			s.activity.Remove(tenantID) // try again next time
			s.log.Warn("tenant activity", "tenant_id", tenantID, "err", err)
		}
	})
}

// activeWindow is how far back a periodic recovery pass looks.
func (c RecoveryConfig) activeWindow() time.Duration {
	return 2*(c.StuckAfter+c.Every) + activityEvery
}

// activeTenantIDs lists the tenants active since.
func (s *Service) activeTenantIDs(ctx context.Context, since time.Time) ([]string, error) {
	var ids []string
	err := s.platform().WithContext(ctx).Model(&activityRow{}).Where("active_at >= ?", since).Order("tenant_id").Pluck("tenant_id", &ids).Error
	return ids, err
}
