package chat

import (
	"context"
	"time"

	"gorm.io/gorm"

	"kefu/tenants"
)

// Openings of new visitors, in batches.
//
// A visitor's first message opens their first conversation. Alone, that is
// one transaction (lock the visitor, look for their conversations, insert
// the conversation and the message, write the webhook events). When a page
// with the widget gets busy, many visitors open at once, and a transaction
// each would queue them behind each other for the database's connections.
// So openings of one tenant gather while a batch is under way, like
// messages in the group commit, and the next batch opens them all in one
// transaction with a fixed number of statements.
//
// The batch takes only the plain case — a visitor with no conversation yet,
// one message without files — and only once per visitor per batch. Anything
// else (a returning visitor, a reopen, a duplicate client_id, a second first
// message in the same batch, or a batch that failed) is answered
// "not handled" and goes the single-opening way, which knows every case.

// maxOpenBatch bounds one batch (statement parameters and lock time).
const maxOpenBatch = 100

type openReq struct {
	db       *tenants.DB
	tenantID string
	visitor  string
	row      messageRow // conversation id and seq are the batch's to fill
	admit    error      // the plan's answer, asked before: a new conversation is refused with it
	hookMsg  bool
	hookConv bool
	done     chan openRes
}

type openRes struct {
	handled bool // false: take the single-opening path
	err     error
	conv    conversationRow
	visitor visitorRow
	row     messageRow
}

type openBatcher struct {
	s       *Service
	timeout time.Duration
	b       *batcher[*openReq]
}

func newOpenBatcher(s *Service, timeout time.Duration) *openBatcher {
	ob := &openBatcher{s: s, timeout: timeout}
	ob.b = newBatcher(maxOpenBatch, 1, func(_ string, batch []*openReq) { ob.flush(batch) })
	return ob
}

// open hands the opening to the tenant's batch and waits for its answer.
func (b *openBatcher) open(ctx context.Context, r *openReq) openRes {
	r.done = make(chan openRes, 1)
	b.b.add(r.tenantID, r)
	// Once queued, the batch answers whatever ctx does (bounded by its
	// own deadline): the sender must know whether its message is stored.
	return <-r.done
}

func (b *openBatcher) flush(batch []*openReq) {
	results := make([]openRes, len(batch))
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	if err := b.openAll(ctx, batch, results); err != nil {
		// Nothing of the batch is stored: each opening goes the single way,
		// which reports or survives whatever failed here.
		for i := range results {
			results[i] = openRes{}
		}
	}
	for i, r := range batch {
		r.done <- results[i]
	}
}

// openAll opens the plain openings of batch in one transaction and fills
// results (unhandled ones stay zero).
func (b *openBatcher) openAll(ctx context.Context, batch []*openReq, results []openRes) error {
	s := b.s
	db := batch[0].db
	tenantID := batch[0].tenantID
	// One request per visitor: a second first message waits for the first
	// to commit and then continues its conversation.
	first := map[string]int{}
	var ids []string
	for i, r := range batch {
		if _, dup := first[r.visitor]; !dup {
			first[r.visitor] = i
			ids = append(ids, r.visitor)
		}
	}
	now := s.stamp()
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The visitors' rows are the locks, as in the single opening: two
		// first messages of one visitor open one conversation.
		var vs []visitorRow
		if err := tx.Raw(`UPDATE `+db.Table("visitors")+` SET last_seen_at = ? WHERE id IN ? RETURNING *`, now, ids).Scan(&vs).Error; err != nil {
			return err
		}
		byID := make(map[string]visitorRow, len(vs))
		for _, v := range vs {
			byID[v.ID] = v
		}
		var known []string
		if err := tx.Raw(`SELECT DISTINCT visitor_id FROM `+db.Table("conversations")+` WHERE visitor_id IN ?`, ids).Scan(&known).Error; err != nil {
			return err
		}
		returning := make(map[string]bool, len(known))
		for _, v := range known {
			returning[v] = true
		}
		var (
			convs []conversationRow
			rows  []messageRow
			evs   []hookEvent
		)
		for v, i := range first {
			r := batch[i]
			vis, ok := byID[v]
			if !ok || returning[v] {
				continue // no such visitor, or not their first conversation: the single way
			}
			if r.admit != nil {
				results[i] = openRes{handled: true, err: r.admit}
				continue
			}
			row := r.row
			conv := conversationRow{ID: tenants.NewID(), VisitorID: v, Status: StatusBot, Labels: "[]", Attributes: "{}", LastSeq: 1, CreatedAt: now, UpdatedAt: now,
				LastMessageBody: previewOf(row), LastMessageAuthor: row.AuthorType, LastMessageAt: &now,
				LastVisitorBody: previewOf(row), LastVisitorAt: &now, WaitingSince: &now}
			row.ConversationID, row.Seq = conv.ID, 1
			convs = append(convs, conv)
			rows = append(rows, row)
			if r.hookConv {
				evs = append(evs, conversationHook(tenantID, HookConversationCreated, conv.conversation(vis.visitor()), "", now))
			}
			if r.hookMsg {
				evs = append(evs, s.messageHook(tenantID, row, conv))
			}
			results[i] = openRes{handled: true, conv: conv, visitor: vis, row: row}
		}
		if len(convs) == 0 {
			return nil
		}
		if err := tx.Create(&convs).Error; err != nil {
			return err
		}
		if err := insertMessages(tx, db, rows); err != nil {
			return err
		}
		return s.enqueueHooks(tx, db, tenantID, evs)
	})
}
