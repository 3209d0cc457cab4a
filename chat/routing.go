package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"kefu"
	"kefu/routing"
	"kefu/tenants"
)

func attrString(m map[string]any, k string) string {
	if v, ok := m[k].(string); ok {
		return v
	}
	return ""
}

func (s *Service) flowInput(ctx context.Context, db *tenants.DB, conv conversationRow, event, text string) (routing.Input, error) {
	var v visitorRow
	if err := db.WithContext(ctx).Where("id = ?", conv.VisitorID).Take(&v).Error; err != nil {
		return routing.Input{}, err
	}
	var others int64
	db.WithContext(ctx).Model(&conversationRow{}).Where("visitor_id = ? AND id <> ?", v.ID, conv.ID).Limit(1).Count(&others)
	return s.flowInputOf(conv, v.visitor(), others > 0, event, text), nil
}

func (s *Service) flowInputOf(conv conversationRow, vis Visitor, returning bool, event, text string) routing.Input {
	now := s.now()
	return routing.Input{
		Event: event,
		Visitor: routing.VisitorEnv{ID: vis.ID, Name: vis.Name, Email: vis.Email,
			Language: attrString(vis.Attributes, "language"), Country: attrString(vis.Attributes, "country"),
			PageURL: attrString(vis.Attributes, "page_url"), Referrer: attrString(vis.Attributes, "referrer"),
			Returning: returning, Attributes: vis.Attributes},
		Message:      routing.MessageEnv{Text: text},
		Conversation: routing.ConversationEnv{ID: conv.ID, Status: conv.Status, MessagesCount: int(conv.LastSeq), WaitSeconds: int(now.Sub(conv.CreatedAt).Seconds())},
		At:           now,
	}
}

// sameRouting reports whether a run left the conversation where it was.
func sameRouting(a, b conversationRow) bool {
	eqS := func(x, y *string) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	eqI := func(x, y *int) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	eqT := func(x, y *time.Time) bool { return (x == nil && y == nil) || (x != nil && y != nil && x.Equal(*y)) }
	return a.Status == b.Status && a.Labels == b.Labels && eqS(a.FlowID, b.FlowID) && eqI(a.FlowVersion, b.FlowVersion) &&
		eqS(a.FlowNode, b.FlowNode) && eqT(a.QueuedAt, b.QueuedAt) && eqT(a.QueueDeadline, b.QueueDeadline)
}

func contains(list []string, x string) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

// ConversationEvent is a routing decision (or other system event) logged on
// a conversation for the console.
type ConversationEvent struct {
	ID        string          `json:"id"`
	Kind      string          `json:"kind"`
	Detail    json.RawMessage `json:"detail"`
	CreatedAt time.Time       `json:"created_at"`
}

// ConversationEvents lists the routing decisions logged on a conversation.
func (s *Service) ConversationEvents(ctx context.Context, p tenants.Principal, convID string) ([]ConversationEvent, error) {
	if _, err := s.access(ctx, p, convID); err != nil {
		return nil, err
	}
	db, _ := s.db(p.TenantID)
	var rows []eventRow
	if err := db.WithContext(ctx).Where("conversation_id = ?", convID).Order("created_at, id").Limit(200).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]ConversationEvent, len(rows))
	for i, r := range rows {
		out[i] = ConversationEvent{ID: r.ID, Kind: r.Kind, Detail: json.RawMessage(r.Detail), CreatedAt: r.CreatedAt}
	}
	return out, nil
}

func answerFAQ(ctx context.Context, b Bots, tenantID, text string, count bool) (string, bool, error) {
	if b == nil || strings.TrimSpace(text) == "" || b.WantsPerson(ctx, tenantID, text) {
		return "", false, nil
	}
	res, err := b.MatchFAQ(ctx, tenantID, text, 1)
	if err != nil {
		return "", false, err
	}
	if res.Answer == nil {
		if count {
			b.Outcome("faq_unanswered", "")
		}
		return "", false, nil
	}
	if count {
		b.Outcome("faq_answered", "")
	}
	return res.Answer.Entry.Answer, true, nil
}

// botMessage stores a message from the bot and publishes it. It goes
// through the group commit like every other message, so the greetings of
// many conversations opening at once share transactions.
func (s *Service) botMessage(ctx context.Context, tenantID, convID, text string) (Message, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return Message{}, err
	}
	// No name: clients show the bot in their own language.
	row := messageRow{ID: tenants.NewID(), ConversationID: convID, AuthorType: AuthorBot, Body: text, Attachments: "[]", CreatedAt: s.stamp()}
	res := s.committer.commit(ctx, &commitReq{db: db, tenantID: tenantID, row: row, hook: s.hookFor(ctx, db, tenantID, row)})
	if res.err != nil {
		return Message{}, res.err
	}
	m := res.row.message()
	s.metrics.stored.WithLabelValues(AuthorBot).Inc()
	s.publish(ctx, Event{Kind: EventMessage, TenantID: tenantID, ConversationID: convID, VisitorID: res.conv.VisitorID, AssigneeID: res.conv.assignee(), Message: &m})
	return m, nil
}

// UserConnected counts a user's socket.
func (s *Service) UserConnected(p tenants.Principal) {
	s.presence.Connect(context.Background(), p.TenantID, p.ID)
}

// UserDisconnected uncounts a user's socket. When it was their last, they
// leave routing at once; if they have not come back within the grace
// period, their open conversations go back to the queue (agent.offline).
func (s *Service) UserDisconnected(p tenants.Principal) {
	if !s.presence.Disconnect(context.Background(), p.TenantID, p.ID) {
		return
	}
	s.publish(context.Background(), Event{Kind: EventPresence, TenantID: p.TenantID, UserID: p.ID, Status: PresenceOffline})
	s.armGrace(p.TenantID, p.ID) // durable: see jobs.go
}

// SetPresence records a user's chosen status; going online pulls queued
// conversations. It returns once routing counts the new status. origin is
// the session that asked, which confirms the change itself.
func (s *Service) SetPresence(ctx context.Context, p tenants.Principal, status, origin string) error {
	switch status {
	case PresenceOnline, PresenceAway, PresenceOffline:
	default:
		return kefu.Invalid(map[string]string{"status": "must be online, away or offline"})
	}
	prev, err := s.presence.Set(ctx, p.TenantID, p.ID, status)
	if err != nil {
		return err
	}
	if prev != status {
		s.publish(ctx, Event{Kind: EventPresence, TenantID: p.TenantID, UserID: p.ID, Status: status, Origin: origin})
	}
	if status == PresenceOnline && prev != PresenceOnline {
		s.background(func() { s.observe(context.Background(), Happening{What: CapacityFreed, TenantID: p.TenantID}) })
	}
	return nil
}

// Why an agent's conversations go back to the queue.
type requeueReason int

const (
	requeueOffline     requeueReason = iota // gone past the grace period: they may come back
	requeueDeactivated                      // they will not
)

// requeueAgent puts an agent's open conversations back in the queue and
// runs the flow for each with agent.offline. An agent who went offline
// loses only the conversations waiting for an answer (the others stay with
// them, who may well be back before their visitor writes; if the visitor
// writes first, that conversation goes too: see Send), and only they count
// against the assignment breaker; a deactivated agent loses all of them.
func (s *Service) requeueAgent(ctx context.Context, tenantID, userID string, why requeueReason) {
	db, err := s.db(tenantID)
	if err != nil {
		return
	}
	q := db.WithContext(ctx).Model(&conversationRow{}).Where("assignee_id = ? AND status = ?", userID, StatusAssigned)
	if why == requeueOffline {
		s.publish(ctx, Event{Kind: EventAgentGone, TenantID: tenantID, UserID: userID})
		q = q.Where("waiting_since IS NOT NULL")
	}
	var ids []string
	if err := q.Limit(500).Pluck("id", &ids).Error; err != nil {
		s.log.Warn("requeue an agent's conversations", "tenant_id", tenantID, "err", err)
		return
	}
	s.requeue(ctx, tenantID, userID, ids, why)
}

// requeue puts the conversations, assigned to an agent who is gone, back in
// the queue with a note for the console (the visitor is not told), and runs
// the flow for each with agent.offline.
func (s *Service) requeue(ctx context.Context, tenantID, userID string, ids []string, why requeueReason) {
	u, _ := s.tenants.User(ctx, tenantID, userID)
	code := NoteAgentAway
	if why == requeueDeactivated {
		code = NoteAgentUnavailable
	}
	for _, id := range ids {
		_, err := s.update(ctx, tenantID, id, func(tx *gorm.DB, db *tenants.DB, c *conversationRow) (*note, error) {
			if c.Status != StatusAssigned || c.assignee() != userID {
				return nil, errUnchanged
			}
			if _, err := adjustLoad(tx, db, userID, -1, false); err != nil {
				return nil, err
			}
			now := s.stamp()
			if why == requeueOffline && now.Sub(c.UpdatedAt) < 2*time.Minute {
				// Given to them moments ago and dropped: the assignment path
				// is failing (the breaker counts it).
				defer s.reportAssignFailure(tenantID, fmt.Errorf("agent %s dropped a new conversation", userID))
			}
			c.Status, c.AssigneeID, c.QueuedAt, c.FlowNode, c.QueueDeadline = StatusQueued, nil, &now, nil, nil
			n := newNote(code, "agent_id", userID, "agent_name", strings.TrimSpace(u.Name))
			n.private = true
			return n, nil
		})
		if err == nil {
			s.observe(ctx, Happening{What: ConversationRequeued, TenantID: tenantID, ConversationID: id, UserID: userID})
		}
	}
}

// Queue positions: every waiting visitor hears their place and an estimate
// whenever it changes.
func (s *Service) publishQueue(ctx context.Context, tenantID string) {
	db, err := s.db(tenantID)
	if err != nil {
		return
	}
	var rows []conversationRow
	if err := db.WithContext(ctx).Select("id", "visitor_id").Where("status = ?", StatusQueued).Order("queued_at, created_at").Limit(1000).Find(&rows).Error; err != nil {
		return
	}
	s.setQueueLength(tenantID, len(rows))
	// The estimate is what the team actually did lately (the median time to
	// take the next one out of the queue, times the place in line), or
	// unknown (-1: the frame says null) without enough recent data.
	q, err := s.QueueEstimateOf(ctx, tenantID)
	if err != nil {
		q = QueueEstimate{}
	}
	for i, c := range rows {
		pos := i + 1
		est := -1
		if w, ok := q.Wait(pos); ok {
			est = int(w.Seconds())
		}
		key := tenantID + "/" + c.ID
		if last, ok := s.queuePos.Get(key); ok && last == pos {
			continue
		}
		s.queuePos.Add(key, pos)
		s.publish(ctx, Event{Kind: EventQueue, TenantID: tenantID, ConversationID: c.ID, VisitorID: c.VisitorID, Position: pos, Wait: est})
	}
}

// publishQueueSoon coalesces queue updates: however many conversations
// join or leave a tenant's queue in a moment, positions are recomputed once
// (within queueDebounce), so a burst costs one pass over the queue, not one
// per change.
func (s *Service) publishQueueSoon(tenantID string) {
	s.timerMu.Lock()
	defer s.timerMu.Unlock()
	if s.closed || s.queueDirty[tenantID] {
		return
	}
	s.queueDirty[tenantID] = true
	time.AfterFunc(queueDebounce, func() {
		s.timerMu.Lock()
		delete(s.queueDirty, tenantID)
		s.timerMu.Unlock()
		s.background(func() { s.publishQueue(context.Background(), tenantID) })
	})
}

const queueDebounce = 100 * time.Millisecond

// recordWait observes a conversation's time spent queued (the estimate
// visitors hear comes from the queue_exits table: QueueEstimateOf).
func (s *Service) recordWait(_ string, d time.Duration) {
	s.metrics.queueWait.Observe(d.Seconds())
}

// setQueueLength records a tenant's queue as publishQueue read it.
func (s *Service) setQueueLength(tenantID string, n int) {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	if n == 0 {
		delete(s.queueLen, tenantID)
		return
	}
	s.queueLen[tenantID] = n
}

// queueLength is every tenant's queue as this node last computed it.
func (s *Service) queueLength() int {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	n := 0
	for _, q := range s.queueLen {
		n += q
	}
	return n
}

// Status is a user's presence status.
func (s *Service) Status(tenantID, userID string) string {
	return s.presence.Status(context.Background(), tenantID, userID)
}

// OnlineCount is how many of the tenant's agents are online.
func (s *Service) OnlineCount(tenantID string) int {
	return len(s.presence.Online(context.Background(), tenantID))
}
