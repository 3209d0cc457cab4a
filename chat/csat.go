package chat

import (
	"context"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"kefu"
	"kefu/tenants"
)

// CSAT is a visitor's rating of a resolved conversation.
type CSAT struct {
	Score   int    `json:"score"`
	Comment string `json:"comment"`
	// SubmittedAt is when the visitor first rated; changing the rating
	// (allowed for CSATChangeWindow after it) keeps it.
	SubmittedAt time.Time `json:"submitted_at"`
}

// CSATChangeWindow is how long after rating a visitor may change it.
const CSATChangeWindow = 24 * time.Hour

// maxCSATComment bounds a rating's comment, in characters.
const maxCSATComment = 1000

func (r conversationRow) csat() *CSAT {
	if r.CsatScore == nil || r.CsatAt == nil {
		return nil
	}
	return &CSAT{Score: *r.CsatScore, Comment: r.CsatComment, SubmittedAt: r.CsatAt.UTC()}
}

// SubmitCSAT stores the visitor's rating (1–5) and comment of their own
// resolved conversation. Agents see it on the conversation at once
// (conversation.updated) and webhooks get csat.submitted. Errors:
// permission_denied (not a visitor), invalid_argument, not_found (not
// theirs), conflict (not resolved, or rated more than CSATChangeWindow ago).
func (s *Service) SubmitCSAT(ctx context.Context, p tenants.Principal, convID string, score int, comment string) (Conversation, error) {
	if p.Kind != tenants.KindVisitor {
		return Conversation{}, kefu.Errorf(kefu.EDenied, "only the visitor rates a conversation")
	}
	fields := map[string]string{}
	if score < 1 || score > 5 {
		fields["score"] = "must be from 1 to 5"
	}
	if utf8.RuneCountInString(comment) > maxCSATComment {
		fields["comment"] = "must be at most 1000 characters"
	} else {
		kefu.CheckText(fields, "comment", comment)
	}
	if convID == "" {
		fields["conversation_id"] = "is required"
	}
	if len(fields) > 0 {
		return Conversation{}, kefu.Invalid(fields)
	}
	if _, err := s.access(ctx, p, convID); err != nil {
		return Conversation{}, err
	}
	return s.update(ctx, p.TenantID, convID, func(tx *gorm.DB, db *tenants.DB, c *conversationRow) (*note, error) {
		if c.Status != StatusResolved {
			return nil, kefu.Errorf(kefu.EConflict, "the conversation is not resolved")
		}
		at := s.stamp()
		if c.CsatAt != nil {
			if at.Sub(*c.CsatAt) > CSATChangeWindow {
				return nil, kefu.Errorf(kefu.EConflict, "the rating can no longer be changed")
			}
			at = *c.CsatAt
		}
		return nil, tx.Exec(`UPDATE `+db.Table("conversations")+` SET csat_score = ?, csat_comment = ?, csat_at = ? WHERE id = ?`, score, comment, at, c.ID).Error
	})
}
