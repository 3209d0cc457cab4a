package chat

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"kefu"
	"kefu/tenants"
)

// Canned replies: saved answers an agent inserts with "/" in the composer.
// A tenant's replies (scope tenant) are for everyone and managed by those
// who may administer agents; each agent also keeps their own (scope
// personal), which nobody else sees. Bodies may hold variables such as
// {{visitor.name}} that the console fills in.

// Canned reply scopes.
const (
	CannedTenant   = "tenant"
	CannedPersonal = "personal"
)

// Limits on canned replies.
const (
	MaxCannedBody     = 4096 // bytes
	MaxCannedShortcut = 40   // characters
	MaxCannedReplies  = 500  // per tenant, and per agent
)

// CannedReply is one saved answer.
type CannedReply struct {
	ID        string    `json:"id"`
	Shortcut  string    `json:"shortcut"`
	Body      string    `json:"body"`
	Scope     string    `json:"scope"`
	OwnerID   *string   `json:"owner_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type cannedRow struct {
	ID        string `gorm:"primaryKey"`
	Scope     string
	OwnerID   string
	Shortcut  string
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (cannedRow) TableName(n schema.Namer) string { return n.TableName("canned_reply") }

func (r cannedRow) reply() CannedReply {
	c := CannedReply{ID: r.ID, Shortcut: r.Shortcut, Body: r.Body, Scope: r.Scope, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.OwnerID != "" {
		c.OwnerID = &r.OwnerID
	}
	return c
}

// CannedInput creates or changes a canned reply; nil fields stay.
type CannedInput struct {
	Shortcut *string
	Body     *string
	Scope    *string
}

var shortcutRe = regexp.MustCompile(`^[\p{L}\p{N}_.\-]+$`)

// CannedReplies lists the tenant's replies and the caller's own, by shortcut.
func (s *Service) CannedReplies(ctx context.Context, p tenants.Principal) ([]CannedReply, error) {
	db, err := s.db(p.TenantID)
	if err != nil {
		return nil, err
	}
	var rows []cannedRow
	q := db.WithContext(ctx).Where("owner_id = '' OR owner_id = ?", ownerOf(p))
	if err := q.Order("lower(shortcut), scope DESC, id").Limit(2 * MaxCannedReplies).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]CannedReply, len(rows))
	for i, r := range rows {
		out[i] = r.reply()
	}
	return out, nil
}

// ownerOf is whose personal replies p keeps: a user's own; API keys keep none.
func ownerOf(p tenants.Principal) string {
	if p.Kind == tenants.KindUser {
		return p.ID
	}
	return "key:" + p.ID // matches no row: keys keep no personal replies
}

// CreateCannedReply saves a reply. manageTenant says whether the caller may
// write the tenant's replies. Errors: invalid_argument, permission_denied,
// already_exists (the shortcut is taken in that scope).
func (s *Service) CreateCannedReply(ctx context.Context, p tenants.Principal, manageTenant bool, in CannedInput) (CannedReply, error) {
	row := cannedRow{Scope: CannedPersonal}
	if in.Scope != nil {
		row.Scope = *in.Scope
	}
	if in.Shortcut == nil || in.Body == nil {
		fields := map[string]string{}
		if in.Shortcut == nil {
			fields["shortcut"] = "is required"
		}
		if in.Body == nil {
			fields["body"] = "is required"
		}
		return CannedReply{}, kefu.Invalid(fields)
	}
	row.Shortcut, row.Body = *in.Shortcut, *in.Body
	if err := s.checkCanned(p, manageTenant, &row); err != nil {
		return CannedReply{}, err
	}
	db, err := s.db(p.TenantID)
	if err != nil {
		return CannedReply{}, err
	}
	var n int64
	if err := db.WithContext(ctx).Model(&cannedRow{}).Where("owner_id = ?", row.OwnerID).Count(&n).Error; err != nil {
		return CannedReply{}, err
	}
	if n >= MaxCannedReplies {
		return CannedReply{}, kefu.Invalid(map[string]string{"shortcut": "at most 500 canned replies in this scope"})
	}
	now := s.stamp()
	row.ID, row.CreatedAt, row.UpdatedAt = tenants.NewID(), now, now
	if err := db.WithContext(ctx).Create(&row).Error; err != nil {
		if tenants.IsUniqueViolation(err) {
			return CannedReply{}, shortcutTaken()
		}
		return CannedReply{}, err
	}
	return row.reply(), nil
}

func shortcutTaken() error {
	return &kefu.Error{Code: kefu.EExists, Message: "a canned reply with this shortcut already exists", Fields: map[string]string{"shortcut": "is taken"}}
}

// checkCanned validates a reply and settles its owner: the tenant's need
// manageTenant, a personal one belongs to the caller (a user).
func (s *Service) checkCanned(p tenants.Principal, manageTenant bool, row *cannedRow) error {
	fields := map[string]string{}
	row.Shortcut = strings.TrimPrefix(strings.TrimSpace(row.Shortcut), "/")
	switch {
	case row.Shortcut == "":
		fields["shortcut"] = "is required"
	case utf8.RuneCountInString(row.Shortcut) > MaxCannedShortcut:
		fields["shortcut"] = "must be at most 40 characters"
	case !shortcutRe.MatchString(row.Shortcut):
		fields["shortcut"] = "letters, digits, '_', '-' and '.' only"
	}
	switch {
	case strings.TrimSpace(row.Body) == "":
		fields["body"] = "is required"
	case len(row.Body) > MaxCannedBody:
		fields["body"] = "must be at most 4096 bytes"
	default:
		kefu.CheckText(fields, "body", row.Body)
	}
	switch row.Scope {
	case CannedTenant:
		row.OwnerID = ""
	case CannedPersonal:
		if p.Kind != tenants.KindUser {
			fields["scope"] = "only people keep personal replies; use tenant"
		}
		row.OwnerID = p.ID
	default:
		fields["scope"] = "must be tenant or personal"
	}
	if len(fields) > 0 {
		return kefu.Invalid(fields)
	}
	if row.Scope == CannedTenant && !manageTenant {
		return kefu.Errorf(kefu.EDenied, "your role may not change the workspace's canned replies")
	}
	return nil
}

// cannedRow loads a reply the caller may see: the tenant's or their own.
func (s *Service) cannedRow(ctx context.Context, p tenants.Principal, id string) (*tenants.DB, cannedRow, error) {
	var row cannedRow
	db, err := s.db(p.TenantID)
	if err != nil {
		return nil, row, err
	}
	if !kefu.CleanText(id) {
		return nil, row, kefu.Errorf(kefu.ENotFound, "no such canned reply")
	}
	err = db.WithContext(ctx).Where("id = ? AND (owner_id = '' OR owner_id = ?)", id, ownerOf(p)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, row, kefu.Errorf(kefu.ENotFound, "no such canned reply")
	}
	return db, row, err
}

// UpdateCannedReply changes a reply. Errors: not_found (another agent's
// personal reply too), invalid_argument, permission_denied,
// already_exists.
func (s *Service) UpdateCannedReply(ctx context.Context, p tenants.Principal, manageTenant bool, id string, in CannedInput) (CannedReply, error) {
	db, row, err := s.cannedRow(ctx, p, id)
	if err != nil {
		return CannedReply{}, err
	}
	if row.Scope == CannedTenant && !manageTenant {
		return CannedReply{}, kefu.Errorf(kefu.EDenied, "your role may not change the workspace's canned replies")
	}
	if in.Shortcut != nil {
		row.Shortcut = *in.Shortcut
	}
	if in.Body != nil {
		row.Body = *in.Body
	}
	if in.Scope != nil {
		row.Scope = *in.Scope
	}
	if err := s.checkCanned(p, manageTenant, &row); err != nil {
		return CannedReply{}, err
	}
	row.UpdatedAt = s.stamp()
	err = db.WithContext(ctx).Model(&cannedRow{}).Where("id = ?", id).
		Updates(map[string]any{"shortcut": row.Shortcut, "body": row.Body, "scope": row.Scope, "owner_id": row.OwnerID, "updated_at": row.UpdatedAt}).Error
	if err != nil {
		if tenants.IsUniqueViolation(err) {
			return CannedReply{}, shortcutTaken()
		}
		return CannedReply{}, err
	}
	return row.reply(), nil
}

// DeleteCannedReply removes a reply. Errors: not_found, permission_denied.
func (s *Service) DeleteCannedReply(ctx context.Context, p tenants.Principal, manageTenant bool, id string) error {
	db, row, err := s.cannedRow(ctx, p, id)
	if err != nil {
		return err
	}
	if row.Scope == CannedTenant && !manageTenant {
		return kefu.Errorf(kefu.EDenied, "your role may not change the workspace's canned replies")
	}
	return db.WithContext(ctx).Where("id = ?", id).Delete(&cannedRow{}).Error
}
