package ws

import (
	"github.com/prometheus/client_golang/prometheus"

	"kefu/tenants"
)

// frameKind names a server frame for the frames-out counter. Every frame a
// socket writes carries one, so counting costs an array index and an
// atomic add (no label lookup per frame).
type frameKind uint8

const (
	frameOther frameKind = iota
	frameWelcome
	frameAck
	frameMessageNew
	frameConversation
	frameRead
	frameTyping
	framePresence
	frameQueue
	frameError
	framePong
	frameDelta
	numFrameKinds
)

var frameKindNames = [numFrameKinds]string{
	frameOther: "other", frameWelcome: "welcome", frameAck: "ack", frameMessageNew: "message.new",
	frameConversation: "conversation.updated", frameRead: "read", frameTyping: "typing",
	framePresence: "presence", frameQueue: "queue", frameError: "error", framePong: "pong",
	frameDelta: "message.delta",
}

// clientFrameTypes are the client frame types counted by name; any other
// type (the client chooses it) is counted as "other", so a client cannot
// make up label values.
var clientFrameTypes = []string{"hello", "message.send", "read", "typing", "presence", "subscribe", "unsubscribe", "ping", "handoff"}

// socketKinds are the kinds of principal a socket belongs to.
var socketKinds = []string{tenants.KindVisitor, tenants.KindUser, tenants.KindAPIKey}

type metrics struct {
	conns      prometheus.GaugeFunc
	sockets    map[string]prometheus.Gauge // by principal kind
	framesIn   map[string]prometheus.Counter
	framesOut  [numFrameKinds]prometheus.Counter
	messagesIn prometheus.Counter
	ack        prometheus.Histogram
	slow       prometheus.Counter
	refused    *prometheus.CounterVec
}

func newMetrics(s *Server, reg prometheus.Registerer) *metrics {
	m := &metrics{
		conns:      prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kefu_ws_connections", Help: "Open WebSocket connections on this node."}, func() float64 { return float64(s.hub.Count()) }),
		messagesIn: prometheus.NewCounter(prometheus.CounterOpts{Name: "kefu_ws_messages_in_total", Help: "Messages sent over WebSockets and acked."}),
		ack: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kefu_ws_ack_seconds",
			Help:    "From a message.send frame read to its ack written to the socket: validation, the group commit and the queue ahead of the ack.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		slow: prometheus.NewCounter(prometheus.CounterOpts{Name: "kefu_ws_slow_consumers_total", Help: "Sockets closed (1013) because they could not keep up."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kefu_ws_refused_total",
			Help: "Sockets refused or closed by admission control: ip_cap, principal_cap, hello_timeout, flood."}, []string{"reason"}),
		sockets:  map[string]prometheus.Gauge{},
		framesIn: map[string]prometheus.Counter{},
	}
	sockets := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kefu_ws_sockets", Help: "Open WebSockets past hello on this node, by principal kind (visitor, user, api_key)."}, []string{"kind"})
	for _, k := range socketKinds {
		m.sockets[k] = sockets.WithLabelValues(k)
	}
	in := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kefu_ws_frames_in_total", Help: "Client frames received, by type (unknown types count as other)."}, []string{"type"})
	for _, t := range append(clientFrameTypes, "other") {
		m.framesIn[t] = in.WithLabelValues(t)
	}
	out := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kefu_ws_frames_out_total", Help: "Frames written to sockets, by type."}, []string{"type"})
	for k, name := range frameKindNames {
		m.framesOut[k] = out.WithLabelValues(name)
	}
	for _, reason := range []string{"ip_cap", "principal_cap", "hello_timeout", "flood"} {
		m.refused.WithLabelValues(reason)
	}
	if reg != nil {
		reg.MustRegister(m.conns, sockets, in, out, m.messagesIn, m.ack, m.slow, m.refused)
	}
	return m
}

// frameIn counts a client frame by its type.
func (m *metrics) frameIn(typ string) {
	if c, ok := m.framesIn[typ]; ok {
		c.Inc()
		return
	}
	m.framesIn["other"].Inc()
}

// socketOpened and socketClosed keep kefu_ws_sockets.
func (m *metrics) socketOpened(kind string) {
	if g := m.sockets[kind]; g != nil {
		g.Inc()
	}
}

func (m *metrics) socketClosed(kind string) {
	if g := m.sockets[kind]; g != nil {
		g.Dec()
	}
}
