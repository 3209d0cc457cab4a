package chat

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"kefu"
	"kefu/tenants"
)

// StartInput opens a conversation from the business's side.
type StartInput struct {
	VisitorID  string
	Message    string // optional first message, from the caller
	TeamID     string // optional: the team it goes to
	AssigneeID string // optional: the agent it goes to
}

// StartConversation opens a conversation with a known visitor (outbound: an API client
// or an agent writes first). Without an agent or team it waits in the queue
// like any other; the visitor finds it, and its messages, in the widget when
// they come back (their socket catches up every conversation of theirs).
// It counts against the plan's conversations of the month. Errors:
// invalid_argument, not_found (visitor, agent or team), quota_exceeded,
// permission_denied for visitors.
func (s *Service) StartConversation(ctx context.Context, p tenants.Principal, in StartInput) (Conversation, error) {
	if p.Kind == tenants.KindVisitor {
		return Conversation{}, kefu.Errorf(kefu.EDenied, "visitors open conversations by writing")
	}
	fields := map[string]string{}
	if in.VisitorID == "" {
		fields["visitor_id"] = "is required"
	}
	for k, v := range map[string]string{"visitor_id": in.VisitorID, "team_id": in.TeamID, "assignee_id": in.AssigneeID} {
		if len(v) > 100 {
			fields[k] = "must be at most 100 characters"
		} else {
			kefu.CheckText(fields, k, v)
		}
	}
	if len(in.Message) > MaxBodyBytes {
		fields["message"] = "must be at most 16384 bytes"
	} else {
		kefu.CheckText(fields, "message", in.Message)
	}
	if len(fields) > 0 {
		return Conversation{}, kefu.Invalid(fields)
	}
	// The agent and team first: a wrong one must not leave a conversation
	// behind.
	if in.AssigneeID != "" {
		u, err := s.tenants.User(ctx, p.TenantID, in.AssigneeID)
		if kefu.Code(err) == kefu.ENotFound {
			return Conversation{}, &kefu.Error{Code: kefu.ENotFound, Message: "no such agent", Fields: map[string]string{"assignee_id": "no such agent"}}
		}
		if err != nil {
			return Conversation{}, err
		}
		if !u.Active {
			return Conversation{}, &kefu.Error{Code: kefu.EConflict, Message: "this agent is deactivated", Fields: map[string]string{"assignee_id": "is deactivated"}}
		}
	}
	if in.TeamID != "" {
		if _, err := s.tenants.Team(ctx, p.TenantID, in.TeamID); err != nil {
			if kefu.Code(err) == kefu.ENotFound {
				return Conversation{}, &kefu.Error{Code: kefu.ENotFound, Message: "no such team", Fields: map[string]string{"team_id": "no such team"}}
			}
			return Conversation{}, err
		}
	}
	if err := s.admitConversation(ctx, p.TenantID); err != nil {
		return Conversation{}, err
	}
	db, err := s.db(p.TenantID)
	if err != nil {
		return Conversation{}, err
	}
	now := s.stamp()
	conv := conversationRow{ID: tenants.NewID(), VisitorID: in.VisitorID, Status: StatusQueued, QueuedAt: &now, Labels: "[]", Attributes: "{}", CreatedAt: now, UpdatedAt: now}
	var vis visitorRow
	hook := s.wantsHook(ctx, db, p.TenantID, HookConversationCreated)
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", in.VisitorID).Take(&vis).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return &kefu.Error{Code: kefu.ENotFound, Message: "no such visitor", Fields: map[string]string{"visitor_id": "no such visitor"}}
			}
			return err
		}
		if err := tx.Create(&conv).Error; err != nil {
			return err
		}
		if !hook {
			return nil
		}
		return s.enqueueHooks(tx, db, p.TenantID, []hookEvent{conversationHook(p.TenantID, HookConversationCreated, conv.conversation(vis.visitor()), "", now)})
	})
	if err != nil {
		return Conversation{}, err
	}
	s.countConversation(p.TenantID)
	if hook {
		s.hooksWritten(p.TenantID)
	}
	s.publish(ctx, Event{Kind: EventConversation, TenantID: p.TenantID, ConversationID: conv.ID, VisitorID: conv.VisitorID, Conversation: ptr(conv.conversation(vis.visitor()))})
	if in.Message != "" {
		if _, _, err := s.Send(ctx, p, SendInput{ConversationID: conv.ID, Body: in.Message}); err != nil {
			return Conversation{}, err
		}
	}
	if in.AssigneeID != "" || in.TeamID != "" {
		return s.Assign(ctx, p, conv.ID, AssignInput{AgentID: in.AssigneeID, TeamID: in.TeamID})
	}
	s.publishQueueSoon(p.TenantID)
	s.background(func() { s.observe(context.Background(), Happening{What: CapacityFreed, TenantID: p.TenantID}) })
	return s.Conversation(ctx, p, conv.ID)
}
