package chat

import (
	"context"
	"time"

	"gorm.io/gorm"

	"kefu"
	"kefu/tenants"
)

// The lifecycle after resolve. A visitor who writes within the tenant's
// reopen window (tenants.Tenant.ReopenWindowDays, default 7 days) reopens
// the same conversation, which the flow routes again with the event
// conversation.reopened (preferring the agent it was last with); after the
// window a new conversation opens. An agent's reply reopens it with that
// agent. Reopen (the API's, and the console's undo of a resolve) gives it
// back to the agent who had it, or to the queue.

// reopenable reports whether a visitor's message may reopen c.
func (s *Service) reopenable(ctx context.Context, tenantID string, c conversationRow) bool {
	if c.Status != StatusResolved || c.ResolvedAt == nil {
		return false
	}
	t, err := s.tenants.Tenant(ctx, tenantID)
	if err != nil || t.ReopenWindowDays <= 0 {
		return false
	}
	return s.now().Sub(*c.ResolvedAt) <= time.Duration(t.ReopenWindowDays)*24*time.Hour
}

// reopenTx gives a resolved conversation back to the bot inside tx (the
// caller holds the visitor's lock) and stores the reopened note; the flow
// runs after the commit.
func (s *Service) reopenTx(tx *gorm.DB, db *tenants.DB, c conversationRow, lang string, now time.Time) (conversationRow, Message, error) {
	var out []conversationRow
	err := tx.Raw(`UPDATE `+db.Table("conversations")+` SET status = ?, assignee_id = NULL, resolved_at = NULL, flow_node = NULL, queued_at = NULL,
		queue_deadline = NULL, updated_at = ?, last_seq = last_seq + 1 WHERE id = ? AND status = ? RETURNING *`, StatusBot, now, c.ID, StatusResolved).Scan(&out).Error
	if err != nil {
		return c, Message{}, err
	}
	if len(out) == 0 {
		return c, Message{}, kefu.Errorf(kefu.EConflict, "the conversation changed")
	}
	n := newNote(NoteReopened)
	row := messageRow{ID: tenants.NewID(), ConversationID: c.ID, Seq: out[0].LastSeq, AuthorType: AuthorSystem, Body: n.Render(lang), System: n.encode(), Attachments: "[]", CreatedAt: now}
	if err := tx.Create(&row).Error; err != nil {
		return c, Message{}, err
	}
	return out[0], row.message(), nil
}

// reopenByAgent reopens a resolved conversation an agent has just replied
// to, assigned to them.
func (s *Service) reopenByAgent(ctx context.Context, p tenants.Principal, convID string) {
	_, err := s.update(ctx, p.TenantID, convID, func(tx *gorm.DB, db *tenants.DB, c *conversationRow) (*note, error) {
		if c.Status != StatusResolved {
			return nil, errUnchanged
		}
		if _, err := adjustLoad(tx, db, p.ID, 1, false); err != nil {
			return nil, err
		}
		c.Status, c.AssigneeID, c.LastAgentID, c.ResolvedAt = StatusAssigned, &p.ID, &p.ID, nil
		return newNote(NoteReopened, "by_name", p.Name), nil
	})
	if err != nil {
		s.log.Warn("reopen by an agent's reply", "tenant_id", p.TenantID, "conversation_id", convID, "err", err)
	}
}

// Reopen gives a resolved conversation back: to the agent who had it (the
// console's undo of a resolve), or when nobody had it to the flow, which
// routes it with conversation.reopened. A conversation that is not resolved
// comes back unchanged. Errors: not_found.
func (s *Service) Reopen(ctx context.Context, p tenants.Principal, convID string) (Conversation, error) {
	if _, err := s.access(ctx, p, convID); err != nil {
		return Conversation{}, err
	}
	who := p.Name
	toFlow := false
	conv, err := s.update(ctx, p.TenantID, convID, func(tx *gorm.DB, db *tenants.DB, c *conversationRow) (*note, error) {
		if c.Status != StatusResolved {
			return nil, errUnchanged
		}
		c.ResolvedAt = nil
		if a := c.assignee(); a != "" {
			if _, err := adjustLoad(tx, db, a, 1, false); err != nil {
				return nil, err
			}
			c.Status = StatusAssigned
		} else {
			c.Status, toFlow = StatusBot, true
		}
		return newNote(NoteReopened, "by_name", who), nil
	})
	if err == nil && toFlow {
		s.background(func() {
			s.observe(context.WithoutCancel(ctx), Happening{What: ConversationReopened, TenantID: p.TenantID, ConversationID: convID})
		})
	}
	return conv, err
}
