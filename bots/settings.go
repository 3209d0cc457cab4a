package bots

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"kefu"
	"kefu/outbound"
)

// Limits on settings.
const (
	MaxSystemPrompt  = 8000 // characters
	MaxModelName     = 200
	MaxAPIKey        = 500
	MaxHandoffPhrase = 50
	MaxPhrases       = 30
	// DefaultCallTimeout is the hard deadline of a model call: past it the
	// conversation goes to a person.
	DefaultCallTimeout = 30 * time.Second
)

type settingsRow struct {
	ID             int `gorm:"primaryKey"`
	Provider       string
	BaseURL        string
	Model          string
	APIKeySealed   string
	SystemPrompt   string
	Temperature    *float64
	MaxTokens      int
	TimeoutMS      int
	EmbeddingModel string
	FAQThreshold   float64
	HandoffPhrases *string
	UpdatedAt      time.Time
}

func (settingsRow) TableName(n schema.Namer) string { return n.TableName("bot_setting") }

// Settings are a tenant's bot settings. The API key is only ever held
// sealed; HasAPIKey says whether there is one.
type Settings struct {
	LLM            LLMSettings
	FAQThreshold   float64  // 0: DefaultThreshold
	HandoffPhrases []string // what a visitor says to reach a person
	apiKey         string   // sealed
}

// LLMSettings are the model a tenant's bots use, as the API shows them.
type LLMSettings struct {
	Provider       string     `json:"provider"`
	BaseURL        string     `json:"base_url"`
	Model          string     `json:"model"`
	HasAPIKey      bool       `json:"has_api_key"`
	SystemPrompt   string     `json:"system_prompt"`
	Temperature    *float64   `json:"temperature"`
	MaxTokens      int        `json:"max_tokens"`
	TimeoutMS      int        `json:"timeout_ms"`
	EmbeddingModel string     `json:"embedding_model"`
	UpdatedAt      *time.Time `json:"updated_at"`
}

// Configured reports whether a model is set up.
func (l LLMSettings) Configured() bool { return l.Provider != "" && l.Model != "" }

// timeout is the hard deadline of the tenant's calls.
func (s *Service) timeout(l LLMSettings) time.Duration {
	if l.TimeoutMS > 0 {
		return time.Duration(l.TimeoutMS) * time.Millisecond
	}
	return s.cfg.CallTimeout
}

// Settings returns the tenant's settings (cached; a change anywhere drops
// the cache through Invalidate).
func (s *Service) Settings(ctx context.Context, tenantID string) (Settings, error) {
	if st, ok := s.settings.Get(tenantID); ok {
		return st, nil
	}
	db, err := s.tenants.DB(tenantID)
	if err != nil {
		return Settings{}, err
	}
	var rows []settingsRow
	if err := db.WithContext(ctx).Where("id = 1").Limit(1).Find(&rows).Error; err != nil {
		return Settings{}, err
	}
	st := Settings{HandoffPhrases: append([]string(nil), DefaultHandoffPhrases...)}
	if len(rows) == 1 {
		r := rows[0]
		at := r.UpdatedAt
		st.LLM = LLMSettings{Provider: r.Provider, BaseURL: r.BaseURL, Model: r.Model, HasAPIKey: r.APIKeySealed != "", SystemPrompt: r.SystemPrompt,
			Temperature: r.Temperature, MaxTokens: r.MaxTokens, TimeoutMS: r.TimeoutMS, EmbeddingModel: r.EmbeddingModel, UpdatedAt: &at}
		st.FAQThreshold = r.FAQThreshold
		st.apiKey = r.APIKeySealed
		if r.HandoffPhrases != nil {
			_ = json.Unmarshal([]byte(*r.HandoffPhrases), &st.HandoffPhrases)
		}
	}
	if st.HandoffPhrases == nil {
		st.HandoffPhrases = []string{}
	}
	s.settings.Add(tenantID, st)
	return st, nil
}

// LLMInput is a PUT of the model settings. APIKey nil keeps the stored key;
// "" removes it.
type LLMInput struct {
	Provider       string   `json:"provider"`
	BaseURL        string   `json:"base_url"`
	Model          string   `json:"model"`
	APIKey         *string  `json:"api_key"`
	SystemPrompt   string   `json:"system_prompt"`
	Temperature    *float64 `json:"temperature"`
	MaxTokens      int      `json:"max_tokens"`
	TimeoutMS      int      `json:"timeout_ms"`
	EmbeddingModel string   `json:"embedding_model"`
}

// check validates in; the base URL must be http(s), and unless private
// networks are allowed, must not name a private address (the dialer checks
// again on every call, after DNS).
func (s *Service) checkLLM(in *LLMInput) error {
	f := map[string]string{}
	in.Provider, in.BaseURL, in.Model = strings.TrimSpace(in.Provider), strings.TrimSpace(in.BaseURL), strings.TrimSpace(in.Model)
	if _, ok := s.providers[in.Provider]; !ok {
		f["provider"] = "must be one of " + strings.Join(s.providers.Names(), ", ")
	}
	if in.Model == "" || utf8.RuneCountInString(in.Model) > MaxModelName {
		f["model"] = fmt.Sprintf("must be 1-%d characters", MaxModelName)
	}
	if in.BaseURL != "" {
		if msg := s.checkBaseURL(in.BaseURL); msg != "" {
			f["base_url"] = msg
		}
	}
	if in.APIKey != nil && (len(*in.APIKey) > MaxAPIKey || strings.ContainsAny(*in.APIKey, "\r\n")) {
		f["api_key"] = fmt.Sprintf("must be one line of at most %d characters", MaxAPIKey)
	}
	if utf8.RuneCountInString(in.SystemPrompt) > MaxSystemPrompt {
		f["system_prompt"] = fmt.Sprintf("must be at most %d characters", MaxSystemPrompt)
	}
	if in.Temperature != nil && (*in.Temperature < 0 || *in.Temperature > 2) {
		f["temperature"] = "must be between 0 and 2"
	}
	if in.MaxTokens < 0 || in.MaxTokens > 8192 {
		f["max_tokens"] = "must be between 0 (the provider's default) and 8192"
	}
	if in.TimeoutMS != 0 && (in.TimeoutMS < 1000 || in.TimeoutMS > 120000) {
		f["timeout_ms"] = "must be between 1000 and 120000 (0: 30000)"
	}
	if utf8.RuneCountInString(in.EmbeddingModel) > MaxModelName {
		f["embedding_model"] = fmt.Sprintf("must be at most %d characters", MaxModelName)
	}
	if len(f) > 0 {
		return kefu.Invalid(f)
	}
	return nil
}

func (s *Service) checkBaseURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || len(raw) > 500 {
		return "must be an http(s) URL without credentials"
	}
	if s.cfg.AllowPrivateNetworks {
		return ""
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return "a private address: allowed only when the server runs with KEFU_ALLOW_PRIVATE_NETWORKS=true"
	}
	if ip, err := netip.ParseAddr(host); err == nil && outbound.Blocked(ip) {
		return "a private address: allowed only when the server runs with KEFU_ALLOW_PRIVATE_NETWORKS=true"
	}
	if ip := net.ParseIP(host); ip == nil && strings.Trim(host, "0123456789.") == "" {
		return "must be an http(s) URL without credentials"
	}
	return ""
}

// SetLLM stores the model settings, sealing the API key. Errors:
// invalid_argument.
func (s *Service) SetLLM(ctx context.Context, tenantID string, in LLMInput) (LLMSettings, error) {
	if err := s.checkLLM(&in); err != nil {
		return LLMSettings{}, err
	}
	db, err := s.tenants.DB(tenantID)
	if err != nil {
		return LLMSettings{}, err
	}
	row := map[string]any{"id": 1, "provider": in.Provider, "base_url": in.BaseURL, "model": in.Model, "system_prompt": in.SystemPrompt,
		"temperature": in.Temperature, "max_tokens": in.MaxTokens, "timeout_ms": in.TimeoutMS, "embedding_model": in.EmbeddingModel, "updated_at": s.stamp()}
	cols := []string{"provider", "base_url", "model", "system_prompt", "temperature", "max_tokens", "timeout_ms", "embedding_model", "updated_at"}
	if in.APIKey != nil {
		sealed := ""
		if *in.APIKey != "" {
			if sealed, err = s.seal.seal(tenantID, *in.APIKey); err != nil {
				return LLMSettings{}, err
			}
		}
		row["api_key_sealed"] = sealed
		cols = append(cols, "api_key_sealed")
	}
	if err := s.upsertSettings(ctx, db, row, cols); err != nil {
		return LLMSettings{}, err
	}
	s.breakerFor(tenantID).reset() // a new model gets a fresh start
	s.changed(tenantID)
	st, err := s.Settings(ctx, tenantID)
	return st.LLM, err
}

func (s *Service) upsertSettings(ctx context.Context, db interface {
	WithContext(context.Context) *gorm.DB
}, row map[string]any, cols []string) error {
	return db.WithContext(ctx).Model(&settingsRow{}).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoUpdates: clause.AssignmentColumns(cols)}).Create(row).Error
}

// BotSettings are the FAQ's threshold and the handoff phrases, as the API
// shows them.
type BotSettings struct {
	FAQThreshold   float64  `json:"faq_threshold"`
	HandoffPhrases []string `json:"handoff_phrases"`
}

// Bot returns the bot settings (the threshold in effect).
func (st Settings) Bot() BotSettings {
	th := st.FAQThreshold
	if th <= 0 {
		th = DefaultThreshold
	}
	return BotSettings{FAQThreshold: th, HandoffPhrases: st.HandoffPhrases}
}

// SetBot stores the FAQ threshold and the handoff phrases. Errors:
// invalid_argument.
func (s *Service) SetBot(ctx context.Context, tenantID string, in BotSettings) (BotSettings, error) {
	f := map[string]string{}
	if in.FAQThreshold <= 0 || in.FAQThreshold > 1 {
		f["faq_threshold"] = "must be above 0 and at most 1"
	}
	in.HandoffPhrases = trimAll(in.HandoffPhrases)
	if len(in.HandoffPhrases) > MaxPhrases {
		f["handoff_phrases"] = fmt.Sprintf("at most %d", MaxPhrases)
	}
	for _, p := range in.HandoffPhrases {
		if utf8.RuneCountInString(p) > MaxHandoffPhrase || Normalize(p) == "" {
			f["handoff_phrases"] = fmt.Sprintf("each must be 1-%d characters with a letter in it", MaxHandoffPhrase)
		}
	}
	if len(f) > 0 {
		return BotSettings{}, kefu.Invalid(f)
	}
	db, err := s.tenants.DB(tenantID)
	if err != nil {
		return BotSettings{}, err
	}
	phrases, _ := json.Marshal(in.HandoffPhrases)
	p := string(phrases)
	if err := s.upsertSettings(ctx, db, map[string]any{"id": 1, "faq_threshold": in.FAQThreshold, "handoff_phrases": &p, "updated_at": s.stamp()},
		[]string{"faq_threshold", "handoff_phrases", "updated_at"}); err != nil {
		return BotSettings{}, err
	}
	s.changed(tenantID)
	st, err := s.Settings(ctx, tenantID)
	return st.Bot(), err
}

// WantsPerson reports whether the visitor's text asks for a person, by the
// tenant's phrases.
func (s *Service) WantsPerson(ctx context.Context, tenantID, text string) bool {
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return WantsPerson(text, DefaultHandoffPhrases)
	}
	return WantsPerson(text, st.HandoffPhrases)
}

// errNotConfigured: the tenant has no model.
var errNotConfigured = errors.New("no model is configured")
