// Package tenants owns tenants, users, roles, credentials and the per-tenant
// database handle. Everything that touches tenant data gets its handle here.
package tenants

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	gosqlite "github.com/glebarez/go-sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	lru "github.com/hashicorp/golang-lru/v2"
	"kefu"
)

// Tenant is a business using Kefu.
type Tenant struct {
	ID             string   `json:"id"`
	Slug           string   `json:"slug"`
	Name           string   `json:"name"`
	WidgetKey      string   `json:"widget_key"`
	AllowedOrigins []string `json:"allowed_origins"`
	// AgentsSeeAll lets agents see every conversation of the tenant; by
	// default an agent sees theirs, the unassigned ones and their teams'.
	AgentsSeeAll bool `json:"agents_see_all"`
	// Language is the tenant's own (en or zh-CN): system messages' bodies
	// and the default flow's texts are written in it.
	Language string `json:"language"`
	// ReopenWindowDays: a visitor writing within this many days of a
	// resolve reopens the same conversation (0: always a new one).
	ReopenWindowDays int `json:"reopen_window_days"`
	// RetentionMonths: messages older than this many calendar months are
	// removed with their files and search entries (0: kept forever).
	RetentionMonths int `json:"retention_months"`
	// Plan is free, pro or enterprise (Plans).
	Plan      string    `json:"plan"`
	CreatedAt time.Time `json:"created_at"`
}

// MaxRetentionMonths bounds RetentionMonths (ten years).
const MaxRetentionMonths = 120

// Languages Kefu speaks; anything else falls back to English.
const (
	LangEN = "en"
	LangZH = "zh-CN"
)

// NormalizeLanguage maps a language tag (or an Accept-Language header) to
// one Kefu speaks: zh-CN for any Chinese, English otherwise.
func NormalizeLanguage(tag string) string {
	for _, part := range strings.Split(tag, ",") {
		t := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case strings.HasPrefix(t, "zh"):
			return LangZH
		case strings.HasPrefix(t, "en"):
			return LangEN
		}
	}
	return LangEN
}

type tenantRow struct {
	ID               string `gorm:"primaryKey"`
	Slug             string
	Name             string
	WidgetKey        string
	AllowedOrigins   string
	AgentsSeeAll     bool
	Language         string
	ReopenWindowDays int
	RetentionMonths  int
	Plan             string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

func (tenantRow) TableName(n schema.Namer) string { return n.TableName("tenant") }

func (r tenantRow) tenant() Tenant {
	t := Tenant{ID: r.ID, Slug: r.Slug, Name: r.Name, WidgetKey: r.WidgetKey, AgentsSeeAll: r.AgentsSeeAll, Language: NormalizeLanguage(r.Language), ReopenWindowDays: r.ReopenWindowDays, RetentionMonths: r.RetentionMonths, Plan: r.Plan, CreatedAt: r.CreatedAt}
	if _, ok := Plans[t.Plan]; !ok {
		t.Plan = PlanFree
	}
	_ = json.Unmarshal([]byte(r.AllowedOrigins), &t.AllowedOrigins)
	if t.AllowedOrigins == nil {
		t.AllowedOrigins = []string{}
	}
	return t
}

// Service is the tenants, users and credentials service.
type Service struct {
	store       *Store
	secret      []byte
	log         *slog.Logger
	now         func() time.Time
	sessionTTL  time.Duration
	visitorTTL  time.Duration
	lockout     lockoutPolicy
	defaultPlan string

	mu        sync.Mutex
	enforcers *lru.Cache[string, *enforcerEntry] // the tenants checked lately; an evicted one reloads its rules
	cache     *ttlCache[Tenant]
	observers observers
	lastSweep atomic.Int64 // unix seconds of the last sweep of expired rows
	widget    widgetState  // the widget's settings, identity secrets and refused origins (widget.go)
}

// Config configures the Service.
type Config struct {
	Secret     []byte // signs visitor tokens
	SessionTTL time.Duration
	Logger     *slog.Logger
	Now        func() time.Time
	// LoginAttempts is how many failed sign-ins one workspace+email may
	// have within LockoutWindow; after that, sign-ins to it answer 429 for
	// LockoutWindow (defaults 10 and 15 minutes).
	LoginAttempts int
	LockoutWindow time.Duration
	// DefaultPlan is the plan new tenants get. Empty means enterprise (no
	// caps), for code that embeds the service; the server's
	// KEFU_DEFAULT_PLAN is free unless set.
	DefaultPlan string
}

// NewService returns the service over store.
func NewService(store *Store, c Config) *Service {
	if c.SessionTTL <= 0 {
		c.SessionTTL = 30 * 24 * time.Hour
	}
	if c.Now == nil {
		c.Now = func() time.Time { return time.Now().UTC() }
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.LoginAttempts <= 0 {
		c.LoginAttempts = 10
	}
	if c.LockoutWindow <= 0 {
		c.LockoutWindow = 15 * time.Minute
	}
	enforcers, _ := lru.New[string, *enforcerEntry](store.handleCap)
	if _, ok := Plans[c.DefaultPlan]; !ok {
		c.DefaultPlan = PlanEnterprise
	}
	return &Service{
		defaultPlan: c.DefaultPlan,
		store:       store, secret: c.Secret, log: c.Logger, now: c.Now,
		sessionTTL: c.SessionTTL, visitorTTL: 365 * 24 * time.Hour,
		lockout:   lockoutPolicy{attempts: c.LoginAttempts, window: c.LockoutWindow},
		enforcers: enforcers,
		cache:     newTTLCache[Tenant](10000, 30*time.Second),
	}
}

// Store returns the underlying store.
func (s *Service) Store() *Store { return s.store }

// DB returns the tenant's handle.
func (s *Service) DB(tenantID string) (*DB, error) { return s.store.Tenant(tenantID) }

// SignupInput is what a business gives to sign up.
type SignupInput struct {
	Company  string
	Slug     string // optional; derived from Company when empty
	Email    string
	Password string
	Name     string
	Language string // en or zh-CN (anything else: en)
}

// SignupResult is the new tenant, its owner and the owner's session token.
type SignupResult struct {
	Tenant Tenant
	User   User
	Token  string
}

var slugPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$`)

var reservedSlugs = map[string]bool{"api": true, "app": true, "www": true, "admin": true, "demo": true, "kefu": true, "static": true, "assets": true, "ws": true, "platform": true}

// Slugify derives a slug from a company name: ASCII letters and digits, other
// runs become one dash. A name with no ASCII letters or digits (say, 张三商店)
// gives "" and the caller picks another.
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		default:
			if b.Len() > 0 && !dash {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > 40 {
		s = strings.Trim(s[:40], "-")
	}
	return s
}

// ValidEmail: one plain address (no display name), at most 254 bytes, clean text.
func ValidEmail(e string) bool { return validEmail(e) }

func validEmail(e string) bool {
	if len(e) > 254 || !kefu.CleanText(e) {
		return false
	}
	a, err := mail.ParseAddress(e)
	return err == nil && a.Address == e && a.Name == ""
}

// checkText: required, clean (kefu.TextProblem: no control characters,
// NUL above all, which PostgreSQL cannot store) and at most max characters.
func checkText(fields map[string]string, key, v string, max int) {
	switch {
	case !kefu.CheckText(fields, key, v):
	case strings.TrimSpace(v) == "":
		fields[key] = "is required"
	case utf8.RuneCountInString(v) > max:
		fields[key] = fmt.Sprintf("must be at most %d characters", max)
	}
}

func checkPassword(fields map[string]string, pw string) {
	switch {
	case utf8.RuneCountInString(pw) < 8:
		fields["password"] = "must be at least 8 characters"
	case len(pw) > 256:
		fields["password"] = "must be at most 256 bytes"
	}
}

// Signup creates a tenant (its own schema or file), its owner and a session.
// A slug derived from the company name that is taken gets a free random
// suffix (acme → acme-k3x9q2): the answer never tells whether some other
// business signed up under a name. Errors: invalid_argument with fields;
// already_exists only when the caller chose the slug and it is taken.
func (s *Service) Signup(ctx context.Context, in SignupInput) (SignupResult, error) {
	in.Company = strings.TrimSpace(in.Company)
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	in.Name = strings.TrimSpace(in.Name)
	fields := map[string]string{}
	checkText(fields, "company", in.Company, 100)
	checkText(fields, "name", in.Name, 100)
	if !validEmail(in.Email) {
		fields["email"] = "must be a valid email address"
	}
	checkPassword(fields, in.Password)
	slug := strings.ToLower(strings.TrimSpace(in.Slug))
	chosen := slug != ""
	if !chosen && fields["company"] == "" {
		slug = Slugify(in.Company)
		if len(slug) < 3 {
			slug = withSuffix(slug)
		}
	}
	if fields["company"] == "" && (!slugPattern.MatchString(slug) || reservedSlugs[slug]) {
		fields["slug"] = "must be 3-40 lowercase letters, digits or dashes, and not reserved"
	}
	if len(fields) > 0 {
		return SignupResult{}, kefu.Invalid(fields)
	}
	pdb := s.store.Platform().WithContext(ctx)
	var n int64
	if err := pdb.Model(&tenantRow{}).Where("slug = ?", slug).Count(&n).Error; err != nil {
		return SignupResult{}, err
	}
	if n > 0 {
		if chosen {
			return SignupResult{}, slugTaken()
		}
		slug = withSuffix(slug)
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return SignupResult{}, err
	}
	now := s.now()
	row := tenantRow{ID: NewID(), Slug: slug, Name: in.Company, WidgetKey: "wk_" + randomToken("")[:24], AllowedOrigins: "[]", Language: NormalizeLanguage(in.Language), ReopenWindowDays: 7, Plan: s.defaultPlan, CreatedAt: now, UpdatedAt: now}

	// Provision first (idempotent, keyed by the new id), then claim the slug;
	// if anything after provisioning fails, the half-made tenant is removed.
	db, err := s.store.Provision(ctx, row.ID)
	if err != nil {
		return SignupResult{}, err
	}
	undo := func() {
		ctx := context.WithoutCancel(ctx)
		s.store.Platform().WithContext(ctx).Delete(&tenantRow{}, "id = ?", row.ID)
		if err := s.store.Deprovision(ctx, row.ID); err != nil {
			s.log.Error("undo signup", "tenant_id", row.ID, "err", err)
		}
	}
	if err := s.claimSlug(ctx, &row, chosen); err != nil {
		undo()
		return SignupResult{}, err
	}
	owner := userRow{ID: NewID(), Email: in.Email, Name: in.Name, Role: RoleOwner, PasswordHash: hash, Skills: "[]", Teams: "[]", MaxConcurrent: 10, CreatedAt: now, UpdatedAt: now}
	if err := s.insertUser(ctx, row.ID, db, &owner); err != nil {
		undo()
		return SignupResult{}, err
	}
	if err := s.seedPolicies(ctx, row.ID); err != nil {
		undo()
		return SignupResult{}, err
	}
	token, err := s.createSession(ctx, row.ID, owner.ID)
	if err != nil {
		undo()
		return SignupResult{}, err
	}
	return SignupResult{Tenant: row.tenant(), User: owner.user(), Token: token}, nil
}

// claimSlug inserts the tenant row. Two signups of one company at once may
// both have found the slug free: the loser of the unique index tries again
// with a new suffix (or, for a slug the caller chose, gets already_exists).
func (s *Service) claimSlug(ctx context.Context, row *tenantRow, chosen bool) error {
	pdb := s.store.Platform().WithContext(ctx)
	base := row.Slug
	for attempt := 0; ; attempt++ {
		err := pdb.Create(row).Error
		if err == nil || !isUniqueViolation(err) {
			return err
		}
		if chosen {
			return slugTaken()
		}
		if attempt == 8 {
			return kefu.Errorf(kefu.EConflict, "could not find a free workspace address; try again")
		}
		row.Slug = withSuffix(base)
	}
}

func slugTaken() error {
	return &kefu.Error{Code: kefu.EExists, Message: "this workspace address is taken; choose another or leave it empty", Fields: map[string]string{"slug": "is taken"}}
}

// withSuffix appends a random suffix of 6 letters and digits to a slug,
// keeping it within the 40 characters slugs may have.
func withSuffix(slug string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	if len(slug) > 33 {
		slug = slug[:33]
	}
	return strings.Trim(strings.Trim(slug, "-")+"-"+string(b), "-")
}

// Tenant returns a tenant by id (cached for a few seconds).
func (s *Service) Tenant(ctx context.Context, id string) (Tenant, error) {
	if t, ok := s.cache.get("id:" + id); ok {
		return t, nil
	}
	return s.findTenant(ctx, "id = ?", id)
}

// TenantBySlug returns a tenant by slug.
func (s *Service) TenantBySlug(ctx context.Context, slug string) (Tenant, error) {
	return s.findTenant(ctx, "slug = ?", strings.ToLower(strings.TrimSpace(slug)))
}

// TenantByWidgetKey returns the tenant whose widget key this is.
func (s *Service) TenantByWidgetKey(ctx context.Context, key string) (Tenant, error) {
	if t, ok := s.cache.get("wk:" + key); ok {
		return t, nil
	}
	return s.findTenant(ctx, "widget_key = ?", key)
}

func (s *Service) findTenant(ctx context.Context, where string, arg string) (Tenant, error) {
	var row tenantRow
	if !kefu.CleanText(arg) { // no slug, id or key has one; PostgreSQL would fail on a NUL
		return Tenant{}, kefu.Errorf(kefu.ENotFound, "no such workspace")
	}
	err := s.store.Platform().WithContext(ctx).Where(where, arg).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Tenant{}, kefu.Errorf(kefu.ENotFound, "no such workspace")
	}
	if err != nil {
		return Tenant{}, err
	}
	t := row.tenant()
	s.cache.put("id:"+t.ID, t)
	s.cache.put("wk:"+t.WidgetKey, t)
	return t, nil
}

// TenantUpdate changes a tenant's settings; nil fields stay.
type TenantUpdate struct {
	Name             *string
	AllowedOrigins   *[]string
	AgentsSeeAll     *bool
	Language         *string
	ReopenWindowDays *int
	RetentionMonths  *int
}

var originPattern = regexp.MustCompile(`^https?://[a-zA-Z0-9.-]+(:[0-9]{1,5})?$`)

// UpdateTenant changes name, allowed origins and what agents see.
func (s *Service) UpdateTenant(ctx context.Context, id string, u TenantUpdate) (Tenant, error) {
	fields := map[string]string{}
	set := map[string]any{"updated_at": s.now()}
	if u.Name != nil {
		checkText(fields, "name", *u.Name, 100)
		set["name"] = strings.TrimSpace(*u.Name)
	}
	if u.AllowedOrigins != nil {
		origins := []string{}
		for i, o := range *u.AllowedOrigins {
			o = strings.TrimRight(strings.TrimSpace(o), "/")
			if !originPattern.MatchString(o) {
				fields[fmt.Sprintf("allowed_origins[%d]", i)] = "must be an origin like https://shop.example.com"
			}
			origins = append(origins, strings.ToLower(o))
		}
		if len(origins) > 50 {
			fields["allowed_origins"] = "at most 50 origins"
		}
		b, _ := json.Marshal(origins)
		set["allowed_origins"] = string(b)
	}
	if u.AgentsSeeAll != nil {
		set["agents_see_all"] = *u.AgentsSeeAll
	}
	if u.Language != nil {
		if *u.Language != LangEN && *u.Language != LangZH {
			fields["language"] = "must be en or zh-CN"
		}
		set["language"] = *u.Language
	}
	if u.ReopenWindowDays != nil {
		if *u.ReopenWindowDays < 0 || *u.ReopenWindowDays > 365 {
			fields["reopen_window_days"] = "must be between 0 and 365"
		}
		set["reopen_window_days"] = *u.ReopenWindowDays
	}
	if u.RetentionMonths != nil {
		if *u.RetentionMonths < 0 || *u.RetentionMonths > MaxRetentionMonths {
			fields["retention_months"] = "must be between 0 (forever) and 120"
		}
		set["retention_months"] = *u.RetentionMonths
	}
	if len(fields) > 0 {
		return Tenant{}, kefu.Invalid(fields)
	}
	if err := s.store.Platform().WithContext(ctx).Model(&tenantRow{}).Where("id = ?", id).Updates(set).Error; err != nil {
		return Tenant{}, err
	}
	s.cache.drop("id:" + id)
	t, err := s.findTenant(ctx, "id = ?", id)
	if err == nil {
		s.cache.drop("wk:" + t.WidgetKey)
		s.cache.put("wk:"+t.WidgetKey, t)
	}
	return t, err
}

// ListTenantIDs returns every tenant id (for migrations and sweeps).
func (s *Service) ListTenantIDs(ctx context.Context) ([]string, error) {
	var ids []string
	err := s.store.Platform().WithContext(ctx).Model(&tenantRow{}).Order("created_at").Pluck("id", &ids).Error
	return ids, err
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqErr *gosqlite.Error
	if errors.As(err, &sqErr) {
		return sqErr.Code() == 2067 || sqErr.Code() == 1555 // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY
	}
	return false
}

// IsUniqueViolation reports whether err is a unique-constraint violation on
// either backend.
func IsUniqueViolation(err error) bool { return isUniqueViolation(err) }
