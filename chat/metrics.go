package chat

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"kefu/routing"
)

// metrics are the chat service's Prometheus families. No label carries a
// tenant, conversation or user id: every label value comes from a short
// fixed list, so a family's series count does not grow with customers.
type metrics struct {
	stored  *prometheus.CounterVec
	persist prometheus.Histogram
	routed  *prometheus.CounterVec
	breaker *prometheus.CounterVec
	batch   prometheus.Histogram
	// commit is a message's time in the group commit as its sender sees
	// it: waiting for its shard, then the transaction (persist).
	commit        prometheus.Histogram
	commitFailed  prometheus.Counter
	published     *prometheus.CounterVec
	publishedBy   map[string]prometheus.Counter // published's series by kind, resolved once (publish is on the hot path)
	publishFailed prometheus.Counter
	// busLag is from an event's publication to its arrival on this node's
	// subscription (across nodes: their clocks' skew included).
	busLag    prometheus.Histogram
	queueWait prometheus.Histogram
	outbound  *prometheus.CounterVec
	outboundT *prometheus.HistogramVec
	// flowBusy counts conversations queued without their flow because the
	// tenant had FlowRuns runs under way for FlowRunWait.
	flowBusy prometheus.Counter

	// Bots (FAQ answers, LLM outcomes and provider latency) are counted
	// where the bots package answers; liveServices.AnswerFAQ and AskLLM are
	// where its results enter the flow.
}

// eventKinds are the bus event kinds, the values of kefu_bus_events_published_total's kind.
var eventKinds = []string{EventMessage, EventConversation, EventRead, EventTyping, EventPresence, EventQueue, EventFlow, EventAgentGone, EventRevoke}

// outboundResults are the outcomes of a call to a tenant's URL.
var outboundResults = []string{"ok", "http_error", "timeout", "refused", "error"}

func newMetrics(reg prometheus.Registerer) *metrics {
	latency := []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
	m := &metrics{
		stored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_messages_stored_total", Help: "Messages stored, by author type.",
		}, []string{"author"}),
		persist: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kefu_message_persist_seconds", Help: "Time to commit a batch of messages (one transaction).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}),
		routed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_routing_decisions_total", Help: "Routing decisions, by outcome (assign, queue, end, breaker_open).",
		}, []string{"outcome"}),
		breaker: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_routing_breaker_transitions_total", Help: "Assignment circuit breaker state changes, by new state.",
		}, []string{"state"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kefu_message_commit_batch_size", Help: "Messages committed per group-commit transaction.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kefu_message_commit_seconds", Help: "A message's time in the group commit: queued for its shard, then committed.",
			Buckets: latency,
		}),
		commitFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kefu_message_commit_failures_total", Help: "Messages whose commit failed (the sender got an error, nothing was acked).",
		}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_bus_events_published_total", Help: "Events published on the bus, by kind.",
		}, []string{"kind"}),
		publishFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kefu_bus_publish_errors_total", Help: "Events the bus could not publish (clients catch up by seq).",
		}),
		busLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kefu_bus_delivery_lag_seconds", Help: "From an event's publication to its arrival at this node (Redis pub/sub lag with many nodes).",
			Buckets: latency,
		}),
		queueWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kefu_routing_queue_wait_seconds", Help: "How long conversations waited in the queue before an agent took them.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600},
		}),
		outbound: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_outbound_requests_total", Help: "Calls to tenants' URLs (flow webhook nodes), by target and result (ok, http_error, timeout, refused, error).",
		}, []string{"target", "result"}),
		outboundT: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kefu_outbound_request_seconds", Help: "Duration of calls to tenants' URLs, by target.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"target"}),
		flowBusy: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kefu_flow_runs_skipped_total", Help: "Conversations queued without running their flow: the tenant had its most flow runs under way.",
		}),
	}
	// Known label values start at zero, so rates and alerts see the
	// series before the first event.
	m.publishedBy = make(map[string]prometheus.Counter, len(eventKinds))
	for _, k := range eventKinds {
		m.publishedBy[k] = m.published.WithLabelValues(k)
	}
	for _, o := range []string{routing.ActionAssign, routing.ActionQueue, routing.ActionEnd, "breaker_open"} {
		m.routed.WithLabelValues(o)
	}
	for _, st := range []gobreaker.State{gobreaker.StateClosed, gobreaker.StateHalfOpen, gobreaker.StateOpen} {
		m.breaker.WithLabelValues(st.String())
	}
	for _, a := range []string{AuthorVisitor, AuthorAgent, AuthorBot, AuthorSystem} {
		m.stored.WithLabelValues(a)
	}
	for _, r := range outboundResults {
		m.outbound.WithLabelValues(targetFlowWebhook, r)
	}
	m.outboundT.WithLabelValues(targetFlowWebhook)
	if reg != nil {
		reg.MustRegister(m.stored, m.persist, m.routed, m.breaker, m.batch, m.commit, m.commitFailed, m.published, m.publishFailed,
			m.busLag, m.queueWait, m.outbound, m.outboundT, m.flowBusy)
	}
	return m
}

// eventPublished counts an event on the bus by its kind.
func (m *metrics) eventPublished(kind string) {
	if c, ok := m.publishedBy[kind]; ok {
		c.Inc()
		return
	}
	m.published.WithLabelValues(kind).Inc()
}

// targetFlowWebhook is the outbound target of a flow's webhook node.
const targetFlowWebhook = "flow_webhook"

// observeOutbound records one call to a tenant's URL.
func (m *metrics) observeOutbound(target, result string, d time.Duration) {
	m.outbound.WithLabelValues(target, result).Inc()
	m.outboundT.WithLabelValues(target).Observe(d.Seconds())
}

// stateCollector exports what the service holds in memory at scrape time:
// how many tenants' assignment breakers are in each state (a gauge per
// state, never per tenant) and the queue length this node last computed.
type stateCollector struct {
	s        *Service
	breakers *prometheus.Desc
	queue    *prometheus.Desc
}

func newStateCollector(s *Service) *stateCollector {
	return &stateCollector{
		s: s,
		breakers: prometheus.NewDesc("kefu_routing_breakers", "Tenants' assignment circuit breakers on this node, by state (closed, half-open, open).",
			[]string{"state"}, nil),
		queue: prometheus.NewDesc("kefu_routing_queue_length",
			"Conversations waiting for an agent, summed over tenants, as this node last computed each tenant's queue (with many nodes, take the max).", nil, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.breakers
	ch <- c.queue
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[gobreaker.State]int{gobreaker.StateClosed: 0, gobreaker.StateHalfOpen: 0, gobreaker.StateOpen: 0}
	for _, b := range c.s.breakers.Values() {
		counts[b.State()]++
	}
	for st, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.breakers, prometheus.GaugeValue, float64(n), st.String())
	}
	ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(c.s.queueLength()))
}
