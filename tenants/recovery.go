package tenants

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"kefu"
)

// Signing in by e-mail alone, and forgotten passwords.
//
// Neither may tell a stranger which addresses have accounts, or where:
// a sign-in without a workspace answers the same unauthenticated error for
// an unknown address and a wrong password, and lists workspaces only to
// someone whose password matched in each of them; a reset request is
// always accepted and mails (in the background) only addresses that exist.

// MaxEmailWorkspaces bounds how many of an address's workspaces one sign-in
// by e-mail checks (each check is a slow password hash).
const MaxEmailWorkspaces = 10

// anyWorkspace is the lockout slug of sign-ins that name no workspace.
const anyWorkspace = "*"

// Workspace is a workspace an e-mail may sign in to, as listed to someone
// whose password matched there.
type Workspace struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// EmailLogin is the outcome of LoginByEmail: a session when the password
// matched in exactly one workspace, otherwise the workspaces it matched in
// (two or more) for the person to choose from.
type EmailLogin struct {
	Token      string
	User       User
	TenantID   string
	Workspaces []Workspace
}

// LoginByEmail signs in without naming the workspace. The password is
// checked in each workspace the address has an account in (at most
// MaxEmailWorkspaces); an unknown address costs one hash, like an address
// of one workspace, so the two cannot be told apart by time. Errors:
// invalid_argument, unauthenticated (unknown address or wrong password
// everywhere, the same answer), rate_limited (too many failures for the
// address, whatever it is).
func (s *Service) LoginByEmail(ctx context.Context, email, password string) (EmailLogin, error) {
	fields := map[string]string{}
	checkText(fields, "email", email, 254)
	checkText(fields, "password", password, 256)
	if len(fields) > 0 {
		return EmailLogin{}, kefu.Invalid(fields)
	}
	email = strings.ToLower(strings.TrimSpace(email))
	key := lockKey(anyWorkspace, email)
	if err := s.checkLocked(ctx, key); err != nil {
		return EmailLogin{}, err
	}
	matched, err := s.matchEverywhere(ctx, email, password)
	if err != nil {
		return EmailLogin{}, err
	}
	if len(matched) == 0 {
		if err := s.noteFailure(ctx, key); err != nil {
			return EmailLogin{}, err
		}
		return EmailLogin{}, errUnauthenticated
	}
	if err := s.clearFailures(ctx, key); err != nil {
		return EmailLogin{}, err
	}
	if len(matched) > 1 {
		out := EmailLogin{Workspaces: make([]Workspace, len(matched))}
		for i, m := range matched {
			out.Workspaces[i] = m.ws
		}
		return out, nil
	}
	m := matched[0]
	token, err := s.createSession(ctx, m.ws.ID, m.row.ID)
	if err != nil {
		return EmailLogin{}, err
	}
	s.maybeSweep(ctx)
	return EmailLogin{Token: token, User: m.row.user(), TenantID: m.ws.ID}, nil
}

type emailMatch struct {
	ws  Workspace
	row userRow
}

// matchEverywhere checks password against each active account of email,
// in workspace order; it hashes at least once.
func (s *Service) matchEverywhere(ctx context.Context, email, password string) ([]emailMatch, error) {
	idx, err := s.workspacesOf(ctx, email, MaxEmailWorkspaces)
	if err != nil {
		return nil, err
	}
	var out []emailMatch
	hashed := false
	for _, r := range idx {
		t, err := s.Tenant(ctx, r.TenantID)
		if kefu.Code(err) == kefu.ENotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		row, err := s.userRow(ctx, r.TenantID, "email = ? AND deleted_at IS NULL", email)
		if kefu.Code(err) == kefu.ENotFound {
			continue // a stale index row
		}
		if err != nil {
			return nil, err
		}
		hashed = true
		if CheckPassword(row.PasswordHash, password) && row.DeactivatedAt == nil {
			out = append(out, emailMatch{ws: Workspace{ID: t.ID, Slug: t.Slug, Name: t.Name}, row: row})
		}
	}
	if !hashed {
		CheckPassword(dummyHash, password)
	}
	return out, nil
}

// Password reset links.
const (
	resetPrefix = "kfr_"
	// ResetTTL is how long a reset link works.
	ResetTTL = time.Hour
	// resetsPerHour bounds the links mailed for one account per hour.
	resetsPerHour = 3
)

type passwordResetRow struct {
	TokenHash string `gorm:"primaryKey"`
	TenantID  string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

func (passwordResetRow) TableName(n schema.Namer) string { return n.TableName("password_reset") }

// ResetLink is a reset link to mail: the token for the link, and the
// workspace and address it is for.
type ResetLink struct {
	Token     string
	Email     string
	Workspace Workspace
	Language  string // the workspace's, for the e-mail
}

// RequestPasswordReset makes a single-use reset token for each active
// account of email (in the workspace slug only, when slug is set), at
// most resetsPerHour per account per hour (beyond that, none is made and
// no error says so). Only a hash of each token is stored. The caller
// mails the links; an address with no account gets none, and the caller's
// answer must not differ. Errors: invalid_argument.
func (s *Service) RequestPasswordReset(ctx context.Context, email, slug string) ([]ResetLink, error) {
	if err := CheckResetRequest(email, slug); err != nil {
		return nil, err
	}
	email = strings.ToLower(strings.TrimSpace(email))
	idx, err := s.workspacesOf(ctx, email, MaxEmailWorkspaces)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []ResetLink
	for _, r := range idx {
		t, err := s.Tenant(ctx, r.TenantID)
		if kefu.Code(err) == kefu.ENotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		if slug != "" && t.Slug != strings.ToLower(strings.TrimSpace(slug)) {
			continue
		}
		row, err := s.userRow(ctx, r.TenantID, "email = ? AND deleted_at IS NULL", email)
		if kefu.Code(err) == kefu.ENotFound || (err == nil && row.DeactivatedAt != nil) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var recent int64
		err = s.store.Platform().WithContext(ctx).Model(&passwordResetRow{}).
			Where("tenant_id = ? AND user_id = ? AND created_at > ?", t.ID, row.ID, now.Add(-time.Hour)).Count(&recent).Error
		if err != nil {
			return nil, err
		}
		if recent >= resetsPerHour {
			continue
		}
		token := randomToken(resetPrefix)
		rr := passwordResetRow{TokenHash: hashToken(token), TenantID: t.ID, UserID: row.ID, CreatedAt: now, ExpiresAt: now.Add(ResetTTL)}
		if err := s.store.Platform().WithContext(ctx).Create(&rr).Error; err != nil {
			return nil, err
		}
		out = append(out, ResetLink{Token: token, Email: email, Workspace: Workspace{ID: t.ID, Slug: t.Slug, Name: t.Name}, Language: t.Language})
	}
	return out, nil
}

var errBadReset = kefu.Errorf(kefu.ENotFound, "this reset link is not valid: it was used, it expired, or a newer one replaced it")

// ResetPasswordWithToken sets a new password with a reset token: the
// token works once and within ResetTTL; the account's other reset tokens
// die with it, its sign-in lockouts lift, and every session of the user
// ends (their sockets close on every node). It returns the workspace and
// address, for the sign-in page that follows. Errors: invalid_argument
// (password policy), not_found (unknown, used or expired token; a
// deactivated or deleted user).
func (s *Service) ResetPasswordWithToken(ctx context.Context, token, password string) (Workspace, string, error) {
	fields := map[string]string{}
	checkPassword(fields, password)
	if len(fields) > 0 {
		return Workspace{}, "", kefu.Invalid(fields)
	}
	if !strings.HasPrefix(token, resetPrefix) || len(token) > 128 {
		return Workspace{}, "", errBadReset
	}
	db := s.store.Platform().WithContext(ctx)
	var rr passwordResetRow
	err := db.Where("token_hash = ?", hashToken(token)).Take(&rr).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Workspace{}, "", errBadReset
	}
	if err != nil {
		return Workspace{}, "", err
	}
	now := s.now()
	if rr.UsedAt != nil || !now.Before(rr.ExpiresAt) {
		return Workspace{}, "", errBadReset
	}
	row, err := s.userRow(ctx, rr.TenantID, "id = ? AND deleted_at IS NULL", rr.UserID)
	if kefu.Code(err) == kefu.ENotFound || (err == nil && row.DeactivatedAt != nil) {
		return Workspace{}, "", errBadReset
	}
	if err != nil {
		return Workspace{}, "", err
	}
	t, err := s.Tenant(ctx, rr.TenantID)
	if err != nil {
		return Workspace{}, "", err
	}
	// Claim the token: of two racing uses, one updates the row.
	res := db.Model(&passwordResetRow{}).Where("token_hash = ? AND used_at IS NULL", rr.TokenHash).Update("used_at", now)
	if res.Error != nil {
		return Workspace{}, "", res.Error
	}
	if res.RowsAffected != 1 {
		return Workspace{}, "", errBadReset
	}
	if err := s.setPassword(ctx, rr.TenantID, row.ID, password); err != nil {
		return Workspace{}, "", err
	}
	if err := db.Model(&passwordResetRow{}).Where("tenant_id = ? AND user_id = ? AND used_at IS NULL", rr.TenantID, row.ID).Update("used_at", now).Error; err != nil {
		return Workspace{}, "", err
	}
	for _, slug := range []string{t.Slug, anyWorkspace} {
		if err := s.clearFailures(ctx, lockKey(slug, row.Email)); err != nil {
			return Workspace{}, "", err
		}
	}
	if err := s.endSessions(ctx, rr.TenantID, row.ID, ""); err != nil {
		return Workspace{}, "", err
	}
	return Workspace{ID: t.ID, Slug: t.Slug, Name: t.Name}, row.Email, nil
}

// CheckResetRequest validates a reset request's input (the edge answers
// before any lookup). Errors: invalid_argument.
func CheckResetRequest(email, slug string) error {
	fields := map[string]string{}
	checkText(fields, "email", email, 254)
	if slug != "" {
		checkText(fields, "tenant", slug, 100)
	}
	if len(fields) > 0 {
		return kefu.Invalid(fields)
	}
	return nil
}
