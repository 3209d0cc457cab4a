package ws

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"kefu"
	"kefu/chat"
	"kefu/clientip"
	"kefu/tenants"
)

// Config configures the WebSocket server.
type Config struct {
	ReadLimit    int64         // largest client frame; over it the socket closes with 1009
	WriteTimeout time.Duration // per frame
	PingInterval time.Duration // keepalive; a peer that misses a pong is gone
	HelloTimeout time.Duration // the first frame must come within this
	QueueSize    int           // frames a visitor's socket may have waiting before it is dropped
	// UserQueueSize is the same for agents' and admins' sockets: they follow
	// many conversations at once, and there are few of them.
	UserQueueSize int
	PublicURL     string     // the server's own origin, always allowed
	SendRate      rate.Limit // message.send per second per socket
	SendBurst     int
	// FrameRate and FrameBurst budget every other client frame (read,
	// typing, subscribe, presence, ping, and bad ones): over it a frame is
	// refused with rate_limited; a client that keeps on regardless (as many
	// refused frames again as the burst) is closed with 1008.
	FrameRate  rate.Limit
	FrameBurst int
	// MaxPerPrincipal caps the open sockets of one visitor or user, and
	// MaxPerIP those of one client address (IPv6: its /64), sockets still
	// waiting for hello included. Both are counted on this node only.
	MaxPerPrincipal int
	MaxPerIP        int
	// ClientIP finds a request's client address; the API's rate limits use
	// the same one (clientip.Resolver). Default: the peer's address.
	ClientIP func(*http.Request) string
	// Tracer, when set, traces each message.send (the root of its
	// message's trace) and each traced event's delivery to sockets.
	Tracer trace.TracerProvider
	// RevalidateInterval is how often a user's socket re-checks its
	// session and role (default 60 s; negative: never). Revocations reach
	// sockets at once over the bus; this bounds how long one can survive a
	// lost bus message.
	RevalidateInterval time.Duration
}

func (c *Config) defaults() {
	if c.ReadLimit == 0 {
		c.ReadLimit = 64 << 10
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.PingInterval == 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.HelloTimeout == 0 {
		c.HelloTimeout = 5 * time.Second
	}
	if c.FrameRate == 0 {
		c.FrameRate = 20
	}
	if c.FrameBurst == 0 {
		c.FrameBurst = 200
	}
	if c.MaxPerPrincipal == 0 {
		c.MaxPerPrincipal = 20
	}
	if c.MaxPerIP == 0 {
		c.MaxPerIP = 200
	}
	if c.ClientIP == nil {
		c.ClientIP = clientip.Resolver(false)
	}
	if c.QueueSize == 0 {
		c.QueueSize = 64
	}
	if c.UserQueueSize == 0 {
		c.UserQueueSize = max(1024, c.QueueSize)
	}
	if c.SendRate == 0 {
		c.SendRate = 20
	}
	if c.SendBurst == 0 {
		c.SendBurst = 40
	}
	if c.RevalidateInterval == 0 {
		c.RevalidateInterval = 60 * time.Second
	}
}

// Server serves /ws.
type Server struct {
	cfg     Config
	chat    *chat.Service
	tenants *tenants.Service
	hub     *Hub
	log     *slog.Logger
	metrics *metrics
	tracer  trace.Tracer // nil: no tracing
	unsub   func()

	slowDrops atomic.Int64

	mu       sync.Mutex
	draining bool
	wg       sync.WaitGroup
	conns    map[*conn]struct{}

	// Open sockets per client address and per principal (admission).
	capMu        sync.Mutex
	perIP        map[string]int
	perPrincipal map[string]int
}

// NewServer returns the WebSocket server and subscribes it to the bus.
func NewServer(cfg Config, c *chat.Service, log *slog.Logger, reg prometheus.Registerer) *Server {
	cfg.defaults()
	s := &Server{cfg: cfg, chat: c, tenants: c.Tenants(), hub: NewHub(), log: log, conns: map[*conn]struct{}{},
		perIP: map[string]int{}, perPrincipal: map[string]int{}}
	s.metrics = newMetrics(s, reg)
	if cfg.Tracer != nil {
		s.tracer = cfg.Tracer.Tracer("kefu/ws")
	}
	s.unsub = c.Bus().Subscribe(s.dispatch)
	return s
}

// dispatch delivers a bus event to this node's sockets. An event that
// carries a trace (a traced message's publication) gets a delivery span in
// it: the last hop of the message's path.
func (s *Server) dispatch(e chat.Event) {
	if s.tracer == nil || e.TraceParent == "" {
		s.hub.dispatch(e)
		return
	}
	_, span := s.tracer.Start(e.TraceContext(context.Background()), "ws.deliver", trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("kefu.event", e.Kind), attribute.String("kefu.conversation_id", e.ConversationID)))
	n := s.hub.dispatch(e)
	span.SetAttributes(attribute.Int("kefu.sockets", n))
	span.End()
}

// SlowDrops is how many sockets were closed for not keeping up.
func (s *Server) SlowDrops() int64 { return s.slowDrops.Load() }

// Count is the number of open sockets.
func (s *Server) Count() int { return s.hub.Count() }

func newSessionID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ServeHTTP upgrades and runs one connection.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		http.Error(w, `{"error":{"code":"unavailable","message":"server is shutting down"}}`, http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	handedOff := false
	defer func() {
		if !handedOff {
			s.wg.Done()
		}
	}()

	// A client address may hold only so many sockets, those still waiting
	// for hello included: refused before the upgrade.
	ipKey := clientip.Key(s.cfg.ClientIP(r))
	if !s.admit(s.perIP, ipKey, s.cfg.MaxPerIP) {
		s.metrics.refused.WithLabelValues("ip_cap").Inc()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "10")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":{"code":"rate_limited","message":"too many open sockets from your address"}}`))
		return
	}
	defer func() {
		if !handedOff {
			s.leave(s.perIP, ipKey)
		}
	}()

	origin := r.Header.Get("Origin")
	lang := kefu.Language(r.Header.Get("Accept-Language")) // of the error frames' messages
	cw := &corkWriter{ResponseWriter: w, timeout: s.cfg.WriteTimeout}
	ws, err := websocket.Accept(cw, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // Origin is checked against the tenant's list after hello
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return
	}
	ws.SetReadLimit(s.cfg.ReadLimit)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() {
		if !handedOff {
			cancel()
		}
	}()

	var (
		p     tenants.Principal
		hello inFrame
	)
	shallow(func() { p, hello, err = s.hello(ctx, ws, cw.conn) })
	if err != nil {
		code, msg := kefu.EAuth, "the first frame must be hello with a valid token"
		if e, ok := kefu.AsError(err); ok {
			code, msg = e.Code, e.Message
		}
		if websocket.CloseStatus(err) == -1 {
			s.refuse(ws, cw.conn, lang, code, msg)
		}
		return
	}
	if !s.originAllowed(ctx, r, origin, p.TenantID) {
		s.refuse(ws, cw.conn, lang, kefu.EDenied, "origin not allowed for this workspace")
		return
	}
	// One visitor or user may hold only so many sockets (tabs).
	if !s.admit(s.perPrincipal, principalKey(p), s.cfg.MaxPerPrincipal) {
		s.metrics.refused.WithLabelValues("principal_cap").Inc()
		s.refuse(ws, cw.conn, lang, kefu.ERateLimit, "too many open sockets for this session; close other tabs")
		return
	}
	queueSize := s.cfg.QueueSize
	if p.Kind != tenants.KindVisitor {
		queueSize = s.cfg.UserQueueSize
	}
	c := &conn{
		srv: s, ws: ws, net: cw.conn, p: p, sessionID: newSessionID(), ipKey: ipKey, lang: lang,
		queue:   make(chan *item, queueSize),
		limiter: rate.NewLimiter(s.cfg.SendRate, s.cfg.SendBurst),
		frames:  rate.NewLimiter(s.cfg.FrameRate, s.cfg.FrameBurst),
		cursors: map[string]int64{}, subscribed: map[string]struct{}{},
		done: make(chan struct{}), finished: make(chan struct{}), ctx: ctx,
	}
	// The socket lives on in its own goroutine and the handler returns: the
	// HTTP server then lets go of the request, its buffers and the
	// handler's deep stack, which an idle socket would otherwise keep for
	// its whole life (about half of its memory).
	handedOff = true
	go s.serve(ctx, cancel, c, hello)
}

// serve starts a socket's session and reads from it until it ends.
func (s *Server) serve(ctx context.Context, cancel context.CancelFunc, c *conn, hello inFrame) {
	defer s.wg.Done()
	defer cancel()
	defer s.leave(s.perIP, c.ipKey)
	defer s.leave(s.perPrincipal, principalKey(c.p))
	c.startPings(s.cfg.PingInterval) // before anything else can see c
	c.startRevalidation(s.cfg.RevalidateInterval)
	// This node hears the tenant's events from before the catch-up is read
	// (start) until the socket is gone.
	release, err := s.chat.Bus().Acquire(ctx, c.p.TenantID)
	if err == nil {
		defer release()
		shallow(func() { err = s.start(ctx, c, hello) })
	} else {
		err = kefu.Errorf(kefu.EUnavailable, "the event bus is unavailable")
	}
	if err != nil {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		if kefu.Code(err) == kefu.EUnavailable {
			c.close(websocket.StatusGoingAway, "server shutting down")
		} else {
			c.logger().Error("ws start", "err", err)
			c.close(websocket.StatusInternalError, "could not start session")
		}
		<-c.finished
		return
	}
	s.run(ctx, cancel, c)
}

// hello reads and verifies the first frame, which must come within the
// hello timeout. The wait is a deadline on the connection rather than a
// context: the WebSocket library drops the connection when a read's context
// ends, and the client would get no error frame and no close code (1006).
func (s *Server) hello(ctx context.Context, ws *websocket.Conn, nc net.Conn) (tenants.Principal, inFrame, error) {
	_ = nc.SetReadDeadline(time.Now().Add(s.cfg.HelloTimeout))
	typ, data, err := ws.Read(ctx)
	_ = nc.SetReadDeadline(time.Time{})
	if errors.Is(err, os.ErrDeadlineExceeded) {
		s.metrics.refused.WithLabelValues("hello_timeout").Inc()
		return tenants.Principal{}, inFrame{}, kefu.Errorf(kefu.EAuth, "no hello within %v", s.cfg.HelloTimeout)
	}
	if err != nil {
		return tenants.Principal{}, inFrame{}, err
	}
	hctx, cancel := context.WithTimeout(ctx, s.cfg.HelloTimeout)
	defer cancel()
	f, err := parseFrame(data)
	s.metrics.frameIn("hello")
	if typ != websocket.MessageText || err != nil || f.Type != "hello" {
		return tenants.Principal{}, f, kefu.Errorf(kefu.EAuth, "the first frame must be hello")
	}
	p, err := s.tenants.Authenticate(hctx, f.Token)
	if err != nil {
		return p, f, err
	}
	return p, f, nil
}

// originAllowed: no Origin (not a browser), the server's own origin, or —
// when the tenant lists origins — one of those; an empty list allows any
// site to embed the widget.
func (s *Server) originAllowed(ctx context.Context, r *http.Request, origin, tenantID string) bool {
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	if s.cfg.PublicURL != "" && strings.EqualFold(strings.TrimRight(s.cfg.PublicURL, "/"), origin) {
		return true
	}
	t, err := s.tenants.Tenant(ctx, tenantID)
	if err != nil {
		return false
	}
	if len(t.AllowedOrigins) == 0 {
		return true
	}
	for _, o := range t.AllowedOrigins {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// start sends welcome, registers the socket, and queues the catch-up of
// every conversation the client follows. Registering before the catch-up is
// read means nothing committed in between is missed; the writer's cursors
// drop what arrives twice.
func (s *Server) start(ctx context.Context, c *conn, hello inFrame) error {
	var (
		convs []chat.Conversation
		err   error
	)
	switch {
	case c.isVisitor():
		convs, err = s.chat.VisitorConversations(ctx, c.p)
	case tenants.IsStaff(c.p.Role) || c.p.Kind == tenants.KindAPIKey:
		convs, _, err = s.chat.Conversations(ctx, c.p, chat.ListFilter{OpenOnly: true, Limit: 200})
	default:
		convs, _, err = s.chat.Conversations(ctx, c.p, chat.ListFilter{OpenOnly: true, Assignee: "me", Limit: 200})
	}
	if err != nil {
		return err
	}
	if c.scope, err = s.chat.ScopeOf(ctx, c.p); err != nil {
		return err
	}
	// Known to Drain before the client can see the welcome: a socket that
	// is welcomed while the server drains is still closed with 1001.
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		return kefu.Errorf(kefu.EUnavailable, "server is shutting down")
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	welcome := welcomeFrame{Type: "welcome", SessionID: c.sessionID, Principal: principalOut{Type: "user", ID: c.p.ID, Role: c.p.Role}, Conversations: convs}
	if convs == nil {
		welcome.Conversations = []chat.Conversation{}
	}
	if c.p.Kind == tenants.KindAPIKey {
		welcome.Principal = principalOut{Type: "api_key", ID: c.p.ID, Role: c.p.Role}
	}
	if c.isVisitor() {
		welcome.Principal = principalOut{Type: "visitor", ID: c.p.ID}
		views := make([]chat.VisitorConversation, len(convs))
		for i, cv := range convs {
			views[i] = cv.ForVisitor()
		}
		welcome.Conversations = views
	}
	c.enqueue(frameItem(frameWelcome, encode(welcome)))

	// What the socket follows, and from where. The cursors are set before
	// the socket is registered: a live message that reaches it before its
	// catch-up then fills the gap from since, not from the first message
	// (which would send the client again what it said it has).
	since := hello.sinceMap()
	follow := map[string]bool{}
	for _, cv := range convs {
		if c.isVisitor() || cv.AssigneeID == c.p.ID {
			follow[cv.ID] = true
		}
	}
	var extra []string // followed by since alone: subscribed once registered
	for id := range since {
		if follow[id] || len(follow) > 500 {
			continue
		}
		if _, err := s.chat.Conversation(ctx, c.p, id); err != nil {
			continue // not theirs: ignored, like an unknown id
		}
		follow[id] = true
		extra = append(extra, id)
	}
	cursors := make(map[string]int64, len(follow))
	for id := range follow {
		if since[id] > 0 {
			cursors[id] = since[id]
		}
	}
	c.enqueue(cursorsItem(cursors))

	if c.p.Kind == tenants.KindUser {
		s.chat.UserConnected(c.p)
	}
	s.hub.register(c)
	s.metrics.socketOpened(c.p.Kind)
	if c.p.Kind == tenants.KindUser && !c.revalidate() {
		// Revoked between hello and now: the revoke event came before the
		// socket was registered to hear it.
		return nil
	}
	if !c.isVisitor() {
		for _, id := range extra {
			s.hub.subscribe(c, id, true)
		}
	}
	for id := range follow {
		c.enqueue(catchUpItem(id, max(since[id], 0)))
	}
	return nil
}

// run pumps the socket until it ends, then cleans up.
func (s *Server) run(ctx context.Context, cancel context.CancelFunc, c *conn) {
	err := c.reader(ctx)
	switch {
	case websocket.CloseStatus(err) == websocket.StatusMessageTooBig:
		c.close(websocket.StatusMessageTooBig, "frame too large")
	default:
		c.close(0, "") // the peer left (or a writer closed the socket first)
	}
	<-c.finished
	cancel()
	s.hub.unregister(c)
	s.metrics.socketClosed(c.p.Kind)
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	if c.p.Kind == tenants.KindUser {
		s.chat.UserDisconnected(c.p)
	}
}

// Drain stops accepting sockets and closes the open ones with 1001 so their
// clients reconnect (to another node); it returns when they are gone or ctx
// ends.
func (s *Server) Drain(ctx context.Context) {
	s.mu.Lock()
	s.draining = true
	for c := range s.conns {
		c.close(websocket.StatusGoingAway, "server shutting down")
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	s.unsub()
}

// shallow runs fn on a short-lived goroutine and waits for it. Database
// work needs a deep stack; done here, it leaves the socket's long-lived
// goroutines with small stacks, which is most of an idle socket's memory.
func shallow(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}

// refuse tells a client why with an error frame, then closes with 1008. A
// client that does not answer the close is let go after a second, so a
// refused socket holds nothing for long.
func (s *Server) refuse(ws *websocket.Conn, nc net.Conn, lang, code, msg string) {
	wctx, cancel := context.WithTimeout(context.Background(), time.Second)
	s.metrics.framesOut[frameError].Inc()
	_ = ws.Write(wctx, websocket.MessageText, encode(errorFrame{Type: "error", Code: code, Message: kefu.Localize(lang, msg)}))
	cancel()
	if nc != nil {
		_ = nc.SetReadDeadline(time.Now().Add(time.Second))
	}
	ws.Close(websocket.StatusPolicyViolation, msg)
}

// admit counts one more socket under key unless it already has max.
func (s *Server) admit(m map[string]int, key string, max int) bool {
	s.capMu.Lock()
	defer s.capMu.Unlock()
	if m[key] >= max {
		return false
	}
	m[key]++
	return true
}

// leave counts one socket under key less.
func (s *Server) leave(m map[string]int, key string) {
	s.capMu.Lock()
	defer s.capMu.Unlock()
	if m[key] <= 1 {
		delete(m, key)
		return
	}
	m[key]--
}

func principalKey(p tenants.Principal) string { return p.TenantID + "/" + p.Kind + "/" + p.ID }
