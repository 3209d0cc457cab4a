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

// Principal kinds.
const (
	KindUser    = "user"
	KindAPIKey  = "api_key"
	KindVisitor = "visitor"
)

// Principal is who a verified token speaks for. The tenant comes only from
// here, never from a header or a body field.
type Principal struct {
	Kind      string
	TenantID  string
	ID        string // user id, API key id or visitor id
	Name      string
	Role      string // empty for visitors
	tokenHash string
}

type sessionRow struct {
	TokenHash string `gorm:"primaryKey"`
	TenantID  string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

func (sessionRow) TableName(n schema.Namer) string { return n.TableName("session") }

type apiKeyRow struct {
	ID        string `gorm:"primaryKey"`
	TenantID  string
	Name      string
	Role      string
	Prefix    string
	KeyHash   string
	CreatedAt time.Time
	RevokedAt *time.Time
}

func (apiKeyRow) TableName(n schema.Namer) string { return n.TableName("api_key") }

var errUnauthenticated = kefu.Errorf(kefu.EAuth, "invalid or expired credentials")

// Login checks a password and opens a session. Every failure is the same
// unauthenticated error, so the answer does not tell which part was wrong.
func (s *Service) Login(ctx context.Context, slug, email, password string) (string, User, error) {
	fields := map[string]string{}
	checkText(fields, "tenant", slug, 100)
	checkText(fields, "email", email, 254)
	checkText(fields, "password", password, 256)
	if len(fields) > 0 {
		return "", User{}, kefu.Invalid(fields)
	}
	t, err := s.TenantBySlug(ctx, slug)
	if kefu.Code(err) == kefu.ENotFound {
		CheckPassword(dummyHash, password)
		return "", User{}, errUnauthenticated
	}
	if err != nil {
		return "", User{}, err
	}
	row, err := s.userRow(ctx, t.ID, "email = ?", strings.ToLower(strings.TrimSpace(email)))
	if kefu.Code(err) == kefu.ENotFound {
		CheckPassword(dummyHash, password)
		return "", User{}, errUnauthenticated
	}
	if err != nil {
		return "", User{}, err
	}
	if !CheckPassword(row.PasswordHash, password) {
		return "", User{}, errUnauthenticated
	}
	token, err := s.createSession(ctx, t.ID, row.ID)
	if err != nil {
		return "", User{}, err
	}
	return token, row.user(), nil
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

// Logout revokes the session the principal came from (a no-op for others).
func (s *Service) Logout(ctx context.Context, p Principal) error {
	if p.Kind != KindUser || p.tokenHash == "" {
		return nil
	}
	return s.store.Platform().WithContext(ctx).Delete(&sessionRow{}, "token_hash = ?", p.tokenHash).Error
}

// Authenticate verifies a bearer token of any kind: a session token, an API
// key or a visitor token. Errors: unauthenticated.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	if len(token) > 512 {
		return Principal{}, errUnauthenticated
	}
	switch {
	case strings.HasPrefix(token, sessionPrefix):
		return s.authSession(ctx, token)
	case strings.HasPrefix(token, visitorPrefix):
		c, ok := parseVisitor(s.secret, token, s.now())
		if !ok {
			return Principal{}, errUnauthenticated
		}
		return Principal{Kind: KindVisitor, TenantID: c.Tenant, ID: c.Visitor}, nil
	case strings.HasPrefix(token, apiKeyPrefix):
		return s.authAPIKey(ctx, token)
	}
	return Principal{}, errUnauthenticated
}

func (s *Service) authSession(ctx context.Context, token string) (Principal, error) {
	var row sessionRow
	h := hashToken(token)
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
	return Principal{Kind: KindUser, TenantID: row.TenantID, ID: u.ID, Name: u.Name, Role: u.Role, tokenHash: h}, nil
}

func (s *Service) authAPIKey(ctx context.Context, token string) (Principal, error) {
	var row apiKeyRow
	err := s.store.Platform().WithContext(ctx).Where("key_hash = ? AND revoked_at IS NULL", hashToken(token)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Principal{}, errUnauthenticated
	}
	if err != nil {
		return Principal{}, err
	}
	return Principal{Kind: KindAPIKey, TenantID: row.TenantID, ID: row.ID, Name: row.Name, Role: row.Role}, nil
}

// VisitorToken signs a token for a visitor of the tenant.
func (s *Service) VisitorToken(tenantID, visitorID string) string {
	return signVisitor(s.secret, visitorClaims{Tenant: tenantID, Visitor: visitorID, Expires: s.now().Add(s.visitorTTL).Unix()})
}

// APIKey is an API key as listed (the key itself is shown once, at creation).
type APIKey struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Prefix    string    `json:"prefix"`
	CreatedAt time.Time `json:"created_at"`
}

func (r apiKeyRow) key() APIKey {
	return APIKey{ID: r.ID, Name: r.Name, Role: r.Role, Prefix: r.Prefix, CreatedAt: r.CreatedAt}
}

// CreateAPIKey makes a key with role developer or admin and returns it with
// the plaintext key, which is not stored.
func (s *Service) CreateAPIKey(ctx context.Context, tenantID, name, role string) (APIKey, string, error) {
	name = strings.TrimSpace(name)
	fields := map[string]string{}
	checkText(fields, "name", name, 100)
	if role == "" {
		role = RoleDeveloper
	}
	if role != RoleDeveloper && role != RoleAdmin {
		fields["role"] = "must be developer or admin"
	}
	if len(fields) > 0 {
		return APIKey{}, "", kefu.Invalid(fields)
	}
	key := randomToken(apiKeyPrefix)
	row := apiKeyRow{ID: NewID(), TenantID: tenantID, Name: name, Role: role, Prefix: key[:10], KeyHash: hashToken(key), CreatedAt: s.now()}
	if err := s.store.Platform().WithContext(ctx).Create(&row).Error; err != nil {
		return APIKey{}, "", err
	}
	return row.key(), key, nil
}

// APIKeys lists the tenant's live keys.
func (s *Service) APIKeys(ctx context.Context, tenantID string) ([]APIKey, error) {
	var rows []apiKeyRow
	if err := s.store.Platform().WithContext(ctx).Where("tenant_id = ? AND revoked_at IS NULL", tenantID).Order("created_at").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]APIKey, len(rows))
	for i, r := range rows {
		out[i] = r.key()
	}
	return out, nil
}

// RevokeAPIKey revokes a key of the tenant; not_found for another tenant's.
func (s *Service) RevokeAPIKey(ctx context.Context, tenantID, id string) error {
	now := s.now()
	res := s.store.Platform().WithContext(ctx).Model(&apiKeyRow{}).Where("id = ? AND tenant_id = ? AND revoked_at IS NULL", id, tenantID).Update("revoked_at", &now)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return kefu.Errorf(kefu.ENotFound, "no such API key")
	}
	return nil
}
