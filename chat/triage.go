package chat

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"kefu"
	"kefu/tenants"
)

// Triage: what agents set on a conversation to sort their inbox — labels,
// a priority and a snooze — and the counts the inbox's tabs show.

// Priorities, lowest first; stored as their index.
var priorities = []string{"none", "low", "normal", "high", "urgent"}

func priorityName(n int) string {
	if n < 0 || n >= len(priorities) {
		return priorities[0]
	}
	return priorities[n]
}

// Limits on labels.
const (
	MaxLabels     = 20
	MaxLabelRunes = 50
	// MaxSnooze is how far ahead a snooze may reach.
	MaxSnooze = 366 * 24 * time.Hour
)

// PatchInput changes a conversation's triage fields; nil fields stay.
type PatchInput struct {
	Labels   *[]string
	Priority *string
	// SnoozedUntil snoozes until then; with ClearSnooze the snooze ends.
	SnoozedUntil *time.Time
	ClearSnooze  bool
	// Attributes are merged into the conversation's custom attributes; a
	// key set to null is removed.
	Attributes map[string]any
}

// Limits on a conversation's custom attributes.
const (
	MaxAttributes     = 50
	MaxAttributeKey   = 100
	MaxAttributeBytes = 8 << 10 // the whole object, as JSON
)

// mergeAttributes applies patch to the JSON object stored, checking the
// limits.
func mergeAttributes(fields map[string]string, stored string, patch map[string]any) string {
	attrs := map[string]any{}
	_ = json.Unmarshal([]byte(stored), &attrs)
	for k, v := range patch {
		if k == "" || utf8.RuneCountInString(k) > MaxAttributeKey || kefu.TextProblem(k) != "" {
			fields["attributes"] = "keys must be 1-100 characters of text"
			continue
		}
		if v == nil {
			delete(attrs, k)
		} else {
			attrs[k] = v
		}
	}
	b, _ := json.Marshal(attrs)
	switch {
	case len(attrs) > MaxAttributes:
		fields["attributes"] = "at most 50 attributes"
	case len(b) > MaxAttributeBytes:
		fields["attributes"] = "must be at most 8192 bytes as JSON"
	}
	return string(b)
}

func cleanLabels(fields map[string]string, in []string) []string {
	out := []string{}
	for _, l := range in {
		l = strings.TrimSpace(l)
		if l == "" || utf8.RuneCountInString(l) > MaxLabelRunes || kefu.TextProblem(l) != "" {
			fields["labels"] = "each label must be 1-50 characters of text"
			continue
		}
		if !slices.ContainsFunc(out, func(x string) bool { return strings.EqualFold(x, l) }) {
			out = append(out, l)
		}
	}
	if len(out) > MaxLabels {
		fields["labels"] = "at most 20 labels"
	}
	return out
}

// Patch sets a conversation's labels, priority or snooze. Errors:
// invalid_argument, not_found.
func (s *Service) Patch(ctx context.Context, p tenants.Principal, convID string, in PatchInput) (Conversation, error) {
	fields := map[string]string{}
	var labels []byte
	if in.Labels != nil {
		labels, _ = json.Marshal(cleanLabels(fields, *in.Labels))
	}
	prio := -1
	if in.Priority != nil {
		prio = slices.Index(priorities, *in.Priority)
		if prio < 0 {
			fields["priority"] = "must be none, low, normal, high or urgent"
		}
	}
	now := s.stamp()
	if in.SnoozedUntil != nil {
		switch at := *in.SnoozedUntil; {
		case !at.After(now):
			fields["snoozed_until"] = "must be in the future"
		case at.Sub(now) > MaxSnooze:
			fields["snoozed_until"] = "must be within a year"
		}
	}
	if in.Attributes != nil {
		mergeAttributes(fields, "{}", in.Attributes) // the keys and the patch's own size
	}
	if len(fields) > 0 {
		return Conversation{}, kefu.Invalid(fields)
	}
	if _, err := s.access(ctx, p, convID); err != nil {
		return Conversation{}, err
	}
	out, err := s.update(ctx, p.TenantID, convID, func(tx *gorm.DB, db *tenants.DB, c *conversationRow) (*note, error) {
		before := *c
		if labels != nil {
			c.Labels = string(labels)
		}
		if in.Attributes != nil {
			merged := map[string]string{}
			c.Attributes = mergeAttributes(merged, c.Attributes, in.Attributes)
			if len(merged) > 0 {
				return nil, kefu.Invalid(merged)
			}
		}
		if prio >= 0 {
			c.Priority = prio
		}
		switch {
		case in.ClearSnooze:
			c.SnoozedUntil = nil
		case in.SnoozedUntil != nil:
			at := in.SnoozedUntil.UTC().Truncate(time.Microsecond)
			c.SnoozedUntil = &at
		}
		if c.Labels == before.Labels && c.Priority == before.Priority && sameTime(c.SnoozedUntil, before.SnoozedUntil) && c.Attributes == before.Attributes {
			return nil, errUnchanged
		}
		return nil, nil
	})
	if err == nil && (in.ClearSnooze || in.SnoozedUntil != nil) {
		s.planSnooze(ctx, p.TenantID, convID, out.SnoozedUntil)
	}
	return out, err
}

func sameTime(a, b *time.Time) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && a.Equal(*b))
}

// Counts is what the inbox's tabs show, within the caller's scope. Open
// counts leave out snoozed conversations (Snoozed counts those).
type Counts struct {
	Mine     int64            `json:"mine"`
	Queue    int64            `json:"queue"`
	All      int64            `json:"all"`
	Snoozed  int64            `json:"snoozed"`
	ByStatus map[string]int64 `json:"by_status"`
	// ByTeam counts open conversations per team id.
	ByTeam map[string]int64 `json:"by_team"`
}

// Counts counts the conversations p may see. One statement for the tabs
// and one for the teams.
func (s *Service) Counts(ctx context.Context, p tenants.Principal) (Counts, error) {
	sc, err := s.ScopeOf(ctx, p)
	if err != nil {
		return Counts{}, err
	}
	db, err := s.db(p.TenantID)
	if err != nil {
		return Counts{}, err
	}
	now := s.stamp()
	cond, args := sc.where()
	where := ""
	if cond != "" {
		where = " WHERE " + cond
	}
	var row struct {
		Mine, Queue, All, Snoozed, Bot, Queued, Assigned, Resolved int64
	}
	q := `SELECT
	COALESCE(SUM(CASE WHEN status = 'assigned' AND assignee_id = ? AND ` + awake + ` THEN 1 ELSE 0 END), 0) AS mine,
	COALESCE(SUM(CASE WHEN status = 'queued' AND ` + awake + ` THEN 1 ELSE 0 END), 0) AS queue,
	COALESCE(SUM(CASE WHEN status <> 'resolved' AND ` + awake + ` THEN 1 ELSE 0 END), 0) AS "all",
	COALESCE(SUM(CASE WHEN status <> 'resolved' AND NOT ` + awake + ` THEN 1 ELSE 0 END), 0) AS snoozed,
	COALESCE(SUM(CASE WHEN status = 'bot' THEN 1 ELSE 0 END), 0) AS bot,
	COALESCE(SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END), 0) AS queued,
	COALESCE(SUM(CASE WHEN status = 'assigned' THEN 1 ELSE 0 END), 0) AS assigned,
	COALESCE(SUM(CASE WHEN status = 'resolved' THEN 1 ELSE 0 END), 0) AS resolved
FROM ` + db.Table("conversations") + where
	qargs := []any{p.ID, now, now, now, now}
	if err := db.WithContext(ctx).Raw(q, append(qargs, args...)...).Scan(&row).Error; err != nil {
		return Counts{}, err
	}
	out := Counts{Mine: row.Mine, Queue: row.Queue, All: row.All, Snoozed: row.Snoozed,
		ByStatus: map[string]int64{StatusBot: row.Bot, StatusQueued: row.Queued, StatusAssigned: row.Assigned, StatusResolved: row.Resolved},
		ByTeam:   map[string]int64{}}
	var teams []struct {
		Team string
		N    int64
	}
	tq := db.WithContext(ctx).Model(&conversationRow{}).Select("team, COUNT(*) AS n").Where("team <> '' AND status <> ?", StatusResolved).Where(awake, now)
	if cond != "" {
		tq = tq.Where(cond, args...)
	}
	if err := tq.Group("team").Scan(&teams).Error; err != nil {
		return Counts{}, err
	}
	for _, t := range teams {
		out.ByTeam[t.Team] = t.N
	}
	return out, nil
}

// awake: not snoozed, or the snooze is over (one parameter: now).
const awake = "(snoozed_until IS NULL OR snoozed_until <= ?)"

// Snoozes end on durable timers: setting one plans a job
// (conversation.snooze, chat/jobs.go) due at snoozed_until, which whichever
// node claims it first runs (wakeConversation), and the recovery pass at
// start wakes what is due and plans the rest (snoozes set before the job
// existed, or whose planning failed). The lists already show a
// conversation once its snoozed_until has passed; waking clears the field
// and tells the consoles (conversation.updated), so it comes back without
// a reload. A sweep over every tenant every few seconds would cost each
// node one statement per tenant per sweep — 667 a second at 10,000
// tenants, and on SQLite a file opened for each.

// planSnooze plans (or, with at nil, cancels) the conversation's wake.
func (s *Service) planSnooze(ctx context.Context, tenantID, convID string, at *time.Time) {
	var err error
	if at == nil {
		err = s.cancelJob(ctx, tenantID, jobSnoozeWake, convID)
	} else {
		err = s.planJob(ctx, tenantID, jobSnoozeWake, convID, "", *at)
	}
	if err != nil {
		// The lists show the conversation once due anyway; the next
		// start's recovery pass plans it again.
		s.log.Warn("jobs: plan a snooze", "tenant_id", tenantID, "conversation_id", convID, "err", err)
	}
}

// wakeConversation ends the conversation's snooze if it is due and
// announces it; a snooze moved later meanwhile is planned again. Run more
// than once, it finds nothing to do.
func (s *Service) wakeConversation(ctx context.Context, tenantID, convID string) {
	db, err := s.db(tenantID)
	if err != nil {
		return
	}
	var rows []conversationRow
	if err := db.WithContext(ctx).Raw(`UPDATE `+db.Table("conversations")+` SET snoozed_until = NULL WHERE id = ? AND snoozed_until IS NOT NULL AND snoozed_until <= ? RETURNING *`, convID, s.stamp()).Scan(&rows).Error; err != nil {
		s.log.Warn("snooze: wake", "tenant_id", tenantID, "conversation_id", convID, "err", err)
		return
	}
	for _, r := range rows {
		s.publishConversation(ctx, tenantID, r, r.assignee())
	}
	if len(rows) > 0 {
		return
	}
	var c conversationRow
	if err := db.WithContext(ctx).Select("id", "snoozed_until").Where("id = ?", convID).Limit(1).Find(&c).Error; err == nil && c.SnoozedUntil != nil {
		s.planSnooze(ctx, tenantID, convID, c.SnoozedUntil)
	}
}

// planSnoozes plans a wake for each of the tenant's future snoozes that
// has none (the recovery pass at start; at most 1,000 a tenant, the
// soonest).
func (s *Service) planSnoozes(ctx context.Context, tenantID string) error {
	db, err := s.db(tenantID)
	if err != nil {
		return err
	}
	var rows []conversationRow
	if err := db.WithContext(ctx).Select("id", "snoozed_until").Where("snoozed_until IS NOT NULL AND snoozed_until > ?", s.stamp()).
		Order("snoozed_until").Limit(1000).Find(&rows).Error; err != nil {
		return err
	}
	for _, r := range rows {
		if _, err := s.planJobOnce(ctx, tenantID, jobSnoozeWake, r.ID, "", *r.SnoozedUntil); err != nil {
			return err
		}
	}
	return nil
}

// WakeSnoozed ends the tenant's snoozes that are due and announces each
// conversation; it returns how many woke.
func (s *Service) WakeSnoozed(ctx context.Context, tenantID string) (int, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return 0, err
	}
	var rows []conversationRow
	if err := db.WithContext(ctx).Raw(`UPDATE `+db.Table("conversations")+` SET snoozed_until = NULL WHERE snoozed_until IS NOT NULL AND snoozed_until <= ? RETURNING *`, s.stamp()).Scan(&rows).Error; err != nil {
		return 0, err
	}
	for _, r := range rows {
		s.publishConversation(ctx, tenantID, r, r.assignee())
	}
	return len(rows), nil
}

// DeleteTeam removes a team; its conversations keep their agent and lose
// the team. Errors: not_found.
func (s *Service) DeleteTeam(ctx context.Context, p tenants.Principal, teamID string) error {
	if err := s.tenants.DeleteTeam(ctx, p.TenantID, teamID); err != nil {
		return err
	}
	db, err := s.db(p.TenantID)
	if err != nil {
		return err
	}
	return db.WithContext(ctx).Model(&conversationRow{}).Where("team = ?", teamID).Update("team", "").Error
}
