// Package audit keeps each tenant's log of administrative and security
// actions: who (the user or API key, or the email that failed to sign in),
// what (an action code and its target), when, and from where (client IP
// and user agent). Entries live in the tenant's own store (table audit_log,
// tenant migration 0024), so tenant B never sees tenant A's, and they are
// only ever appended.
//
// Other code calls Record with the request's context; the HTTP edge puts
// the client's address and user agent in that context (WithClient).
package audit

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"kefu"
	"kefu/tenants"
)

// Actions recorded. The codes are stable: clients render them.
const (
	LoginSucceeded   = "auth.login"
	LoginFailed      = "auth.login_failed"
	PasswordChanged  = "user.password_changed"
	PasswordReset    = "user.password_reset"
	UserCreated      = "user.created"
	UserChanged      = "user.changed" // role, skills, teams, limits
	UserDeactivated  = "user.deactivated"
	UserReactivated  = "user.reactivated"
	UserDeleted      = "user.deleted"
	APIKeyCreated    = "api_key.created"
	APIKeyRevoked    = "api_key.revoked"
	WebhookCreated   = "webhook.created"
	WebhookChanged   = "webhook.changed"
	WebhookDeleted   = "webhook.deleted"
	WebhookRotated   = "webhook.secret_rotated"
	FlowPublished    = "flow.published"
	SettingsChanged  = "settings.changed"
	ContactExported  = "contact.exported"
	ContactErased    = "contact.erased"
	TranscriptExport = "conversation.transcript_exported"
	LLMChanged       = "bot.llm_changed"
)

// Entry is one thing that happened.
type Entry struct {
	ID         string         `json:"id"`
	At         time.Time      `json:"at"`
	Actor      Actor          `json:"actor"`
	Action     string         `json:"action"`
	TargetType string         `json:"target_type,omitempty"`
	TargetID   string         `json:"target_id,omitempty"`
	Details    map[string]any `json:"details"`
	IP         string         `json:"ip"`
	UserAgent  string         `json:"user_agent"`
}

// Actor is who did it: a user, an API key, or (a failed sign-in) someone
// who gave an email.
type Actor struct {
	Type string `json:"type"` // user, api_key, anonymous
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// ActorOf is the actor a principal is.
func ActorOf(p tenants.Principal) Actor {
	if p.Kind == tenants.KindAPIKey {
		return Actor{Type: "api_key", ID: p.ID, Name: p.Name}
	}
	return Actor{Type: "user", ID: p.ID, Name: p.Name}
}

type clientKey struct{}

type client struct{ ip, userAgent string }

// WithClient returns ctx carrying the client's address and user agent
// (the HTTP edge sets them; Record reads them).
func WithClient(ctx context.Context, ip, userAgent string) context.Context {
	return context.WithValue(ctx, clientKey{}, client{ip, userAgent})
}

// Log records and lists audit entries.
type Log struct {
	tenants *tenants.Service
	log     *slog.Logger
	now     func() time.Time
}

// New returns a Log over the tenants' stores.
func New(ten *tenants.Service, log *slog.Logger) *Log {
	if log == nil {
		log = slog.Default()
	}
	return &Log{tenants: ten, log: log, now: time.Now}
}

// Limits of an entry and of a page.
const (
	maxUserAgent = 512
	MaxLimit     = 200
	DefaultLimit = 50
)

type row struct {
	ID         string `gorm:"primaryKey"`
	At         time.Time
	ActorType  string
	ActorID    string
	ActorName  string
	Action     string
	TargetType string
	TargetID   string
	Details    string
	IP         string `gorm:"column:ip"`
	UserAgent  string
}

func (row) TableName() string { return "audit_log" }

// Record appends e to the tenant's log, with the client from ctx when e
// names none. A failure to record is logged, never returned: the action
// it describes has already happened.
func (l *Log) Record(ctx context.Context, tenantID string, e Entry) {
	if c, ok := ctx.Value(clientKey{}).(client); ok {
		e.IP = cmpOr(e.IP, c.ip)
		e.UserAgent = cmpOr(e.UserAgent, c.userAgent)
	}
	if len(e.UserAgent) > maxUserAgent {
		e.UserAgent = strings.ToValidUTF8(e.UserAgent[:maxUserAgent], "")
	}
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	details, _ := json.Marshal(e.Details)
	r := row{ID: tenants.NewID(), At: l.now().UTC(), ActorType: e.Actor.Type, ActorID: e.Actor.ID, ActorName: e.Actor.Name,
		Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID, Details: string(details), IP: e.IP, UserAgent: e.UserAgent}
	db, err := l.tenants.DB(tenantID)
	if err == nil {
		err = db.WithContext(context.WithoutCancel(ctx)).Exec(`INSERT INTO `+db.Table("audit_log")+
			` (id, at, actor_type, actor_id, actor_name, action, target_type, target_id, details, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.At, r.ActorType, r.ActorID, r.ActorName, r.Action, r.TargetType, r.TargetID, r.Details, r.IP, r.UserAgent).Error
	}
	if err != nil {
		l.log.ErrorContext(ctx, "audit entry not recorded", "tenant_id", tenantID, "action", e.Action, "err", err)
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Filter selects entries; zero fields select all.
type Filter struct {
	Action  string // an action code, or a prefix ending in "." ("user.")
	ActorID string
	Target  string // target id
	Since   time.Time
	Until   time.Time
	Limit   int
	Cursor  string // the next_cursor of the previous page
}

// List returns the tenant's entries matching f, newest first, and the
// cursor of the next page ("" at the end). Errors: invalid_argument.
func (l *Log) List(ctx context.Context, tenantID string, f Filter) ([]Entry, string, error) {
	fields := map[string]string{}
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	if f.Limit < 1 || f.Limit > MaxLimit {
		fields["limit"] = "must be between 1 and 200"
	}
	for name, v := range map[string]string{"action": f.Action, "actor_id": f.ActorID, "target_id": f.Target, "cursor": f.Cursor} {
		if len(v) > 100 {
			fields[name] = "must be at most 100 characters"
		}
	}
	if len(fields) > 0 {
		return nil, "", kefu.Invalid(fields)
	}
	db, err := l.tenants.DB(tenantID)
	if err != nil {
		return nil, "", err
	}
	where, args := []string{"1 = 1"}, []any{}
	add := func(cond string, arg any) { where, args = append(where, cond), append(args, arg) }
	switch {
	case strings.HasSuffix(f.Action, "."):
		add(`action LIKE ? ESCAPE '\'`, strings.ReplaceAll(f.Action, "_", `\_`)+"%")
	case f.Action != "":
		add("action = ?", f.Action)
	}
	if f.ActorID != "" {
		add("actor_id = ?", f.ActorID)
	}
	if f.Target != "" {
		add("target_id = ?", f.Target)
	}
	if !f.Since.IsZero() {
		add("at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		add("at < ?", f.Until.UTC())
	}
	if f.Cursor != "" {
		add("id < ?", f.Cursor)
	}
	var rows []row
	if err := db.WithContext(ctx).Raw(`SELECT * FROM `+db.Table("audit_log")+` WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`,
		append(args, f.Limit+1)...).Scan(&rows).Error; err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		next = rows[len(rows)-1].ID
	}
	out := make([]Entry, len(rows))
	for i, r := range rows {
		out[i] = Entry{ID: r.ID, At: r.At.UTC(), Actor: Actor{Type: r.ActorType, ID: r.ActorID, Name: r.ActorName}, Action: r.Action,
			TargetType: r.TargetType, TargetID: r.TargetID, IP: r.IP, UserAgent: r.UserAgent}
		_ = json.Unmarshal([]byte(r.Details), &out[i].Details)
		if out[i].Details == nil {
			out[i].Details = map[string]any{}
		}
	}
	return out, next, nil
}
