package chat

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"time"

	"gorm.io/gorm"

	"kefu/tenants"
)

// UnattachedUploadTTL is how long an upload may wait for a message to
// carry it before the sweeper deletes it.
const UnattachedUploadTTL = 24 * time.Hour

// DefaultSweepEvery is how often each node sweeps unattached uploads.
const DefaultSweepEvery = time.Hour

// sweepBatch bounds one delete statement.
const sweepBatch = 200

// claimUploadsTx records, in the transaction that stores message row, that
// the uploads it carries belong to it (unless an earlier message took them
// first): from that commit on the sweeper leaves them alone, and they are
// deleted with the message's conversation.
func claimUploadsTx(tx *gorm.DB, db *tenants.DB, ids []string, row messageRow) error {
	if len(ids) == 0 {
		return nil
	}
	return tx.Exec(`UPDATE `+db.Table("uploads")+` SET message_id = ?, conversation_id = ? WHERE id IN ? AND message_id IS NULL`, row.ID, row.ConversationID, ids).Error
}

// DeleteUploadsOf deletes the files of a conversation's messages — with
// messageIDs, of those messages only: every file they carry (even one first
// sent elsewhere: a removed message takes its files with it) and every file
// first sent with them. Whatever removes messages or conversations (erasure,
// retention) must call it, or deleteUploadsTx inside its own transaction.
// Deleting is idempotent. It returns how many files went.
func (s *Service) DeleteUploadsOf(ctx context.Context, tenantID, conversationID string, messageIDs ...string) (int, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return 0, err
	}
	var n int
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		n, err = deleteUploadsTx(tx, conversationID, messageIDs...)
		return err
	})
	return n, err
}

// deleteUploadsTx is DeleteUploadsOf inside tx, a transaction on the
// tenant's handle.
func deleteUploadsTx(tx *gorm.DB, conversationID string, messageIDs ...string) (int, error) {
	var atts []string
	q := tx.Model(&messageRow{}).Where("conversation_id = ? AND attachments <> ?", conversationID, "[]")
	if len(messageIDs) > 0 {
		q = q.Where("id IN ?", messageIDs)
	}
	if err := q.Pluck("attachments", &atts).Error; err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	var ids []string
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, raw := range atts {
		var list []storedAttachment
		_ = json.Unmarshal([]byte(raw), &list)
		for _, a := range list {
			add(a.ID)
		}
	}
	var first []string
	q = tx.Model(&uploadRow{}).Where("conversation_id = ?", conversationID)
	if len(messageIDs) > 0 {
		q = q.Where("message_id IN ?", messageIDs)
	}
	if err := q.Pluck("id", &first).Error; err != nil {
		return 0, err
	}
	for _, id := range first {
		add(id)
	}
	n := 0
	for i := 0; i < len(ids); i += sweepBatch {
		res := tx.Where("id IN ?", ids[i:min(i+sweepBatch, len(ids))]).Delete(&uploadRow{})
		if res.Error != nil {
			return n, res.Error
		}
		n += int(res.RowsAffected)
	}
	return n, nil
}

// SweepUploads deletes, in every tenant, the uploads that no message took
// within UnattachedUploadTTL (uploads cut short included). Every node runs
// it; deleting is idempotent, so they need not agree on who does. It
// returns how many files went.
func (s *Service) SweepUploads(ctx context.Context) (int, error) {
	ids, err := s.tenants.ListTenantIDs(ctx)
	if err != nil {
		return 0, err
	}
	cutoff := s.stamp().Add(-UnattachedUploadTTL)
	total := 0
	for _, tid := range ids {
		n, err := s.sweepTenant(ctx, tid, cutoff)
		total += n
		if err != nil {
			if ctx.Err() != nil {
				return total, ctx.Err()
			}
			s.log.Warn("sweep uploads", "tenant_id", tid, "err", err)
		}
	}
	return total, nil
}

func (s *Service) sweepTenant(ctx context.Context, tenantID string, cutoff time.Time) (int, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return 0, err
	}
	total := 0
	for {
		var ids []string
		err := db.WithContext(ctx).Model(&uploadRow{}).Where("message_id IS NULL AND created_at < ?", cutoff).Limit(sweepBatch).Pluck("id", &ids).Error
		if err != nil || len(ids) == 0 {
			return total, err
		}
		// message_id IS NULL again: a file claimed since the select stays.
		res := db.WithContext(ctx).Where("id IN ? AND message_id IS NULL", ids).Delete(&uploadRow{})
		if res.Error != nil {
			return total, res.Error
		}
		total += int(res.RowsAffected)
		if len(ids) < sweepBatch {
			return total, nil
		}
	}
}

// sweepLoop sweeps every s.sweepEvery (the first time after a random part
// of it, so nodes started together do not sweep together) until ctx ends.
func (s *Service) sweepLoop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	wait := time.Duration(rand.Int64N(int64(s.sweepEvery))) + time.Minute
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if n, err := s.SweepUploads(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("sweep uploads", "err", err)
		} else if n > 0 {
			s.log.Info("swept unattached uploads", "count", n)
		}
		wait = s.sweepEvery
	}
}
