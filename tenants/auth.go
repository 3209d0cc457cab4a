package tenants

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"kefu"
)

// Principal kinds.
const (
	KindUser    = "user"
	KindAPIKey  = "api_key"
	KindVisitor = "visitor"
)

// Principal is who a verified token speaks for. The tenant comes only from
// here, never from a header or a body field.
type Principal struct {
	Kind       string
	TenantID   string
	ID         string // user id, API key id or visitor id
	Name       string
	Role       string // empty for visitors
	tokenHash  string
	session    string
	keyCreator string // an API key's: the user who made it (empty for keys older than that rule)
}

// SessionID names the session a user principal came from (empty for API
// keys and visitors). It is derived from the stored token hash, so it can
// travel (on the bus, in GET /me/sessions) without being a credential.
func (p Principal) SessionID() string { return p.session }

func sessionIDOf(tokenHash string) string {
	sum := sha256.Sum256([]byte("kefu.session-id." + tokenHash))
	return hex.EncodeToString(sum[:12])
}

type sessionRow struct {
	TokenHash string `gorm:"primaryKey"`
	TenantID  string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

func (sessionRow) TableName(n schema.Namer) string { return n.TableName("session") }

var errUnauthenticated = kefu.Errorf(kefu.EAuth, "invalid or expired credentials")

// Login checks a password and opens a session. Every failure is the same
// unauthenticated error, so the answer does not tell which part was wrong;
// after too many failures for one workspace+email (whether or not it is an
// account) it answers rate_limited with a RetryAfter instead, even for the
// right password.
func (s *Service) Login(ctx context.Context, slug, email, password string) (string, User, error) {
	fields := map[string]string{}
	checkText(fields, "tenant", slug, 100)
	checkText(fields, "email", email, 254)
	checkText(fields, "password", password, 256)
	if len(fields) > 0 {
		return "", User{}, kefu.Invalid(fields)
	}
	key := lockKey(slug, email)
	if err := s.checkLocked(ctx, key); err != nil {
		return "", User{}, err
	}
	row, err := s.checkLogin(ctx, slug, email, password)
	if kefu.Code(err) == kefu.EAuth {
		if ferr := s.noteFailure(ctx, key); ferr != nil {
			return "", User{}, ferr
		}
		return "", User{}, err
	}
	if err != nil {
		return "", User{}, err
	}
	if err := s.clearFailures(ctx, key); err != nil {
		return "", User{}, err
	}
	token, err := s.createSession(ctx, row.tenantID, row.ID)
	if err != nil {
		return "", User{}, err
	}
	s.maybeSweep(ctx)
	return token, row.user(), nil
}

type loginRow struct {
	userRow
	tenantID string
}

// checkLogin finds the active user and checks the password, hashing once
// whichever part is wrong so that every failure takes as long.
func (s *Service) checkLogin(ctx context.Context, slug, email, password string) (loginRow, error) {
	t, err := s.TenantBySlug(ctx, slug)
	if kefu.Code(err) == kefu.ENotFound {
		CheckPassword(dummyHash, password)
		return loginRow{}, errUnauthenticated
	}
	if err != nil {
		return loginRow{}, err
	}
	row, err := s.userRow(ctx, t.ID, "email = ? AND deleted_at IS NULL", strings.ToLower(strings.TrimSpace(email)))
	if kefu.Code(err) == kefu.ENotFound {
		CheckPassword(dummyHash, password)
		return loginRow{}, errUnauthenticated
	}
	if err != nil {
		return loginRow{}, err
	}
	if !CheckPassword(row.PasswordHash, password) || row.DeactivatedAt != nil {
		return loginRow{}, errUnauthenticated
	}
	return loginRow{userRow: row, tenantID: t.ID}, nil
}

func (s *Service) createSession(ctx context.Context, tenantID, userID string) (string, error) {
	token := randomToken(sessionPrefix)
	now := s.now()
	row := sessionRow{TokenHash: hashToken(token), TenantID: tenantID, UserID: userID, CreatedAt: now, ExpiresAt: now.Add(s.sessionTTL)}
	if err := s.store.Platform().WithContext(ctx).Create(&row).Error; err != nil {
		return "", err
	}
	return token, nil
}

// Logout revokes the session the principal came from (a no-op for others);
// sockets opened with it are closed.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	if p.Kind != KindUser || p.tokenHash == "" {
		return nil
	}
	if err := s.store.Platform().WithContext(ctx).Delete(&sessionRow{}, "token_hash = ?", p.tokenHash).Error; err != nil {
		return err
	}
	s.announce(ctx, AccountEvent{Kind: AccountSignedOut, TenantID: p.TenantID, UserID: p.ID, Session: p.session})
	return nil
}

// LogoutAll revokes every session of the principal's user, the one it came
// from included ("sign out everywhere"). Errors: permission_denied for API
// keys, which have no sessions.
func (s *Service) LogoutAll(ctx context.Context, p Principal) error {
	if p.Kind != KindUser {
		return kefu.Errorf(kefu.EDenied, "only a signed-in person has sessions")
	}
	return s.endSessions(ctx, p.TenantID, p.ID, "")
}

// endSessions deletes every session of the user except the one whose
// token hash is keepHash (empty: all) and announces it.
func (s *Service) endSessions(ctx context.Context, tenantID, userID, keepHash string) error {
	q := s.store.Platform().WithContext(ctx).Where("tenant_id = ? AND user_id = ?", tenantID, userID)
	keep := ""
	if keepHash != "" {
		q = q.Where("token_hash <> ?", keepHash)
		keep = sessionIDOf(keepHash)
	}
	if err := q.Delete(&sessionRow{}).Error; err != nil {
		return err
	}
	s.announce(ctx, AccountEvent{Kind: AccountSignedOut, TenantID: tenantID, UserID: userID, Keep: keep})
	return nil
}

// Session is one signed-in session of a user, as listed to them.
type Session struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Current   bool      `json:"current"`
}

// Sessions lists the live sessions of the principal's user, newest first.
// Errors: permission_denied for API keys.
func (s *Service) Sessions(ctx context.Context, p Principal) ([]Session, error) {
	if p.Kind != KindUser {
		return nil, kefu.Errorf(kefu.EDenied, "only a signed-in person has sessions")
	}
	var rows []sessionRow
	err := s.store.Platform().WithContext(ctx).Where("tenant_id = ? AND user_id = ? AND expires_at > ?", p.TenantID, p.ID, s.now()).
		Order("created_at DESC").Limit(500).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]Session, len(rows))
	for i, r := range rows {
		id := sessionIDOf(r.TokenHash)
		out[i] = Session{ID: id, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, Current: id == p.session}
	}
	return out, nil
}

// RevokeSession signs out one session of the principal's own user, by its
// SessionID. Errors: not_found (no such session of theirs),
// permission_denied for API keys.
func (s *Service) RevokeSession(ctx context.Context, p Principal, sessionID string) error {
	if p.Kind != KindUser {
		return kefu.Errorf(kefu.EDenied, "only a signed-in person has sessions")
	}
	var rows []sessionRow
	if err := s.store.Platform().WithContext(ctx).Where("tenant_id = ? AND user_id = ?", p.TenantID, p.ID).Select("token_hash").Limit(500).Find(&rows).Error; err != nil {
		return err
	}
	for _, r := range rows {
		if sessionIDOf(r.TokenHash) == sessionID {
			if err := s.store.Platform().WithContext(ctx).Delete(&sessionRow{}, "token_hash = ?", r.TokenHash).Error; err != nil {
				return err
			}
			s.announce(ctx, AccountEvent{Kind: AccountSignedOut, TenantID: p.TenantID, UserID: p.ID, Session: sessionID})
			return nil
		}
	}
	return kefu.Errorf(kefu.ENotFound, "no such session")
}

// Authenticate verifies a bearer token of any kind: a session token, an API
// key or a visitor token. Errors: unauthenticated.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	if len(token) > 512 {
		return Principal{}, errUnauthenticated
	}
	switch {
	case strings.HasPrefix(token, sessionPrefix):
		return s.authSession(ctx, hashToken(token))
	case strings.HasPrefix(token, visitorPrefix):
		c, ok := parseVisitor(s.secret, token, s.now())
		if !ok {
			return Principal{}, errUnauthenticated
		}
		return Principal{Kind: KindVisitor, TenantID: c.Tenant, ID: c.Visitor}, nil
	case strings.HasPrefix(token, apiKeyPrefix):
		return s.authAPIKey(ctx, hashToken(token))
	}
	return Principal{}, errUnauthenticated
}

// Revalidate checks that a principal verified earlier still holds: its
// session is live and its user active (an API key: not revoked, its
// creator still entitled to it). It returns the principal as it stands now
// — its role may have changed. Visitors are always still valid. Errors:
// unauthenticated when it no longer holds; others are faults (the caller
// should try again later rather than conclude anything).
func (s *Service) Revalidate(ctx context.Context, p Principal) (Principal, error) {
	switch p.Kind {
	case KindUser:
		if p.tokenHash == "" {
			return Principal{}, errUnauthenticated
		}
		return s.authSession(ctx, p.tokenHash)
	case KindAPIKey:
		return s.authAPIKey(ctx, p.tokenHash)
	}
	return p, nil
}

func (s *Service) authSession(ctx context.Context, h string) (Principal, error) {
	var row sessionRow
	err := s.store.Platform().WithContext(ctx).Where("token_hash = ?", h).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Principal{}, errUnauthenticated
	}
	if err != nil {
		return Principal{}, err
	}
	if s.now().After(row.ExpiresAt) {
		return Principal{}, errUnauthenticated
	}
	u, err := s.userRow(ctx, row.TenantID, "id = ?", row.UserID)
	if kefu.Code(err) == kefu.ENotFound {
		return Principal{}, errUnauthenticated
	}
	if err != nil {
		return Principal{}, err
	}
	if u.DeactivatedAt != nil || u.DeletedAt != nil {
		return Principal{}, errUnauthenticated
	}
	return Principal{Kind: KindUser, TenantID: row.TenantID, ID: u.ID, Name: u.Name, Role: u.Role, tokenHash: h, session: sessionIDOf(h)}, nil
}

// VisitorToken signs a token for a visitor of the tenant.
func (s *Service) VisitorToken(tenantID, visitorID string) string {
	return signVisitor(s.secret, visitorClaims{Tenant: tenantID, Visitor: visitorID, Expires: s.now().Add(s.visitorTTL).Unix()})
}

// maybeSweep deletes expired sessions and stale lockout counters, at most
// once a minute per node (on a sign-in, so an idle server does nothing).
func (s *Service) maybeSweep(ctx context.Context) {
	now := s.now()
	last := s.lastSweep.Load()
	if now.Unix()-last < 60 || !s.lastSweep.CompareAndSwap(last, now.Unix()) {
		return
	}
	if _, err := s.Sweep(ctx); err != nil {
		s.log.Warn("sweep expired sessions", "err", err)
	}
}

// Sweep deletes expired session rows and lockout counters that no longer
// count, and returns how many sessions it deleted.
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	now := s.now()
	db := s.store.Platform().WithContext(ctx)
	res := db.Where("expires_at < ?", now).Delete(&sessionRow{})
	if res.Error != nil {
		return 0, res.Error
	}
	err := db.Where("first_at < ? AND (locked_until IS NULL OR locked_until < ?)", now.Add(-s.lockout.window), now).Delete(&loginFailureRow{}).Error
	return res.RowsAffected, err
}
