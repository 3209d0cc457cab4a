package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"kefu"
	"kefu/tenants"
)

// VisitorInput is what the widget knows of a visitor.
type VisitorInput struct {
	Name       string
	Email      string
	Attributes map[string]any
}

// WidgetSession is a visitor's session: their id and token.
type WidgetSession struct {
	VisitorID    string
	VisitorToken string
	Tenant       tenants.Tenant
}

const maxAttributesBytes = 8 * 1024

// StartWidgetSession resumes the visitor of a still-valid token of the same
// tenant, or creates a new visitor. Errors: not_found (unknown widget key),
// invalid_argument.
func (s *Service) StartWidgetSession(ctx context.Context, widgetKey, visitorToken string, in VisitorInput) (WidgetSession, error) {
	if widgetKey == "" {
		return WidgetSession{}, kefu.Invalid(map[string]string{"widget_key": "is required"})
	}
	t, err := s.tenants.TenantByWidgetKey(ctx, widgetKey)
	if err != nil {
		return WidgetSession{}, err
	}
	fields := map[string]string{}
	in.Name = strings.TrimSpace(in.Name)
	in.Email = strings.TrimSpace(in.Email)
	if utf8.RuneCountInString(in.Name) > 100 {
		fields["visitor.name"] = "must be at most 100 characters"
	} else {
		kefu.CheckText(fields, "visitor.name", in.Name)
	}
	if in.Email != "" && !tenants.ValidEmail(in.Email) {
		fields["visitor.email"] = "must be an email address"
	}
	// Keys and values at any depth: the attributes are stored as JSON text,
	// which PostgreSQL refuses with a NUL (\u0000) in it.
	if path, p := kefu.ValueProblem(map[string]any(in.Attributes)); p != "" {
		fields["visitor.attributes"+path] = p
	}
	attrs, _ := json.Marshal(in.Attributes)
	if in.Attributes == nil {
		attrs = []byte("{}")
	}
	if len(attrs) > maxAttributesBytes {
		fields["visitor.attributes"] = fmt.Sprintf("must be at most %d bytes of JSON", maxAttributesBytes)
	}
	if len(fields) > 0 {
		return WidgetSession{}, kefu.Invalid(fields)
	}
	db, err := s.db(t.ID)
	if err != nil {
		return WidgetSession{}, err
	}
	now := s.stamp()
	if visitorToken != "" {
		if p, err := s.tenants.Authenticate(ctx, visitorToken); err == nil && p.Kind == tenants.KindVisitor && p.TenantID == t.ID {
			var row visitorRow
			err := db.WithContext(ctx).Where("id = ?", p.ID).Take(&row).Error
			if err == nil {
				set := map[string]any{"last_seen_at": now}
				if in.Name != "" {
					set["name"] = in.Name
				}
				if in.Email != "" {
					set["email"] = in.Email
				}
				if len(set) > 1 || len(in.Attributes) > 0 {
					set["updated_at"] = now // what a contacts sync (updated_since) must see
				}
				if len(in.Attributes) > 0 {
					merged := row.visitor().Attributes
					for k, v := range in.Attributes {
						merged[k] = v
					}
					b, _ := json.Marshal(merged)
					if len(b) <= maxAttributesBytes {
						set["attributes"] = string(b)
					}
				}
				if err := db.WithContext(ctx).Model(&visitorRow{}).Where("id = ?", row.ID).Updates(set).Error; err != nil {
					return WidgetSession{}, err
				}
				return WidgetSession{VisitorID: row.ID, VisitorToken: visitorToken, Tenant: t}, nil
			}
			if !errors.Is(err, gorm.ErrRecordNotFound) {
				return WidgetSession{}, err
			}
		}
		// An expired, foreign or unknown token starts a new visitor.
	}
	row := visitorRow{ID: tenants.NewID(), Name: in.Name, Email: in.Email, Attributes: string(attrs), CreatedAt: now, LastSeenAt: now}
	if err := db.WithContext(ctx).Create(&row).Error; err != nil {
		return WidgetSession{}, err
	}
	return WidgetSession{VisitorID: row.ID, VisitorToken: s.tenants.VisitorToken(t.ID, row.ID), Tenant: t}, nil
}

// VisitorConversations lists a visitor's conversations, newest first.
func (s *Service) VisitorConversations(ctx context.Context, p tenants.Principal) ([]Conversation, error) {
	convs, _, err := s.Conversations(ctx, p, ListFilter{VisitorID: p.ID, Limit: 50})
	return convs, err
}
