package tenants

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"kefu"
)

// InviteTTL is how long an invitation link works.
const InviteTTL = 7 * 24 * time.Hour

const invitePrefix = "kfi_"

type inviteRow struct {
	ID            string `gorm:"primaryKey"`
	TokenHash     string
	TenantID      string
	Email         string
	Role          string
	Skills        string
	MaxConcurrent int
	CreatedBy     string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	AcceptedAt    *time.Time
	RevokedAt     *time.Time
}

func (inviteRow) TableName(n schema.Namer) string { return n.TableName("invite") }

// Invite is a pending invitation, as listed to admins (the token is shown
// once, when it is made).
type Invite struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	Role          string    `json:"role"`
	Skills        []string  `json:"skills"`
	MaxConcurrent int       `json:"max_concurrent"`
	CreatedAt     time.Time `json:"created_at"`
	ExpiresAt     time.Time `json:"expires_at"`
}

func (r inviteRow) invite() Invite {
	in := Invite{ID: r.ID, Email: r.Email, Role: r.Role, MaxConcurrent: r.MaxConcurrent, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}
	_ = json.Unmarshal([]byte(r.Skills), &in.Skills)
	if in.Skills == nil {
		in.Skills = []string{}
	}
	return in
}

// InviteInput is who to invite and with what standing.
type InviteInput struct {
	Email         string
	Role          string
	Skills        []string
	MaxConcurrent *int
}

// CreateInvite makes an invitation link for an email: whoever opens it
// chooses a name and password and joins with the role given here. The
// rules of CreateAgent apply (see mayManage). Inviting an email again
// replaces its pending invitation. It returns the invitation and the
// token (shown once). Errors: invalid_argument, permission_denied,
// already_exists when the email already has an account here.
func (s *Service) CreateInvite(ctx context.Context, actor Principal, in InviteInput) (Invite, string, error) {
	if err := s.mayManage(actor, "", ""); err != nil {
		return Invite{}, "", err
	}
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	fields := map[string]string{}
	if !validEmail(in.Email) {
		fields["email"] = "must be a valid email address"
	}
	if in.Role == "" {
		in.Role = RoleAgent
	}
	if err := s.checkAssignableRole(ctx, actor.TenantID, in.Role, fields); err != nil {
		return Invite{}, "", err
	}
	skills := cleanSkills(fields, in.Skills)
	maxc := 5
	if in.MaxConcurrent != nil {
		maxc = *in.MaxConcurrent
		if maxc < 1 || maxc > 1000 {
			fields["max_concurrent"] = "must be between 1 and 1000"
		}
	}
	if len(fields) > 0 {
		return Invite{}, "", kefu.Invalid(fields)
	}
	if err := s.mayManage(actor, "", in.Role); err != nil {
		return Invite{}, "", err
	}
	if _, err := s.userRow(ctx, actor.TenantID, "email = ? AND deleted_at IS NULL", in.Email); err == nil {
		return Invite{}, "", &kefu.Error{Code: kefu.EExists, Message: "a user with this email already exists", Fields: map[string]string{"email": "is taken"}}
	} else if kefu.Code(err) != kefu.ENotFound {
		return Invite{}, "", err
	}
	token := randomToken(invitePrefix)
	sk, _ := json.Marshal(skills)
	now := s.now()
	row := inviteRow{ID: NewID(), TokenHash: hashToken(token), TenantID: actor.TenantID, Email: in.Email, Role: in.Role, Skills: string(sk),
		MaxConcurrent: maxc, CreatedBy: actor.ID, CreatedAt: now, ExpiresAt: now.Add(InviteTTL)}
	err := s.store.Platform().WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&inviteRow{}).Where("tenant_id = ? AND email = ? AND accepted_at IS NULL AND revoked_at IS NULL", actor.TenantID, in.Email).
			Update("revoked_at", now).Error; err != nil {
			return err
		}
		return tx.Create(&row).Error
	})
	if err != nil {
		return Invite{}, "", err
	}
	return row.invite(), token, nil
}

// Invites lists the tenant's pending invitations, newest first.
func (s *Service) Invites(ctx context.Context, actor Principal) ([]Invite, error) {
	if err := s.mayManage(actor, "", ""); err != nil {
		return nil, err
	}
	var rows []inviteRow
	err := s.store.Platform().WithContext(ctx).Where("tenant_id = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?", actor.TenantID, s.now()).
		Order("created_at DESC").Limit(500).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]Invite, len(rows))
	for i, r := range rows {
		out[i] = r.invite()
	}
	return out, nil
}

// RevokeInvite makes a pending invitation's link stop working. Errors:
// permission_denied, not_found (no such pending invitation here).
func (s *Service) RevokeInvite(ctx context.Context, actor Principal, id string) error {
	if err := s.mayManage(actor, "", ""); err != nil {
		return err
	}
	if !kefu.CleanText(id) {
		return kefu.Errorf(kefu.ENotFound, "no such invitation")
	}
	res := s.store.Platform().WithContext(ctx).Model(&inviteRow{}).
		Where("id = ? AND tenant_id = ? AND accepted_at IS NULL AND revoked_at IS NULL", id, actor.TenantID).Update("revoked_at", s.now())
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return kefu.Errorf(kefu.ENotFound, "no such invitation")
	}
	return nil
}

// pendingInvite finds the live invitation a token names; every failure is
// not_found (expired, used, revoked, never made).
func (s *Service) pendingInvite(ctx context.Context, token string) (inviteRow, error) {
	var row inviteRow
	if !strings.HasPrefix(token, invitePrefix) || len(token) > 100 {
		return row, kefu.Errorf(kefu.ENotFound, "this invitation link is not valid any more")
	}
	err := s.store.Platform().WithContext(ctx).Where("token_hash = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?", hashToken(token), s.now()).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, kefu.Errorf(kefu.ENotFound, "this invitation link is not valid any more")
	}
	return row, err
}

// InviteDetails is what the invitation page shows before it is accepted.
type InviteDetails struct {
	Email     string `json:"email"`
	Role      string `json:"role"`
	Workspace string `json:"workspace"`
}

// LookupInvite tells the holder of an invitation link what it is for.
// Errors: not_found for a link that does not work (any reason).
func (s *Service) LookupInvite(ctx context.Context, token string) (InviteDetails, error) {
	row, err := s.pendingInvite(ctx, token)
	if err != nil {
		return InviteDetails{}, err
	}
	t, err := s.Tenant(ctx, row.TenantID)
	if err != nil {
		return InviteDetails{}, err
	}
	return InviteDetails{Email: row.Email, Role: row.Role, Workspace: t.Name}, nil
}

// AcceptInvite turns an invitation into a user with the name and password
// given, signs them in and uses the link up. Errors: invalid_argument,
// not_found (the link does not work), already_exists (the email got an
// account meanwhile).
func (s *Service) AcceptInvite(ctx context.Context, token, name, password string) (SignupResult, error) {
	name = strings.TrimSpace(name)
	fields := map[string]string{}
	checkText(fields, "name", name, 100)
	checkPassword(fields, password)
	if len(fields) > 0 {
		return SignupResult{}, kefu.Invalid(fields)
	}
	inv, err := s.pendingInvite(ctx, token)
	if err != nil {
		return SignupResult{}, err
	}
	// Use the link up first: of two accepts at once, one wins.
	now := s.now()
	res := s.store.Platform().WithContext(ctx).Model(&inviteRow{}).Where("id = ? AND accepted_at IS NULL", inv.ID).Update("accepted_at", now)
	if res.Error != nil {
		return SignupResult{}, res.Error
	}
	if res.RowsAffected == 0 {
		return SignupResult{}, kefu.Errorf(kefu.ENotFound, "this invitation link is not valid any more")
	}
	t, err := s.Tenant(ctx, inv.TenantID)
	if err != nil {
		return SignupResult{}, err
	}
	db, err := s.store.Tenant(inv.TenantID)
	if err != nil {
		return SignupResult{}, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return SignupResult{}, err
	}
	row := userRow{ID: NewID(), Email: inv.Email, Name: name, Role: inv.Role, PasswordHash: hash, Skills: inv.Skills, Teams: "[]",
		MaxConcurrent: inv.MaxConcurrent, CreatedAt: now, UpdatedAt: now}
	if err := s.insertUser(ctx, inv.TenantID, db, &row); err != nil {
		return SignupResult{}, err
	}
	session, err := s.createSession(ctx, inv.TenantID, row.ID)
	if err != nil {
		return SignupResult{}, err
	}
	return SignupResult{Tenant: t, User: row.user(), Token: session}, nil
}

// HasInvited reports whether the tenant ever invited someone (an
// invitation not revoked, pending or accepted); the onboarding checklist
// asks it.
func (s *Service) HasInvited(ctx context.Context, tenantID string) (bool, error) {
	var n int64
	err := s.store.Platform().WithContext(ctx).Model(&inviteRow{}).Where("tenant_id = ? AND revoked_at IS NULL", tenantID).Limit(1).Count(&n).Error
	return n > 0, err
}
