package bots

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"gorm.io/gorm/schema"

	"kefu"
	"kefu/tenants"
)

// Question is what the model is asked: the visitor's text, the
// conversation before it, and the node's overrides.
type Question struct {
	ConversationID string
	Text           string
	History        []Turn // oldest first, not including Text
	Language       string // the visitor's, e.g. "zh-CN"
	Model          string // overrides the tenant's model
	SystemPrompt   string // overrides the tenant's system prompt
	Kind           string // answer (a visitor's question), suggest (a draft for an agent), test
}

// Reply is a complete answer.
type Reply struct {
	Text    string `json:"text"`
	Refused bool   `json:"refused"`
	Usage   Usage  `json:"usage"`
	Model   string `json:"model"`
}

// Why a call did not answer. Callers tell them apart with errors.Is.
var (
	ErrNotConfigured = errNotConfigured
	ErrBusy          = errors.New("too many model calls in flight for this workspace")
	ErrBreakerOpen   = errors.New("the model failed repeatedly; calls are paused")
	ErrEmpty         = errEmpty
)

// Limits on what a call sends.
const (
	historyTokens = 2000 // the last messages, newest first, up to about this many tokens
	historyTurns  = 20
	contextFAQs   = 3
	contextChunks = 3
)

// MaxAnswerBytes bounds an answer: a model that streams on is cut off there
// (a stored message holds at most 16 KiB).
const MaxAnswerBytes = 16 << 10

var errAnswerTooLong = errors.New("the answer is too long")

// handoffMarker is what the default prompt asks the model to say when the
// knowledge does not answer: the conversation then goes to a person, and
// the word itself is never shown.
const handoffMarker = "HANDOFF"

const defaultPrompt = `You are the customer-service assistant of this business. Answer the visitor's question briefly and politely, using only the business knowledge below and the conversation. Do not invent policies, prices or promises. If the knowledge does not answer the question, or the visitor wants a person, reply with exactly: ` + handoffMarker

// Ask asks the tenant's model, streaming the answer's pieces to delta as
// they arrive, and returns the whole answer. It fails at once with
// ErrNotConfigured, ErrBusy (the tenant's cap on calls in flight) or
// ErrBreakerOpen; a refusal, an empty answer and the handoff marker come
// back as Refused or ErrEmpty. Token usage is recorded for the tenant and
// the conversation. The caller's context bounds the call; the settings'
// timeout bounds it too.
func (s *Service) Ask(ctx context.Context, tenantID string, q Question, delta func(string)) (Reply, error) {
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return Reply{}, err
	}
	if !st.LLM.Configured() {
		return Reply{}, ErrNotConfigured
	}
	release, ok := s.acquire(tenantID)
	if !ok {
		s.metrics.errors.WithLabelValues(st.LLM.Provider, "busy").Inc()
		return Reply{}, ErrBusy
	}
	defer release()
	br := s.breakerFor(tenantID)
	if !br.allow(s.now()) {
		s.metrics.errors.WithLabelValues(st.LLM.Provider, "breaker_open").Inc()
		return Reply{}, ErrBreakerOpen
	}
	req, err := s.request(ctx, tenantID, st, q)
	if err != nil {
		return Reply{}, err
	}
	p, key, err := s.provider(tenantID, st)
	if err != nil {
		return Reply{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout(st.LLM))
	defer cancel()
	start := time.Now()
	var buf strings.Builder
	hold := &markerGuard{out: delta}
	res, err := p.Stream(ctx, req, func(t string) error {
		if buf.Len()+len(t) > MaxAnswerBytes {
			return errAnswerTooLong // keep what came: a bounded answer
		}
		buf.WriteString(t)
		hold.add(t)
		return nil
	})
	if errors.Is(err, errAnswerTooLong) {
		err = nil
	}
	s.metrics.latency.WithLabelValues(st.LLM.Provider).Observe(time.Since(start).Seconds())
	reply := Reply{Text: strings.TrimSpace(buf.String()), Refused: res.Refused, Usage: res.Usage, Model: req.Model}
	s.recordUsage(tenantID, q, req.Model, res.Usage)
	switch {
	case err != nil && errors.Is(ctx.Err(), context.Canceled):
		return reply, ctx.Err() // the caller let go: not the model's fault
	case err != nil:
		err = redact(err, key)
		br.failure(s.now(), s.cfg.BreakerFailures, s.cfg.BreakerTimeout)
		s.metrics.errors.WithLabelValues(st.LLM.Provider, errorKind(err)).Inc()
		return reply, err
	}
	br.success()
	if strings.HasPrefix(reply.Text, handoffMarker) {
		reply.Refused, reply.Text = true, ""
	}
	if !reply.Refused {
		hold.flush()
	}
	return reply, nil
}

func errorKind(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, errEmpty):
		return "empty"
	}
	return "error"
}

// markerGuard holds the first pieces back while they could still be the
// handoff marker, so the visitor never sees it stream.
type markerGuard struct {
	out     func(string)
	pending strings.Builder
	open    bool
}

func (g *markerGuard) add(t string) {
	if g.out == nil {
		return
	}
	if g.open {
		g.out(t)
		return
	}
	g.pending.WriteString(t)
	p := strings.TrimLeft(g.pending.String(), " \n")
	if len(p) < len(handoffMarker) && strings.HasPrefix(handoffMarker, p) {
		return
	}
	if strings.HasPrefix(p, handoffMarker) {
		return // held until the end, and dropped
	}
	g.flush()
}

func (g *markerGuard) flush() {
	if g.out == nil || g.open {
		return
	}
	g.open = true
	if g.pending.Len() > 0 && !strings.HasPrefix(strings.TrimSpace(g.pending.String()), handoffMarker) {
		g.out(g.pending.String())
	}
	g.pending.Reset()
}

// provider makes the tenant's provider with its key opened.
func (s *Service) provider(tenantID string, st Settings) (Provider, string, error) {
	key, err := s.seal.open(tenantID, st.apiKey)
	if err != nil {
		return nil, "", err
	}
	p, err := s.providers.New(st.LLM.Provider, ProviderConfig{BaseURL: st.LLM.BaseURL, APIKey: key, HTTP: s.http})
	return p, key, err
}

// request builds what the model sees: the system prompt, the knowledge that
// matches the question, the visitor's language, the recent conversation
// (bounded by tokens), and the question.
func (s *Service) request(ctx context.Context, tenantID string, st Settings, q Question) (Request, error) {
	kb, err := s.Knowledge(ctx, tenantID)
	if err != nil {
		return Request{}, err
	}
	prompt := st.LLM.SystemPrompt
	if q.SystemPrompt != "" {
		prompt = q.SystemPrompt
	}
	if strings.TrimSpace(prompt) == "" {
		prompt = defaultPrompt
	}
	var b strings.Builder
	b.WriteString(prompt)
	if q.Kind == "suggest" {
		b.WriteString("\n\nYou are drafting a reply for a human agent to review; write the reply itself.")
	}
	if lang := strings.TrimSpace(q.Language); lang != "" && len(lang) <= 20 {
		fmt.Fprintf(&b, "\n\nThe visitor's language: %s. Reply in it.", lang)
	} else {
		b.WriteString("\n\nReply in the language the visitor writes in.")
	}
	if faqs := kb.Match(q.Text, contextFAQs); len(faqs) > 0 {
		b.WriteString("\n\n# FAQ\n")
		for _, m := range faqs {
			if m.Score >= 0.2 {
				fmt.Fprintf(&b, "Q: %s\nA: %s\n", m.Entry.Question, m.Entry.Answer)
			}
		}
	}
	if chunks := kb.Passages(q.Text, contextChunks); len(chunks) > 0 {
		b.WriteString("\n\n# Help articles\n")
		for _, c := range chunks {
			fmt.Fprintf(&b, "## %s\n%s\n", c.Title, c.Text)
		}
	}
	model := st.LLM.Model
	if q.Model != "" {
		model = q.Model
	}
	msgs := append(boundHistory(q.History), Turn{Role: "user", Text: truncateRunes(q.Text, 4000)})
	return Request{Model: model, System: b.String(), Messages: msgs, Temperature: st.LLM.Temperature, MaxTokens: st.LLM.MaxTokens}, nil
}

// boundHistory keeps the newest turns within historyTurns and about
// historyTokens.
func boundHistory(h []Turn) []Turn {
	budget := historyTokens
	start := len(h)
	for start > 0 && len(h)-start < historyTurns {
		n := estimateTokens(h[start-1].Text)
		if n > budget {
			break
		}
		budget -= n
		start--
	}
	return append([]Turn(nil), h[start:]...)
}

// estimateTokens is a rough count: a Chinese character is about a token,
// English about four bytes a token.
func estimateTokens(s string) int {
	n, ascii := 0, 0
	for _, r := range s {
		if r < utf8.RuneSelf {
			ascii++
		} else {
			n++
		}
	}
	return n + ascii/4 + 1
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// acquire takes one of the tenant's call slots without waiting.
func (s *Service) acquire(tenantID string) (func(), bool) {
	v, _ := s.sems.LoadOrStore(tenantID, make(chan struct{}, s.cfg.MaxConcurrent))
	sem := v.(chan struct{})
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, true
	default:
		return nil, false
	}
}

// breaker pauses a tenant's calls after failures in a row, so a model that
// is down costs its visitors nothing but a quick handoff.
type breaker struct {
	mu        sync.Mutex
	failures  int
	openUntil time.Time
}

func (s *Service) breakerFor(tenantID string) *breaker {
	v, _ := s.breakers.LoadOrStore(tenantID, &breaker{})
	return v.(*breaker)
}

func (b *breaker) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !now.Before(b.openUntil) // half-open after the pause: one failure opens it again
}

func (b *breaker) failure(now time.Time, limit int, pause time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	if b.failures >= limit {
		b.openUntil = now.Add(pause)
		b.failures = limit - 1
	}
}

func (b *breaker) success() {
	b.mu.Lock()
	b.failures, b.openUntil = 0, time.Time{}
	b.mu.Unlock()
}

func (b *breaker) reset() { b.success() }

// BreakerOpen reports whether the tenant's calls are paused.
func (s *Service) BreakerOpen(tenantID string) bool { return !s.breakerFor(tenantID).allow(s.now()) }

type usageRow struct {
	ID               string `gorm:"primaryKey"`
	ConversationID   string
	Kind             string
	Model            string
	PromptTokens     int
	CompletionTokens int
	CreatedAt        time.Time
}

func (usageRow) TableName(n schema.Namer) string { return n.TableName("bot_usage") }

func (s *Service) recordUsage(tenantID string, q Question, model string, u Usage) {
	s.metrics.tokens.WithLabelValues("prompt").Add(float64(u.PromptTokens))
	s.metrics.tokens.WithLabelValues("completion").Add(float64(u.CompletionTokens))
	db, err := s.tenants.DB(tenantID)
	if err != nil {
		return
	}
	kind := q.Kind
	if kind == "" {
		kind = "answer"
	}
	row := usageRow{ID: tenants.NewID(), ConversationID: q.ConversationID, Kind: kind, Model: truncateRunes(model, MaxModelName),
		PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, CreatedAt: s.stamp()}
	if err := db.WithContext(context.Background()).Create(&row).Error; err != nil {
		s.log.Warn("bots: record usage", "tenant_id", tenantID, "err", err)
	}
}

// UsageSummary is the tokens a tenant's (or a conversation's) calls used.
type UsageSummary struct {
	Calls            int64 `json:"calls"`
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
}

// Usage sums token usage since a time, for the tenant or one conversation.
func (s *Service) Usage(ctx context.Context, tenantID, conversationID string, since time.Time) (UsageSummary, error) {
	db, err := s.tenants.DB(tenantID)
	if err != nil {
		return UsageSummary{}, err
	}
	q := db.WithContext(ctx).Model(&usageRow{}).Select("COUNT(*) AS calls, COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens, COALESCE(SUM(completion_tokens), 0) AS completion_tokens").Where("created_at >= ?", since)
	if conversationID != "" {
		q = q.Where("conversation_id = ?", conversationID)
	}
	var out UsageSummary
	err = q.Scan(&out).Error
	return out, err
}

// TestResult is what a test call found.
type TestResult struct {
	OK        bool   `json:"ok"`
	LatencyMS int64  `json:"latency_ms"`
	Model     string `json:"model"`
	Reply     string `json:"reply,omitempty"`
	Error     string `json:"error,omitempty"`
}

// TestLLM sends a short question to the model given (its key, when nil, the
// stored one) or, with in nil, to the stored settings; the answer says
// whether it worked and how long it took. It never fails for the model's
// sake: that is in the result, with the key never in it. Errors:
// invalid_argument.
func (s *Service) TestLLM(ctx context.Context, tenantID string, in *LLMInput) (TestResult, error) {
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return TestResult{}, err
	}
	if in != nil {
		if err := s.checkLLM(in); err != nil {
			return TestResult{}, err
		}
		st.LLM = LLMSettings{Provider: in.Provider, BaseURL: in.BaseURL, Model: in.Model, Temperature: in.Temperature, MaxTokens: in.MaxTokens, TimeoutMS: in.TimeoutMS}
		if in.APIKey != nil {
			if st.apiKey, err = s.seal.seal(tenantID, *in.APIKey); err != nil {
				return TestResult{}, err
			}
		}
	}
	if !st.LLM.Configured() {
		return TestResult{}, kefu.Invalid(map[string]string{"provider": "no model is configured"})
	}
	p, key, err := s.provider(tenantID, st)
	if err != nil {
		return TestResult{OK: false, Error: "the stored API key does not open; enter it again"}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, min(s.timeout(st.LLM), 15*time.Second))
	defer cancel()
	start := time.Now()
	var buf strings.Builder
	req := Request{Model: st.LLM.Model, System: "Reply with the single word OK.", Messages: []Turn{{Role: "user", Text: "ping"}}, MaxTokens: 16}
	res, err := p.Stream(ctx, req, func(t string) error {
		if buf.Len() < 200 {
			buf.WriteString(t)
		}
		return nil
	})
	out := TestResult{LatencyMS: time.Since(start).Milliseconds(), Model: st.LLM.Model, Reply: truncateRunes(strings.TrimSpace(buf.String()), 100)}
	s.recordUsage(tenantID, Question{Kind: "test"}, st.LLM.Model, res.Usage)
	if err != nil {
		out.Error = truncateRunes(redact(err, key).Error(), 300)
		return out, nil
	}
	out.OK = true
	return out, nil
}

// Suggest drafts a reply for an agent from the same knowledge: the model's
// answer when one is configured and answers, else the best FAQ answer.
// Nothing is sent. Source says which ("llm", "faq", or "none").
func (s *Service) Suggest(ctx context.Context, tenantID string, q Question) (Suggestion, error) {
	q.Kind = "suggest"
	st, err := s.Settings(ctx, tenantID)
	if err != nil {
		return Suggestion{}, err
	}
	if st.LLM.Configured() {
		r, err := s.Ask(ctx, tenantID, q, nil)
		if err == nil && !r.Refused && r.Text != "" {
			return Suggestion{Text: r.Text, Source: "llm"}, nil
		}
		if err != nil && ctx.Err() != nil {
			return Suggestion{}, ctx.Err()
		}
	}
	res, err := s.MatchFAQ(ctx, tenantID, q.Text, 1)
	if err != nil {
		return Suggestion{}, err
	}
	if res.Answer != nil {
		return Suggestion{Text: res.Answer.Entry.Answer, Source: "faq", FAQID: res.Answer.Entry.ID, Score: res.Answer.Score}, nil
	}
	return Suggestion{Source: "none"}, nil
}

// Suggestion is a draft for an agent.
type Suggestion struct {
	Text   string  `json:"text"`
	Source string  `json:"source"`
	FAQID  string  `json:"faq_id,omitempty"`
	Score  float64 `json:"score,omitempty"`
}

// Ready says whether a model call can start now, or why not:
// not_configured, breaker_open (or error, when the settings do not load).
func (s *Service) Ready(ctx context.Context, tenantID string) (string, bool) {
	st, err := s.Settings(ctx, tenantID)
	switch {
	case err != nil:
		return "error", false
	case !st.LLM.Configured():
		return "not_configured", false
	case s.BreakerOpen(tenantID):
		return "breaker_open", false
	}
	return "", true
}
