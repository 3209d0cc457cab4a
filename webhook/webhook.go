// Package webhook owns webhook endpoints and delivers the events chat writes
// to the webhook outbox: signed (Standard Webhooks and Kefu-Signature),
// retried with jittered exponential backoff for a day, in order per
// conversation, logged, and swept after a week.
//
// The outbox is written by chat in the transaction of the change it reports.
// On PostgreSQL it is one platform table, which the workers of every node
// claim from with FOR UPDATE SKIP LOCKED; on SQLite each tenant's file has
// its own, polled by the single node's worker for the tenants that have
// webhooks (platform table webhook_tenants).
package webhook

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm/schema"

	"kefu"
	"kefu/chat"
	"kefu/tenants"
)

// Limits.
const (
	MaxPerTenant      = 20
	MaxURLBytes       = 2048
	MaxDescription    = 500
	excerptBytes      = 4096
	maxResponseRead   = 64 << 10
	maxLoggedHeaders  = 32
	maxHeaderValueLen = 512
)

// Defaults of Config.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultPollInterval  = time.Second
	DefaultRetryBase     = 2 * time.Second
	DefaultRetryMax      = time.Hour
	DefaultRetryWindow   = 24 * time.Hour
	DefaultRetention     = 7 * 24 * time.Hour
	DefaultRotationGrace = 24 * time.Hour
	DefaultWorkers       = 16
)

// Config configures the Service.
type Config struct {
	Store  *tenants.Store
	Chat   *chat.Service
	Logger *slog.Logger
	Now    func() time.Time
	// Registry receives the delivery metrics (may be nil).
	Registry prometheus.Registerer
	// AllowPrivateNetworks lets deliveries reach private addresses.
	AllowPrivateNetworks bool
	// Timeout bounds one delivery (connect to last byte; default 10 s).
	Timeout time.Duration
	// PollInterval is how often a worker looks for due rows besides being
	// woken by its own node's commits (default 1 s).
	PollInterval time.Duration
	// RetryBase, RetryMax: the n-th retry waits about RetryBase·2ⁿ⁻¹, at
	// most RetryMax, ±25 % jitter (defaults 2 s and 1 h).
	RetryBase, RetryMax time.Duration
	// RetryWindow is how long an event is retried before it fails and its
	// endpoint is disabled (default 24 h).
	RetryWindow time.Duration
	// Retention is how long delivered and failed events and the delivery
	// log are kept (default 7 days).
	Retention time.Duration
	// RotationGrace is how long a rotated-out secret still signs (24 h).
	RotationGrace time.Duration
	// Workers bounds the deliveries in flight on this node (default 16).
	Workers int
}

// Service manages webhooks and delivers their events.
type Service struct {
	cfg     Config
	store   *tenants.Store
	chat    *chat.Service
	log     *slog.Logger
	now     func() time.Time
	client  httpDoer
	metrics *metrics

	wake    chan struct{}
	hotMu   sync.Mutex
	hot     map[string]bool // SQLite: tenants whose commits woke the worker
	sem     chan struct{}
	running sync.WaitGroup // Run
	flights sync.WaitGroup // deliveries Run started
}

// NewService returns the service; Run starts its worker.
func NewService(c Config) *Service {
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.PollInterval = cmp.Or(c.PollInterval, DefaultPollInterval)
	c.RetryBase = cmp.Or(c.RetryBase, DefaultRetryBase)
	c.RetryMax = cmp.Or(c.RetryMax, DefaultRetryMax)
	c.RetryWindow = cmp.Or(c.RetryWindow, DefaultRetryWindow)
	c.Retention = cmp.Or(c.Retention, DefaultRetention)
	c.RotationGrace = cmp.Or(c.RotationGrace, DefaultRotationGrace)
	c.Workers = cmp.Or(c.Workers, DefaultWorkers)
	s := &Service{
		cfg: c, store: c.Store, chat: c.Chat, log: c.Logger, now: c.Now,
		client:  chat.GuardedClient(c.AllowPrivateNetworks),
		metrics: newMetrics(c.Registry),
		wake:    make(chan struct{}, 1), hot: map[string]bool{}, sem: make(chan struct{}, c.Workers),
	}
	c.Chat.OnWebhookEvents(s.notify)
	return s
}

// Webhook is an endpoint as the API shows it. Secret is set only in the
// answers to create and rotate-secret.
type Webhook struct {
	ID                      string     `json:"id"`
	URL                     string     `json:"url"`
	Events                  []string   `json:"events"`
	Enabled                 bool       `json:"enabled"`
	IncludePrivate          bool       `json:"include_private"`
	Description             string     `json:"description"`
	DisabledReason          *string    `json:"disabled_reason"`
	DisabledAt              *time.Time `json:"disabled_at"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
	Secret                  string     `json:"secret,omitempty"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
}

type webhookRow struct {
	ID                string `gorm:"primaryKey"`
	URL               string
	Events            string
	Enabled           bool
	IncludePrivate    bool
	Description       string
	Secret            string
	PreviousSecret    string
	PreviousExpiresAt *time.Time
	DisabledReason    string
	DisabledAt        *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

func (webhookRow) TableName(n schema.Namer) string { return n.TableName("webhook") }

func (r webhookRow) webhook() Webhook {
	w := Webhook{ID: r.ID, URL: r.URL, Enabled: r.Enabled, IncludePrivate: r.IncludePrivate, Description: r.Description,
		DisabledAt: r.DisabledAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	_ = json.Unmarshal([]byte(r.Events), &w.Events)
	if w.Events == nil {
		w.Events = []string{}
	}
	if r.DisabledReason != "" {
		w.DisabledReason = &r.DisabledReason
	}
	if r.PreviousSecret != "" {
		w.PreviousSecretExpiresAt = r.PreviousExpiresAt
	}
	return w
}

// Input is what a create or an update gives; nil fields are left as they
// are (create needs URL and Events).
type Input struct {
	URL            *string   `json:"url"`
	Events         *[]string `json:"events"`
	Enabled        *bool     `json:"enabled"`
	IncludePrivate *bool     `json:"include_private"`
	Description    *string   `json:"description"`
}

// EventType describes an event a webhook may subscribe to.
type EventType struct {
	Type        string `json:"type"`
	Description string `json:"description"`
}

// Events lists the event types webhooks may subscribe to.
func Events() []EventType {
	d := map[string]string{
		chat.HookConversationCreated:     "a visitor's first message opened a conversation",
		chat.HookConversationAssigned:    "a conversation nobody had was assigned to an agent",
		chat.HookConversationTransferred: "a conversation moved from one agent to another",
		chat.HookConversationResolved:    "a conversation was resolved",
		chat.HookConversationReopened:    "a resolved conversation was reopened",
		chat.HookMessageCreated:          "a message was stored (private notes only with include_private)",
		chat.HookContactCreated:          "a contact was created",
		chat.HookContactUpdated:          "a contact was updated",
		chat.HookCSATSubmitted:           "a visitor rated a conversation",
	}
	var out []EventType
	for _, t := range chat.HookEvents() {
		out = append(out, EventType{Type: t, Description: d[t]})
	}
	return out
}

// check validates in against the rules; create needs url and events.
func (s *Service) check(in Input, create bool) error {
	fields := map[string]string{}
	if in.URL != nil || create {
		if p := s.urlProblem(deref(in.URL)); p != "" {
			fields["url"] = p
		}
	}
	if in.Events != nil || create {
		if p := eventsProblem(in.Events); p != "" {
			fields["events"] = p
		}
	}
	if in.Description != nil {
		if len(*in.Description) > MaxDescription {
			fields["description"] = "must be at most 500 bytes"
		} else {
			kefu.CheckText(fields, "description", *in.Description)
		}
	}
	if len(fields) > 0 {
		return kefu.Invalid(fields)
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// urlProblem checks a webhook URL: http or https, a host, no credentials,
// and (unless private networks are allowed) not an address that is not
// globally reachable, nor localhost. A name that resolves to one is
// refused when it is dialled.
func (s *Service) urlProblem(raw string) string {
	switch {
	case raw == "":
		return "is required"
	case len(raw) > MaxURLBytes:
		return "must be at most 2048 bytes"
	case kefu.TextProblem(raw) != "":
		return kefu.TextProblem(raw)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return "must be an http:// or https:// URL with a host"
	}
	if u.User != nil {
		return "must not carry credentials"
	}
	if s.cfg.AllowPrivateNetworks {
		return ""
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if ip, err := netip.ParseAddr(host); err == nil && !chat.AddressAllowed(ip) {
		return "address not allowed"
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return "address not allowed"
	}
	return ""
}

func eventsProblem(events *[]string) string {
	if events == nil || len(*events) == 0 {
		return "name at least one event"
	}
	for _, e := range *events {
		if !slices.Contains(chat.HookEvents(), e) {
			return "unknown event " + quote(e) + "; one of " + strings.Join(chat.HookEvents(), ", ")
		}
	}
	return ""
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// normalEvents is events without repeats, in the order of chat.HookEvents.
func normalEvents(events []string) string {
	var out []string
	for _, t := range chat.HookEvents() {
		if slices.Contains(events, t) {
			out = append(out, t)
		}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// newSecret is whsec_ and 32 random bytes in base64.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Create adds a webhook and returns it with its secret (shown this once).
// Errors: invalid_argument, conflict (over MaxPerTenant).
func (s *Service) Create(ctx context.Context, tenantID string, in Input) (Webhook, error) {
	if err := s.check(in, true); err != nil {
		return Webhook{}, err
	}
	db, err := s.store.Tenant(tenantID)
	if err != nil {
		return Webhook{}, err
	}
	var n int64
	if err := db.WithContext(ctx).Model(&webhookRow{}).Count(&n).Error; err != nil {
		return Webhook{}, err
	}
	if n >= MaxPerTenant {
		return Webhook{}, kefu.Errorf(kefu.EConflict, "a workspace may have at most %d webhooks", MaxPerTenant)
	}
	now := s.stamp()
	r := webhookRow{ID: tenants.NewID(), URL: *in.URL, Events: normalEvents(*in.Events), Enabled: in.Enabled == nil || *in.Enabled,
		IncludePrivate: deref(in.IncludePrivate), Description: deref(in.Description), Secret: newSecret(), CreatedAt: now, UpdatedAt: now}
	// The platform knows the tenant has webhooks before the first one
	// exists, so no event of it goes unpolled (SQLite) or unswept.
	p := s.store.Platform()
	if err := p.WithContext(ctx).Exec(`INSERT INTO `+p.Table("webhook_tenants")+` (tenant_id, created_at) VALUES (?, ?) ON CONFLICT (tenant_id) DO NOTHING`, tenantID, now).Error; err != nil {
		return Webhook{}, err
	}
	if err := db.WithContext(ctx).Create(&r).Error; err != nil {
		return Webhook{}, err
	}
	s.chat.WebhooksChanged(ctx, tenantID)
	w := r.webhook()
	w.Secret = r.Secret
	return w, nil
}

// List returns the tenant's webhooks, oldest first.
func (s *Service) List(ctx context.Context, tenantID string) ([]Webhook, error) {
	db, err := s.store.Tenant(tenantID)
	if err != nil {
		return nil, err
	}
	var rows []webhookRow
	if err := db.WithContext(ctx).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Webhook, len(rows))
	for i, r := range rows {
		out[i] = r.webhook()
	}
	return out, nil
}

func (s *Service) row(ctx context.Context, tenantID, id string) (*tenants.DB, webhookRow, error) {
	db, err := s.store.Tenant(tenantID)
	if err != nil {
		return nil, webhookRow{}, err
	}
	if p := kefu.TextProblem(id); p != "" {
		return nil, webhookRow{}, kefu.Invalid(map[string]string{"id": p})
	}
	var rows []webhookRow
	if err := db.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return nil, webhookRow{}, err
	}
	if len(rows) == 0 {
		return nil, webhookRow{}, kefu.Errorf(kefu.ENotFound, "no such webhook")
	}
	return db, rows[0], nil
}

// Get returns one webhook. Errors: not_found.
func (s *Service) Get(ctx context.Context, tenantID, id string) (Webhook, error) {
	_, r, err := s.row(ctx, tenantID, id)
	return r.webhook(), err
}

// Update changes the given fields. Enabling a disabled webhook clears why it
// was disabled. Errors: invalid_argument, not_found.
func (s *Service) Update(ctx context.Context, tenantID, id string, in Input) (Webhook, error) {
	if err := s.check(in, false); err != nil {
		return Webhook{}, err
	}
	db, r, err := s.row(ctx, tenantID, id)
	if err != nil {
		return Webhook{}, err
	}
	if in.URL != nil {
		r.URL = *in.URL
	}
	if in.Events != nil {
		r.Events = normalEvents(*in.Events)
	}
	if in.IncludePrivate != nil {
		r.IncludePrivate = *in.IncludePrivate
	}
	if in.Description != nil {
		r.Description = *in.Description
	}
	if in.Enabled != nil {
		if *in.Enabled && !r.Enabled {
			r.DisabledReason, r.DisabledAt = "", nil
		}
		r.Enabled = *in.Enabled
	}
	r.UpdatedAt = s.stamp()
	if err := db.WithContext(ctx).Model(&webhookRow{}).Where("id = ?", id).Updates(map[string]any{
		"url": r.URL, "events": r.Events, "include_private": r.IncludePrivate, "description": r.Description,
		"enabled": r.Enabled, "disabled_reason": r.DisabledReason, "disabled_at": r.DisabledAt, "updated_at": r.UpdatedAt,
	}).Error; err != nil {
		return Webhook{}, err
	}
	s.chat.WebhooksChanged(ctx, tenantID)
	return r.webhook(), nil
}

// Delete removes a webhook; its pending events are dropped when their turn
// comes. Errors: not_found.
func (s *Service) Delete(ctx context.Context, tenantID, id string) error {
	db, _, err := s.row(ctx, tenantID, id)
	if err != nil {
		return err
	}
	if err := db.WithContext(ctx).Where("id = ?", id).Delete(&webhookRow{}).Error; err != nil {
		return err
	}
	s.chat.WebhooksChanged(ctx, tenantID)
	return nil
}

// RotateSecret gives the webhook a new secret and returns it (shown this
// once). The old one keeps signing, beside the new, for RotationGrace, so
// receivers can switch without losing a delivery. Errors: not_found.
func (s *Service) RotateSecret(ctx context.Context, tenantID, id string) (Webhook, error) {
	db, r, err := s.row(ctx, tenantID, id)
	if err != nil {
		return Webhook{}, err
	}
	now := s.stamp()
	exp := now.Add(s.cfg.RotationGrace)
	r.PreviousSecret, r.PreviousExpiresAt, r.Secret, r.UpdatedAt = r.Secret, &exp, newSecret(), now
	if err := db.WithContext(ctx).Model(&webhookRow{}).Where("id = ?", id).Updates(map[string]any{
		"previous_secret": r.PreviousSecret, "previous_expires_at": exp, "secret": r.Secret, "updated_at": now,
	}).Error; err != nil {
		return Webhook{}, err
	}
	w := r.webhook()
	w.Secret = r.Secret
	return w, nil
}
