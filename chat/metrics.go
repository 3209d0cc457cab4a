package chat

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	stored  *prometheus.CounterVec
	persist prometheus.Histogram
	routed  *prometheus.CounterVec
	breaker *prometheus.CounterVec
	batch   prometheus.Histogram
	// flowBusy counts conversations queued without their flow because the
	// tenant had FlowRuns runs under way for FlowRunWait.
	flowBusy prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		stored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_messages_stored_total", Help: "Messages stored, by author type.",
		}, []string{"author"}),
		persist: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kefu_message_persist_seconds", Help: "Time to commit a batch of messages (one transaction).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}),
		routed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_routing_decisions_total", Help: "Routing decisions, by outcome.",
		}, []string{"outcome"}),
		breaker: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_routing_breaker_transitions_total", Help: "Assignment circuit breaker state changes, by new state.",
		}, []string{"state"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kefu_message_commit_batch_size", Help: "Messages committed per group-commit transaction.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}),
		flowBusy: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kefu_flow_runs_skipped_total", Help: "Conversations queued without running their flow: the tenant had its most flow runs under way.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.stored, m.persist, m.routed, m.breaker, m.batch, m.flowBusy)
	}
	return m
}
