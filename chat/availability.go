package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"kefu"
	"kefu/routing"
	"kefu/tenants"
)

// BusinessHours is a tenant's business-hours setting. Set is false while the
// tenant has never saved one (the widget then says nothing about hours).
type BusinessHours struct {
	Set       bool
	Enabled   bool
	Hours     routing.Hours
	UpdatedAt time.Time
}

// Applies reports whether the hours are in force (saved and enabled).
func (b BusinessHours) Applies() bool { return b.Set && b.Enabled }

type businessHoursRow struct {
	ID        int `gorm:"primaryKey"`
	Enabled   bool
	Timezone  string
	Schedule  string
	Holidays  string
	UpdatedAt time.Time
}

func (businessHoursRow) TableName() string { return "business_hours" }

// hoursTTL is how long a node keeps a tenant's hours and queue estimate:
// the widget's public config reads them on every page view.
const hoursTTL = 10 * time.Second

// BusinessHoursOf returns the tenant's setting (Set=false when none was
// saved), cached for a few seconds.
func (s *Service) BusinessHoursOf(ctx context.Context, tenantID string) (BusinessHours, error) {
	if b, ok := s.hoursCache.Get(tenantID); ok {
		return b, nil
	}
	db, err := s.db(tenantID)
	if err != nil {
		return BusinessHours{}, err
	}
	var rows []businessHoursRow
	if err := db.WithContext(ctx).Raw(`SELECT id, enabled, timezone, schedule, holidays, updated_at FROM ` + db.Table("business_hours") + ` WHERE id = 1`).Scan(&rows).Error; err != nil {
		return BusinessHours{}, err
	}
	var b BusinessHours
	if len(rows) == 1 {
		r := rows[0]
		b = BusinessHours{Set: true, Enabled: r.Enabled, Hours: routing.Hours{Timezone: r.Timezone}, UpdatedAt: r.UpdatedAt.UTC()}
		_ = json.Unmarshal([]byte(r.Schedule), &b.Hours.Schedule)
		_ = json.Unmarshal([]byte(r.Holidays), &b.Hours.Holidays)
	}
	if b.Hours.Schedule == nil {
		b.Hours.Schedule = routing.Schedule{}
	}
	if b.Hours.Holidays == nil {
		b.Hours.Holidays = []string{}
	}
	s.hoursCache.Add(tenantID, b)
	return b, nil
}

// SetBusinessHours validates and stores the tenant's hours (admins).
// Errors: invalid_argument with every offending field.
func (s *Service) SetBusinessHours(ctx context.Context, p tenants.Principal, enabled bool, h routing.Hours) (BusinessHours, error) {
	if fields := h.Validate(); fields != nil {
		return BusinessHours{}, kefu.Invalid(fields)
	}
	// Stored in a stable order: the same hours read back the same.
	for day, spans := range h.Schedule {
		if len(spans) == 0 {
			delete(h.Schedule, day)
			continue
		}
		sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	}
	sort.Strings(h.Holidays)
	if h.Schedule == nil {
		h.Schedule = routing.Schedule{}
	}
	if h.Holidays == nil {
		h.Holidays = []string{}
	}
	sched, _ := json.Marshal(h.Schedule)
	hol, _ := json.Marshal(h.Holidays)
	db, err := s.db(p.TenantID)
	if err != nil {
		return BusinessHours{}, err
	}
	now := s.stamp()
	err = db.WithContext(ctx).Exec(`INSERT INTO `+db.Table("business_hours")+` (id, enabled, timezone, schedule, holidays, updated_at) VALUES (1, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET enabled = excluded.enabled, timezone = excluded.timezone, schedule = excluded.schedule, holidays = excluded.holidays, updated_at = excluded.updated_at`,
		enabled, h.Timezone, string(sched), string(hol), now).Error
	if err != nil {
		return BusinessHours{}, err
	}
	b := BusinessHours{Set: true, Enabled: enabled, Hours: h, UpdatedAt: now.UTC()}
	s.hoursCache.Add(p.TenantID, b)
	return b, nil
}

// flowHours are the tenant's hours for a flow run (nil when none apply).
func (s *Service) flowHours(ctx context.Context, tenantID string) *routing.Hours {
	b, err := s.BusinessHoursOf(ctx, tenantID)
	if err != nil || !b.Applies() {
		return nil
	}
	return &b.Hours
}

// QueueEstimate is what a waiting visitor (or one about to wait) is told.
// Known is false when there is too little recent data to say anything
// honest; then no number is given at all.
type QueueEstimate struct {
	// Length is how many conversations wait in the tenant's queue.
	Length int
	// Interval is the recent median time it took the team to take the next
	// conversation out of the queue while someone was waiting.
	Interval time.Duration
	Known    bool
}

// Wait is the expected wait at position pos (1 = next).
func (q QueueEstimate) Wait(pos int) (time.Duration, bool) {
	if !q.Known || pos < 1 {
		return 0, false
	}
	return time.Duration(pos) * q.Interval, true
}

// Estimation: the last queueSamples exits within queueWindow; fewer than
// queueMinSamples and the wait is unknown.
const (
	queueSamples    = 21
	queueMinSamples = 3
	queueWindow     = 6 * time.Hour
)

// QueueEstimateOf reads the tenant's queue length (at once) and the recent
// median interval between conversations leaving it for an agent (cached a
// few seconds). Each exit's interval counts only the time it spent waiting after
// the previous exit, so that quiet spells with nobody queued do not inflate
// it.
func (s *Service) QueueEstimateOf(ctx context.Context, tenantID string) (QueueEstimate, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return QueueEstimate{}, err
	}
	var n int64
	if err := db.WithContext(ctx).Raw(`SELECT count(*) FROM `+db.Table("conversations")+` WHERE status = ?`, StatusQueued).Scan(&n).Error; err != nil {
		return QueueEstimate{}, err
	}
	q, ok := s.queueEst.Get(tenantID)
	if !ok {
		var exits []QueueExit
		if err := db.WithContext(ctx).Raw(`SELECT queued_at, assigned_at FROM `+db.Table("queue_exits")+` WHERE assigned_at > ? ORDER BY assigned_at DESC LIMIT ?`,
			s.now().Add(-queueWindow), queueSamples).Scan(&exits).Error; err != nil {
			return QueueEstimate{}, err
		}
		q.Interval, q.Known = MedianExitInterval(exits)
		s.queueEst.Add(tenantID, q)
	}
	q.Length = int(n)
	return q, nil
}

// QueueExit is a conversation leaving the queue for an agent.
type QueueExit struct {
	QueuedAt   time.Time
	AssignedAt time.Time
}

// MedianExitInterval is the median time between one exit and the next,
// each counted only from when its conversation was queued if that came
// later (a quiet spell with nobody waiting is not the team being slow).
// exits are newest first; ok=false with fewer than queueMinSamples.
func MedianExitInterval(exits []QueueExit) (time.Duration, bool) {
	if len(exits) < queueMinSamples {
		return 0, false
	}
	gaps := make([]time.Duration, 0, len(exits)-1)
	for i := 0; i+1 < len(exits); i++ {
		cur, prev := exits[i], exits[i+1]
		from := prev.AssignedAt
		if cur.QueuedAt.After(from) {
			from = cur.QueuedAt
		}
		gaps = append(gaps, max(0, cur.AssignedAt.Sub(from)))
	}
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	mid := len(gaps) / 2
	if len(gaps)%2 == 0 {
		return (gaps[mid-1] + gaps[mid]) / 2, true
	}
	return gaps[mid], true
}

// recordExit notes, in the assignment's transaction, a conversation leaving
// the queue for an agent.
func recordExit(tx *gorm.DB, db *tenants.DB, convID string, queuedAt, at time.Time) error {
	return tx.Exec(`INSERT INTO `+db.Table("queue_exits")+` (conversation_id, queued_at, assigned_at) VALUES (?, ?, ?)`, convID, queuedAt, at).Error
}

// OfflineInput is the widget's offline form: who the visitor is and what
// they ask, when nobody can answer now.
type OfflineInput struct {
	Name     string
	Email    string
	Message  string
	ClientID string
}

// LeaveMessage takes the offline form: the visitor (resumed by their token,
// or new) gets the name and e-mail onto their contact, and the message
// starts (or continues) their conversation like any message, so routing and
// the agents see it as usual and the reply reaches them by e-mail when they
// have left. Errors: not_found (unknown widget key), invalid_argument.
func (s *Service) LeaveMessage(ctx context.Context, widgetKey, visitorToken string, in OfflineInput) (WidgetSession, Message, error) {
	fields := map[string]string{}
	in.Email = strings.TrimSpace(in.Email)
	in.Message = strings.TrimSpace(in.Message)
	if in.Email == "" {
		fields["email"] = "is required"
	} else if !tenants.ValidEmail(in.Email) || len(in.Email) > 254 {
		fields["email"] = "must be an email address"
	}
	if in.Message == "" {
		fields["message"] = "is required"
	} else if len(in.Message) > MaxBodyBytes {
		fields["message"] = fmt.Sprintf("must be at most %d bytes", MaxBodyBytes)
	}
	if utf8.RuneCountInString(in.ClientID) > 100 {
		fields["client_id"] = "must be at most 100 characters"
	}
	if len(fields) > 0 {
		return WidgetSession{}, Message{}, kefu.Invalid(fields)
	}
	ws, err := s.StartWidgetSession(ctx, widgetKey, visitorToken, VisitorInput{Name: in.Name, Email: in.Email})
	if err != nil {
		var ke *kefu.Error
		if errors.As(err, &ke) && ke.Fields != nil {
			// Name the form's fields, not the session's.
			for k, v := range ke.Fields {
				fields[strings.TrimPrefix(k, "visitor.")] = v
			}
			return WidgetSession{}, Message{}, kefu.Invalid(fields)
		}
		return WidgetSession{}, Message{}, err
	}
	p, err := s.tenants.Authenticate(ctx, ws.VisitorToken)
	if err != nil {
		return WidgetSession{}, Message{}, err
	}
	msg, _, err := s.Send(ctx, p, SendInput{ClientID: in.ClientID, Body: in.Message})
	if err != nil {
		return WidgetSession{}, Message{}, err
	}
	return ws, msg, nil
}
