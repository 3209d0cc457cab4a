package bots

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	latency  *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	tokens   *prometheus.CounterVec
	outcomes *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kefu_bot_provider_seconds", Help: "Model calls' duration, by provider (until the answer is complete or the call fails).",
			Buckets: []float64{.25, .5, 1, 2, 3, 5, 10, 20, 30, 60},
		}, []string{"provider"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_bot_provider_errors_total", Help: "Model calls that failed or were refused before they began, by provider and kind (error, timeout, empty, busy, breaker_open).",
		}, []string{"provider", "kind"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_bot_tokens_total", Help: "Tokens the models used, by kind (prompt, completion).",
		}, []string{"kind"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_bot_outcomes_total", Help: "What the bots did: faq_answered, faq_unanswered, llm_answered, fallback_sent, handoff (with the reason), cancelled.",
		}, []string{"outcome", "reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.latency, m.errors, m.tokens, m.outcomes)
	}
	return m
}

// Outcome counts what a bot did, for /metrics; reason says why a
// conversation went to a person (visitor_asked, error, timeout, empty,
// refused, busy, breaker_open, not_configured, restart) and is empty
// otherwise.
func (s *Service) Outcome(outcome, reason string) {
	s.metrics.outcomes.WithLabelValues(outcome, reason).Inc()
}
