package tenants

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
	"gorm.io/gorm/schema"

	"kefu"
)

// Objects and actions that RBAC decides on.
const (
	ObjConversations = "conversations"
	ObjAgents        = "agents"
	ObjAPIKeys       = "api_keys"
	ObjTenant        = "tenant"
	ObjFlows         = "flows"
	ObjContacts      = "contacts"
	ObjWebhooks      = "webhooks"
	ObjKnowledge     = "knowledge" // FAQ entries and articles
	ObjBots          = "bots"      // the model and the bots' settings
	ObjReports       = "reports"

	ActRead   = "read"
	ActWrite  = "write"
	ActAssign = "assign"
)

// The RBAC model: roles inherit within a tenant domain (owner > admin >
// supervisor > agent); developer is separate. Policies are rows in each
// tenant's casbin_rules table, so a tenant can edit its own.
const rbacModel = `
[request_definition]
r = sub, dom, obj, act
[policy_definition]
p = sub, dom, obj, act
[role_definition]
g = _, _, _
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && r.obj == p.obj && r.act == p.act
`

// defaultPolicies returns the policies a new tenant starts with.
func defaultPolicies(dom string) (p, g [][]string) {
	allow := func(role, obj string, acts ...string) {
		for _, a := range acts {
			p = append(p, []string{role, dom, obj, a})
		}
	}
	allow(RoleAgent, ObjConversations, ActRead, ActWrite)
	allow(RoleAgent, ObjAgents, ActRead)
	allow(RoleAgent, ObjContacts, ActRead)
	allow(RoleSupervisor, ObjConversations, ActAssign)
	allow(RoleSupervisor, ObjContacts, ActWrite)
	allow(RoleSupervisor, ObjReports, ActRead)
	allow(RoleAdmin, ObjAgents, ActWrite)
	allow(RoleAdmin, ObjAPIKeys, ActRead, ActWrite)
	allow(RoleAdmin, ObjTenant, ActRead, ActWrite)
	allow(RoleAdmin, ObjFlows, ActRead, ActWrite)
	allow(RoleAdmin, ObjWebhooks, ActRead, ActWrite)
	allow(RoleAdmin, ObjKnowledge, ActRead, ActWrite)
	allow(RoleAdmin, ObjBots, ActRead, ActWrite)
	allow(RoleAgent, ObjTenant, ActRead)
	allow(RoleDeveloper, ObjConversations, ActRead, ActWrite, ActAssign)
	allow(RoleDeveloper, ObjContacts, ActRead, ActWrite)
	allow(RoleDeveloper, ObjAgents, ActRead)
	allow(RoleDeveloper, ObjTenant, ActRead)
	g = [][]string{
		{RoleOwner, RoleAdmin, dom},
		{RoleAdmin, RoleSupervisor, dom},
		{RoleSupervisor, RoleAgent, dom},
	}
	return p, g
}

type casbinRule struct {
	ID    int64 `gorm:"primaryKey"`
	Ptype string
	V0    string
	V1    string
	V2    string
	V3    string
	V4    string
	V5    string
}

func (casbinRule) TableName(n schema.Namer) string { return n.TableName("casbin_rule") }

// ruleAdapter is a casbin persist.Adapter over one tenant's casbin_rules.
type ruleAdapter struct{ db *DB }

var _ persist.Adapter = ruleAdapter{}

func (a ruleAdapter) LoadPolicy(m model.Model) error {
	var rows []casbinRule
	if err := a.db.Order("id").Find(&rows).Error; err != nil {
		return err
	}
	for _, r := range rows {
		rule := []string{r.Ptype, r.V0, r.V1, r.V2, r.V3, r.V4, r.V5}
		for len(rule) > 1 && rule[len(rule)-1] == "" {
			rule = rule[:len(rule)-1]
		}
		if err := persist.LoadPolicyArray(rule, m); err != nil {
			return err
		}
	}
	return nil
}

func toRow(ptype string, rule []string) casbinRule {
	r := casbinRule{Ptype: ptype}
	v := []*string{&r.V0, &r.V1, &r.V2, &r.V3, &r.V4, &r.V5}
	for i, x := range rule {
		if i < len(v) {
			*v[i] = x
		}
	}
	return r
}

func (a ruleAdapter) SavePolicy(m model.Model) error {
	return fmt.Errorf("casbin: SavePolicy is not supported; policies change one rule at a time")
}

func (a ruleAdapter) AddPolicy(sec, ptype string, rule []string) error {
	r := toRow(ptype, rule)
	return a.db.Create(&r).Error
}

func (a ruleAdapter) RemovePolicy(sec, ptype string, rule []string) error {
	r := toRow(ptype, rule)
	return a.db.Where("ptype = ? AND v0 = ? AND v1 = ? AND v2 = ? AND v3 = ? AND v4 = ? AND v5 = ?", r.Ptype, r.V0, r.V1, r.V2, r.V3, r.V4, r.V5).Delete(&casbinRule{}).Error
}

func (a ruleAdapter) RemoveFilteredPolicy(sec, ptype string, fieldIndex int, fieldValues ...string) error {
	q := a.db.Where("ptype = ?", ptype)
	for i, v := range fieldValues {
		if v != "" {
			q = q.Where(fmt.Sprintf("v%d = ?", fieldIndex+i), v)
		}
	}
	return q.Delete(&casbinRule{}).Error
}

type enforcerEntry struct {
	once sync.Once
	e    *casbin.SyncedEnforcer
	err  error
}

func (s *Service) enforcer(tenantID string) (*casbin.SyncedEnforcer, error) {
	s.mu.Lock()
	ent, ok := s.enforcers.Get(tenantID)
	if !ok {
		ent = &enforcerEntry{}
		s.enforcers.Add(tenantID, ent)
	}
	s.mu.Unlock()
	ent.once.Do(func() {
		db, err := s.store.Tenant(tenantID)
		if err != nil {
			ent.err = err
			return
		}
		m, err := model.NewModelFromString(rbacModel)
		if err != nil {
			ent.err = err
			return
		}
		ent.e, ent.err = casbin.NewSyncedEnforcer(m, ruleAdapter{db: db})
	})
	if ent.err != nil {
		s.mu.Lock()
		s.enforcers.Remove(tenantID)
		s.mu.Unlock()
	}
	return ent.e, ent.err
}

func (s *Service) seedPolicies(ctx context.Context, tenantID string) error {
	db, err := s.store.Tenant(tenantID)
	if err != nil {
		return err
	}
	p, g := defaultPolicies(tenantID)
	var rows []casbinRule
	for _, r := range p {
		rows = append(rows, toRow("p", r))
	}
	for _, r := range g {
		rows = append(rows, toRow("g", r))
	}
	return db.WithContext(ctx).Create(&rows).Error
}

// Can reports whether the principal may act on obj in its tenant. Visitors
// may do nothing here (their few rights are checked by the chat service).
func (s *Service) Can(p Principal, obj, act string) (bool, error) {
	if p.Role == "" {
		return false, nil
	}
	e, err := s.enforcer(p.TenantID)
	if err != nil {
		return false, err
	}
	if p.Role == RoleOwner {
		// The owner of a workspace holds every permission, whatever the
		// policies say: no edit of the roles locks it out.
		_, err := s.Tenant(context.Background(), p.TenantID)
		if kefu.Code(err) == kefu.ENotFound {
			return false, nil
		}
		return err == nil, err
	}
	return e.Enforce(p.Role, p.TenantID, obj, act)
}

// Permissions lists "obj:act" strings the role has in the tenant.
func (s *Service) Permissions(tenantID, role string) ([]string, error) {
	if role == RoleOwner {
		out := slices.Clone(Catalogue)
		sort.Strings(out)
		return out, nil
	}
	e, err := s.enforcer(tenantID)
	if err != nil {
		return nil, err
	}
	perms, err := e.GetImplicitPermissionsForUser(role, tenantID)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := []string{}
	for _, p := range perms {
		if len(p) >= 4 {
			k := strings.Join(p[2:4], ":")
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}
