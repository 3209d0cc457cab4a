package tenants

import (
	"context"
	"fmt"
	"time"

	"kefu"
)

// Plans a tenant may be on.
const (
	PlanFree       = "free"
	PlanPro        = "pro"
	PlanEnterprise = "enterprise"
)

// Plan is what a tenant's plan allows. Zero means no limit.
type Plan struct {
	Name string `json:"name"`
	// Seats: active people (owners, admins, supervisors, agents).
	Seats int `json:"seats"`
	// ConversationsPerMonth: conversations opened in a calendar month (UTC).
	ConversationsPerMonth int `json:"conversations_per_month"`
	// APIPerMinute: requests per minute per API key; the tenant's keys
	// together may make TenantAPIFactor times as many.
	APIPerMinute int `json:"api_requests_per_minute"`
}

// TenantAPIFactor: a tenant's API keys together may make this many times
// one key's rate.
const TenantAPIFactor = 3

// Plans are the plans on offer.
var Plans = map[string]Plan{
	PlanFree:       {Name: PlanFree, Seats: 3, ConversationsPerMonth: 500, APIPerMinute: 60},
	PlanPro:        {Name: PlanPro, Seats: 25, ConversationsPerMonth: 10000, APIPerMinute: 600},
	PlanEnterprise: {Name: PlanEnterprise, APIPerMinute: 6000},
}

// PlanOf returns what tenant's plan allows.
func (s *Service) PlanOf(ctx context.Context, tenantID string) (Plan, error) {
	t, err := s.Tenant(ctx, tenantID)
	if err != nil {
		return Plan{}, err
	}
	return Plans[t.Plan], nil
}

// SetPlan moves the tenant with this slug to plan (the operator's command
// `kefu tenant plan`). Errors: invalid_argument, not_found.
func (s *Service) SetPlan(ctx context.Context, slug, plan string) error {
	if _, ok := Plans[plan]; !ok {
		return kefu.Invalid(map[string]string{"plan": "must be free, pro or enterprise"})
	}
	var ids []string
	if err := s.store.Platform().WithContext(ctx).Model(&tenantRow{}).Where("slug = ?", slug).Pluck("id", &ids).Error; err != nil {
		return err
	}
	if len(ids) == 0 {
		return kefu.Errorf(kefu.ENotFound, "no such workspace")
	}
	if err := s.store.Platform().WithContext(ctx).Model(&tenantRow{}).Where("id = ?", ids[0]).Updates(map[string]any{"plan": plan, "updated_at": s.now()}).Error; err != nil {
		return err
	}
	// Other nodes see it when their copies expire.
	s.cache.drop("id:" + ids[0])
	if t, err := s.findTenant(ctx, "id = ?", ids[0]); err == nil {
		s.cache.drop("wk:" + t.WidgetKey)
	}
	return nil
}

// QuotaError is the quota_exceeded error for resource.
func QuotaError(plan Plan, resource string, limit, used int64) error {
	return &kefu.Error{Code: kefu.EQuota, Message: fmt.Sprintf("the %s plan allows %d %s", plan.Name, limit, resource),
		Params: map[string]any{"plan": plan.Name, "resource": resource, "limit": limit, "used": used}}
}

// Seats counts the tenant's active people.
func (s *Service) Seats(ctx context.Context, tenantID string) (int64, error) {
	db, err := s.store.Tenant(tenantID)
	if err != nil {
		return 0, err
	}
	var n int64
	err = db.WithContext(ctx).Model(&userRow{}).Where("deactivated_at IS NULL AND deleted_at IS NULL").Count(&n).Error
	return n, err
}

// admitSeat refuses one more active person over the plan's seats.
func (s *Service) admitSeat(ctx context.Context, tenantID string) error {
	plan, err := s.PlanOf(ctx, tenantID)
	if err != nil || plan.Seats == 0 {
		return err
	}
	n, err := s.Seats(ctx, tenantID)
	if err != nil {
		return err
	}
	if n >= int64(plan.Seats) {
		return QuotaError(plan, "seats", int64(plan.Seats), n)
	}
	return nil
}

// MonthStart is the start of t's calendar month (UTC), from which a plan's
// conversations are counted.
func MonthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}
