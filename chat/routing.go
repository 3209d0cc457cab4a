package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"kefu"
	"kefu/routing"
	"kefu/tenants"
)

// runFlow runs the tenant's published flow for one event of a conversation
// and applies what it decided. It runs off the request path (after the
// visitor's ack); every run is logged on the conversation as an event.
//
// A tenant has at most FlowRuns runs under way on this node; a run waits
// for its turn first (before the conversation's lock, which other tenants'
// conversations share), and one that waited FlowRunWait in vain queues the
// conversation for an agent without running the flow, so it is never lost.
func (s *Service) runFlow(ctx context.Context, tenantID, convID, event, text string, resumeNode, resumeLabel string) {
	s.route(ctx, tenantID, convID, nil, event, text, resumeNode, resumeLabel)
}

// runFlowOpening routes a conversation that has just opened, from what the
// opening transaction read (no need to read it again).
func (s *Service) runFlowOpening(ctx context.Context, tenantID string, o opening, text string) {
	s.route(ctx, tenantID, o.conv.ID, &o, routing.EventConversationCreated, text, "", "")
}

func (s *Service) route(ctx context.Context, tenantID, convID string, known *opening, event, text string, resumeNode, resumeLabel string) {
	ctx = context.WithoutCancel(ctx)
	ctx, span := s.child(ctx, "flow.run", trace.WithAttributes(attribute.String("kefu.event", event), attribute.String("kefu.conversation_id", convID)))
	defer span.End()
	release, turn := s.flowRuns.acquire(ctx, tenantID, s.flowRunWait)
	if turn {
		defer release()
	}
	mu := s.convLock(tenantID + "/" + convID)
	mu.Lock()
	defer mu.Unlock()

	a, err := s.active(ctx, tenantID)
	if err != nil {
		s.log.ErrorContext(ctx, "routing: load flow", "tenant_id", tenantID, "err", err)
		return
	}
	db, err := s.db(tenantID)
	if err != nil {
		return
	}
	var in routing.Input
	live := &liveServices{s: s, tenantID: tenantID, convID: convID}
	if known != nil {
		in = s.flowInputOf(known.conv, known.visitor.visitor(), known.returning, event, text)
		live.prefer = deref(known.conv.LastAgentID)
	} else {
		var conv conversationRow
		if err := db.WithContext(ctx).Where("id = ?", convID).Take(&conv).Error; err != nil {
			s.log.ErrorContext(ctx, "routing: load conversation", "tenant_id", tenantID, "conversation_id", convID, "err", err)
			return
		}
		if conv.Status == StatusAssigned || conv.Status == StatusResolved {
			return // a person has it, or it is closed
		}
		if in, err = s.flowInput(ctx, db, conv, event, text); err != nil {
			s.log.ErrorContext(ctx, "routing: input", "tenant_id", tenantID, "err", err)
			return
		}
		live.prefer = deref(conv.LastAgentID)
	}
	in.ResumeFrom, in.ResumeLabel = resumeNode, resumeLabel
	in.Hours = s.flowHours(ctx, tenantID)
	var res routing.Result
	if turn {
		res = a.prog.Run(ctx, in, live)
	} else {
		s.metrics.flowBusy.Inc()
		res = routing.Result{Action: routing.ActionQueue, Replies: []string{}, Trace: []routing.Step{{Type: routing.NodeQueue, Outcome: "queue",
			Detail: fmt.Sprintf("the flow did not run: this workspace already had %d runs under way for %v", s.flowRuns.size, s.flowRunWait)}}}
	}
	s.metrics.routed.WithLabelValues(res.Action).Inc()
	span.SetAttributes(attribute.String("kefu.action", res.Action))
	// Logged before apply publishes the new state, so a console that
	// refreshes on conversation.updated finds the decision.
	s.logDecision(ctx, tenantID, db, convID, a, event, res)
	s.apply(ctx, tenantID, db, convID, a, res)
}

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

// apply stores what a run decided: attributes, labels, and where the
// conversation now waits. An assignment already happened inside the run.
func (s *Service) apply(ctx context.Context, tenantID string, db *tenants.DB, convID string, a *activeFlow, res routing.Result) {
	if len(res.Set) > 0 {
		var conv conversationRow
		if err := db.WithContext(ctx).Where("id = ?", convID).Take(&conv).Error; err == nil {
			var v visitorRow
			if err := db.WithContext(ctx).Where("id = ?", conv.VisitorID).Take(&v).Error; err == nil {
				attrs := v.visitor().Attributes
				for k, val := range res.Set {
					attrs[k] = val
				}
				if b, err := json.Marshal(attrs); err == nil && len(b) <= maxAttributesBytes {
					db.WithContext(ctx).Model(&visitorRow{}).Where("id = ?", v.ID).Updates(map[string]any{"attributes": string(b), "updated_at": s.stamp()})
				}
			}
		}
	}
	if res.Action == routing.ActionAssign {
		return
	}
	var flowID *string
	var flowVersion *int
	if a.flowID != "" {
		flowID, flowVersion = &a.flowID, &a.version
	}
	now := s.stamp()
	var deadline *time.Time
	_, err := s.update(ctx, tenantID, convID, func(tx *gorm.DB, db *tenants.DB, c *conversationRow) (*note, error) {
		if c.Status == StatusAssigned || c.Status == StatusResolved {
			return nil, errUnchanged
		}
		before := *c
		c.FlowID, c.FlowVersion = flowID, flowVersion
		if len(res.Tags) > 0 {
			var labels []string
			_ = json.Unmarshal([]byte(c.Labels), &labels)
			for _, t := range res.Tags {
				if !contains(labels, t) {
					labels = append(labels, t)
				}
			}
			b, _ := json.Marshal(labels)
			c.Labels = string(b)
		}
		if res.Action == routing.ActionQueue {
			node := res.Waiting
			sameWait := c.FlowNode != nil && *c.FlowNode == node && c.Status == StatusQueued
			c.Status = StatusQueued
			if c.QueuedAt == nil {
				c.QueuedAt = &now
			}
			if node == "" {
				c.FlowNode = nil
			} else {
				c.FlowNode = &node
			}
			if !sameWait {
				c.QueueDeadline = nil
				if res.TimeoutSeconds > 0 {
					d := now.Add(time.Duration(res.TimeoutSeconds) * time.Second)
					c.QueueDeadline = &d
				}
			}
			deadline = c.QueueDeadline
		} else {
			c.Status = StatusBot
			c.FlowNode, c.QueueDeadline, c.QueuedAt = nil, nil, nil
		}
		if sameRouting(before, *c) {
			return nil, errUnchanged // nothing to store or tell anyone
		}
		return nil, nil
	})
	if err != nil && !errors.Is(err, errUnchanged) {
		s.log.ErrorContext(ctx, "routing: apply", "tenant_id", tenantID, "conversation_id", convID, "err", err)
		return
	}
	if deadline != nil && res.Waiting != "" {
		s.scheduleTimeout(tenantID, convID, res.Waiting, *deadline)
	} else {
		s.unscheduleTimeout(tenantID, convID)
	}
	s.publishQueueSoon(tenantID)
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

func (s *Service) logDecision(ctx context.Context, tenantID string, db *tenants.DB, convID string, a *activeFlow, event string, res routing.Result) {
	detail, _ := json.Marshal(map[string]any{"event": event, "flow_id": a.flowID, "flow_version": a.version, "action": res.Action, "agent_id": res.AgentID, "agent_name": res.AgentName, "waiting": res.Waiting, "trace": res.Trace})
	row := eventRow{ID: tenants.NewID(), ConversationID: convID, Kind: "routing", Detail: string(detail), CreatedAt: s.stamp()}
	if err := s.events.write(ctx, db, tenantID, row); err != nil {
		s.log.WarnContext(ctx, "routing: log decision", "conversation_id", convID, "err", err)
	}
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

// liveServices are the flow's side effects for a real conversation.
type liveServices struct {
	s        *Service
	tenantID string
	convID   string
	prefer   string // the agent the conversation was last with
}

// AnswerFAQ answers from the tenant's FAQ when the best entry reaches the
// tenant's threshold. A visitor asking for a person gets no FAQ answer.
func (l *liveServices) AnswerFAQ(ctx context.Context, text string) (string, bool, error) {
	return answerFAQ(ctx, l.s.bots, l.tenantID, text, true)
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

// AskLLM starts the model call off the message path (the answer resumes
// the flow at the node), or hands off at once: no model, its breaker
// open, no question, or a visitor asking for a person. A call still pending
// for the conversation is superseded either way.
func (l *liveServices) AskLLM(ctx context.Context, in routing.Input, req routing.LLMRequest) (routing.LLMOutcome, error) {
	s := l.s
	s.supersede(ctx, l.tenantID, l.convID, callSuperseded)
	reason := ""
	switch {
	case s.bots == nil:
		reason = "not_configured"
	case strings.TrimSpace(in.Message.Text) == "":
		reason = "no_question"
	case s.bots.WantsPerson(ctx, l.tenantID, in.Message.Text):
		reason = "visitor_asked"
	default:
		if why, ok := s.bots.Ready(ctx, l.tenantID); !ok {
			reason = why
		}
	}
	if reason == "" {
		if err := s.startBotCall(ctx, l.tenantID, l.convID, in, req); err != nil {
			return routing.LLMOutcome{}, err
		}
		return routing.LLMOutcome{Pending: true}, nil
	}
	s.botOutcome("handoff", reason)
	return routing.LLMOutcome{Handoff: true, Reason: reason}, nil
}

func (l *liveServices) CallWebhook(ctx context.Context, url string, in routing.Input, timeout time.Duration) error {
	return l.s.hooks.post(ctx, url, timeout, map[string]any{"event": "flow.webhook", "tenant_id": l.tenantID, "conversation_id": l.convID, "visitor": in.Visitor, "message": in.Message})
}

func (l *liveServices) Reply(ctx context.Context, text string) error {
	_, err := l.s.botMessage(ctx, l.tenantID, l.convID, text)
	return err
}

func (l *liveServices) Assign(ctx context.Context, req routing.AssignRequest) (string, string, bool, error) {
	a, err := l.s.assignGuarded(ctx, l.tenantID, l.convID, req, l.prefer)
	if errors.Is(err, errNoAgent) || errors.Is(err, errTaken) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	return a.ID, a.Name, true, nil
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

// drainQueue offers the tenant's waiting conversations, oldest first, to
// the agents now online, each by the request of the assign node it waits at
// (round robin for a plain queue node).
func (s *Service) drainQueue(ctx context.Context, tenantID string) {
	db, err := s.db(tenantID)
	if err != nil {
		return
	}
	var rows []conversationRow
	if err := db.WithContext(ctx).Where("status = ?", StatusQueued).Order("queued_at, created_at").Limit(200).Find(&rows).Error; err != nil {
		s.log.ErrorContext(ctx, "drain queue", "tenant_id", tenantID, "err", err)
		return
	}
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return
	}
	for _, c := range rows {
		req := routing.AssignRequest{Strategy: routing.StrategyRoundRobin}
		if c.FlowNode != nil {
			if r, ok := a.prog.AssignRequestAt(*c.FlowNode); ok {
				req = r
			}
		}
		if req.Team == "" {
			req.Team = c.Team // given to a team: only its members take it
		}
		mu := s.convLock(tenantID + "/" + c.ID)
		mu.Lock()
		_, err := s.assignGuarded(ctx, tenantID, c.ID, req, deref(c.LastAgentID))
		mu.Unlock()
		switch {
		case err == nil:
			s.unscheduleTimeout(tenantID, c.ID)
		case errors.Is(err, errNoAgent) || errors.Is(err, errTaken):
		default:
			s.log.WarnContext(ctx, "drain queue: assign", "tenant_id", tenantID, "conversation_id", c.ID, "err", err)
			return
		}
	}
	s.publishQueueSoon(tenantID)
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

// scheduleTimeout arms the overflow of a waiting conversation: at the
// deadline, if it still waits at the same node, the flow resumes there by
// its timeout branch. Every node arms its own timers; the conditional check
// makes the first one win.
func (s *Service) scheduleTimeout(tenantID, convID, node string, at time.Time) {
	key := tenantID + "/" + convID
	s.timerMu.Lock()
	defer s.timerMu.Unlock()
	if s.closed {
		return
	}
	if t, ok := s.timers[key]; ok {
		t.Stop()
	}
	s.bg.Add(1)                                                                     // counted for Close, as background does (timerMu is held)
	go func() { defer s.bg.Done(); s.armQueueExpiry(tenantID, convID, node, at) }() // durable backstop: jobs.go
	s.timers[key] = time.AfterFunc(time.Until(at), func() {
		s.timerMu.Lock()
		delete(s.timers, key)
		s.timerMu.Unlock()
		s.background(func() { s.queueTimeout(context.Background(), tenantID, convID, node) })
	})
}

func (s *Service) unscheduleTimeout(tenantID, convID string) {
	key := tenantID + "/" + convID
	s.timerMu.Lock()
	defer s.timerMu.Unlock()
	if t, ok := s.timers[key]; ok {
		t.Stop()
		delete(s.timers, key)
	}
}

func (s *Service) queueTimeout(ctx context.Context, tenantID, convID, node string) {
	db, err := s.db(tenantID)
	if err != nil {
		return
	}
	var c conversationRow
	if err := db.WithContext(ctx).Where("id = ?", convID).Take(&c).Error; err != nil {
		return
	}
	if c.Status != StatusQueued || c.FlowNode == nil || *c.FlowNode != node || c.QueueDeadline == nil || c.QueueDeadline.After(s.now()) {
		return
	}
	// Clear the deadline first so the resumed run can set a new one; the
	// node that clears it runs the flow (timer and job may both fire).
	if res := db.WithContext(ctx).Model(&conversationRow{}).Where("id = ? AND flow_node = ? AND queue_deadline IS NOT NULL", convID, node).Update("queue_deadline", nil); res.Error != nil || res.RowsAffected == 0 {
		return
	}
	s.runFlow(ctx, tenantID, convID, routing.EventConversationIdle, "", node, "timeout")
}

// armTimeouts re-arms the queue deadlines of every tenant after a start.
func (s *Service) armTimeouts(ctx context.Context) error {
	ids, err := s.tenants.ListTenantIDs(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		db, err := s.db(id)
		if err != nil {
			continue
		}
		var rows []conversationRow
		if err := db.WithContext(ctx).Where("status = ? AND queue_deadline IS NOT NULL", StatusQueued).Limit(10000).Find(&rows).Error; err != nil {
			s.log.WarnContext(ctx, "arm queue timeouts", "tenant_id", id, "err", err)
			continue
		}
		for _, c := range rows {
			if c.FlowNode != nil {
				s.scheduleTimeout(id, c.ID, *c.FlowNode, *c.QueueDeadline)
			}
		}
	}
	return nil
}

// convLock serialises flow runs of one conversation on this node. The locks
// are striped (a fixed array) so they cost no memory per conversation;
// nothing holds two at once, so sharing a stripe cannot deadlock.
func (s *Service) convLock(key string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(key))
	return &s.locks[h.Sum32()%uint32(len(s.locks))]
}

// Status is a user's presence status.
func (s *Service) Status(tenantID, userID string) string {
	return s.presence.Status(context.Background(), tenantID, userID)
}

// OnlineCount is how many of the tenant's agents are online.
func (s *Service) OnlineCount(tenantID string) int {
	return len(s.presence.Online(context.Background(), tenantID))
}
