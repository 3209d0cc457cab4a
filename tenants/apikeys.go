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

type apiKeyRow struct {
	ID        string `gorm:"primaryKey"`
	TenantID  string
	Name      string
	Role      string
	Prefix    string
	KeyHash   string
	CreatedBy *string
	CreatedAt time.Time
	RevokedAt *time.Time
}

func (apiKeyRow) TableName(n schema.Namer) string { return n.TableName("api_key") }

// APIKey is an API key as listed (the key itself is shown once, at creation).
type APIKey struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Prefix    string    `json:"prefix"`
	CreatedBy string    `json:"created_by"` // the user who made it; empty for keys older than the rule
	CreatedAt time.Time `json:"created_at"`
}

func (r apiKeyRow) key() APIKey {
	k := APIKey{ID: r.ID, Name: r.Name, Role: r.Role, Prefix: r.Prefix, CreatedAt: r.CreatedAt}
	if r.CreatedBy != nil {
		k.CreatedBy = *r.CreatedBy
	}
	return k
}

// keyAllowed is the rule that ties a key to its creator: a key works only
// while its creator may still manage keys, and an admin key only while its
// creator is an admin or the owner. So a key never acts above its
// creator's current role; demoting the creator below that revokes the key.
func (s *Service) keyAllowed(tenantID, creatorRole, keyRole string) (bool, error) {
	ok, err := s.Can(Principal{TenantID: tenantID, Role: creatorRole}, ObjAPIKeys, ActWrite)
	if err != nil || !ok {
		return false, err
	}
	return keyRole != RoleAdmin || rankOf(creatorRole) >= rankOf(RoleAdmin), nil
}

func (s *Service) authAPIKey(ctx context.Context, h string) (Principal, error) {
	var row apiKeyRow
	err := s.store.Platform().WithContext(ctx).Where("key_hash = ? AND revoked_at IS NULL", h).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Principal{}, errUnauthenticated
	}
	if err != nil {
		return Principal{}, err
	}
	if row.CreatedBy != nil {
		// Revocation on deactivation or demotion is stored, but the rule is
		// checked here too, so a key can never outlive its creator's rights
		// (a crash between the two writes, a policy edited since).
		creator, err := s.userRow(ctx, row.TenantID, "id = ?", *row.CreatedBy)
		if kefu.Code(err) == kefu.ENotFound {
			return Principal{}, errUnauthenticated
		}
		if err != nil {
			return Principal{}, err
		}
		if creator.DeactivatedAt != nil || creator.DeletedAt != nil {
			return Principal{}, errUnauthenticated
		}
		ok, err := s.keyAllowed(row.TenantID, creator.Role, row.Role)
		if err != nil {
			return Principal{}, err
		}
		if !ok {
			return Principal{}, errUnauthenticated
		}
	}
	p := Principal{Kind: KindAPIKey, TenantID: row.TenantID, ID: row.ID, Name: row.Name, Role: row.Role, tokenHash: h}
	if row.CreatedBy != nil {
		p.keyCreator = *row.CreatedBy
	}
	return p, nil
}

// CreateAPIKey makes a key with role developer or admin for the actor's
// tenant and returns it with the plaintext key, which is not stored. A
// signed-in person who may manage keys makes keys of either role up to
// their own (an admin key needs an admin or the owner); an admin key may
// make developer keys only, which belong to the person who made it, so no
// key outlives its person's rights (see keyAllowed). Errors:
// invalid_argument, permission_denied.
func (s *Service) CreateAPIKey(ctx context.Context, actor Principal, name, role string) (APIKey, string, error) {
	creator := actor.ID
	switch {
	case actor.Kind == KindAPIKey && actor.Role == RoleAdmin && actor.keyCreator != "":
		if role != RoleDeveloper {
			return APIKey{}, "", kefu.Errorf(kefu.EDenied, "an API key may make developer keys only")
		}
		creator = actor.keyCreator
	case actor.Kind != KindUser:
		return APIKey{}, "", kefu.Errorf(kefu.EDenied, "this principal may not make API keys")
	}
	if ok, err := s.Can(actor, ObjAPIKeys, ActWrite); err != nil || !ok {
		return APIKey{}, "", denyOr(err, "your role may not manage API keys")
	}
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
	if ok, err := s.keyAllowed(actor.TenantID, actor.Role, role); err != nil || !ok {
		return APIKey{}, "", denyOr(err, "you may not make a key with a role above your own")
	}
	key := randomToken(apiKeyPrefix)
	row := apiKeyRow{ID: NewID(), TenantID: actor.TenantID, Name: name, Role: role, Prefix: key[:10], KeyHash: hashToken(key), CreatedBy: &creator, CreatedAt: s.now()}
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
	s.announce(ctx, AccountEvent{Kind: AccountKeyRevoked, TenantID: tenantID, UserID: id})
	return nil
}

// revokeKeysOf revokes the live keys the user made that the key rule no
// longer allows with the user's role now (all of them when role is empty:
// the user is gone).
func (s *Service) revokeKeysOf(ctx context.Context, tenantID, userID, role string) error {
	var rows []apiKeyRow
	if err := s.store.Platform().WithContext(ctx).Where("tenant_id = ? AND created_by = ? AND revoked_at IS NULL", tenantID, userID).Find(&rows).Error; err != nil {
		return err
	}
	for _, r := range rows {
		if role != "" {
			ok, err := s.keyAllowed(tenantID, role, r.Role)
			if err != nil {
				return err
			}
			if ok {
				continue
			}
		}
		if err := s.RevokeAPIKey(ctx, tenantID, r.ID); err != nil && kefu.Code(err) != kefu.ENotFound {
			return err
		}
	}
	return nil
}

// denyOr returns err if there is one, else permission_denied with msg.
func denyOr(err error, msg string) error {
	if err != nil {
		return err
	}
	return kefu.Errorf(kefu.EDenied, "%s", msg)
}
