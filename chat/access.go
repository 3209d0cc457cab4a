package chat

import (
	"context"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"kefu"
	"kefu/tenants"
)

// Who sees what. A visitor sees their own conversations. Supervisors,
// admins, owners and API keys see every conversation of their tenant. An
// agent sees the conversations assigned to them, those nobody has (the bot's
// and the queue), and those of their teams — or every one, when the tenant
// lets agents see all (tenants.Tenant.AgentsSeeAll). The same rule filters
// every read: REST, the socket's subscribe, catch-up and resync, and the
// conversation lists.

// Scope is what a principal may see of its tenant's conversations.
type Scope struct {
	All     bool     // every conversation of the tenant
	Visitor string   // a visitor: only theirs
	Agent   string   // an agent: theirs, unassigned, or their teams'
	Teams   []string // the agent's teams
}

// CanSee reports whether a conversation with this visitor, assignee and team
// is within the scope.
func (sc Scope) CanSee(visitorID, assigneeID, team string) bool {
	switch {
	case sc.All:
		return true
	case sc.Visitor != "":
		return visitorID == sc.Visitor
	case sc.Agent != "":
		if assigneeID == "" || assigneeID == sc.Agent {
			return true
		}
		for _, t := range sc.Teams {
			if t != "" && t == team {
				return true
			}
		}
	}
	return false
}

// where is the scope as a condition on the conversations table's columns
// (unqualified: it is also used inside subqueries over that table).
func (sc Scope) where() (string, []any) {
	switch {
	case sc.All:
		return "", nil
	case sc.Visitor != "":
		return "visitor_id = ?", []any{sc.Visitor}
	case sc.Agent != "" && len(sc.Teams) > 0:
		return "(assignee_id = ? OR assignee_id IS NULL OR team IN ?)", []any{sc.Agent, sc.Teams}
	case sc.Agent != "":
		return "(assignee_id = ? OR assignee_id IS NULL)", []any{sc.Agent}
	}
	return "1 = 0", nil
}

// DefaultScopeTTL bounds how long a changed team membership or tenant
// setting takes to reach a node's checks.
const DefaultScopeTTL = 10 * time.Second

func newScopeCache(ttl time.Duration) *expirable.LRU[string, Scope] {
	return expirable.NewLRU[string, Scope](20000, nil, ttl)
}

// ScopeOf returns what p may see. An agent's teams and the tenant's setting
// are read once per Config.ScopeTTL.
func (s *Service) ScopeOf(ctx context.Context, p tenants.Principal) (Scope, error) {
	switch {
	case p.Kind == tenants.KindVisitor:
		return Scope{Visitor: p.ID}, nil
	case p.Kind == tenants.KindAPIKey, tenants.IsStaff(p.Role):
		return Scope{All: true}, nil
	case p.Kind != tenants.KindUser:
		return Scope{}, kefu.Errorf(kefu.EDenied, "no access to conversations")
	}
	key := p.TenantID + "/" + p.ID
	if sc, ok := s.scopes.Get(key); ok {
		return sc, nil
	}
	t, err := s.tenants.Tenant(ctx, p.TenantID)
	if err != nil {
		return Scope{}, err
	}
	sc := Scope{All: true}
	if !t.AgentsSeeAll {
		u, err := s.tenants.User(ctx, p.TenantID, p.ID)
		if err != nil {
			return Scope{}, err
		}
		sc = Scope{Agent: p.ID, Teams: u.Teams}
	}
	s.scopes.Add(key, sc)
	return sc, nil
}

// access loads a conversation the principal may see (see Scope). Anything
// else is not_found, whatever the id, so ids of other tenants, visitors or
// agents leak nothing.
func (s *Service) access(ctx context.Context, p tenants.Principal, convID string) (conversationRow, error) {
	if !kefu.CleanText(convID) { // no id has one; PostgreSQL would fail on a NUL
		return conversationRow{}, kefu.Errorf(kefu.ENotFound, "no such conversation")
	}
	sc, err := s.ScopeOf(ctx, p)
	if err != nil {
		return conversationRow{}, err
	}
	db, err := s.db(p.TenantID)
	if err != nil {
		return conversationRow{}, err
	}
	var rows []conversationRow
	q := db.WithContext(ctx).Where("id = ?", convID)
	if cond, args := sc.where(); cond != "" {
		q = q.Where(cond, args...)
	}
	if err := q.Limit(1).Find(&rows).Error; err != nil {
		return conversationRow{}, err
	}
	if len(rows) == 0 {
		return conversationRow{}, kefu.Errorf(kefu.ENotFound, "no such conversation")
	}
	return rows[0], nil
}

// MessagesAfter is the catch-up read of the WebSocket tier: p's view of the
// messages after seq, in order — nothing at all for a conversation outside
// p's scope, and no private notes for a visitor. The scope is checked in the
// same statement, so no read can run ahead of it.
func (s *Service) MessagesAfter(ctx context.Context, p tenants.Principal, sc Scope, convID string, afterSeq int64, limit int) ([]Message, error) {
	return s.messagesAfter(ctx, p.TenantID, sc, convID, afterSeq, limit, p.Kind == tenants.KindVisitor)
}

func (s *Service) messagesAfter(ctx context.Context, tenantID string, sc Scope, convID string, afterSeq int64, limit int, public bool) ([]Message, error) {
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	db, err := s.db(tenantID)
	if err != nil {
		return nil, err
	}
	var rows []messageRow
	q := db.WithContext(ctx).Where("conversation_id = ? AND seq > ?", convID, afterSeq)
	if public {
		q = q.Where("private = ?", false)
	}
	if cond, args := sc.where(); cond != "" {
		q = q.Where("EXISTS (SELECT 1 FROM "+db.Table("conversations")+" WHERE id = ? AND "+cond+")", append([]any{convID}, args...)...)
	}
	if err := q.Order("seq").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Message, len(rows))
	for i, r := range rows {
		out[i] = s.messageOf(tenantID, r)
	}
	return out, nil
}
