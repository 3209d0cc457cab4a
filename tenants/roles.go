package tenants

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"kefu"
)

// Catalogue lists every permission ("object:action") a role can hold, in
// the order the admin's role table shows them.
var Catalogue = []string{
	ObjConversations + ":" + ActRead, ObjConversations + ":" + ActWrite, ObjConversations + ":" + ActAssign,
	ObjContacts + ":" + ActRead, ObjContacts + ":" + ActWrite,
	ObjAgents + ":" + ActRead, ObjAgents + ":" + ActWrite,
	ObjReports + ":" + ActRead,
	ObjFlows + ":" + ActRead, ObjFlows + ":" + ActWrite,
	ObjKnowledge + ":" + ActRead, ObjKnowledge + ":" + ActWrite,
	ObjBots + ":" + ActRead, ObjBots + ":" + ActWrite,
	ObjWebhooks + ":" + ActRead, ObjWebhooks + ":" + ActWrite,
	ObjAPIKeys + ":" + ActRead, ObjAPIKeys + ":" + ActWrite,
	ObjTenant + ":" + ActRead, ObjTenant + ":" + ActWrite,
}

// builtInRoles are the roles every tenant has; the owner's cannot be
// edited (it holds every permission, so nobody locks the workspace out).
var builtInRoles = []string{RoleOwner, RoleAdmin, RoleSupervisor, RoleAgent, RoleDeveloper}

// MaxCustomRoles bounds the custom roles of a tenant.
const MaxCustomRoles = 50

var roleName = regexp.MustCompile(`^[a-z][a-z0-9_-]{1,29}$`)

type roleRow struct {
	Name      string `gorm:"primaryKey"`
	CreatedAt time.Time
}

func (roleRow) TableName(n schema.Namer) string { return n.TableName("role") }

// Role is a role of the tenant with the permissions it holds.
type Role struct {
	Name        string   `json:"name"`
	BuiltIn     bool     `json:"built_in"`
	Editable    bool     `json:"editable"`
	Permissions []string `json:"permissions"`
	Users       int      `json:"users"`
}

// Roles lists the tenant's roles, built-in ones first.
func (s *Service) Roles(ctx context.Context, tenantID string) ([]Role, error) {
	db, err := s.store.Tenant(tenantID)
	if err != nil {
		return nil, err
	}
	var custom []roleRow
	if err := db.WithContext(ctx).Order("name").Limit(MaxCustomRoles).Find(&custom).Error; err != nil {
		return nil, err
	}
	var counts []struct {
		Role string
		N    int
	}
	if err := db.WithContext(ctx).Model(&userRow{}).Select("role, COUNT(*) AS n").Where("deleted_at IS NULL").Group("role").Scan(&counts).Error; err != nil {
		return nil, err
	}
	users := map[string]int{}
	for _, c := range counts {
		users[c.Role] = c.N
	}
	names := slices.Clone(builtInRoles)
	for _, r := range custom {
		names = append(names, r.Name)
	}
	out := make([]Role, 0, len(names))
	for i, n := range names {
		perms, err := s.Permissions(tenantID, n)
		if err != nil {
			return nil, err
		}
		out = append(out, Role{Name: n, BuiltIn: i < len(builtInRoles), Editable: n != RoleOwner, Permissions: perms, Users: users[n]})
	}
	return out, nil
}

// Role returns one role of the tenant; not_found when it has none by that name.
func (s *Service) Role(ctx context.Context, tenantID, name string) (Role, error) {
	roles, err := s.Roles(ctx, tenantID)
	if err != nil {
		return Role{}, err
	}
	for _, r := range roles {
		if r.Name == name {
			return r, nil
		}
	}
	return Role{}, kefu.Errorf(kefu.ENotFound, "no such role")
}

// isCustomRole reports whether name is one of the tenant's custom roles.
func (s *Service) isCustomRole(ctx context.Context, tenantID, name string) (bool, error) {
	if !roleName.MatchString(name) || slices.Contains(builtInRoles, name) {
		return false, nil
	}
	db, err := s.store.Tenant(tenantID)
	if err != nil {
		return false, err
	}
	var n int64
	err = db.WithContext(ctx).Model(&roleRow{}).Where("name = ?", name).Count(&n).Error
	return n > 0, err
}

// checkAssignableRole checks that a user may be given role in the tenant:
// agent, supervisor, admin or one of its custom roles (owners come only
// from signup; developer is for API keys).
func (s *Service) checkAssignableRole(ctx context.Context, tenantID, role string, fields map[string]string) error {
	switch role {
	case RoleAgent, RoleSupervisor, RoleAdmin:
		return nil
	}
	ok, err := s.isCustomRole(ctx, tenantID, role)
	if err != nil {
		return err
	}
	if !ok {
		fields["role"] = "must be agent, supervisor, admin or one of the workspace's roles"
	}
	return nil
}

// mayEditRoles: roles are edited by a signed-in owner or admin whose role
// may write the tenant's settings.
func (s *Service) mayEditRoles(actor Principal) error {
	if actor.Kind != KindUser || rankOf(actor.Role) < rankOf(RoleAdmin) {
		return kefu.Errorf(kefu.EDenied, "only the owner and admins edit roles")
	}
	ok, err := s.Can(actor, ObjTenant, ActWrite)
	if err != nil {
		return err
	}
	if !ok {
		return kefu.Errorf(kefu.EDenied, "your role may not edit roles")
	}
	return nil
}

func cleanPermissions(fields map[string]string, perms []string) []string {
	out := []string{}
	for _, p := range perms {
		if !slices.Contains(Catalogue, p) {
			fields["permissions"] = "unknown permission (see the catalogue)"
			continue
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// CreateRole adds a custom role with the permissions given. Errors:
// invalid_argument (name: 2-30 lowercase letters, digits, - or _, starting
// with a letter; permissions from Catalogue), permission_denied,
// already_exists, conflict (too many roles).
func (s *Service) CreateRole(ctx context.Context, actor Principal, name string, perms []string) (Role, error) {
	if err := s.mayEditRoles(actor); err != nil {
		return Role{}, err
	}
	fields := map[string]string{}
	if !roleName.MatchString(name) {
		fields["name"] = "must be 2-30 lowercase letters, digits, - or _, starting with a letter"
	}
	perms = cleanPermissions(fields, perms)
	if len(fields) > 0 {
		return Role{}, kefu.Invalid(fields)
	}
	if slices.Contains(builtInRoles, name) {
		return Role{}, &kefu.Error{Code: kefu.EExists, Message: "a role with this name already exists", Fields: map[string]string{"name": "is taken"}}
	}
	db, err := s.store.Tenant(actor.TenantID)
	if err != nil {
		return Role{}, err
	}
	current, err := s.builtInPolicies(actor.TenantID)
	if err != nil {
		return Role{}, err
	}
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&roleRow{}).Count(&n).Error; err != nil {
			return err
		}
		if n >= MaxCustomRoles {
			return kefu.Errorf(kefu.EConflict, "a workspace has at most %d custom roles", MaxCustomRoles)
		}
		if err := tx.Create(&roleRow{Name: name, CreatedAt: s.now()}).Error; err != nil {
			if isUniqueViolation(err) {
				return &kefu.Error{Code: kefu.EExists, Message: "a role with this name already exists", Fields: map[string]string{"name": "is taken"}}
			}
			return err
		}
		return writePermissions(tx, actor.TenantID, name, perms, current)
	})
	if err != nil {
		return Role{}, err
	}
	s.policiesChanged(ctx, actor.TenantID)
	return s.Role(ctx, actor.TenantID, name)
}

// UpdateRole sets the permissions of a role (built-in or custom; not the
// owner's). Errors: invalid_argument, permission_denied, not_found,
// conflict (the owner's role).
func (s *Service) UpdateRole(ctx context.Context, actor Principal, name string, perms []string) (Role, error) {
	if err := s.mayEditRoles(actor); err != nil {
		return Role{}, err
	}
	fields := map[string]string{}
	perms = cleanPermissions(fields, perms)
	if len(fields) > 0 {
		return Role{}, kefu.Invalid(fields)
	}
	if name == RoleOwner {
		return Role{}, kefu.Errorf(kefu.EConflict, "the owner's role holds every permission and cannot be edited")
	}
	if !slices.Contains(builtInRoles, name) {
		ok, err := s.isCustomRole(ctx, actor.TenantID, name)
		if err != nil {
			return Role{}, err
		}
		if !ok {
			return Role{}, kefu.Errorf(kefu.ENotFound, "no such role")
		}
	}
	db, err := s.store.Tenant(actor.TenantID)
	if err != nil {
		return Role{}, err
	}
	current, err := s.builtInPolicies(actor.TenantID)
	if err != nil {
		return Role{}, err
	}
	if err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return writePermissions(tx, actor.TenantID, name, perms, current)
	}); err != nil {
		return Role{}, err
	}
	s.policiesChanged(ctx, actor.TenantID)
	return s.Role(ctx, actor.TenantID, name)
}

// DeleteRole removes a custom role nobody holds. Errors: permission_denied,
// not_found, conflict (a built-in role; a role users still hold).
func (s *Service) DeleteRole(ctx context.Context, actor Principal, name string) error {
	if err := s.mayEditRoles(actor); err != nil {
		return err
	}
	if slices.Contains(builtInRoles, name) {
		return kefu.Errorf(kefu.EConflict, "built-in roles cannot be deleted")
	}
	ok, err := s.isCustomRole(ctx, actor.TenantID, name)
	if err != nil {
		return err
	}
	if !ok {
		return kefu.Errorf(kefu.ENotFound, "no such role")
	}
	db, err := s.store.Tenant(actor.TenantID)
	if err != nil {
		return err
	}
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&userRow{}).Where("role = ? AND deleted_at IS NULL", name).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return kefu.Errorf(kefu.EConflict, "%d users still hold this role; give them another first", n)
		}
		if err := tx.Where("ptype = 'p' AND v0 = ?", name).Delete(&casbinRule{}).Error; err != nil {
			return err
		}
		return tx.Where("name = ?", name).Delete(&roleRow{}).Error
	})
	if err != nil {
		return err
	}
	s.policiesChanged(ctx, actor.TenantID)
	return nil
}

// builtInPolicies is what each built-in role holds now (inherited
// permissions included), read before a transaction that rewrites them:
// loading policies inside it would wait for the one SQLite connection the
// transaction holds.
func (s *Service) builtInPolicies(tenantID string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, r := range builtInRoles {
		if r == RoleOwner {
			continue
		}
		have, err := s.Permissions(tenantID, r)
		if err != nil {
			return nil, err
		}
		out[r] = have
	}
	return out, nil
}

// writePermissions replaces the role's policies with perms. The built-in
// roles start out inheriting (owner > admin > supervisor > agent); the
// first edit writes each of them out in full (from current, read by
// builtInPolicies) and drops the inheritance, so that a change to one role
// changes that role only.
func writePermissions(tx *gorm.DB, tenantID, role string, perms []string, current map[string][]string) error {
	var g int64
	if err := tx.Model(&casbinRule{}).Where("ptype = 'g'").Count(&g).Error; err != nil {
		return err
	}
	if g > 0 {
		for r, have := range current {
			if err := replacePolicies(tx, tenantID, r, have); err != nil {
				return err
			}
		}
		if err := tx.Where("ptype = 'g'").Delete(&casbinRule{}).Error; err != nil {
			return err
		}
	}
	return replacePolicies(tx, tenantID, role, perms)
}

func replacePolicies(tx *gorm.DB, tenantID, role string, perms []string) error {
	if err := tx.Where("ptype = 'p' AND v0 = ?", role).Delete(&casbinRule{}).Error; err != nil {
		return err
	}
	if len(perms) == 0 {
		return nil
	}
	rows := make([]casbinRule, 0, len(perms))
	for _, p := range perms {
		obj, act, ok := strings.Cut(p, ":")
		if !ok {
			return fmt.Errorf("bad permission %q", p)
		}
		rows = append(rows, toRow("p", []string{role, tenantID, obj, act}))
	}
	return tx.Create(&rows).Error
}

// policiesChanged drops this node's enforcer of the tenant and tells the
// others (through the account events the chat service puts on the bus).
func (s *Service) policiesChanged(ctx context.Context, tenantID string) {
	s.DropPolicies(tenantID)
	s.announce(ctx, AccountEvent{Kind: AccountPoliciesChanged, TenantID: tenantID})
}

// DropPolicies forgets the tenant's loaded policies (all tenants' when
// tenantID is empty); the next check loads them afresh. Every node calls
// it when any node changes a tenant's roles.
func (s *Service) DropPolicies(tenantID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tenantID == "" {
		s.enforcers.Purge()
		return
	}
	s.enforcers.Remove(tenantID)
}
