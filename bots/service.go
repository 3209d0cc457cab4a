// Package bots owns what answers visitors before a person does: each
// tenant's knowledge (FAQ entries and articles, indexed in memory for
// matching in Chinese and English) and the language models it may call
// (providers behind one interface, the tenant's settings with the API key
// sealed at rest, a concurrency cap and a circuit breaker per tenant, token
// usage). It knows nothing of conversations: the chat service asks it.
package bots

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"kefu/outbound"
	"kefu/tenants"
)

// Config configures the Service.
type Config struct {
	Tenants *tenants.Service
	// Secret is KEFU_SECRET: the key that seals API keys is derived from it.
	Secret   []byte
	Logger   *slog.Logger
	Registry prometheus.Registerer
	Now      func() time.Time
	// AllowPrivateNetworks lets a base URL reach private addresses (a
	// self-hosted model).
	AllowPrivateNetworks bool
	// OnChange is told when a tenant's knowledge or settings change, to tell
	// the other nodes (which call Invalidate).
	OnChange func(tenantID string)
	// Providers are the model APIs (default DefaultRegistry).
	Providers Registry
	// MaxConcurrent bounds a tenant's model calls in flight on this node
	// (default 8); a call over it fails at once with ErrBusy.
	MaxConcurrent int
	// BreakerFailures opens a tenant's breaker after this many failures in
	// a row (default 5); it stays open BreakerTimeout (default 30 s).
	BreakerFailures int
	BreakerTimeout  time.Duration
	// MaxEntries bounds a tenant's FAQ (default 10,000).
	MaxEntries int
	// CallTimeout is a call's hard deadline unless the tenant sets one
	// (default DefaultCallTimeout).
	CallTimeout time.Duration
}

// Service is the bots service.
type Service struct {
	cfg       Config
	tenants   *tenants.Service
	log       *slog.Logger
	now       func() time.Time
	seal      *sealer
	http      *http.Client
	metrics   *metrics
	providers Registry

	kbs      *lru.Cache[string, *kbEntry]
	settings *lru.Cache[string, Settings]
	build    singleflight.Group
	gen      sync.Map // tenant → *generation: bumped by Invalidate, so a build that raced a change is not cached

	sems     sync.Map // tenant → chan struct{}
	breakers sync.Map // tenant → *breaker
	embeds   *lru.Cache[string, []float32]
}

type kbEntry struct {
	kb  *Knowledge
	gen uint64
}

type generation struct {
	mu sync.Mutex
	n  uint64
}

// New returns the bots service. Errors: a secret too short to derive a key.
func New(c Config) (*Service, error) {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Providers == nil {
		c.Providers = DefaultRegistry()
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = 8
	}
	if c.BreakerFailures <= 0 {
		c.BreakerFailures = 5
	}
	if c.BreakerTimeout <= 0 {
		c.BreakerTimeout = 30 * time.Second
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = 10000
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	seal, err := newSealer(c.Secret)
	if err != nil {
		return nil, err
	}
	kbs, _ := lru.New[string, *kbEntry](2000)
	st, _ := lru.New[string, Settings](20000)
	em, _ := lru.New[string, []float32](100000)
	return &Service{cfg: c, tenants: c.Tenants, log: c.Logger, now: c.Now, seal: seal, metrics: newMetrics(c.Registry),
		http: outbound.NewClient(outbound.Options{AllowPrivate: c.AllowPrivateNetworks}), providers: c.Providers,
		kbs: kbs, settings: st, embeds: em}, nil
}

func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func (s *Service) generation(tenantID string) *generation {
	g, _ := s.gen.LoadOrStore(tenantID, &generation{})
	return g.(*generation)
}

// Invalidate drops this node's copy of a tenant's knowledge and settings;
// the next question rebuilds them. Another node's change reaches here over
// the bus.
func (s *Service) Invalidate(tenantID string) {
	g := s.generation(tenantID)
	g.mu.Lock()
	g.n++
	g.mu.Unlock()
	s.kbs.Remove(tenantID)
	s.settings.Remove(tenantID)
}

// changed invalidates here and tells the other nodes.
func (s *Service) changed(tenantID string) {
	s.Invalidate(tenantID)
	if s.cfg.OnChange != nil {
		s.cfg.OnChange(tenantID)
	}
}

// Knowledge returns the tenant's indexed knowledge, building it when it
// changed (one build at a time per tenant; concurrent askers share it).
func (s *Service) Knowledge(ctx context.Context, tenantID string) (*Knowledge, error) {
	if e, ok := s.kbs.Get(tenantID); ok {
		return e.kb, nil
	}
	v, err, _ := s.build.Do(tenantID, func() (any, error) {
		g := s.generation(tenantID)
		g.mu.Lock()
		gen := g.n
		g.mu.Unlock()
		kb, err := s.loadKnowledge(context.WithoutCancel(ctx), tenantID)
		if err != nil {
			return nil, err
		}
		g.mu.Lock()
		if g.n == gen { // nothing changed while it was built
			s.kbs.Add(tenantID, &kbEntry{kb: kb, gen: gen})
		}
		g.mu.Unlock()
		return kb, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Knowledge), nil
}

func (s *Service) loadKnowledge(ctx context.Context, tenantID string) (*Knowledge, error) {
	db, err := s.tenants.DB(tenantID)
	if err != nil {
		return nil, err
	}
	var rows []faqRow
	if err := db.WithContext(ctx).Order("created_at, id").Limit(s.cfg.MaxEntries).Find(&rows).Error; err != nil {
		return nil, err
	}
	entries := make([]Entry, len(rows))
	for i, r := range rows {
		entries[i] = r.entry()
	}
	var arts []articleRow
	if err := db.WithContext(ctx).Order("created_at, id").Limit(MaxArticles).Find(&arts).Error; err != nil {
		return nil, err
	}
	var chunks []Chunk
	for _, a := range arts {
		chunks = append(chunks, SplitArticle(a.ID, a.Title, a.Body)...)
	}
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return NewKnowledge(entries, chunks, st.FAQThreshold), nil
}
