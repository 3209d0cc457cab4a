package chat

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"kefu"
	"kefu/tenants"
)

// Conversation returns one conversation with its visitor.
func (s *Service) Conversation(ctx context.Context, p tenants.Principal, convID string) (Conversation, error) {
	row, err := s.access(ctx, p, convID)
	if err != nil {
		return Conversation{}, err
	}
	return s.withVisitor(ctx, p.TenantID, row)
}

func (s *Service) withVisitor(ctx context.Context, tenantID string, row conversationRow) (Conversation, error) {
	vs, err := s.visitors(ctx, tenantID, []string{row.VisitorID})
	if err != nil {
		return Conversation{}, err
	}
	return row.conversation(vs[row.VisitorID]), nil
}

func (s *Service) visitors(ctx context.Context, tenantID string, ids []string) (map[string]Visitor, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return nil, err
	}
	var rows []visitorRow
	if len(ids) == 0 {
		return map[string]Visitor{}, nil
	}
	if err := db.WithContext(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]Visitor, len(rows))
	for _, r := range rows {
		out[r.ID] = r.visitor()
	}
	return out, nil
}

// ListFilter selects conversations.
type ListFilter struct {
	Status    string // empty: any
	Assignee  string // user id, "me", "none" or empty
	VisitorID string
	Limit     int
	Cursor    string
	OpenOnly  bool
	Label     string // only conversations with this label
	Team      string // only this team's (a team id)
	// Sort is "" or "-updated_at" (most recently active first),
	// "updated_at" (least recently first: with UpdatedSince, a sync),
	// "-created_at", "created_at", or "priority" (highest first, then most
	// recently active).
	Sort string
	// UpdatedSince keeps conversations updated at or after it. A
	// conversation's updated_at moves with every change and message, but at
	// most every few seconds for messages (see the group commit), so a sync
	// should overlap its windows by a few seconds.
	UpdatedSince *time.Time
	// WithTotal counts every conversation the filter selects (Page.Total).
	WithTotal bool
	// Snoozed is "" (leave out conversations snoozed now), "only" or
	// "include".
	Snoozed string
}

// Conversations lists conversations, most recently active first, with an
// opaque cursor for the next page. Errors: invalid_argument.
func (s *Service) Conversations(ctx context.Context, p tenants.Principal, f ListFilter) ([]Conversation, string, error) {
	pg, err := s.ConversationPage(ctx, p, f)
	return pg.Conversations, pg.Next, err
}

// Page is one page of a list of conversations.
type Page struct {
	Conversations []Conversation
	Next          string // the cursor of the next page; empty on the last
	Total         *int64 // every conversation the filter selects, when asked for
}

// sortKeys are the list orders: the column and whether it runs downwards.
var sortKeys = map[string]struct {
	col  string
	desc bool
}{
	"": {"updated_at", true}, "recent": {"updated_at", true}, "-updated_at": {"updated_at", true}, "updated_at": {"updated_at", false},
	"-created_at": {"created_at", true}, "created_at": {"created_at", false}, "priority": {"updated_at", true},
}

// ConversationPage lists conversations as Conversations does, with the
// total when f.WithTotal. Errors: invalid_argument.
func (s *Service) ConversationPage(ctx context.Context, p tenants.Principal, f ListFilter) (Page, error) {
	fields := map[string]string{}
	switch f.Status {
	case "", StatusBot, StatusQueued, StatusAssigned, StatusResolved:
	default:
		fields["status"] = "must be bot, queued, assigned or resolved"
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Limit < 1 || f.Limit > 200 {
		fields["limit"] = "must be between 1 and 200"
	}
	kefu.CheckText(fields, "assignee", f.Assignee)
	kefu.CheckText(fields, "label", f.Label)
	kefu.CheckText(fields, "team", f.Team)
	if len(f.Label) > 200 {
		fields["label"] = "must be at most 200 characters"
	}
	order, okSort := sortKeys[f.Sort]
	if !okSort {
		fields["sort"] = "must be updated_at, -updated_at, created_at, -created_at or priority"
	}
	switch f.Snoozed {
	case "", "only", "include":
	default:
		fields["snoozed"] = "must be only or include"
	}
	var after *cursor
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			fields["cursor"] = "is not a cursor this server gave"
		}
		after = &c
	}
	if len(fields) > 0 {
		return Page{}, kefu.Invalid(fields)
	}
	sc, err := s.ScopeOf(ctx, p)
	if err != nil {
		return Page{}, err
	}
	db, err := s.db(p.TenantID)
	if err != nil {
		return Page{}, err
	}
	q := db.WithContext(ctx).Model(&conversationRow{})
	if cond, args := sc.where(); cond != "" {
		q = q.Where(cond, args...)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.OpenOnly {
		q = q.Where("status <> ?", StatusResolved)
	}
	switch f.Assignee {
	case "":
	case "none":
		q = q.Where("assignee_id IS NULL")
	case "me":
		q = q.Where("assignee_id = ?", p.ID)
	default:
		q = q.Where("assignee_id = ?", f.Assignee)
	}
	if p.Kind == tenants.KindVisitor {
		f.VisitorID = p.ID
	}
	if f.VisitorID != "" {
		q = q.Where("visitor_id = ?", f.VisitorID)
	}
	if f.Label != "" {
		b, _ := json.Marshal(f.Label)
		q = q.Where("labels LIKE ? ESCAPE '\\'", "%"+likeEscape(string(b))+"%")
	}
	if f.Team != "" {
		q = q.Where("team = ?", f.Team)
	}
	if f.UpdatedSince != nil {
		q = q.Where("updated_at >= ?", f.UpdatedSince.UTC())
	}
	if p.Kind != tenants.KindVisitor {
		now := s.stamp()
		switch f.Snoozed {
		case "":
			q = q.Where(awake, now)
		case "only":
			q = q.Where("snoozed_until > ?", now)
		}
	}
	var page Page
	if f.WithTotal {
		var n int64
		if err := q.Session(&gorm.Session{}).Count(&n).Error; err != nil {
			return Page{}, err
		}
		page.Total = &n
	}
	byPriority := f.Sort == "priority"
	col, cmp, dir := order.col, "<", "DESC"
	if !order.desc {
		cmp, dir = ">", "ASC"
	}
	if after != nil {
		keyset := col + " " + cmp + " ? OR (" + col + " = ? AND id " + cmp + " ?)"
		if byPriority {
			q = q.Where("priority < ? OR (priority = ? AND ("+keyset+"))", after.prio, after.prio, after.at, after.at, after.id)
		} else {
			q = q.Where(keyset, after.at, after.at, after.id)
		}
	}
	orderBy := col + " " + dir + ", id " + dir
	if byPriority {
		orderBy = "priority DESC, " + orderBy
	}
	var rows []conversationRow
	if err := q.Order(orderBy).Limit(f.Limit + 1).Find(&rows).Error; err != nil {
		return Page{}, err
	}
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		last := rows[len(rows)-1]
		at := last.UpdatedAt
		if col == "created_at" {
			at = last.CreatedAt
		}
		page.Next = encodeCursor(cursor{at: at, id: last.ID, prio: last.Priority})
	}
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.VisitorID)
	}
	vs, err := s.visitors(ctx, p.TenantID, ids)
	if err != nil {
		return Page{}, err
	}
	page.Conversations = make([]Conversation, len(rows))
	for i, r := range rows {
		page.Conversations[i] = r.conversation(vs[r.VisitorID])
	}
	return page, nil
}

// cursor is where a page ended: the last row's time and id, and its
// priority for lists sorted by priority.
type cursor struct {
	at   time.Time
	id   string
	prio int
}

func encodeCursor(c cursor) string {
	s := strconv.FormatInt(c.at.UnixMicro(), 10) + "|" + c.id
	if c.prio != 0 {
		s += "|" + strconv.Itoa(c.prio)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func decodeCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, err
	}
	ts, rest, ok := strings.Cut(string(b), "|")
	id, ps, hasPrio := strings.Cut(rest, "|")
	us, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || id == "" || !kefu.CleanText(id) {
		return cursor{}, errors.New("bad cursor")
	}
	c := cursor{at: time.UnixMicro(us).UTC(), id: id}
	if hasPrio {
		if c.prio, err = strconv.Atoi(ps); err != nil || c.prio < 0 || c.prio >= len(priorities) {
			return cursor{}, errors.New("bad cursor")
		}
	}
	return c, nil
}

// likeEscape escapes LIKE's wildcards (the pattern's ESCAPE is a backslash).
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func (s *Service) publishConversation(ctx context.Context, tenantID string, row conversationRow, prevAssignee string) {
	c, err := s.withVisitor(ctx, tenantID, row)
	if err != nil {
		s.log.WarnContext(ctx, "conversation event", "tenant_id", tenantID, "err", err)
		return
	}
	s.publish(ctx, Event{Kind: EventConversation, TenantID: tenantID, ConversationID: row.ID, VisitorID: row.VisitorID, AssigneeID: row.assignee(), PrevAssigneeID: prevAssignee, Conversation: &c})
}

// AssignInput names an agent, a team, or both.
type AssignInput struct {
	AgentID string
	// TeamID gives the conversation to a team; Team names one the way
	// clients did before teams had ids (by id or name).
	TeamID string
	Team   string
	// Note, when set, is stored as a private note for the new assignee
	// before the conversation moves (a transfer note).
	Note string
	// TakeOnly: the caller takes the conversation for themselves and may
	// not take it from someone else (conflict when another agent has it).
	TakeOnly bool
}

// MaxNoteBytes bounds a transfer note.
const MaxNoteBytes = 4096

// Assign gives a conversation to an agent, to a team, or to an agent of a
// team; with a note it is a transfer, and the note is stored first as a
// private note. A team alone (TeamID) takes the conversation from an agent
// who is not in that team and puts it in the queue for the team. Errors:
// invalid_argument, not_found (conversation, agent or team), conflict.
func (s *Service) Assign(ctx context.Context, p tenants.Principal, convID string, in AssignInput) (Conversation, error) {
	fields := map[string]string{}
	if in.AgentID == "" && in.TeamID == "" && in.Team == "" {
		fields["agent_id"] = "give agent_id or team_id"
	}
	if in.TeamID != "" && in.Team != "" {
		fields["team"] = "give team_id or team, not both"
	}
	for k, v := range map[string]string{"agent_id": in.AgentID, "team_id": in.TeamID, "team": in.Team} {
		if len(v) > 100 {
			fields[k] = "must be at most 100 characters"
		} else if pr := kefu.TextProblem(v); pr != "" {
			fields[k] = pr
		}
	}
	if len(in.Note) > MaxNoteBytes {
		fields["note"] = fmt.Sprintf("must be at most %d bytes", MaxNoteBytes)
	} else {
		kefu.CheckText(fields, "note", in.Note)
	}
	if len(fields) > 0 {
		return Conversation{}, kefu.Invalid(fields)
	}
	if _, err := s.access(ctx, p, convID); err != nil {
		return Conversation{}, err
	}
	teamID := in.TeamID
	if teamID == "" && in.Team != "" {
		id, err := s.tenants.TeamID(ctx, p.TenantID, in.Team)
		if err != nil {
			return Conversation{}, err
		}
		if id == "" {
			return Conversation{}, &kefu.Error{Code: kefu.ENotFound, Message: "no such team", Fields: map[string]string{"team": "no such team"}}
		}
		teamID = id
	}
	var team tenants.Team
	if teamID != "" {
		t, err := s.tenants.Team(ctx, p.TenantID, teamID)
		if err != nil {
			if kefu.Code(err) == kefu.ENotFound {
				return Conversation{}, &kefu.Error{Code: kefu.ENotFound, Message: "no such team", Fields: map[string]string{"team_id": "no such team"}}
			}
			return Conversation{}, err
		}
		team = t
	}
	var agent tenants.User
	if in.AgentID != "" {
		a, err := s.tenants.User(ctx, p.TenantID, in.AgentID)
		if err != nil {
			if kefu.Code(err) == kefu.ENotFound {
				return Conversation{}, &kefu.Error{Code: kefu.ENotFound, Message: "no such agent", Fields: map[string]string{"agent_id": "no such agent"}}
			}
			return Conversation{}, err
		}
		if !a.Active {
			return Conversation{}, &kefu.Error{Code: kefu.EConflict, Message: "this agent is deactivated", Fields: map[string]string{"agent_id": "is deactivated"}}
		}
		agent = a
	}
	if strings.TrimSpace(in.Note) != "" {
		if _, _, err := s.Send(ctx, p, SendInput{ConversationID: convID, Body: in.Note, Private: true}); err != nil {
			return Conversation{}, err
		}
	}
	if agent.ID == "" {
		conv, err := s.toTeam(ctx, p.TenantID, convID, team, in.TeamID != "")
		if err == nil {
			s.publishQueueSoon(p.TenantID)
			s.background(func() { s.observe(context.Background(), Happening{What: CapacityFreed, TenantID: p.TenantID}) })
		}
		return conv, err
	}
	mode := assignByPerson
	if in.TakeOnly {
		mode = assignTake
	}
	conv, err := s.assign(ctx, p.TenantID, convID, agent.ID, agent.Name, team.ID, mode)
	if errors.Is(err, errAtCap) {
		// Only a deactivation between the check above and the update.
		return Conversation{}, &kefu.Error{Code: kefu.EConflict, Message: "this agent is deactivated", Fields: map[string]string{"agent_id": "is deactivated"}}
	}
	if err == nil {
		s.publishQueueSoon(p.TenantID)
	}
	return conv, err
}

// toTeam gives a conversation to a team. With transfer, an agent of the
// team keeps it and from anyone else it goes back to the queue, where the
// team's members see it; without (the legacy {team} body), the assignee
// stays and the team only labels it.
func (s *Service) toTeam(ctx context.Context, tenantID, convID string, team tenants.Team, transfer bool) (Conversation, error) {
	return s.update(ctx, tenantID, convID, func(tx *gorm.DB, db *tenants.DB, c *conversationRow) (*note, error) {
		requeue := transfer && c.Status == StatusAssigned && !slices.Contains(team.Members, c.assignee())
		if c.Team == team.ID && !requeue {
			return nil, errUnchanged
		}
		c.Team = team.ID
		if requeue {
			if _, err := adjustLoad(tx, db, c.assignee(), -1, false); err != nil {
				return nil, err
			}
			now := s.stamp()
			c.AssigneeID, c.Status, c.QueuedAt, c.FlowNode, c.QueueDeadline = nil, StatusQueued, &now, nil, nil
		}
		return newNote(NoteTeamAssigned, "team", team.Name, "team_id", team.ID), nil
	})
}

// Unassign takes a conversation from its agent and puts it back in the
// queue (for its team, if it has one). Errors: not_found, conflict when it
// is resolved.
func (s *Service) Unassign(ctx context.Context, p tenants.Principal, convID string) (Conversation, error) {
	if _, err := s.access(ctx, p, convID); err != nil {
		return Conversation{}, err
	}
	conv, err := s.update(ctx, p.TenantID, convID, func(tx *gorm.DB, db *tenants.DB, c *conversationRow) (*note, error) {
		switch c.Status {
		case StatusResolved:
			return nil, kefu.Errorf(kefu.EConflict, "the conversation is resolved")
		case StatusAssigned:
		default:
			return nil, errUnchanged
		}
		if _, err := adjustLoad(tx, db, c.assignee(), -1, false); err != nil {
			return nil, err
		}
		now := s.stamp()
		c.AssigneeID, c.Status, c.QueuedAt, c.FlowNode, c.QueueDeadline = nil, StatusQueued, &now, nil, nil
		return newNote(NoteUnassigned), nil
	})
	if err == nil {
		s.publishQueueSoon(p.TenantID)
	}
	return conv, err
}

// How an assignment is made.
type assignMode int

const (
	assignByPerson assignMode = iota // a supervisor (or a key) gives it to someone
	assignTake                       // an agent takes it; not from another agent
	assignAuto                       // routing: only from the bot or the queue, within caps
)

// assign gives convID to the agent, moves the load counters, and stores a
// system message. Routing's own assignment only takes a conversation that is
// still with the bot or queued, and only below the agent's cap (errAtCap
// otherwise); a person assigning may exceed caps.
func (s *Service) assign(ctx context.Context, tenantID, convID, agentID, agentName, team string, mode assignMode) (Conversation, error) {
	var marked int64
	conv, err := s.assignRow(ctx, tenantID, convID, agentID, agentName, team, mode, &marked)
	if err == nil && conv.Status == StatusAssigned && conv.AssigneeID == agentID {
		// A person has it: a model call still pending is dropped (marked
		// so in the assignment's transaction).
		s.superseded(ctx, tenantID, convID, callCancelled, marked)
	}
	return conv, err
}

func (s *Service) assignRow(ctx context.Context, tenantID, convID, agentID, agentName, team string, mode assignMode, marked *int64) (Conversation, error) {
	a := s.assignChange(agentID, agentName, team, mode)
	conv, err := s.updateThen(ctx, tenantID, convID, a.change, func(tx *gorm.DB, db *tenants.DB) error {
		n, err := supersedeTx(tx, db, convID, callCancelled, s.stamp())
		if err != nil {
			return err
		}
		*marked = n
		return applyLoads(tx, db, a.loads)
	})
	if err == nil {
		s.assigned(ctx, tenantID, convID, conv, a)
	}
	return conv, err
}

// assignment is one conversation being given to an agent: its change (for
// update) and what the change found, for assigned.
type assignment struct {
	change    func(tx *gorm.DB, db *tenants.DB, c *conversationRow) (*note, error)
	loads     []loadDelta // the agents' counters to move, last in the transaction
	wasQueued bool
	queuedAt  *time.Time
}

func (s *Service) assignChange(agentID, agentName, team string, mode assignMode) *assignment {
	auto := mode == assignAuto
	a := &assignment{}
	a.change = func(tx *gorm.DB, db *tenants.DB, c *conversationRow) (*note, error) {
		a.wasQueued = c.Status == StatusQueued
		if auto && c.Status != StatusQueued && c.Status != StatusBot {
			return nil, errUnchanged
		}
		if mode == assignTake && c.Status == StatusAssigned && c.assignee() != agentID {
			return nil, kefu.Errorf(kefu.EConflict, "the conversation is assigned to someone else; ask a supervisor to transfer it")
		}
		if c.assignee() == agentID && c.Status == StatusAssigned {
			return nil, errUnchanged
		}
		// The agents' counters move last, just before the commit: the
		// row lock on an agent's counter is what every conversation being
		// given to that agent waits for, so it is held for one statement
		// and the commit, not for the whole transaction.
		a.loads = a.loads[:0]
		if c.Status == StatusAssigned {
			a.loads = append(a.loads, loadDelta{user: c.assignee(), delta: -1})
		}
		a.loads = append(a.loads, loadDelta{user: agentID, delta: 1, capped: auto})
		a.queuedAt = c.QueuedAt
		if c.QueuedAt != nil && c.Status == StatusQueued {
			// Out of the queue to an agent: the estimate learns from it.
			if err := recordExit(tx, db, c.ID, *c.QueuedAt, s.stamp()); err != nil {
				return nil, err
			}
		}
		n := newNote(NoteAssigned, "agent_id", agentID, "agent_name", agentName)
		switch {
		case c.Status == StatusAssigned && c.assignee() != "":
			// Read through tx: on SQLite the tenant's file has one
			// connection, which this transaction holds.
			var from []string
			if err := tx.Raw(`SELECT name FROM `+db.Table("users")+` WHERE id = ?`, c.assignee()).Scan(&from).Error; err != nil {
				return nil, err
			}
			fromName := ""
			if len(from) > 0 {
				fromName = from[0]
			}
			n = newNote(NoteTransferred, "from_id", c.assignee(), "from_name", fromName, "agent_id", agentID, "agent_name", agentName)
		case c.LastAgentID != nil && *c.LastAgentID == agentID:
			// Back with the agent the visitor already knows: no news for them.
			n.private = true
		}
		c.AssigneeID, c.LastAgentID = &agentID, &agentID
		c.Status = StatusAssigned
		c.ResolvedAt, c.FlowNode, c.QueueDeadline, c.QueuedAt = nil, nil, nil, nil
		if team != "" {
			c.Team = team
		}
		return n, nil
	}
	return a
}

// assigned is what follows a committed assignment: the queue's wait
// metric, and the visitor's widget drops the queue position it showed.
func (s *Service) assigned(ctx context.Context, tenantID, convID string, conv Conversation, a *assignment) {
	if a.queuedAt != nil {
		s.recordWait(tenantID, s.now().Sub(*a.queuedAt))
	}
	if a.wasQueued && conv.Status == StatusAssigned {
		s.queuePos.Remove(tenantID + "/" + convID)
		s.publish(ctx, Event{Kind: EventQueue, TenantID: tenantID, ConversationID: convID, VisitorID: conv.Visitor.ID, Position: 0})
	}
}

var errUnchanged = errors.New("unchanged")

// update changes a conversation under its row lock, stores the system note
// the change returns, commits, and publishes the new state.
func (s *Service) update(ctx context.Context, tenantID, convID string, change func(tx *gorm.DB, db *tenants.DB, c *conversationRow) (*note, error)) (Conversation, error) {
	return s.updateThen(ctx, tenantID, convID, change, nil)
}

// updateThen is update with last run inside the transaction after
// everything else, just before the commit (when the change stored
// something): for statements whose row locks others queue behind.
func (s *Service) updateThen(ctx context.Context, tenantID, convID string, change func(tx *gorm.DB, db *tenants.DB, c *conversationRow) (*note, error), last func(tx *gorm.DB, db *tenants.DB) error) (Conversation, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return Conversation{}, err
	}
	want := s.updateWants(ctx, db, tenantID)
	var u updated
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if u, err = s.updateTx(ctx, tx, db, tenantID, convID, want, change, nil); err != nil || last == nil {
			return err
		}
		return last(tx, db)
	})
	changed := true
	if errors.Is(err, errUnchanged) {
		changed = false
		var row conversationRow
		if err := db.WithContext(ctx).Where("id = ?", convID).Take(&row).Error; err != nil {
			return Conversation{}, err
		}
		u = updated{after: row}
	} else if err != nil {
		return Conversation{}, err
	}
	return s.updated(ctx, tenantID, u, changed)
}

// updated is what updateTx changed: the row before and after, the system
// note it stored, the visitor it read for webhooks (or nil) and whether it
// wrote webhook events.
type updated struct {
	before, after conversationRow
	sys           Message
	vis           *Visitor
	hooked        bool
}

// updateWants is which webhook events of an update the tenant's webhooks
// want, known before the transaction (a first look may read the database,
// which on SQLite has one connection).
func (s *Service) updateWants(ctx context.Context, db *tenants.DB, tenantID string) map[string]bool {
	want := map[string]bool{}
	for _, t := range []string{HookConversationAssigned, HookConversationTransferred, HookConversationResolved, HookConversationReopened, HookMessageCreated, HookCSATSubmitted} {
		want[t] = s.wantsHook(ctx, db, tenantID, t)
	}
	return want
}

// updateTx changes a conversation inside tx under its row lock and stores
// the system note the change returns, and the webhook events of both. With
// notes, the note is appended there for the caller to insert with others
// (before the commit) instead of inserted at once.
func (s *Service) updateTx(ctx context.Context, tx *gorm.DB, db *tenants.DB, tenantID, convID string, want map[string]bool, change func(tx *gorm.DB, db *tenants.DB, c *conversationRow) (*note, error), notes *[]messageRow) (updated, error) {
	return s.updateLockedTx(ctx, tx, db, tenantID, convID, nil, want, change, notes)
}

// updateLockedTx is updateTx for a row the caller may have locked and read
// already in tx (locked; nil: lock and read it here).
func (s *Service) updateLockedTx(ctx context.Context, tx *gorm.DB, db *tenants.DB, tenantID, convID string, locked *conversationRow, want map[string]bool, change func(tx *gorm.DB, db *tenants.DB, c *conversationRow) (*note, error), notes *[]messageRow) (updated, error) {
	var u updated
	var rows []conversationRow
	if locked != nil {
		rows = []conversationRow{*locked}
	} else if err := tx.Raw(`UPDATE `+db.Table("conversations")+` SET status = status WHERE id = ? RETURNING *`, convID).Scan(&rows).Error; err != nil {
		// (Lock the row: a no-op UPDATE works on both backends.)
		return u, err
	}
	if len(rows) == 0 {
		return u, kefu.Errorf(kefu.ENotFound, "no such conversation")
	}
	c := rows[0]
	u.before = c
	note, err := change(tx, db, &c)
	if err != nil {
		return u, err
	}
	c.UpdatedAt = s.stamp()
	// One statement stores the change and, with a note, takes the
	// note's seq.
	q := `UPDATE ` + db.Table("conversations") + ` SET status = ?, assignee_id = ?, team = ?, updated_at = ?, resolved_at = ?,
			flow_id = ?, flow_version = ?, flow_node = ?, queued_at = ?, queue_deadline = ?, labels = ?, last_agent_id = ?, waiting_since = ?, priority = ?, snoozed_until = ?, attributes = ?`
	if note != nil {
		q += `, last_seq = last_seq + 1`
	}
	var out []conversationRow
	if err := tx.Raw(q+` WHERE id = ? RETURNING *`, c.Status, c.AssigneeID, c.Team, c.UpdatedAt, c.ResolvedAt,
		c.FlowID, c.FlowVersion, c.FlowNode, c.QueuedAt, c.QueueDeadline, c.Labels, c.LastAgentID, c.WaitingSince, c.Priority, c.SnoozedUntil, c.Attributes, convID).Scan(&out).Error; err != nil {
		return u, err
	}
	if len(out) == 0 {
		return u, kefu.Errorf(kefu.ENotFound, "no such conversation")
	}
	u.after = out[0]
	if note != nil {
		row := messageRow{ID: tenants.NewID(), ConversationID: convID, Seq: u.after.LastSeq, AuthorType: AuthorSystem, Body: note.Render(s.language(ctx, tenantID)),
			Private: note.private, System: note.encode(), Attachments: "[]", CreatedAt: c.UpdatedAt}
		if notes != nil {
			*notes = append(*notes, row)
		} else if err := tx.Create(&row).Error; err != nil {
			return u, err
		}
		u.sys = row.message()
	}
	u.vis, u.hooked, err = s.updateHooks(tx, db, tenantID, want, u.before, u.after, u.sys)
	return u, err
}

// updated publishes, after the commit, what updateTx changed (when
// changed) and returns the conversation as it now is.
func (s *Service) updated(ctx context.Context, tenantID string, u updated, changed bool) (Conversation, error) {
	if u.hooked {
		s.hooksWritten(tenantID)
	}
	var conv Conversation
	var err error
	if u.vis != nil {
		conv = u.after.conversation(*u.vis)
	} else if conv, err = s.withVisitor(ctx, tenantID, u.after); err != nil {
		return Conversation{}, err
	}
	if changed {
		convID := u.after.ID
		s.publish(ctx, Event{Kind: EventConversation, TenantID: tenantID, ConversationID: convID, VisitorID: u.after.VisitorID, AssigneeID: u.after.assignee(), PrevAssigneeID: u.before.assignee(), Conversation: &conv})
		if u.sys.ID != "" {
			s.publish(ctx, Event{Kind: EventMessage, TenantID: tenantID, ConversationID: convID, VisitorID: u.after.VisitorID, AssigneeID: u.after.assignee(), Message: &u.sys})
			s.searchIdx.mark(tenantID)
		}
	}
	return conv, nil
}

// updateHooks writes to the webhook outbox, inside update's transaction and
// with one statement, the conversation.* events the change from before to
// after makes and message.created for its system note (sys), as far as
// want says the tenant's webhooks subscribe to them. It returns the visitor
// it read for the conversation's payload (or nil) and whether it wrote.
func (s *Service) updateHooks(tx *gorm.DB, db *tenants.DB, tenantID string, want map[string]bool, before, after conversationRow, sys Message) (*Visitor, bool, error) {
	var types []string
	for _, t := range conversationHookTypes(before, after) {
		if want[t] {
			types = append(types, t)
		}
	}
	var evs []hookEvent
	var vis *Visitor
	if len(types) > 0 {
		var vs []visitorRow
		if err := tx.Where("id = ?", after.VisitorID).Limit(1).Find(&vs).Error; err != nil {
			return nil, false, err
		}
		v := Visitor{ID: after.VisitorID, Attributes: map[string]any{}}
		if len(vs) > 0 {
			v = vs[0].visitor()
		}
		vis = &v
		conv := after.conversation(v)
		for _, t := range types {
			prev := ""
			if t == HookConversationTransferred {
				prev = before.assignee()
			}
			evs = append(evs, conversationHook(tenantID, t, conv, prev, after.UpdatedAt))
		}
	}
	if sys.ID != "" && want[HookMessageCreated] {
		evs = append(evs, messageHookOf(tenantID, sys, after))
	}
	return vis, len(evs) > 0, s.enqueueHooks(tx, db, tenantID, evs)
}

// Resolve closes a conversation. A visitor's next message opens a new one.
func (s *Service) Resolve(ctx context.Context, p tenants.Principal, convID string) (Conversation, error) {
	if _, err := s.access(ctx, p, convID); err != nil {
		return Conversation{}, err
	}
	who := p.Name
	if who == "" {
		who = "an agent"
	}
	conv, err := s.update(ctx, p.TenantID, convID, func(tx *gorm.DB, db *tenants.DB, c *conversationRow) (*note, error) {
		if c.Status == StatusResolved {
			return nil, errUnchanged
		}
		if c.Status == StatusAssigned {
			if _, err := adjustLoad(tx, db, c.assignee(), -1, false); err != nil {
				return nil, err
			}
		}
		wasQueued := c.Status == StatusQueued
		c.FlowNode, c.QueueDeadline, c.QueuedAt = nil, nil, nil
		if wasQueued {
			defer s.publishQueueSoon(p.TenantID)
		}
		now := s.stamp()
		c.Status = StatusResolved
		c.ResolvedAt = &now
		return newNote(NoteResolved, "by_name", who), nil
	})
	if err == nil {
		s.observe(ctx, Happening{What: ConversationResolved, TenantID: p.TenantID, ConversationID: convID})
	}
	return conv, err
}

// MarkRead moves the principal's read position forward to seq (clamped to
// the conversation's last seq) and returns the stored position, which never
// moves back: the write is one conditional upsert, so concurrent receipts
// cannot lower it.
func (s *Service) MarkRead(ctx context.Context, p tenants.Principal, convID string, seq int64) (int64, error) {
	if seq < 0 {
		return 0, kefu.Invalid(map[string]string{"seq": "must be zero or more"})
	}
	conv, err := s.access(ctx, p, convID)
	if err != nil {
		return 0, err
	}
	if seq > conv.LastSeq {
		seq = conv.LastSeq
	}
	db, _ := s.db(p.TenantID)
	readerType := AuthorAgent
	switch p.Kind {
	case tenants.KindVisitor:
		readerType = AuthorVisitor
	case tenants.KindAPIKey:
		readerType = AuthorBot
	}
	now := s.stamp()
	err = db.WithContext(ctx).Exec(`INSERT INTO `+db.Table("read_states")+` (conversation_id, reader_type, reader_id, last_read_seq, updated_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (conversation_id, reader_type, reader_id) DO UPDATE SET last_read_seq = excluded.last_read_seq, updated_at = excluded.updated_at
WHERE read_states.last_read_seq < excluded.last_read_seq`, convID, readerType, p.ID, seq, now).Error
	if err != nil {
		return 0, fmt.Errorf("mark read: %w", err)
	}
	var cur int64
	if err := db.WithContext(ctx).Raw(`SELECT last_read_seq FROM `+db.Table("read_states")+` WHERE conversation_id = ? AND reader_type = ? AND reader_id = ?`, convID, readerType, p.ID).Scan(&cur).Error; err != nil {
		return 0, err
	}
	s.publish(ctx, Event{Kind: EventRead, TenantID: p.TenantID, ConversationID: convID, VisitorID: conv.VisitorID, AssigneeID: conv.assignee(), Reader: &Reader{Type: readerType, ID: p.ID}, Seq: cur})
	return cur, nil
}

// Typing relays a typing indicator to the conversation's other side.
func (s *Service) Typing(ctx context.Context, p tenants.Principal, convID string, state bool, origin string) error {
	conv, err := s.access(ctx, p, convID)
	if err != nil {
		return err
	}
	t := AuthorAgent
	if p.Kind == tenants.KindVisitor {
		t = AuthorVisitor
	}
	s.publish(ctx, Event{Kind: EventTyping, TenantID: p.TenantID, ConversationID: convID, VisitorID: conv.VisitorID, AssigneeID: conv.assignee(), Reader: &Reader{Type: t, ID: p.ID}, State: state, Origin: origin})
	return nil
}
