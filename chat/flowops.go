package chat

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"

	"gorm.io/gorm"

	"kefu/routing"
	"kefu/tenants"
)

// The operations the flow runtime acts through (see Observer). Each checks
// what it must itself — a conversation an agent has or that is resolved is
// never routed, an assignment never goes over an agent's cap — so the
// runtime needs none of chat's rows.

// Errors of AutoAssign that are not faults: nobody could take the
// conversation now (it stays queued), or it no longer waits.
var (
	ErrNoAgent = errNoAgent
	ErrTaken   = errTaken
	// ErrNotRouted: the conversation is with an agent or resolved; the
	// flow does not run for it.
	ErrNotRouted = errors.New("the conversation is not the flow's")
)

// FlowInput is what a flow run for event sees of a conversation: the
// visitor, the conversation, the message text and the tenant's hours, and
// the agent the conversation was last with (who goes first when eligible).
// known, when the opening transaction read them, spares the reads.
// Errors: ErrNotRouted, or the store's.
func (s *Service) FlowInput(ctx context.Context, tenantID, convID string, known *Opening, event, text string) (routing.Input, string, error) {
	var in routing.Input
	var prefer string
	if known != nil {
		in = s.flowInputOf(known.o.conv, known.o.visitor.visitor(), known.o.returning, event, text)
		prefer = deref(known.o.conv.LastAgentID)
	} else {
		db, err := s.db(tenantID)
		if err != nil {
			return in, "", err
		}
		var conv conversationRow
		if err := db.WithContext(ctx).Where("id = ?", convID).Take(&conv).Error; err != nil {
			return in, "", err
		}
		if conv.Status == StatusAssigned || conv.Status == StatusResolved {
			return in, "", ErrNotRouted // a person has it, or it is closed
		}
		if in, err = s.flowInput(ctx, db, conv, event, text); err != nil {
			return in, "", err
		}
		prefer = deref(conv.LastAgentID)
	}
	in.Hours = s.flowHours(ctx, tenantID)
	return in, prefer, nil
}

// Decision is a flow run's outcome, as logged and applied.
type Decision struct {
	FlowID      string // "": the built-in default flow
	FlowVersion int
	Event       string
	Result      routing.Result
}

// LogDecision logs a run's decision on the conversation (the console's
// routing trace; recovery reads it to find runs that died). Failures are
// logged, not returned: the decision stands without its trace.
func (s *Service) LogDecision(ctx context.Context, tenantID, convID string, d Decision) {
	db, err := s.db(tenantID)
	if err != nil {
		return
	}
	res := d.Result
	detail, _ := json.Marshal(map[string]any{"event": d.Event, "flow_id": d.FlowID, "flow_version": d.FlowVersion, "action": res.Action, "agent_id": res.AgentID, "agent_name": res.AgentName, "waiting": res.Waiting, "trace": res.Trace})
	row := eventRow{ID: tenants.NewID(), ConversationID: convID, Kind: "routing", Detail: string(detail), CreatedAt: s.stamp()}
	if err := s.events.write(ctx, db, tenantID, row); err != nil {
		s.log.WarnContext(ctx, "routing: log decision", "conversation_id", convID, "err", err)
	}
}

// ApplyDecision stores what a run decided: the visitor attributes it set,
// the labels it added, and where the conversation now waits (queued at a
// node, until a deadline, or with the bot). An assignment happened inside
// the run: only the attributes are stored. A conversation a person has, or
// that is resolved, is left where it is. It returns the queue deadline now
// set (nil: none), and tells waiting visitors their new places.
func (s *Service) ApplyDecision(ctx context.Context, tenantID, convID string, d Decision) (*time.Time, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return nil, err
	}
	res := d.Result
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
		return nil, nil
	}
	var flowID *string
	var flowVersion *int
	if d.FlowID != "" {
		flowID, flowVersion = &d.FlowID, &d.FlowVersion
	}
	now := s.stamp()
	var deadline *time.Time
	_, err = s.update(ctx, tenantID, convID, func(tx *gorm.DB, db *tenants.DB, c *conversationRow) (*note, error) {
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
		return nil, err
	}
	s.publishQueueSoon(tenantID)
	return deadline, nil
}

// Logger is the service's logger.
func (s *Service) Logger() *slog.Logger { return s.log }

// StartSpan starts a span under ctx's span when that trace is sampled (the
// parent may have ended, as a request's has when the flow run it started
// goes on); else it returns ctx and a span that records nothing, at no cost.
func (s *Service) StartSpan(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return s.child(ctx, name, opts...)
}

// CountRouting counts a routing decision by its action
// (kefu_routing_decisions_total).
func (s *Service) CountRouting(action string) { s.metrics.routed.WithLabelValues(action).Inc() }

// CountFlowBusy counts a conversation queued without its flow because the
// tenant had every run slot taken.
func (s *Service) CountFlowBusy() { s.metrics.flowBusy.Inc() }

// PublishQueue tells the tenant's waiting visitors their places soon (many
// calls in a moment cost one pass over the queue).
func (s *Service) PublishQueue(tenantID string) { s.publishQueueSoon(tenantID) }

// BotReply stores a message from the bot and publishes it. It goes
// through the group commit like every other message, so the greetings of
// many conversations opening at once share transactions.
func (s *Service) BotReply(ctx context.Context, tenantID, convID, text string) (Message, error) {
	return s.botMessage(ctx, tenantID, convID, text)
}

// AutoAssign gives a waiting conversation to the best eligible agent by
// req's strategy behind the tenant's assignment breaker, reserving a slot
// under the agent's cap in the same transaction; prefer (when eligible)
// goes first. Errors: ErrNoAgent, ErrTaken (neither counts against the
// breaker), the breaker's when it is open, or the store's.
func (s *Service) AutoAssign(ctx context.Context, tenantID, convID string, req routing.AssignRequest, prefer string) (routing.Agent, error) {
	return s.assignGuarded(ctx, tenantID, convID, req, prefer)
}

// AnswerFAQ answers text from the tenant's FAQ when the best entry reaches
// the tenant's threshold (counted in the bots' outcomes). A visitor asking
// for a person gets no FAQ answer.
func (s *Service) AnswerFAQ(ctx context.Context, tenantID, text string) (string, bool, error) {
	return answerFAQ(ctx, s.bots, tenantID, text, true)
}

// FlowWebhook posts a flow's webhook node call for a conversation.
func (s *Service) FlowWebhook(ctx context.Context, tenantID, convID, url string, in routing.Input, timeout time.Duration) error {
	return s.hooks.post(ctx, url, timeout, map[string]any{"event": "flow.webhook", "tenant_id": tenantID, "conversation_id": convID, "visitor": in.Visitor, "message": in.Message})
}

// Waiting is a queued conversation as the runtime sees it.
type Waiting struct {
	ConversationID string
	Node           string     // the flow node it waits at ("": a plain queue)
	Team           string     // given to a team: only its members take it
	LastAgentID    string     // the agent it was last with
	Deadline       *time.Time // its queue deadline, if any
}

func waitingOf(c conversationRow) Waiting {
	return Waiting{ConversationID: c.ID, Node: deref(c.FlowNode), Team: c.Team, LastAgentID: deref(c.LastAgentID), Deadline: c.QueueDeadline}
}

// Queued lists the tenant's queued conversations, oldest first (at most
// limit).
func (s *Service) Queued(ctx context.Context, tenantID string, limit int) ([]Waiting, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return nil, err
	}
	var rows []conversationRow
	if err := db.WithContext(ctx).Where("status = ?", StatusQueued).Order("queued_at, created_at").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Waiting, len(rows))
	for i, c := range rows {
		out[i] = waitingOf(c)
	}
	return out, nil
}

// QueueDeadlines lists the tenant's queued conversations that wait at a
// node until a deadline (at most limit).
func (s *Service) QueueDeadlines(ctx context.Context, tenantID string, limit int) ([]Waiting, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return nil, err
	}
	var rows []conversationRow
	if err := db.WithContext(ctx).Where("status = ? AND queue_deadline IS NOT NULL AND flow_node IS NOT NULL", StatusQueued).Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Waiting, len(rows))
	for i, c := range rows {
		out[i] = waitingOf(c)
	}
	return out, nil
}

// ExpireQueueDeadline clears the queue deadline of a conversation still
// waiting at node once the deadline has passed, so the flow can resume by
// the timeout branch (and set a new one). It reports whether this caller
// cleared it: of every node's timer and job, exactly one does.
func (s *Service) ExpireQueueDeadline(ctx context.Context, tenantID, convID, node string) (bool, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return false, err
	}
	var c conversationRow
	if err := db.WithContext(ctx).Where("id = ?", convID).Take(&c).Error; err != nil {
		return false, err
	}
	if c.Status != StatusQueued || c.FlowNode == nil || *c.FlowNode != node || c.QueueDeadline == nil || c.QueueDeadline.After(s.now()) {
		return false, nil
	}
	res := db.WithContext(ctx).Model(&conversationRow{}).Where("id = ? AND flow_node = ? AND queue_deadline IS NOT NULL", convID, node).Update("queue_deadline", nil)
	return res.Error == nil && res.RowsAffected > 0, res.Error
}

// PlanQueueDeadline plans the durable backstop of a queue deadline (jobs.go):
// a second after at, whichever node claims it tells its Observer
// QueueDeadlineDue, unless the deadline was met or moved meanwhile.
func (s *Service) PlanQueueDeadline(tenantID, convID, node string, at time.Time) {
	s.armQueueExpiry(tenantID, convID, node, at)
}

// PublishedProgram is the tenant's published flow, compiled (cached per
// version); flowID is "" for the built-in default.
func (s *Service) PublishedProgram(ctx context.Context, tenantID string) (flowID string, version int, prog *routing.Program, err error) {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return "", 0, nil, err
	}
	return a.flowID, a.version, a.prog, nil
}

// TenantIDs lists every tenant (for the runtime's re-arming at start).
func (s *Service) TenantIDs(ctx context.Context) ([]string, error) {
	return s.tenants.ListTenantIDs(ctx)
}
