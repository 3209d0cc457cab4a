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
	return s.update(ctx, p.TenantID, convID, func(tx *gorm.DB, db *tenants.DB, c *conversationRow) (*note, error) {
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

// DefaultSnoozeSweep is how often snoozed conversations are woken.
const DefaultSnoozeSweep = 15 * time.Second

// runSnoozes wakes snoozed conversations whose time has come, every
// interval, until ctx ends. The lists already show a conversation once its
// snoozed_until has passed; waking clears the field and tells the consoles
// (conversation.updated), so it comes back without a reload. Each wake is
// one conditional UPDATE … RETURNING, so when several nodes sweep, each
// conversation is woken (and announced) once.
func (s *Service) runSnoozes(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.wakeSnoozed(ctx)
		}
	}
}

// wakeSnoozed wakes every tenant's due snoozes once.
func (s *Service) wakeSnoozed(ctx context.Context) {
	ids, err := s.tenants.ListTenantIDs(ctx)
	if err != nil {
		s.log.Warn("snooze sweep", "err", err)
		return
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		if _, err := s.WakeSnoozed(ctx, id); err != nil {
			s.log.Warn("snooze sweep", "tenant_id", id, "err", err)
		}
	}
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
