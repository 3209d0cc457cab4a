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
	// Identity, when set, is what Kefu.identify passed.
	Identity *Identity
}

// WidgetSession is a visitor's session: their id and token.
type WidgetSession struct {
	VisitorID    string
	VisitorToken string
	Tenant       tenants.Tenant
	// Identified: the visitor is the contact the site vouched for.
	Identified bool
	// IdentityError is the code of an identity that did not bind
	// (identity_invalid), "" otherwise.
	IdentityError string
	// PrechatNeeded: the widget should show the pre-chat form first.
	PrechatNeeded bool
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
	if in.Identity != nil {
		checkIdentity(fields, in.Identity)
	}
	if len(fields) > 0 {
		return WidgetSession{}, kefu.Invalid(fields)
	}
	settings, err := s.tenants.WidgetSettingsOf(ctx, t.ID)
	if err != nil {
		return WidgetSession{}, err
	}
	verified := false
	if in.Identity != nil {
		if verified, err = s.tenants.VerifyIdentity(ctx, t.ID, in.Identity.ID, in.Identity.Hash); err != nil {
			return WidgetSession{}, err
		}
	}
	switch {
	case settings.RequireIdentity && in.Identity == nil:
		return WidgetSession{}, kefu.Errorf(kefu.EIdentityRequired, "this workspace's chat is for signed-in users only")
	case settings.RequireIdentity && !verified:
		return WidgetSession{}, kefu.Errorf(kefu.EIdentityInvalid, "the identity's hash does not match its id")
	}
	db, err := s.db(t.ID)
	if err != nil {
		return WidgetSession{}, err
	}
	ws, err := s.startVisitor(ctx, db, t, visitorToken, in, string(attrs))
	if err != nil {
		return WidgetSession{}, err
	}
	if in.Identity != nil && !verified {
		ws.IdentityError = kefu.EIdentityInvalid
	}
	if verified {
		var cur *visitorRow
		if ws.VisitorID != "" {
			if row, err := s.contactRow(ctx, t.ID, ws.VisitorID); err == nil {
				cur = &row
			}
		}
		id, err := s.bindIdentity(ctx, db, t.ID, cur, *in.Identity, string(attrs))
		if err != nil {
			return WidgetSession{}, err
		}
		if id != ws.VisitorID {
			ws.VisitorID, ws.VisitorToken = id, s.tenants.VisitorToken(t.ID, id)
		}
		ws.Identified = true
	}
	if settings.Prechat.Enabled {
		if row, err := s.contactRow(ctx, t.ID, ws.VisitorID); err == nil {
			ws.PrechatNeeded = PrechatNeeded(row.visitor(), row.Phone, settings.Prechat)
		}
	}
	return ws, nil
}

// startVisitor resumes the visitor of a still-valid token of the same
// tenant, or creates a new one, with what the widget knows of them; one that
// becomes known (a name or e-mail) is a new contact.
func (s *Service) startVisitor(ctx context.Context, db *tenants.DB, t tenants.Tenant, visitorToken string, in VisitorInput, attrs string) (WidgetSession, error) {
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
				if err := s.updateVisitor(ctx, db, t.ID, row, set); err != nil {
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
	if in.Identity != nil && in.Name == "" && in.Email == "" {
		// Bound below (or not, if its hash is wrong): no row until then
		// unless the identity fails.
		if ok, _ := s.tenants.VerifyIdentity(ctx, t.ID, in.Identity.ID, in.Identity.Hash); ok {
			return WidgetSession{Tenant: t}, nil
		}
	}
	row := visitorRow{ID: tenants.NewID(), Name: in.Name, Email: in.Email, Attributes: attrs, CreatedAt: now, LastSeenAt: now}
	want := hookWants{}
	if row.known() {
		want = s.contactWants(ctx, db, t.ID)
	}
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return s.contactChange(tx, db, t.ID, nil, row, want)
	})
	if err != nil {
		return WidgetSession{}, err
	}
	if want.any() {
		s.hooksWritten(t.ID)
	}
	return WidgetSession{VisitorID: row.ID, VisitorToken: s.tenants.VisitorToken(t.ID, row.ID), Tenant: t}, nil
}

// updateVisitor sets a resumed visitor's columns, writing contact.created
// or contact.updated when what is known of them changed.
func (s *Service) updateVisitor(ctx context.Context, db *tenants.DB, tenantID string, before visitorRow, set map[string]any) error {
	after := before
	if v, ok := set["name"].(string); ok {
		after.Name = v
	}
	if v, ok := set["email"].(string); ok {
		after.Email = v
	}
	if v, ok := set["attributes"].(string); ok {
		after.Attributes = v
	}
	// A new page address in the attributes alone is no news about the person.
	changed := after.Name != before.Name || after.Email != before.Email
	if !changed {
		return db.WithContext(ctx).Model(&visitorRow{}).Where("id = ?", before.ID).Updates(set).Error
	}
	want := s.contactWants(ctx, db, tenantID)
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&visitorRow{}).Where("id = ?", before.ID).Updates(set).Error; err != nil {
			return err
		}
		was := before
		was.Attributes = after.Attributes
		return s.contactChange(tx, db, tenantID, &was, after, want)
	})
	if err == nil && want.any() {
		s.hooksWritten(tenantID)
	}
	return err
}

// VisitorConversations lists a visitor's conversations, newest first.
func (s *Service) VisitorConversations(ctx context.Context, p tenants.Principal) ([]Conversation, error) {
	convs, _, err := s.Conversations(ctx, p, ListFilter{VisitorID: p.ID, Limit: 50})
	return convs, err
}
