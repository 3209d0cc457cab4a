// Package onboarding is the checklist a new workspace works through on its
// first day. Each step's state is computed from the workspace's own data
// every time it is asked (nothing to tick by hand, nothing to drift); only
// whether a person has put the checklist away is stored, per user.
package onboarding

import (
	"context"
	"time"

	"kefu/tenants"
)

// Step ids, in the order the checklist shows them.
const (
	StepSnippet       = "snippet"        // the widget ran on a page: a visitor session exists
	StepInvite        = "invite"         // a teammate was invited, or a second person has an account
	StepBusinessHours = "business_hours" // opening hours are set
	StepWidget        = "widget"         // the widget was customised
	StepFlow          = "flow"           // a flow of the workspace's own was published
	StepTestMessage   = "test_message"   // a visitor's message arrived (the demo page works)
)

// Step is one item of the checklist.
type Step struct {
	ID   string `json:"id"`
	Done bool   `json:"done"`
}

// Checklist is a workspace's onboarding state as one user sees it.
type Checklist struct {
	Steps     []Step `json:"steps"`
	Done      int    `json:"done"`
	Total     int    `json:"total"`
	Dismissed bool   `json:"dismissed"`
}

// Service computes checklists.
type Service struct{ tenants *tenants.Service }

// New returns the onboarding service.
func New(t *tenants.Service) *Service { return &Service{tenants: t} }

type check struct {
	id   string
	done func(ctx context.Context, s *Service, q query) (bool, error)
}

// steps is the checklist: one function per step, so a step's rule is
// changed in one place.
var steps = []check{
	{StepSnippet, snippetUsed},
	{StepInvite, teammateInvited},
	{StepBusinessHours, businessHoursSet},
	{StepWidget, widgetCustomised},
	{StepFlow, flowPublished},
	{StepTestMessage, testMessageSent},
}

type query struct {
	db       *tenants.DB
	tenantID string
}

func (q query) t(name string) string { return q.db.Table(name) }

// exists runs "SELECT 1 ... LIMIT 1" style SQL and reports whether it
// found a row.
func (q query) exists(ctx context.Context, sql string, args ...any) (bool, error) {
	var n []int
	if err := q.db.WithContext(ctx).Raw("SELECT 1 AS n FROM "+sql+" LIMIT 1", args...).Scan(&n).Error; err != nil {
		return false, err
	}
	return len(n) > 0, nil
}

func snippetUsed(ctx context.Context, _ *Service, q query) (bool, error) {
	return q.exists(ctx, q.t("visitors"))
}

func teammateInvited(ctx context.Context, s *Service, q query) (bool, error) {
	invited, err := s.tenants.HasInvited(ctx, q.tenantID)
	if err != nil || invited {
		return invited, err
	}
	var n int64
	err = q.db.WithContext(ctx).Raw("SELECT COUNT(*) FROM " + q.t("users") + " WHERE deleted_at IS NULL").Scan(&n).Error
	return n > 1, err
}

// businessHoursSet: the workspace saved its business hours (Settings →
// Business hours), or the routing flow, as the workspace published it, has a
// business-hours node (the default flow's has Kefu's sample hours, which
// do not count).
func businessHoursSet(ctx context.Context, _ *Service, q query) (bool, error) {
	set, err := q.exists(ctx, q.t("business_hours")+" WHERE enabled")
	if err != nil || set {
		return set, err
	}
	return q.exists(ctx, q.t("flows")+" f JOIN "+q.t("flow_versions")+" v ON v.flow_id = f.id AND v.version = f.published_version"+
		" WHERE f.active AND v.created_by <> ? AND v.graph LIKE ?", "kefu", `%"business_hours"%`)
}

// widgetCustomised: the widget's settings differ from the defaults (its
// look, greeting or pre-chat form saved in Settings → Widget), or the sites
// allowed to embed it are named.
func widgetCustomised(ctx context.Context, s *Service, q query) (bool, error) {
	t, err := s.tenants.Tenant(ctx, q.tenantID)
	if err != nil {
		return false, err
	}
	if len(t.AllowedOrigins) > 0 {
		return true, nil
	}
	return q.exists(ctx, q.t("widget_settings")+" WHERE settings <> ? AND settings <> ?", "{}", "")
}

// flowPublished: a version other than the one Kefu made at signup routes
// (or did: a published version of the workspace's own making).
func flowPublished(ctx context.Context, _ *Service, q query) (bool, error) {
	return q.exists(ctx, q.t("flows")+" f JOIN "+q.t("flow_versions")+" v ON v.flow_id = f.id AND v.version = f.published_version"+
		" WHERE v.created_by <> ?", "kefu")
}

func testMessageSent(ctx context.Context, _ *Service, q query) (bool, error) {
	return q.exists(ctx, q.t("messages")+" WHERE author_type = ?", "visitor")
}

// For returns the checklist of tenantID as userID sees it.
func (s *Service) For(ctx context.Context, tenantID, userID string) (Checklist, error) {
	db, err := s.tenants.DB(tenantID)
	if err != nil {
		return Checklist{}, err
	}
	q := query{db: db, tenantID: tenantID}
	out := Checklist{Steps: make([]Step, 0, len(steps)), Total: len(steps)}
	for _, c := range steps {
		done, err := c.done(ctx, s, q)
		if err != nil {
			return Checklist{}, err
		}
		out.Steps = append(out.Steps, Step{ID: c.id, Done: done})
		if done {
			out.Done++
		}
	}
	out.Dismissed, err = q.exists(ctx, q.t("onboarding_dismissals")+" WHERE user_id = ?", userID)
	return out, err
}

// SetDismissed puts the checklist away for userID (or brings it back).
func (s *Service) SetDismissed(ctx context.Context, tenantID, userID string, dismissed bool) error {
	db, err := s.tenants.DB(tenantID)
	if err != nil {
		return err
	}
	if !dismissed {
		return db.WithContext(ctx).Exec("DELETE FROM "+db.Table("onboarding_dismissals")+" WHERE user_id = ?", userID).Error
	}
	return db.WithContext(ctx).Exec("INSERT INTO "+db.Table("onboarding_dismissals")+" (user_id, dismissed_at) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING",
		userID, time.Now().UTC()).Error
}
