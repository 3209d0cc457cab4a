package chat

import (
	"context"
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"kefu/mailer"
	"kefu/tenants"
)

// ReplyMailer sends e-mail (a *mailer.Mailer); chat declares what it uses.
type ReplyMailer interface {
	Configured() bool
	Send(ctx context.Context, msg mailer.Message) error
}

// Replies to a visitor who is not there to read them are e-mailed: an
// agent's public reply the visitor has not read within the delay goes to
// the contact's address, with every other unread reply of the conversation
// in the same e-mail; one e-mail per conversation per ReplyMailEvery at
// most, and at most replyMailsPerHour per tenant.
const (
	DefaultReplyMailDelay = 2 * time.Minute
	DefaultReplyMailEvery = 10 * time.Minute
	replyMailsPerHour     = 200
	replyMailMessages     = 20   // replies quoted in one e-mail
	replyMailBodyRunes    = 8000 // of the quoted text
)

// MailConfigured reports whether agents' replies can be e-mailed.
func (s *Service) MailConfigured() bool { return s.mail != nil && s.mail.Configured() }

// scheduleReplyMail arms (once per conversation at a time) the check that
// e-mails the visitor what they have not read.
func (s *Service) scheduleReplyMail(tenantID, convID string, after time.Duration) {
	if !s.MailConfigured() {
		return
	}
	key := "mail/" + tenantID + "/" + convID
	s.timerMu.Lock()
	defer s.timerMu.Unlock()
	if s.closed || s.timers[key] != nil {
		return
	}
	s.timers[key] = time.AfterFunc(after, func() {
		s.timerMu.Lock()
		delete(s.timers, key)
		s.timerMu.Unlock()
		s.background(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := s.mailReplies(ctx, tenantID, convID); err != nil {
				s.log.Warn("e-mail a reply", "tenant_id", tenantID, "conversation_id", convID, "err", err)
			}
		})
	})
}

type replyMailRow struct {
	LastSeq int64
	SentAt  time.Time
	Sent    int
}

// mailReplies e-mails the visitor the agents' public replies after both what
// they read and what was e-mailed already. The claim (a compare-and-set on
// reply_mails.last_seq) comes before the send, so that two nodes never both
// send; a failed send gives the claim back.
func (s *Service) mailReplies(ctx context.Context, tenantID, convID string) error {
	db, err := s.db(tenantID)
	if err != nil {
		return err
	}
	var conv conversationRow
	if err := db.WithContext(ctx).Where("id = ?", convID).Take(&conv).Error; err != nil {
		return err
	}
	var v visitorRow
	if err := db.WithContext(ctx).Where("id = ?", conv.VisitorID).Take(&v).Error; err != nil {
		return err
	}
	if v.Email == "" || !tenants.ValidEmail(v.Email) {
		return nil
	}
	var read []int64
	if err := db.WithContext(ctx).Raw(`SELECT last_read_seq FROM `+db.Table("read_states")+` WHERE conversation_id = ? AND reader_type = ? AND reader_id = ?`,
		convID, AuthorVisitor, v.ID).Scan(&read).Error; err != nil {
		return err
	}
	var prev []replyMailRow
	if err := db.WithContext(ctx).Raw(`SELECT last_seq, sent_at, sent FROM `+db.Table("reply_mails")+` WHERE conversation_id = ?`, convID).Scan(&prev).Error; err != nil {
		return err
	}
	from := int64(0)
	if len(read) > 0 {
		from = read[0]
	}
	now := s.stamp()
	if len(prev) > 0 {
		from = max(from, prev[0].LastSeq)
		if wait := prev[0].SentAt.Add(s.mailEvery).Sub(now); wait > 0 {
			// Mailed moments ago: the rest goes in the next e-mail.
			s.scheduleReplyMail(tenantID, convID, wait)
			return nil
		}
	}
	var msgs []messageRow
	if err := db.WithContext(ctx).Where("conversation_id = ? AND seq > ? AND author_type = ? AND private = ?", convID, from, AuthorAgent, false).
		Order("seq").Limit(replyMailMessages).Find(&msgs).Error; err != nil {
		return err
	}
	if len(msgs) == 0 {
		return nil
	}
	var lastHour int64
	if err := db.WithContext(ctx).Raw(`SELECT count(*) FROM `+db.Table("reply_mails")+` WHERE sent_at > ?`, now.Add(-time.Hour)).Scan(&lastHour).Error; err != nil {
		return err
	}
	if lastHour >= replyMailsPerHour {
		s.log.Warn("reply e-mails: the tenant's hourly limit is reached", "tenant_id", tenantID, "conversation_id", convID)
		return nil
	}
	upTo := msgs[len(msgs)-1].Seq
	// Claim.
	var claimed int64
	if len(prev) == 0 {
		res := db.WithContext(ctx).Exec(`INSERT INTO `+db.Table("reply_mails")+` (conversation_id, last_seq, sent_at, sent) VALUES (?, ?, ?, 1) ON CONFLICT (conversation_id) DO NOTHING`, convID, upTo, now)
		err, claimed = res.Error, res.RowsAffected
	} else {
		res := db.WithContext(ctx).Exec(`UPDATE `+db.Table("reply_mails")+` SET last_seq = ?, sent_at = ?, sent = sent + 1 WHERE conversation_id = ? AND last_seq = ?`, upTo, now, convID, prev[0].LastSeq)
		err, claimed = res.Error, res.RowsAffected
	}
	if err != nil || claimed == 0 {
		return err // another node sends them
	}
	t, err := s.tenants.Tenant(ctx, tenantID)
	if err != nil {
		return err
	}
	var body strings.Builder
	for i, m := range msgs {
		if i > 0 {
			body.WriteString("\n\n")
		}
		body.WriteString(strings.TrimSpace(m.Body))
	}
	text := body.String()
	if utf8.RuneCountInString(text) > replyMailBodyRunes {
		text = string([]rune(text)[:replyMailBodyRunes]) + "…"
	}
	agent := strings.TrimSpace(msgs[len(msgs)-1].AuthorName)
	visitor := v.visitor()
	lang := t.Language
	if l, _ := visitor.Attributes["language"].(string); l != "" {
		lang = "en"
		if strings.HasPrefix(strings.ToLower(l), "zh") {
			lang = "zh-CN"
		}
	}
	to := v.Email
	if name := strings.TrimSpace(v.Name); name != "" {
		to = (&mail.Address{Name: name, Address: v.Email}).String()
	}
	msg, err := mailer.Compose(lang, mailer.Reply, to, map[string]string{
		"workspace": t.Name, "agent": agent, "body": text, "link": s.replyLink(t, visitor)})
	if err == nil {
		err = s.mail.Send(ctx, msg)
	}
	if err != nil {
		// Give the claim back: the next reply (or check) tries again.
		if len(prev) == 0 {
			db.WithContext(ctx).Exec(`DELETE FROM `+db.Table("reply_mails")+` WHERE conversation_id = ? AND last_seq = ?`, convID, upTo)
		} else {
			db.WithContext(ctx).Exec(`UPDATE `+db.Table("reply_mails")+` SET last_seq = ?, sent_at = ?, sent = ? WHERE conversation_id = ? AND last_seq = ?`,
				prev[0].LastSeq, prev[0].SentAt, prev[0].Sent, convID, upTo)
		}
		return err
	}
	return nil
}

// replyLink is where the visitor continues: the page they chatted from when
// it is on one of the tenant's allowed origins (a visitor cannot make Kefu
// mail a link to anywhere), else the tenant's first allowed origin, else
// this server.
func (s *Service) replyLink(t tenants.Tenant, v Visitor) string {
	page, _ := v.Attributes["page_url"].(string)
	if u, err := url.Parse(page); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		origin := u.Scheme + "://" + u.Host
		for _, o := range t.AllowedOrigins {
			if strings.EqualFold(strings.TrimRight(o, "/"), origin) {
				return page
			}
		}
	}
	for _, o := range t.AllowedOrigins {
		if strings.HasPrefix(o, "https://") || strings.HasPrefix(o, "http://") {
			return o
		}
	}
	return strings.TrimRight(s.publicURL, "/") + "/"
}
