package chat

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"kefu/tenants"
)

// History describes synthetic conversations for SeedHistory.
type History struct {
	Conversations int    // one visitor each
	Messages      int    // per conversation, alternating visitor and agent
	Prefix        string // makes the ids unique per seeding (several runs into one tenant)
	AgentID       string // who wrote the agent half (may be empty)
	At            time.Time
	// Bodies, when set, are the message texts: message k of conversation n
	// says Bodies[(n+k) % len(Bodies)] followed by " #n" (so a search can
	// find one conversation's messages); otherwise every message says the
	// same thing.
	Bodies []string
}

// SeedHistory bulk-inserts resolved conversations with their messages into
// a tenant, in statements of a few thousand conversations, so that
// benchmarks and the query-plan tests measure a tenant with a past (the
// cost of a message must not grow with it). It is not for production data:
// it bypasses the group commit and routing.
func SeedHistory(ctx context.Context, db *tenants.DB, h History) error {
	if h.At.IsZero() {
		h.At = time.Now().UTC().Add(-24 * time.Hour)
	}
	const chunk = 2000
	for from := 1; from <= h.Conversations; from += chunk {
		to := min(from+chunk-1, h.Conversations)
		if err := seedChunk(ctx, db, h, from, to); err != nil {
			return fmt.Errorf("seed conversations %d-%d: %w", from, to, err)
		}
	}
	return nil
}

func seedChunk(ctx context.Context, db *tenants.DB, h History, from, to int) error {
	p := h.Prefix
	at := h.At
	// n numbers the conversations of the chunk, k the messages of each.
	series := `WITH RECURSIVE c(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM c WHERE n < ?),
	s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < ?) `
	cat := func(parts ...string) string { // string concatenation in both dialects
		out := parts[0]
		for _, x := range parts[1:] {
			out += " || " + x
		}
		return out
	}
	txt := "CAST(c.n AS text)"
	if db.Dialect == tenants.Postgres {
		series = `WITH c(n) AS (SELECT generate_series(?::int, ?::int)), s(k) AS (SELECT generate_series(1, ?::int)) `
	}
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO `+db.Table("visitors")+` (id, name, email, attributes, created_at, last_seen_at) `+series+
			`SELECT `+cat("?", txt)+`, `+cat("'Visitor '", txt)+`, '', '{}', ?, ? FROM c`,
			from, to, 1, p+"v", at, at).Error; err != nil {
			return err
		}
		if err := tx.Exec(`INSERT INTO `+db.Table("conversations")+` (id, visitor_id, status, assignee_id, last_seq, last_message_body, last_message_author, last_message_at, labels, created_at, updated_at, resolved_at) `+series+
			`SELECT `+cat("?", txt)+`, `+cat("?", txt)+`, 'resolved', NULLIF(?, ''), ?, 'thanks', 'agent', ?, '[]', ?, ?, ? FROM c`,
			from, to, 1, p+"c", p+"v", h.AgentID, h.Messages, at, at, at, at).Error; err != nil {
			return err
		}
		ktxt := "CAST(s.k AS text)"
		body, bodyArgs := "'a message from the past'", []any{}
		if len(h.Bodies) > 0 {
			body = "CASE (c.n + s.k) % " + fmt.Sprint(len(h.Bodies))
			for i, b := range h.Bodies {
				body += fmt.Sprintf(" WHEN %d THEN ?", i)
				bodyArgs = append(bodyArgs, b)
			}
			body = cat(body+" END", "' #'", txt)
		}
		args := append([]any{from, to, h.Messages, p + "m", p + "c", p + "v", h.AgentID}, bodyArgs...)
		return tx.Exec(`INSERT INTO `+db.Table("messages")+` (id, conversation_id, seq, client_id, author_type, author_id, author_name, body, private, attachments, created_at) `+series+
			`SELECT `+cat("?", txt, "'-'", ktxt)+`, `+cat("?", txt)+`, s.k, `+cat("'h'", ktxt)+`,
			CASE WHEN s.k % 2 = 1 THEN 'visitor' ELSE 'agent' END,
			CASE WHEN s.k % 2 = 1 THEN `+cat("?", txt)+` ELSE ? END,
			'', `+body+`, false, '[]', ? FROM c, s`,
			append(args, at)...).Error
	})
}
