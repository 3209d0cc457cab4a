package chat

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"kefu"
	"kefu/bots"
	"kefu/routing"
	"kefu/tenants"
)

// Bots is what the flow runtime asks of the bots package (kefu/bots
// implements it; cmd/kefu wires it in). A Service without Bots answers no
// FAQ and hands every llm node off.
type Bots interface {
	MatchFAQ(ctx context.Context, tenantID, question string, n int) (bots.FAQResult, error)
	Ask(ctx context.Context, tenantID string, q bots.Question, delta func(string)) (bots.Reply, error)
	Suggest(ctx context.Context, tenantID string, q bots.Question) (bots.Suggestion, error)
	// Ready says whether a call can start now, or why not (not_configured,
	// breaker_open).
	Ready(ctx context.Context, tenantID string) (reason string, ok bool)
	WantsPerson(ctx context.Context, tenantID, text string) bool
	Invalidate(tenantID string)
	Outcome(outcome, reason string)
}

// A model call runs off the message path: the llm node records a pending
// call (bot_calls) and the run ends; the call streams the answer as
// message.delta frames, sends the node's holding reply if nothing has come
// by its deadline, stores the answer as one bot message, and resumes the
// flow at the node by answered or handoff. An agent taking the
// conversation, or it being resolved, cancels the call; a late answer is
// dropped (the store checks the call is still pending, in the answer's
// transaction). The node running a call renews its lease; a call whose
// lease ran out (its node died) is handed off when a node starts, or when
// the lease ends. A node shutting down hands its calls off itself.

// Call statuses.
const (
	callPending    = "pending"
	callAnswered   = "answered"
	callHandoff    = "handoff"
	callCancelled  = "cancelled"
	callSuperseded = "superseded"
)

// leaseTTL is how long a call's node may go silent before the call counts
// as orphaned; the node renews every leaseTTL/3.
const leaseTTL = 10 * time.Second

// deltaInterval coalesces a stream's pieces: one message.delta event per
// interval at most (plus the last).
const deltaInterval = 50 * time.Millisecond

type botCallRow struct {
	ID             string `gorm:"primaryKey"`
	ConversationID string
	NodeID         string
	Status         string
	Owner          string
	LeaseUntil     time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (botCallRow) TableName(n schema.Namer) string { return n.TableName("bot_call") }

// botCall is a call running on this node.
type botCall struct {
	id, tenantID, convID, visitorID string
	node, event, text               string
	req                             routing.LLMRequest
	language                        string
	cancel                          context.CancelFunc
}

// botCalls are this node's running calls by tenant/conversation.
type botCalls struct {
	mu      sync.Mutex
	byConv  map[string]*botCall
	wg      sync.WaitGroup
	ctx     context.Context
	stop    context.CancelFunc
	closing bool
}

func newBotCalls() *botCalls {
	ctx, stop := context.WithCancel(context.Background())
	return &botCalls{byConv: map[string]*botCall{}, ctx: ctx, stop: stop}
}

// startBotCall records a pending call and starts it; any call still
// pending for the conversation is superseded by it.
func (s *Service) startBotCall(ctx context.Context, tenantID, convID string, in routing.Input, req routing.LLMRequest) error {
	db, err := s.db(tenantID)
	if err != nil {
		return err
	}
	var conv conversationRow
	if err := db.WithContext(ctx).Where("id = ?", convID).Take(&conv).Error; err != nil {
		return err
	}
	now := s.stamp()
	row := botCallRow{ID: tenants.NewID(), ConversationID: convID, NodeID: req.NodeID, Status: callPending, Owner: s.instance,
		LeaseUntil: now.Add(leaseTTL), CreatedAt: now, UpdatedAt: now}
	if err := db.WithContext(ctx).Create(&row).Error; err != nil {
		return err
	}
	call := &botCall{id: row.ID, tenantID: tenantID, convID: convID, visitorID: conv.VisitorID, node: req.NodeID,
		event: in.Event, text: in.Message.Text, req: req, language: in.Visitor.Language}
	c := s.calls
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return errors.New("shutting down")
	}
	callCtx, cancel := context.WithCancel(c.ctx)
	call.cancel = cancel
	c.byConv[tenantID+"/"+convID] = call
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		s.runBotCall(callCtx, call)
	}()
	return nil
}

// AskModel starts the model call of an llm node off the message path (the
// answer resumes the flow at the node: FlowResumed), or hands off at once:
// no model, its breaker open, no question, or a visitor asking for a
// person. A call still pending for the conversation is superseded either
// way.
func (s *Service) AskModel(ctx context.Context, tenantID, convID string, in routing.Input, req routing.LLMRequest) (routing.LLMOutcome, error) {
	s.supersede(ctx, tenantID, convID, callSuperseded)
	reason := ""
	switch {
	case s.bots == nil:
		reason = "not_configured"
	case strings.TrimSpace(in.Message.Text) == "":
		reason = "no_question"
	case s.bots.WantsPerson(ctx, tenantID, in.Message.Text):
		reason = "visitor_asked"
	default:
		if why, ok := s.bots.Ready(ctx, tenantID); !ok {
			reason = why
		}
	}
	if reason == "" {
		if err := s.startBotCall(ctx, tenantID, convID, in, req); err != nil {
			return routing.LLMOutcome{}, err
		}
		return routing.LLMOutcome{Pending: true}, nil
	}
	s.botOutcome("handoff", reason)
	return routing.LLMOutcome{Handoff: true, Reason: reason}, nil
}

// CancelModelCall cancels the conversation's pending model call (its
// answer is dropped), on whichever node runs it.
func (s *Service) CancelModelCall(ctx context.Context, tenantID, convID string) {
	s.supersede(ctx, tenantID, convID, callCancelled)
}

// supersede cancels the conversation's pending calls (in the database, and
// here); their answers are dropped.
func (s *Service) supersede(ctx context.Context, tenantID, convID, status string) {
	db, err := s.db(tenantID)
	if err != nil {
		return
	}
	n, err := supersedeTx(db.WithContext(ctx), db, convID, status, s.stamp())
	if err != nil {
		s.log.Warn("bot call: cancel", "tenant_id", tenantID, "conversation_id", convID, "err", err)
	}
	s.superseded(ctx, tenantID, convID, status, n)
}

// supersedeTx marks the conversation's pending model call (if any) with
// status inside tx and returns how many it marked (0 or 1); superseded
// does the rest once tx has committed.
func supersedeTx(tx *gorm.DB, db *tenants.DB, convID, status string, at time.Time) (int64, error) {
	res := tx.Exec(`UPDATE `+db.Table("bot_calls")+` SET status = ?, updated_at = ? WHERE conversation_id = ? AND status = ?`, status, at, convID, callPending)
	return res.RowsAffected, res.Error
}

// superseded stops this node's call of the conversation and, when a
// pending call was marked (marked > 0), tells the node that may be running it.
func (s *Service) superseded(ctx context.Context, tenantID, convID, status string, marked int64) {
	s.calls.mu.Lock()
	if call, ok := s.calls.byConv[tenantID+"/"+convID]; ok {
		call.cancel()
		delete(s.calls.byConv, tenantID+"/"+convID)
	}
	s.calls.mu.Unlock()
	if marked > 0 && status == callCancelled {
		// Another node may be running it: tell it to stop early.
		s.publish(ctx, Event{Kind: EventBotCancel, TenantID: tenantID, ConversationID: convID})
		s.botOutcome("cancelled", "")
	}
}

// cancelLocal stops this node's call of a conversation (an EventBotCancel
// from the node that cancelled it).
func (s *Service) cancelLocal(tenantID, convID string) {
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	if call, ok := s.calls.byConv[tenantID+"/"+convID]; ok {
		call.cancel()
		delete(s.calls.byConv, tenantID+"/"+convID)
	}
}

func (s *Service) forget(call *botCall) {
	s.calls.mu.Lock()
	if cur, ok := s.calls.byConv[call.tenantID+"/"+call.convID]; ok && cur == call {
		delete(s.calls.byConv, call.tenantID+"/"+call.convID)
	}
	s.calls.mu.Unlock()
}

func (s *Service) botOutcome(outcome, reason string) {
	if s.bots != nil {
		s.bots.Outcome(outcome, reason)
	}
}

// runBotCall asks the model and settles the call.
func (s *Service) runBotCall(ctx context.Context, call *botCall) {
	defer s.forget(call)
	q := bots.Question{ConversationID: call.convID, Text: call.text, Language: call.language, Model: call.req.Model, SystemPrompt: call.req.SystemPrompt, Kind: "answer"}
	q.History = s.recentTurns(ctx, call.tenantID, call.convID, call.text)
	st := &botStream{s: s, call: call}
	var timer *time.Timer
	if call.req.FallbackText != "" && call.req.Timeout > 0 {
		timer = time.AfterFunc(call.req.Timeout, func() { st.holdingReply(ctx) })
	}
	reply, err := s.bots.Ask(ctx, call.tenantID, q, st.delta)
	if timer != nil {
		timer.Stop()
	}
	st.finish()
	switch {
	case ctx.Err() != nil && s.calls.shuttingDown():
		// This node is closing: hand the conversation to a person now
		// rather than leave it to the next start.
		st.abandon()
		s.handoff(context.Background(), call, "shutdown")
	case ctx.Err() != nil:
		st.abandon() // cancelled: an agent took over, it was resolved, or a newer question came
	case err != nil:
		st.abandon()
		s.handoff(context.Background(), call, handoffReason(err))
	case reply.Refused || strings.TrimSpace(reply.Text) == "":
		st.abandon()
		s.handoff(context.Background(), call, "refused")
	default:
		s.answer(context.Background(), call, reply.Text, st)
	}
}

func handoffReason(err error) string {
	switch {
	case errors.Is(err, bots.ErrBusy):
		return "busy"
	case errors.Is(err, bots.ErrBreakerOpen):
		return "breaker_open"
	case errors.Is(err, bots.ErrNotConfigured):
		return "not_configured"
	case errors.Is(err, bots.ErrEmpty):
		return "empty"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error"
}

// settleCall moves a pending call to status in tx; false when it was no longer
// pending (cancelled, superseded, or orphaned and handed off).
func settleCall(tx *gorm.DB, id, status string, now time.Time) (bool, error) {
	res := tx.Model(&botCallRow{}).Where("id = ? AND status = ?", id, callPending).Updates(map[string]any{"status": status, "updated_at": now})
	return res.RowsAffected == 1, res.Error
}

// answer stores the model's answer as one bot message (its client id the
// stream id, so a client replaces the streamed text with it) and resumes
// the flow by answered. Nothing is stored if the call is no longer pending
// or a person has the conversation.
func (s *Service) answer(ctx context.Context, call *botCall, text string, st *botStream) {
	db, err := s.db(call.tenantID)
	if err != nil {
		return
	}
	streamID := call.id
	row := messageRow{ID: tenants.NewID(), ConversationID: call.convID, ClientID: &streamID, AuthorType: AuthorBot,
		Body: truncateUTF8(text, MaxBodyBytes), Attachments: "[]", CreatedAt: s.stamp()}
	var conv conversationRow
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		ok, err := settleCall(tx, call.id, callAnswered, row.CreatedAt)
		if err != nil {
			return err
		}
		if !ok {
			return errDropped
		}
		c, err := s.appendTx(tx, db, &row)
		if err != nil {
			return err
		}
		if c.Status != StatusBot && c.Status != StatusQueued {
			return errDropped // an agent has it, or it is resolved
		}
		conv = c
		return tx.Create(&row).Error
	})
	if errors.Is(err, errDropped) {
		db.WithContext(ctx).Model(&botCallRow{}).Where("id = ? AND status = ?", call.id, callPending).Updates(map[string]any{"status": callCancelled, "updated_at": s.stamp()})
		st.abandon()
		s.botOutcome("cancelled", "")
		return
	}
	if err != nil {
		s.log.Error("bot call: store answer", "tenant_id", call.tenantID, "conversation_id", call.convID, "err", err)
		st.abandon()
		return
	}
	m := row.message()
	s.metrics.stored.WithLabelValues(AuthorBot).Inc()
	s.publish(ctx, Event{Kind: EventMessage, TenantID: call.tenantID, ConversationID: call.convID, VisitorID: conv.VisitorID, AssigneeID: conv.assignee(), Message: &m})
	s.botOutcome("llm_answered", "")
	s.observe(ctx, Happening{What: FlowResumed, TenantID: call.tenantID, ConversationID: call.convID, Event: call.event, Text: call.text, Node: call.node, Label: "answered"})
}

var errDropped = errors.New("the call is no longer pending")

// handoff settles the call as handed off and resumes the flow at its node
// by handoff (a conversation with no handoff branch goes to the queue).
func (s *Service) handoff(ctx context.Context, call *botCall, reason string) {
	db, err := s.db(call.tenantID)
	if err != nil {
		return
	}
	ok, err := settleCall(db.WithContext(ctx), call.id, callHandoff, s.stamp())
	if err != nil || !ok {
		return
	}
	s.botOutcome("handoff", reason)
	s.observe(ctx, Happening{What: FlowResumed, TenantID: call.tenantID, ConversationID: call.convID, Event: call.event, Text: call.text, Node: call.node, Label: "handoff"})
}

// recentTurns is the conversation the model sees: the last public messages
// of the visitor, agents and bots (the question itself left out).
func (s *Service) recentTurns(ctx context.Context, tenantID, convID, question string) []bots.Turn {
	db, err := s.db(tenantID)
	if err != nil {
		return nil
	}
	var rows []messageRow
	if err := db.WithContext(ctx).Where("conversation_id = ? AND private = ? AND author_type IN ?", convID, false, []string{AuthorVisitor, AuthorAgent, AuthorBot}).
		Order("seq DESC").Limit(21).Find(&rows).Error; err != nil {
		return nil
	}
	if len(rows) > 0 && rows[0].AuthorType == AuthorVisitor && rows[0].Body == question {
		rows = rows[1:]
	}
	out := make([]bots.Turn, 0, len(rows))
	for i := len(rows) - 1; i >= 0; i-- {
		role := "assistant"
		if rows[i].AuthorType == AuthorVisitor {
			role = "user"
		}
		if strings.TrimSpace(rows[i].Body) != "" {
			out = append(out, bots.Turn{Role: role, Text: truncateUTF8(rows[i].Body, 2000)})
		}
	}
	return out
}

// botStream publishes a call's pieces as message.delta events (coalesced)
// and sends the holding reply if nothing came by the node's deadline. Its
// lock orders them: the holding reply is published before any delta that
// comes while it is stored.
type botStream struct {
	s    *Service
	call *botCall

	mu       sync.Mutex
	started  bool // a piece arrived: no holding reply
	held     bool // the holding reply went out
	sent     bool // a delta went out
	buf      strings.Builder
	last     time.Time
	finished bool
}

func (st *botStream) holdingReply(ctx context.Context) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.started || st.finished || st.held || ctx.Err() != nil {
		return
	}
	st.held = true
	if _, err := st.s.botMessage(ctx, st.call.tenantID, st.call.convID, st.call.req.FallbackText); err != nil {
		st.s.log.Warn("bot call: holding reply", "tenant_id", st.call.tenantID, "err", err)
		return
	}
	st.s.botOutcome("fallback_sent", "")
}

func (st *botStream) delta(text string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.started = true
	st.buf.WriteString(text)
	if time.Since(st.last) >= deltaInterval {
		st.flushLocked()
	}
}

func (st *botStream) flushLocked() {
	if st.buf.Len() == 0 {
		return
	}
	st.s.publish(context.Background(), Event{Kind: EventDelta, TenantID: st.call.tenantID, ConversationID: st.call.convID, VisitorID: st.call.visitorID,
		StreamID: st.call.id, Text: st.buf.String()})
	st.buf.Reset()
	st.sent = true
	st.last = time.Now()
}

// finish sends what is left of the stream.
func (st *botStream) finish() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.finished = true
	st.flushLocked()
}

// abandon tells the clients that saw pieces of a stream that no message
// will complete it.
func (st *botStream) abandon() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.finished = true
	if st.sent {
		st.s.publish(context.Background(), Event{Kind: EventDelta, TenantID: st.call.tenantID, ConversationID: st.call.convID, VisitorID: st.call.visitorID,
			StreamID: st.call.id, Done: true})
		st.sent = false
	}
}

func (c *botCalls) shuttingDown() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// renewLeases keeps this node's pending calls alive until Close.
func (s *Service) renewLeases(ctx context.Context) {
	t := time.NewTicker(leaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		tenantsWithCalls := map[string]bool{}
		s.calls.mu.Lock()
		for _, c := range s.calls.byConv {
			tenantsWithCalls[c.tenantID] = true
		}
		s.calls.mu.Unlock()
		for tid := range tenantsWithCalls {
			db, err := s.db(tid)
			if err != nil {
				continue
			}
			now := s.stamp()
			db.WithContext(ctx).Model(&botCallRow{}).Where("owner = ? AND status = ?", s.instance, callPending).
				Updates(map[string]any{"lease_until": now.Add(leaseTTL), "updated_at": now})
		}
	}
}

// closeBotCalls ends this node's calls, each handing its conversation to a
// person, and waits for them (until ctx ends).
func (s *Service) closeBotCalls(ctx context.Context) {
	c := s.calls
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.stop()
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// watchLease hands off the call when its lease has run out, now or later.
func (s *Service) watchLease(tenantID string, r botCallRow) {
	wait := time.Until(r.LeaseUntil)
	if wait <= 0 {
		s.background(func() { s.orphan(context.Background(), tenantID, r.ID) })
		return
	}
	time.AfterFunc(wait+time.Second, func() {
		s.background(func() { s.orphan(context.Background(), tenantID, r.ID) })
	})
}

// orphan hands off a pending call whose lease has run out.
func (s *Service) orphan(ctx context.Context, tenantID, callID string) {
	db, err := s.db(tenantID)
	if err != nil {
		return
	}
	var r botCallRow
	if err := db.WithContext(ctx).Where("id = ?", callID).Take(&r).Error; err != nil {
		return
	}
	now := s.stamp()
	if r.Status != callPending {
		return
	}
	if r.LeaseUntil.After(now) { // renewed: its node lives
		s.watchLease(tenantID, r)
		return
	}
	res := db.WithContext(ctx).Model(&botCallRow{}).Where("id = ? AND status = ? AND lease_until <= ?", callID, callPending, now).
		Updates(map[string]any{"status": callHandoff, "updated_at": now})
	if res.Error != nil || res.RowsAffected != 1 {
		return
	}
	s.botOutcome("handoff", "restart")
	var conv conversationRow
	if err := db.WithContext(ctx).Where("id = ?", r.ConversationID).Take(&conv).Error; err != nil {
		return
	}
	s.observe(ctx, Happening{What: FlowResumed, TenantID: tenantID, ConversationID: r.ConversationID, Event: routing.EventMessageCreated, Node: r.NodeID, Label: "handoff"})
}

// RequestPerson hands a visitor's conversation from the bot to a person
// (the widget's "talk to a person" button): a pending call is cancelled and
// the flow resumes at its llm node by handoff; without one, the flow
// resumes by the handoff branch of its first llm node, or the conversation
// joins the queue. A conversation already with a person, queued or
// resolved is left as it is. Errors: not_found.
func (s *Service) RequestPerson(ctx context.Context, p tenants.Principal, convID string) error {
	if convID == "" && p.Kind == tenants.KindVisitor {
		db, err := s.db(p.TenantID)
		if err != nil {
			return err
		}
		if convID, err = s.openConversationOf(ctx, db, p.ID); err != nil {
			return err
		}
		if convID == "" {
			return kefu.Errorf(kefu.ENotFound, "no open conversation")
		}
	}
	conv, err := s.access(ctx, p, convID)
	if err != nil {
		return err
	}
	if conv.Status != StatusBot {
		return nil
	}
	db, _ := s.db(p.TenantID)
	var pending []botCallRow
	db.WithContext(ctx).Where("conversation_id = ? AND status = ?", convID, callPending).Order("created_at DESC").Limit(1).Find(&pending)
	node := ""
	if len(pending) == 1 {
		node = pending[0].NodeID
	}
	s.supersede(ctx, p.TenantID, convID, callHandoff)
	s.botOutcome("handoff", "visitor_asked")
	if node == "" {
		if a, err := s.active(ctx, p.TenantID); err == nil {
			node = a.prog.FirstHandoff()
		}
	}
	tenantID := p.TenantID
	if node != "" {
		s.background(func() {
			s.observe(context.Background(), Happening{What: FlowResumed, TenantID: tenantID, ConversationID: convID, Event: routing.EventMessageCreated, Node: node, Label: "handoff"})
		})
		return nil
	}
	_, err = s.update(ctx, tenantID, convID, func(tx *gorm.DB, db *tenants.DB, c *conversationRow) (*note, error) {
		if c.Status != StatusBot {
			return nil, errUnchanged
		}
		now := s.stamp()
		c.Status, c.QueuedAt, c.FlowNode, c.QueueDeadline = StatusQueued, &now, nil, nil
		return newNote(NoteQueued), nil
	})
	if err != nil {
		return err
	}
	s.publishQueueSoon(tenantID)
	s.background(func() { s.observe(context.Background(), Happening{What: CapacityFreed, TenantID: tenantID}) })
	return nil
}

// Suggest drafts a reply to the conversation's latest visitor message from
// the tenant's knowledge, for an agent who may see the conversation. It
// sends nothing. Errors: not_found.
func (s *Service) Suggest(ctx context.Context, p tenants.Principal, convID string) (bots.Suggestion, error) {
	conv, err := s.access(ctx, p, convID)
	if err != nil {
		return bots.Suggestion{}, err
	}
	if s.bots == nil {
		return bots.Suggestion{Source: "none"}, nil
	}
	db, _ := s.db(p.TenantID)
	var last []messageRow
	if err := db.WithContext(ctx).Where("conversation_id = ? AND author_type = ? AND private = ?", convID, AuthorVisitor, false).Order("seq DESC").Limit(1).Find(&last).Error; err != nil {
		return bots.Suggestion{}, err
	}
	if len(last) == 0 || strings.TrimSpace(last[0].Body) == "" {
		return bots.Suggestion{Source: "none"}, nil
	}
	var v visitorRow
	lang := ""
	if db.WithContext(ctx).Where("id = ?", conv.VisitorID).Take(&v).Error == nil {
		lang = attrString(v.visitor().Attributes, "language")
	}
	q := bots.Question{ConversationID: convID, Text: last[0].Body, Language: lang, History: s.recentTurns(ctx, p.TenantID, convID, last[0].Body)}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return s.bots.Suggest(ctx, p.TenantID, q)
}

// openConversationOf is the visitor's latest conversation that is not
// resolved, or "" (an index lookup on the visitor's conversations).
func (s *Service) openConversationOf(ctx context.Context, db *tenants.DB, visitorID string) (string, error) {
	var ids []string
	err := db.WithContext(ctx).Model(&conversationRow{}).Where("visitor_id = ? AND status <> ?", visitorID, StatusResolved).Order("created_at DESC").Limit(1).Pluck("id", &ids).Error
	if err != nil || len(ids) == 0 {
		return "", err
	}
	return ids[0], nil
}
