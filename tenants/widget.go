package tenants

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	lru "github.com/hashicorp/golang-lru/v2/expirable"
	"gorm.io/gorm"

	"kefu"
)

// WidgetSettings are how a tenant's chat widget looks and behaves. The
// zero value is the default widget (its own colour, on the right, its own
// greeting in the visitor's language, no pre-chat form).
type WidgetSettings struct {
	// Color is the brand colour, #rrggbb ("" the widget's own).
	Color string `json:"color"`
	// Position is where the launcher sits: right (default) or left.
	Position string `json:"position"`
	// Greeting is the first bubble the visitor reads ("" the widget's own,
	// in the visitor's language).
	Greeting string `json:"greeting"`
	// LauncherText is shown next to the launcher's icon ("" icon only).
	LauncherText string `json:"launcher_text"`
	// AvatarURL is a team photo or logo shown in the header (https).
	AvatarURL string `json:"avatar_url"`
	// Language is the widget's language: "" follows the page, en or zh-CN.
	Language string `json:"language"`
	// Prechat is the form shown before the first message.
	Prechat PrechatForm `json:"prechat"`
	// RequireIdentity: the widget runs only for visitors the site
	// identified with a valid hash (Kefu.identify).
	RequireIdentity bool `json:"require_identity"`
}

// PrechatForm is the pre-chat form: when Enabled and it has fields, a
// visitor answers it before their first message.
type PrechatForm struct {
	Enabled bool           `json:"enabled"`
	Fields  []PrechatField `json:"fields"`
}

// Pre-chat field types. name, email and phone land on the contact's own
// fields; custom ones in its attributes under Key.
const (
	FieldName   = "name"
	FieldEmail  = "email"
	FieldPhone  = "phone"
	FieldCustom = "custom"
)

// PrechatField is one question of the pre-chat form.
type PrechatField struct {
	Type string `json:"type"`
	// Key is the attribute a custom field's answer is stored under (the
	// type, for the others).
	Key string `json:"key"`
	// Label is what the visitor reads (custom fields; the built-in ones
	// use the widget's own words when it is empty).
	Label    string `json:"label"`
	Required bool   `json:"required"`
}

// Bounds of the settings.
const (
	MaxPrechatFields  = 20
	MaxGreeting       = 500
	MaxLauncherText   = 30
	MaxFieldLabel     = 60
	MaxWidgetURL      = 500
	MaxRefusedOrigins = 20
	maxOriginRecorded = 200
)

var (
	colorPattern    = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	fieldKeyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	// A browser's Origin: scheme://host[:port], or "null" (sandboxed frames, files).
	anyOriginPattern = regexp.MustCompile(`^(null|[a-z][a-z0-9+.-]{0,20}://[^/\s?#@]{1,200})$`)
)

// Normalized validates ws and returns it with defaults filled in and text
// trimmed. Errors: invalid_argument with a message per field.
func (ws WidgetSettings) Normalized() (WidgetSettings, error) {
	fields := map[string]string{}
	ws.Color = strings.ToLower(strings.TrimSpace(ws.Color))
	if ws.Color != "" && !colorPattern.MatchString(ws.Color) {
		fields["color"] = "must be a colour like #0958d9"
	}
	switch ws.Position {
	case "":
		ws.Position = "right"
	case "left", "right":
	default:
		fields["position"] = "must be left or right"
	}
	text := func(key string, v *string, max int) {
		*v = strings.TrimSpace(*v)
		if utf8.RuneCountInString(*v) > max {
			fields[key] = fmt.Sprintf("must be at most %d characters", max)
			return
		}
		kefu.CheckText(fields, key, *v)
	}
	text("greeting", &ws.Greeting, MaxGreeting)
	text("launcher_text", &ws.LauncherText, MaxLauncherText)
	ws.AvatarURL = strings.TrimSpace(ws.AvatarURL)
	if ws.AvatarURL != "" {
		if p := httpsURLProblem(ws.AvatarURL); p != "" {
			fields["avatar_url"] = p
		}
	}
	switch ws.Language {
	case "", LangEN, LangZH:
	default:
		fields["language"] = "must be empty (the page's language), en or zh-CN"
	}
	if ws.Prechat.Fields == nil {
		ws.Prechat.Fields = []PrechatField{}
	}
	if len(ws.Prechat.Fields) > MaxPrechatFields {
		fields["prechat.fields"] = fmt.Sprintf("at most %d fields", MaxPrechatFields)
	} else {
		seen := map[string]bool{}
		for i := range ws.Prechat.Fields {
			f := &ws.Prechat.Fields[i]
			at := fmt.Sprintf("prechat.fields[%d]", i)
			switch f.Type {
			case FieldName, FieldEmail, FieldPhone:
				f.Key = f.Type
			case FieldCustom:
				f.Key = strings.TrimSpace(f.Key)
				if !fieldKeyPattern.MatchString(f.Key) || f.Key == FieldName || f.Key == FieldEmail || f.Key == FieldPhone {
					fields[at+".key"] = "must be 1-40 lowercase letters, digits or _, starting with a letter, and not name, email or phone"
				}
			default:
				fields[at+".type"] = "must be name, email, phone or custom"
				continue
			}
			if seen[f.Key] {
				fields[at+".key"] = "is already a field of the form"
			}
			seen[f.Key] = true
			text(at+".label", &f.Label, MaxFieldLabel)
			if f.Type == FieldCustom && f.Label == "" && fields[at+".label"] == "" {
				fields[at+".label"] = "is required for a custom field"
			}
		}
	}
	if len(fields) > 0 {
		return WidgetSettings{}, kefu.Invalid(fields)
	}
	return ws, nil
}

// httpsURLProblem says what is wrong with an image address ("" nothing).
func httpsURLProblem(s string) string {
	if len(s) > MaxWidgetURL {
		return fmt.Sprintf("must be at most %d characters", MaxWidgetURL)
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || !kefu.CleanText(s) || strings.ContainsAny(s, " \"'<>\\") {
		return "must be an https:// address"
	}
	return ""
}

// Required reports the keys of the form's required fields (none when the
// form is off).
func (f PrechatForm) Required() []string {
	if !f.Enabled {
		return nil
	}
	var out []string
	for _, x := range f.Fields {
		if x.Required {
			out = append(out, x.Key)
		}
	}
	return out
}

// widgetState caches each tenant's widget settings and opened identity
// secret on this node for a few seconds (a change made on another node is
// seen within that time), and when each refused origin was last written.
type widgetState struct {
	once     sync.Once
	settings *lru.LRU[string, WidgetSettings]
	secrets  *lru.LRU[string, string]
	refused  *lru.LRU[string, bool]
	sealer   *Sealer
	sealErr  error
}

const widgetCacheTTL = 10 * time.Second

func (s *Service) widgetInit() *widgetState {
	w := &s.widget
	w.once.Do(func() {
		w.settings = lru.NewLRU[string, WidgetSettings](10000, nil, widgetCacheTTL)
		w.secrets = lru.NewLRU[string, string](10000, nil, widgetCacheTTL)
		w.refused = lru.NewLRU[string, bool](10000, nil, 10*time.Second)
		w.sealer, w.sealErr = NewSealer(s.secret, "kefu widget: identity secrets v1")
	})
	return w
}

type widgetSettingsRow struct {
	ID                   int `gorm:"primaryKey"`
	Settings             string
	IdentitySecretSealed string
	UpdatedAt            time.Time
}

func (widgetSettingsRow) TableName() string { return "widget_settings" }

func (s *Service) widgetRow(ctx context.Context, db *DB) (widgetSettingsRow, bool, error) {
	var rows []widgetSettingsRow
	if err := db.WithContext(ctx).Raw(`SELECT id, settings, identity_secret_sealed, updated_at FROM ` + db.Table("widget_settings") + ` WHERE id = 1`).Scan(&rows).Error; err != nil {
		return widgetSettingsRow{}, false, err
	}
	if len(rows) == 0 {
		return widgetSettingsRow{}, false, nil
	}
	return rows[0], true, nil
}

// WidgetSettingsOf returns the tenant's widget settings (the defaults when
// none were saved), cached for a few seconds.
func (s *Service) WidgetSettingsOf(ctx context.Context, tenantID string) (WidgetSettings, error) {
	w := s.widgetInit()
	if ws, ok := w.settings.Get(tenantID); ok {
		return ws, nil
	}
	db, err := s.DB(tenantID)
	if err != nil {
		return WidgetSettings{}, err
	}
	row, _, err := s.widgetRow(ctx, db)
	if err != nil {
		return WidgetSettings{}, err
	}
	var ws WidgetSettings
	if row.Settings != "" {
		_ = json.Unmarshal([]byte(row.Settings), &ws)
	}
	ws, err = ws.Normalized()
	if err != nil { // a row an older or newer server wrote: the defaults
		ws, _ = WidgetSettings{}.Normalized()
	}
	w.settings.Add(tenantID, ws)
	return ws, nil
}

// SetWidgetSettings validates and stores the tenant's widget settings.
// Errors: invalid_argument.
func (s *Service) SetWidgetSettings(ctx context.Context, tenantID string, ws WidgetSettings) (WidgetSettings, error) {
	ws, err := ws.Normalized()
	if err != nil {
		return WidgetSettings{}, err
	}
	db, err := s.DB(tenantID)
	if err != nil {
		return WidgetSettings{}, err
	}
	b, _ := json.Marshal(ws)
	now := s.now().UTC()
	err = db.WithContext(ctx).Exec(`INSERT INTO `+db.Table("widget_settings")+` (id, settings, identity_secret_sealed, updated_at) VALUES (1, ?, '', ?)
ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`, string(b), now).Error
	if err != nil {
		return WidgetSettings{}, err
	}
	s.widgetInit().settings.Add(tenantID, ws)
	return ws, nil
}

// IdentitySecret returns the tenant's identity secret, with which its site
// signs visitors' ids (hex HMAC-SHA256 of the id), generating one on first
// use. It is stored sealed.
func (s *Service) IdentitySecret(ctx context.Context, tenantID string) (string, error) {
	w := s.widgetInit()
	if sec, ok := w.secrets.Get(tenantID); ok {
		return sec, nil
	}
	if w.sealErr != nil {
		return "", w.sealErr
	}
	db, err := s.DB(tenantID)
	if err != nil {
		return "", err
	}
	row, ok, err := s.widgetRow(ctx, db)
	if err != nil {
		return "", err
	}
	if !ok || row.IdentitySecretSealed == "" {
		return s.newIdentitySecret(ctx, db, tenantID, false)
	}
	sec, err := w.sealer.Open(tenantID, row.IdentitySecretSealed)
	if err != nil {
		return "", err
	}
	w.secrets.Add(tenantID, sec)
	return sec, nil
}

// RotateIdentitySecret replaces the tenant's identity secret: hashes made
// with the old one stop binding at once on this node and within seconds on
// the others.
func (s *Service) RotateIdentitySecret(ctx context.Context, tenantID string) (string, error) {
	if w := s.widgetInit(); w.sealErr != nil {
		return "", w.sealErr
	}
	db, err := s.DB(tenantID)
	if err != nil {
		return "", err
	}
	return s.newIdentitySecret(ctx, db, tenantID, true)
}

// newIdentitySecret stores a fresh secret: always when rotate, otherwise
// only if the row still has none (two first uses at once agree on one).
func (s *Service) newIdentitySecret(ctx context.Context, db *DB, tenantID string, rotate bool) (string, error) {
	w := s.widgetInit()
	sec := randomToken("kis_")
	sealed, err := w.sealer.Seal(tenantID, sec)
	if err != nil {
		return "", err
	}
	now := s.now().UTC()
	onConflict := `ON CONFLICT (id) DO UPDATE SET identity_secret_sealed = excluded.identity_secret_sealed, updated_at = excluded.updated_at`
	if !rotate {
		onConflict += ` WHERE w.identity_secret_sealed = ''`
	}
	if err := db.WithContext(ctx).Exec(`INSERT INTO `+db.Table("widget_settings")+` AS w (id, settings, identity_secret_sealed, updated_at) VALUES (1, '{}', ?, ?) `+onConflict, sealed, now).Error; err != nil {
		return "", err
	}
	w.secrets.Remove(tenantID)
	if rotate {
		w.secrets.Add(tenantID, sec)
		return sec, nil
	}
	return s.IdentitySecret(ctx, tenantID) // whichever secret won
}

// IdentityHash is the hash a site computes for one of its users' ids:
// hex HMAC-SHA256 of the id keyed with the identity secret.
func IdentityHash(secret, id string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyIdentity reports whether hash is the tenant's hash of id (in
// constant time).
func (s *Service) VerifyIdentity(ctx context.Context, tenantID, id, hash string) (bool, error) {
	if id == "" || hash == "" {
		return false, nil
	}
	sec, err := s.IdentitySecret(ctx, tenantID)
	if err != nil {
		return false, err
	}
	want := IdentityHash(sec, id)
	return hmac.Equal([]byte(want), []byte(strings.ToLower(strings.TrimSpace(hash)))), nil
}

// OriginAllowed reports whether a page of origin may run t's widget: no
// Origin (not a browser), or an empty list, or one of t's origins.
// Callers let the server's own origin through before asking.
func OriginAllowed(t Tenant, origin string) bool {
	if origin == "" || len(t.AllowedOrigins) == 0 {
		return true
	}
	for _, o := range t.AllowedOrigins {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// RefusedOrigin is an origin whose page tried to run the widget and was
// refused: when first and last, and how often.
type RefusedOrigin struct {
	Origin  string    `json:"origin"`
	Hits    int64     `json:"hits"`
	FirstAt time.Time `json:"first_at"`
	LastAt  time.Time `json:"last_at"`
}

// RecordRefusedOrigin notes that a page of origin was refused the widget.
// The tenant keeps the MaxRefusedOrigins most recent distinct origins; each
// node writes one origin at most every few seconds (a page retrying in a
// loop costs no write per request). Origins that are not origins are not
// kept.
func (s *Service) RecordRefusedOrigin(ctx context.Context, tenantID, origin string) error {
	origin = strings.ToLower(origin)
	if len(origin) > maxOriginRecorded || !anyOriginPattern.MatchString(origin) || !kefu.CleanText(origin) {
		return nil
	}
	w := s.widgetInit()
	k := tenantID + " " + origin
	if w.refused.Contains(k) {
		return nil
	}
	w.refused.Add(k, true)
	db, err := s.DB(tenantID)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t := db.Table("widget_refused_origins")
		if err := tx.Exec(`INSERT INTO `+t+` AS r (origin, hits, first_at, last_at) VALUES (?, 1, ?, ?)
ON CONFLICT (origin) DO UPDATE SET hits = r.hits + 1, last_at = excluded.last_at`, origin, now, now).Error; err != nil {
			return err
		}
		return tx.Exec(`DELETE FROM `+t+` WHERE origin NOT IN (SELECT origin FROM `+t+` ORDER BY last_at DESC, origin LIMIT ?)`, MaxRefusedOrigins).Error
	})
}

// RefusedOrigins lists the tenant's recently refused origins, latest first.
func (s *Service) RefusedOrigins(ctx context.Context, tenantID string) ([]RefusedOrigin, error) {
	db, err := s.DB(tenantID)
	if err != nil {
		return nil, err
	}
	var out []RefusedOrigin
	err = db.WithContext(ctx).Raw(`SELECT origin, hits, first_at, last_at FROM `+db.Table("widget_refused_origins")+` ORDER BY last_at DESC, origin LIMIT ?`, MaxRefusedOrigins).Scan(&out).Error
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].FirstAt, out[i].LastAt = out[i].FirstAt.UTC(), out[i].LastAt.UTC()
	}
	if out == nil {
		out = []RefusedOrigin{}
	}
	return out, nil
}
