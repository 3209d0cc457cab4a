package chat

import (
	"context"
	"time"

	"gorm.io/gorm"

	"kefu"
	"kefu/tenants"
)

// Privacy: everything Kefu keeps about one contact (a visitor), exported
// or erased on request, and a conversation's transcript. Exports and
// erasure are for administrators (the API checks the role); a transcript
// for anyone who may read the conversation.

// MaxExportFileBytes bounds the files one export carries inline (they are
// base64 in the JSON, a third larger); a contact with more gets too_large.
const MaxExportFileBytes = 64 << 20

// ContactExport is everything stored about one contact.
type ContactExport struct {
	ExportedAt    time.Time              `json:"exported_at"`
	Contact       ExportedContact        `json:"contact"`
	Conversations []ExportedConversation `json:"conversations"`
	Files         []ExportedFile         `json:"files"`
}

// ExportedContact is the contact's own record.
type ExportedContact struct {
	Visitor
	CreatedAt  time.Time  `json:"created_at"`
	LastSeenAt time.Time  `json:"last_seen_at"`
	ErasedAt   *time.Time `json:"erased_at,omitempty"`
}

// ExportedConversation is one of the contact's conversations with every
// message, private notes included (they are about the contact too).
type ExportedConversation struct {
	Conversation Conversation `json:"conversation"`
	Messages     []Message    `json:"messages"`
}

// ExportedFile is a file of the contact's conversations, its bytes
// base64-encoded in the JSON.
type ExportedFile struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	ContentType    string    `json:"content_type"`
	Size           int64     `json:"size"`
	ConversationID string    `json:"conversation_id"`
	MessageID      string    `json:"message_id"`
	CreatedAt      time.Time `json:"created_at"`
	Data           []byte    `json:"data_base64"`
}

type contactRow struct {
	ID         string
	Name       string
	Email      string
	Attributes string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ErasedAt   *time.Time
}

func (s *Service) contact(ctx context.Context, db *tenants.DB, id string) (contactRow, error) {
	var rows []contactRow
	err := db.WithContext(ctx).Raw(`SELECT id, name, email, attributes, created_at, last_seen_at, erased_at FROM `+db.Table("visitors")+` WHERE id = ?`, id).Scan(&rows).Error
	if err == nil && len(rows) == 0 {
		err = kefu.Errorf(kefu.ENotFound, "no such contact")
	}
	if err != nil {
		return contactRow{}, err
	}
	return rows[0], nil
}

func (s *Service) contactConversations(ctx context.Context, db *tenants.DB, visitorID string) ([]conversationRow, error) {
	var convs []conversationRow
	err := db.WithContext(ctx).Where("visitor_id = ?", visitorID).Order("created_at, id").Find(&convs).Error
	return convs, err
}

// ExportContact returns everything stored about the contact. Errors:
// not_found (no such contact in p's tenant), too_large (files over
// MaxExportFileBytes).
func (s *Service) ExportContact(ctx context.Context, p tenants.Principal, visitorID string) (ContactExport, error) {
	db, err := s.db(p.TenantID)
	if err != nil {
		return ContactExport{}, err
	}
	v, err := s.contact(ctx, db, visitorID)
	if err != nil {
		return ContactExport{}, err
	}
	vis := visitorRow{ID: v.ID, Name: v.Name, Email: v.Email, Attributes: v.Attributes}.visitor()
	out := ContactExport{ExportedAt: s.now().UTC(), Contact: ExportedContact{Visitor: vis, CreatedAt: v.CreatedAt.UTC(), LastSeenAt: v.LastSeenAt.UTC(), ErasedAt: v.ErasedAt},
		Conversations: []ExportedConversation{}, Files: []ExportedFile{}}
	convs, err := s.contactConversations(ctx, db, visitorID)
	if err != nil {
		return ContactExport{}, err
	}
	ids := make([]string, len(convs))
	for i, c := range convs {
		ids[i] = c.ID
		var rows []messageRow
		if err := db.WithContext(ctx).Where("conversation_id = ?", c.ID).Order("seq").Find(&rows).Error; err != nil {
			return ContactExport{}, err
		}
		ec := ExportedConversation{Conversation: c.conversation(out.Contact.Visitor), Messages: make([]Message, len(rows))}
		for j, r := range rows {
			ec.Messages[j] = r.message()
		}
		out.Conversations = append(out.Conversations, ec)
	}
	if len(ids) == 0 {
		return out, nil
	}
	var files []uploadRow
	if err := db.WithContext(ctx).Where("conversation_id IN ? AND complete = ?", ids, true).Order("created_at, id").Find(&files).Error; err != nil {
		return ContactExport{}, err
	}
	var total int64
	for _, f := range files {
		if total += f.Size; total > MaxExportFileBytes {
			return ContactExport{}, kefu.Errorf(kefu.ETooLarge, "this contact's files are over %d MiB; export their conversations' transcripts and files one by one", MaxExportFileBytes>>20)
		}
		var chunks []struct{ Data []byte }
		if err := db.WithContext(ctx).Raw(`SELECT data FROM `+db.Table("upload_chunks")+` WHERE upload_id = ? ORDER BY n`, f.ID).Scan(&chunks).Error; err != nil {
			return ContactExport{}, err
		}
		ef := ExportedFile{ID: f.ID, Name: f.Name, ContentType: f.ContentType, Size: f.Size, CreatedAt: f.CreatedAt.UTC(), Data: make([]byte, 0, f.Size)}
		if f.ConversationID != nil {
			ef.ConversationID = *f.ConversationID
		}
		if f.MessageID != nil {
			ef.MessageID = *f.MessageID
		}
		for _, c := range chunks {
			ef.Data = append(ef.Data, c.Data...)
		}
		out.Files = append(out.Files, ef)
	}
	return out, nil
}

// EraseReport says what an erasure removed.
type EraseReport struct {
	Conversations    int `json:"conversations"`
	MessagesRedacted int `json:"messages_redacted"`
	FilesDeleted     int `json:"files_deleted"`
}

// EraseContact removes everything that identifies the contact, in one
// transaction: their name, email and attributes; the text and files of
// every message of their conversations (the messages stay, empty, so seq
// numbering and the agents' statistics hold); their search entries; the
// conversations' previews; and the events about them still waiting in the
// webhook outbox (delivered still, so ids and order hold, but with data
// {"erased": true}).
// Webhooks sent later read the erased rows, so they carry nothing of the
// person. The contact's row stays, with erased_at set. Erasing twice is
// harmless. Errors: not_found.
func (s *Service) EraseContact(ctx context.Context, p tenants.Principal, visitorID string) (EraseReport, error) {
	var rep EraseReport
	db, err := s.db(p.TenantID)
	if err != nil {
		return rep, err
	}
	if _, err := s.contact(ctx, db, visitorID); err != nil {
		return rep, err
	}
	convs, err := s.contactConversations(ctx, db, visitorID)
	if err != nil {
		return rep, err
	}
	ids := make([]string, len(convs))
	for i, c := range convs {
		ids[i] = c.ID
	}
	now := s.now().UTC()
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`UPDATE `+db.Table("visitors")+` SET name = '', email = '', phone = '', notes = '', external_id = NULL, attributes = '{}', erased_at = ?, updated_at = ? WHERE id = ?`, now, now, visitorID).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		if db.Dialect == tenants.Postgres {
			// message_search holds a copy of the text (SQLite's FTS5 index
			// follows the body by trigger). The queue goes first: an indexer
			// copying these messages right now holds their queue rows, so
			// this waits for its copies to commit and the next statement
			// sees (and deletes) them; one starting later skips the rows
			// locked here. The other way round, a copy made from the text
			// before the erasure stayed in the index (seen under load in
			// cmd/kefu TestIntegratorJourney: hits with an empty snippet).
			if err := tx.Exec(`DELETE FROM `+db.Table("search_pending")+` WHERE message_id IN (SELECT id FROM `+db.Table("messages")+` WHERE conversation_id IN ?)`, ids).Error; err != nil {
				return err
			}
			if err := tx.Exec(`DELETE FROM `+db.Table("message_search")+` WHERE message_id IN (SELECT id FROM `+db.Table("messages")+` WHERE conversation_id IN ?)`, ids).Error; err != nil {
				return err
			}
		}
		res := tx.Exec(`UPDATE `+db.Table("messages")+` SET body = '', attachments = '[]' WHERE conversation_id IN ? AND (body <> '' OR attachments <> '[]')`, ids)
		if res.Error != nil {
			return res.Error
		}
		rep.MessagesRedacted = int(res.RowsAffected)
		res = tx.Exec(`DELETE FROM `+db.Table("uploads")+` WHERE conversation_id IN ?`, ids)
		if res.Error != nil {
			return res.Error
		}
		rep.FilesDeleted = int(res.RowsAffected)
		if err := tx.Exec(`UPDATE `+db.Table("conversations")+` SET last_message_body = '', last_visitor_body = '' WHERE id IN ?`, ids).Error; err != nil {
			return err
		}
		outbox := tx
		if db.Dialect == tenants.Postgres {
			outbox = s.tenants.Store().Platform().WithContext(ctx) // the platform's outbox: not this transaction
		}
		var pending []struct {
			ID        int64
			EventID   string
			Type      string
			CreatedAt time.Time
		}
		if err := outbox.Raw(`SELECT id, event_id, type, created_at FROM `+s.OutboxTable(db)+` WHERE tenant_id = ? AND state = 'pending' AND chain IN ?`, p.TenantID, ids).Scan(&pending).Error; err != nil {
			return err
		}
		for _, e := range pending {
			payload := HookPayload(p.TenantID, e.EventID, e.Type, e.CreatedAt.UTC(), map[string]any{"erased": true})
			if err := outbox.Exec(`UPDATE `+s.OutboxTable(db)+` SET payload = ? WHERE id = ?`, payload, e.ID).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	rep.Conversations = len(ids)
	return rep, s.engine.Forget(ctx, SearchForget{TenantID: p.TenantID, VisitorIDs: []string{visitorID}, ConversationIDs: ids})
}

// MaxTranscriptMessages bounds one transcript.
const MaxTranscriptMessages = 20000

// Transcript returns the conversation and its messages in seq order, for
// whoever may read it; private notes only when withNotes (and never to a
// visitor). Errors: not_found; too_large past MaxTranscriptMessages.
func (s *Service) Transcript(ctx context.Context, p tenants.Principal, convID string, withNotes bool) (Conversation, []Message, error) {
	row, err := s.access(ctx, p, convID)
	if err != nil {
		return Conversation{}, nil, err
	}
	conv, err := s.withVisitor(ctx, p.TenantID, row)
	if err != nil {
		return Conversation{}, nil, err
	}
	db, err := s.db(p.TenantID)
	if err != nil {
		return Conversation{}, nil, err
	}
	q := db.WithContext(ctx).Where("conversation_id = ?", convID)
	if !withNotes || p.Kind == tenants.KindVisitor {
		q = q.Where("private = ?", false)
	}
	var rows []messageRow
	if err := q.Order("seq").Limit(MaxTranscriptMessages + 1).Find(&rows).Error; err != nil {
		return Conversation{}, nil, err
	}
	if len(rows) > MaxTranscriptMessages {
		return Conversation{}, nil, kefu.Errorf(kefu.ETooLarge, "the conversation has over %d messages", MaxTranscriptMessages)
	}
	msgs := make([]Message, len(rows))
	for i, r := range rows {
		msgs[i] = s.messageOf(p.TenantID, r)
	}
	return conv, msgs, nil
}
