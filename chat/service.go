package chat

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"golang.org/x/sync/singleflight"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"gorm.io/gorm"

	"kefu"
	"kefu/routing"
	"kefu/tenants"
)

// DefaultOfflineGrace is how long an agent may be gone (a closed laptop, a
// lost network) before their waiting conversations go back to the queue.
const DefaultOfflineGrace = 5 * time.Minute

// MaxBodyBytes is the largest message body accepted (413 too_large above).
const MaxBodyBytes = 16 * 1024

// tenantCaches is how many tenants' state of one kind (breaker, average
// wait, upload usage) a node keeps: the tenants active lately. State of a
// tenant that falls out starts afresh.
const tenantCaches = 10000

// Service is the chat service.
type Service struct {
	// Availability (availability.go, replymail.go): the tenant's hours and
	// queue estimate, cached briefly; agents' replies e-mailed to visitors.
	hoursCache *expirable.LRU[string, BusinessHours]
	queueEst   *expirable.LRU[string, QueueEstimate]
	mail       ReplyMailer
	mailDelay  time.Duration
	mailEvery  time.Duration
	publicURL  string

	tenants   *tenants.Service
	bus       Bus
	presence  PresenceStore
	rr        *routing.RoundRobin
	log       *slog.Logger
	now       func() time.Time
	metrics   *metrics
	tracer    trace.Tracer
	hooks     *outbound
	committer *committer
	subs      *hookSubs
	// hookWritten is told of each commit that wrote webhook outbox rows.
	hookWritten func(tenantID string)

	flowCache      *lru.Cache[string, *activeFlow]
	openConvs      *lru.Cache[string, string]   // tenant/visitor → their open conversation
	returning      *lru.Cache[string, struct{}] // tenant/visitor: had a conversation (their next opening is not a new visitor's)
	gone           *lru.Cache[string, bool]     // tenant/agent: offline past the grace period
	scopes         *expirable.LRU[string, Scope]
	breakers       *lru.Cache[string, *gobreaker.CircuitBreaker[routing.Agent]] // tenant id → breaker
	openings       *openBatcher                                                 // new visitors' first conversations, in batches
	assigns        *assignBatcher                                               // automatic assignments, in batches
	events         *eventLog                                                    // routing decisions, written in batches
	agentsFlight   singleflight.Group                                           // tenant id → agentStates under way
	breakerTimeout time.Duration
	queuePos       *lru.Cache[string, int]
	grace          time.Duration
	recovery       RecoveryConfig
	activity       *lru.Cache[string, time.Time] // tenant → when this node last wrote its activity (activity.go)

	simulations   *kefu.Gates // per tenant: simulate and replay calls under way
	simulateWait  time.Duration
	replayTimeout time.Duration
	searchIdx     *searchIndexer
	engine        SearchEngine
	// retentionEvery: how often partitions are made ahead and retention applied
	retentionEvery time.Duration

	waitMu   sync.Mutex
	queueLen map[string]int // tenant → queued conversations, as last computed here (kefu_routing_queue_length)

	timerMu    sync.Mutex
	timers     map[string]*time.Timer
	queueDirty map[string]bool
	closed     bool
	closeOnce  sync.Once
	bg         sync.WaitGroup

	stopPresence  context.CancelFunc
	unsub         func()
	unsubAccounts func()

	uploadLimits UploadLimits
	usage        *lru.Cache[string, *usage]   // tenant id → its uploads of the hour, as this node knows them
	monthly      *lru.Cache[string, *monthly] // tenant id → its conversations of the month, as this node knows them
	linkTTL      time.Duration
	sweepEvery   time.Duration
	stopSweep    context.CancelFunc
	sweepDone    chan struct{}

	// observer is told what happened (observer.go); the flow runtime.
	observer Observer

	bots     Bots
	calls    *botCalls
	instance string // this node, as the owner of the model calls it runs
}

// Config configures the Service.
type Config struct {
	Tenants  *tenants.Service
	Bus      Bus
	Logger   *slog.Logger
	Now      func() time.Time
	Registry prometheus.Registerer
	// OfflineGrace is how long an agent whose last socket closed may take to
	// come back before their conversations that wait for an answer are
	// requeued (default DefaultOfflineGrace).
	OfflineGrace time.Duration
	// Recovery tunes the durable timers and the recovery sweep (recover.go).
	Recovery RecoveryConfig
	// BreakerTimeout is how long the assignment breaker stays open (default 30 s).
	BreakerTimeout time.Duration
	// AllowPrivateNetworks lets webhook nodes reach private addresses.
	AllowPrivateNetworks bool
	// Presence is where presence lives (default: this node's memory).
	Presence PresenceStore
	// CommitShards is how many message transactions commit at once on
	// PostgreSQL (default DefaultCommitShards).
	CommitShards int
	// ScopeTTL is how long what an agent may see is cached (default
	// DefaultScopeTTL).
	ScopeTTL time.Duration
	// WriteTimeout bounds one group commit (default DefaultWriteTimeout):
	// past it its senders get unavailable, never an ack.
	WriteTimeout time.Duration
	// Simulations is how many simulate and replay calls of one tenant run at
	// once on this node (default DefaultSimulations); more wait up to
	// SimulateWait (default DefaultSimulateWait), then get rate_limited.
	Simulations  int
	SimulateWait time.Duration
	// ReplayTimeout bounds one replay call (default DefaultReplayTimeout);
	// past it the report covers the conversations replayed so far.
	ReplayTimeout time.Duration
	// Tracer makes the spans of the message path and outbound calls
	// (default: none).
	Tracer trace.TracerProvider
	// RetentionEvery is how often the coming months' partitions are made and
	// every tenant's retention applied (default DefaultRetentionEvery).
	RetentionEvery time.Duration
	// SearchEngine answers /search (default: the built-in one over the
	// tenant's store).
	SearchEngine SearchEngine
	// Uploads bounds uploads per visitor and per tenant and hour.
	Uploads UploadLimits
	// FileLinkTTL is how long a file link works (default
	// DefaultFileLinkTTL); links are signed afresh whenever a message is
	// served.
	FileLinkTTL time.Duration
	// SweepEvery is how often unattached uploads are swept (default
	// DefaultSweepEvery).
	SweepEvery time.Duration
	// Bots answers FAQ and llm nodes (nil: no FAQ answers, llm nodes hand off).
	Bots Bots
	// Mailer e-mails agents' replies to visitors who did not read them
	// within ReplyMailDelay (default DefaultReplyMailDelay), at most one
	// e-mail per conversation every ReplyMailEvery (default
	// DefaultReplyMailEvery). Nil or not configured: replies wait in the
	// widget.
	Mailer         ReplyMailer
	ReplyMailDelay time.Duration
	ReplyMailEvery time.Duration
	// PublicURL is where people reach this server (the e-mails' link back
	// when the visitor's page is not one of the tenant's origins).
	PublicURL string
	// Observer is told what happened to conversations and agents (see
	// Observer). Nil: nobody (no flow runs) until SetObserver — the flow
	// runtime registers itself there (flowrun.New).
	Observer Observer
}

// NewService returns the chat service.
func NewService(c Config) *Service {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.OfflineGrace == 0 {
		c.OfflineGrace = DefaultOfflineGrace
	}
	if c.BreakerTimeout == 0 {
		c.BreakerTimeout = 30 * time.Second
	}
	if c.Presence == nil {
		c.Presence = NewLocalPresence()
	}
	if c.ScopeTTL <= 0 {
		c.ScopeTTL = DefaultScopeTTL
	}
	c.Simulations = cmp.Or(c.Simulations, DefaultSimulations)
	c.SimulateWait = cmp.Or(c.SimulateWait, DefaultSimulateWait)
	c.ReplayTimeout = cmp.Or(c.ReplayTimeout, DefaultReplayTimeout)
	if c.Tracer == nil {
		c.Tracer = noop.NewTracerProvider()
	}
	fc, _ := lru.New[string, *activeFlow](10000)
	qp, _ := lru.New[string, int](100000)
	oc, _ := lru.New[string, string](200000)
	rv, _ := lru.New[string, struct{}](200000)
	gone, _ := lru.New[string, bool](100000)
	if c.FileLinkTTL <= 0 {
		c.FileLinkTTL = DefaultFileLinkTTL
	}
	if c.SweepEvery <= 0 {
		c.SweepEvery = DefaultSweepEvery
	}
	uu, _ := lru.New[string, *usage](tenantCaches)
	breakers, _ := lru.New[string, *gobreaker.CircuitBreaker[routing.Agent]](tenantCaches)
	mc, _ := lru.New[string, *monthly](10000)
	act, _ := lru.New[string, time.Time](tenantCaches)
	s := &Service{
		tenants: c.Tenants, bus: c.Bus, presence: c.Presence, rr: routing.NewRoundRobin(),
		log: c.Logger, now: c.Now, metrics: newMetrics(c.Registry), tracer: c.Tracer.Tracer("kefu/chat"), hooks: newOutbound(c.AllowPrivateNetworks),
		flowCache: fc, queuePos: qp, openConvs: oc, returning: rv, gone: gone, scopes: newScopeCache(c.ScopeTTL), grace: c.OfflineGrace, breakerTimeout: c.BreakerTimeout,
		breakers: breakers, queueLen: map[string]int{}, timers: map[string]*time.Timer{}, queueDirty: map[string]bool{},
		simulations: kefu.NewGates(c.Simulations), simulateWait: c.SimulateWait, replayTimeout: c.ReplayTimeout, searchIdx: newSearchIndexer(),
		uploadLimits: c.Uploads.withDefaults(), usage: uu, monthly: mc, linkTTL: c.FileLinkTTL, sweepEvery: c.SweepEvery,
		bots: c.Bots, calls: newBotCalls(), instance: tenants.NewID(), recovery: c.Recovery.withDefaults(), activity: act,
	}
	s.engine = c.SearchEngine
	s.observer = c.Observer
	s.hoursCache = expirable.NewLRU[string, BusinessHours](tenantCaches, nil, hoursTTL)
	s.queueEst = expirable.NewLRU[string, QueueEstimate](tenantCaches, nil, hoursTTL)
	s.mail, s.publicURL = c.Mailer, c.PublicURL
	s.mailDelay = cmp.Or(c.ReplyMailDelay, DefaultReplyMailDelay)
	s.mailEvery = cmp.Or(c.ReplyMailEvery, DefaultReplyMailEvery)
	s.retentionEvery = cmp.Or(c.RetentionEvery, DefaultRetentionEvery)
	if s.engine == nil {
		s.engine = builtinSearch{s}
	}
	s.committer = newCommitter(s, c.CommitShards, c.WriteTimeout)
	s.openings = newOpenBatcher(s, s.committer.timeout)
	s.assigns = newAssignBatcher(s, s.committer.timeout)
	s.events = newEventLog(s.committer.timeout)
	s.hooks.observe = func(result string, d time.Duration) { s.metrics.observeOutbound(targetFlowWebhook, result, d) }
	s.subs = newHookSubs()
	// A flow published on any node drops this node's compiled copy; a
	// change to a tenant's webhooks, its cached subscriptions.
	s.unsub = c.Bus.Subscribe(func(e Event) {
		if e.At != 0 {
			s.metrics.busLag.Observe(max(0, time.Since(time.UnixMicro(e.At)).Seconds()))
		}
		switch {
		case e.Kind == EventFlow:
			s.flowCache.Remove(e.TenantID)
		case e.Kind == EventAgentGone:
			s.gone.Add(e.TenantID+"/"+e.UserID, true)
		case e.Kind == EventPresence && e.Status == PresenceOnline, e.Kind == EventAgentBack:
			s.gone.Remove(e.TenantID + "/" + e.UserID)
		case e.Kind == EventHooks:
			s.subs.drop(e.TenantID)
		case e.Kind == EventPolicies:
			s.tenants.DropPolicies(e.TenantID)
		case e.Kind == EventResync:
			s.subs.drop("")
			s.tenants.DropPolicies("")
		case e.Kind == EventKnowledge:
			if s.bots != nil {
				s.bots.Invalidate(e.TenantID)
			}
		case e.Kind == EventBotCancel:
			s.cancelLocal(e.TenantID, e.ConversationID)
		}
	})
	if c.Registry != nil {
		c.Registry.MustRegister(newStateCollector(s))
	}
	// Credentials revoked or rights changed: tell every node's sockets.
	s.unsubAccounts = c.Tenants.OnAccountEvent(s.accountEvent)
	return s
}

// Start tells the Observer Started (the flow runtime re-arms the queue
// deadlines an earlier run left, in the background), and until Close runs
// the durable jobs, the recovery sweep (its first pass over every tenant in
// the background: nothing that visits every tenant holds up a start),
// presence, the search indexer, retention and the upload sweep.
func (s *Service) Start(ctx context.Context) error {
	s.observe(ctx, Happening{What: Started})
	pctx, cancel := context.WithCancel(context.Background())
	s.stopPresence = cancel
	go s.runSearchIndex(pctx, DefaultSearchIndexEvery)
	go s.runRetention(pctx, s.retentionEvery)
	go s.renewLeases(pctx)
	go s.runJobs(pctx, s.recovery.JobsPoll)
	go s.recoverLoop(pctx, s.recovery)
	go s.presence.Run(pctx, func(tenant, user string) {
		s.background(func() {
			ctx := context.Background()
			s.publish(ctx, Event{Kind: EventPresence, TenantID: tenant, UserID: user, Status: PresenceOffline})
			s.requeueAgent(ctx, tenant, user, requeueOffline)
		})
	})
	sctx, stop := context.WithCancel(context.Background())
	s.stopSweep, s.sweepDone = stop, make(chan struct{})
	go s.sweepLoop(sctx, s.sweepDone)
	return nil
}

// Close hands this node's pending model calls to people, stops the timers
// and waits for background flow runs to finish. Closing again waits for
// nothing more.
func (s *Service) Close(ctx context.Context) {
	s.closeOnce.Do(func() {
		s.closeBotCalls(ctx)
		s.close(ctx)
	})
}

func (s *Service) close(ctx context.Context) {
	s.observe(ctx, Happening{What: Closing})
	s.timerMu.Lock()
	s.closed = true
	for k, t := range s.timers {
		t.Stop()
		delete(s.timers, k)
	}
	s.timerMu.Unlock()
	if s.stopPresence != nil {
		s.stopPresence()
	}
	if s.stopSweep != nil {
		s.stopSweep()
		<-s.sweepDone
	}
	s.unsub()
	s.unsubAccounts()
	done := make(chan struct{})
	go func() { s.bg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	s.committer.close(ctx)
}

// background runs fn off the request path, counted for Close.
func (s *Service) background(fn func()) {
	s.timerMu.Lock()
	closed := s.closed
	if !closed {
		s.bg.Add(1)
	}
	s.timerMu.Unlock()
	if closed {
		return
	}
	go func() {
		defer s.bg.Done()
		fn()
	}()
}

// Background runs fn off the caller's path, counted for Close (which waits
// for it); once Close has begun, fn does not run.
func (s *Service) Background(fn func()) { s.background(fn) }

// Bus returns the event bus.
func (s *Service) Bus() Bus { return s.bus }

// Tenants returns the tenants service.
func (s *Service) Tenants() *tenants.Service { return s.tenants }

func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func (s *Service) db(tenantID string) (*tenants.DB, error) { return s.tenants.DB(tenantID) }

// publish puts e on the bus, stamped with the time (for the bus lag) and,
// when ctx is traced, with its span context (the delivery continues the
// trace).
func (s *Service) publish(ctx context.Context, e Event) {
	if trace.SpanContextFromContext(ctx).IsSampled() {
		var span trace.Span
		ctx, span = s.child(ctx, "bus.publish", trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(attribute.String("kefu.event", e.Kind), attribute.String("kefu.tenant_id", e.TenantID)))
		defer span.End()
		e.TraceParent = injectTrace(ctx)
	}
	e.At = time.Now().UnixMicro()
	s.metrics.eventPublished(e.Kind)
	if err := s.bus.Publish(context.WithoutCancel(ctx), e); err != nil {
		// The message is stored; clients catch up by seq.
		s.metrics.publishFailed.Inc()
		s.log.WarnContext(ctx, "bus publish failed", "tenant_id", e.TenantID, "kind", e.Kind, "err", err)
	}
}

// SendInput is a message to store.
type SendInput struct {
	ConversationID string // a visitor may leave it empty
	ClientID       string
	Body           string
	Private        bool
	Attachments    []string // upload ids
}

func checkSend(in *SendInput, p tenants.Principal) error {
	if len(in.Body) > MaxBodyBytes {
		return kefu.Errorf(kefu.ETooLarge, "message body is over %d bytes", MaxBodyBytes)
	}
	fields := map[string]string{}
	if strings.TrimSpace(in.Body) == "" && len(in.Attachments) == 0 {
		fields["body"] = "is required (or attach a file)"
	} else {
		// NUL above all: PostgreSQL cannot store it, and one such message
		// used to fail its whole group-commit batch.
		kefu.CheckText(fields, "body", in.Body)
	}
	if len(in.ClientID) > 100 {
		fields["client_id"] = "must be at most 100 characters"
	} else {
		kefu.CheckText(fields, "client_id", in.ClientID)
	}
	kefu.CheckText(fields, "conversation_id", in.ConversationID)
	for i, id := range in.Attachments {
		kefu.CheckText(fields, fmt.Sprintf("attachments[%d]", i), id)
	}
	if p.Kind != tenants.KindVisitor && in.ConversationID == "" {
		fields["conversation_id"] = "is required"
	}
	if p.Kind == tenants.KindVisitor && in.Private {
		fields["private"] = "visitors cannot write private notes"
	}
	if len(fields) > 0 {
		return kefu.Invalid(fields)
	}
	return nil
}

func authorOf(p tenants.Principal) Author {
	switch p.Kind {
	case tenants.KindVisitor:
		return Author{Type: AuthorVisitor, ID: p.ID}
	case tenants.KindAPIKey:
		return Author{Type: AuthorBot, ID: p.ID, Name: p.Name}
	default:
		return Author{Type: AuthorAgent, ID: p.ID, Name: p.Name}
	}
}

// Send stores a message and returns it; dup is true when client_id was seen
// before, in which case the original message comes back and nothing is
// stored. A visitor without a conversation id continues their open
// conversation or opens a new one, which is then routed. It returns after
// the commit. Errors: invalid_argument, too_large, not_found.
//
// The common case costs no query before the group commit: a visitor's open
// conversation comes from a per-node cache (a stale entry is harmless: the
// commit itself checks that the conversation is the visitor's and open, and
// falls back to the slow path), and a resent client_id is caught by the
// unique index inside the batch.
func (s *Service) Send(ctx context.Context, p tenants.Principal, in SendInput) (msg Message, dup bool, err error) {
	if err := checkSend(&in, p); err != nil {
		return Message{}, false, err
	}
	ctx, span := s.child(ctx, "chat.Send")
	defer func() {
		if span.IsRecording() {
			span.SetAttributes(attribute.String("kefu.tenant_id", p.TenantID), attribute.String("kefu.conversation_id", msg.ConversationID),
				attribute.Int64("kefu.seq", msg.Seq), attribute.Bool("kefu.duplicate", dup), attribute.String("kefu.author", p.Kind))
			if err != nil {
				span.SetStatus(codes.Error, kefu.Code(err))
			}
		}
		span.End()
	}()
	// Every read and write of a send has the write deadline: a hung
	// database answers the sender with an error, never with silence.
	ctx, cancel := context.WithTimeout(ctx, s.committer.timeout)
	defer cancel()
	db, err := s.db(p.TenantID)
	if err != nil {
		return Message{}, false, err
	}
	author := authorOf(p)
	visitor := p.Kind == tenants.KindVisitor
	atts, err := s.attachmentsFor(ctx, p, in.Attachments)
	if err != nil {
		return Message{}, false, err
	}
	attJSON := attachmentsJSON(atts)
	uploads := make([]string, len(atts))
	for i, a := range atts {
		uploads[i] = a.ID
	}
	if err := s.checkWriter(ctx, db, p, &in); err != nil {
		return Message{}, false, err
	}
	if in.ConversationID == "" {
		return s.sendOpening(ctx, db, p, author, in, attJSON, uploads)
	}
	row := messageRow{ID: tenants.NewID(), ConversationID: in.ConversationID, AuthorType: author.Type, AuthorID: author.ID, AuthorName: author.Name, Body: in.Body, Private: in.Private, Attachments: attJSON, CreatedAt: s.stamp()}
	if in.ClientID != "" {
		row.ClientID = &in.ClientID
	}
	req := &commitReq{db: db, tenantID: p.TenantID, row: row, uploads: uploads, hook: s.hookFor(ctx, db, p.TenantID, row)}
	if visitor {
		req.visitorID = p.ID
	}
	res := s.committer.commit(ctx, req)
	switch {
	case errors.Is(res.err, errClosed):
		s.openConvs.Remove(p.TenantID + "/" + p.ID)
		if _, err := s.access(ctx, p, in.ConversationID); err != nil {
			return Message{}, false, err // not theirs: not_found
		}
		return s.sendOpening(ctx, db, p, author, in, attJSON, uploads) // resolved: a new conversation
	case res.err != nil && tenants.IsUniqueViolation(res.err) && in.ClientID != "":
		// Another node stored the same client_id first.
		if m, ok, err := s.findByClientID(ctx, db, p, in.ConversationID, author.ID, in.ClientID); err == nil && ok {
			return m, true, nil
		}
		return Message{}, false, res.err
	case res.err != nil:
		return Message{}, false, res.err
	case res.dup:
		return s.messageOf(p.TenantID, res.row), true, nil
	}
	s.metrics.stored.WithLabelValues(author.Type).Inc()
	msg = s.messageOf(p.TenantID, res.row)
	conv := res.conv
	if key := p.TenantID + "/" + p.ID; visitor {
		// checkWriter's lookup already made a cached entry recent: the
		// caches change only when this node did not know the conversation.
		if open, ok := s.openConvs.Peek(key); !ok || open != conv.ID {
			s.openConvs.Add(key, conv.ID)
			s.returning.Add(key, struct{}{})
		}
	}
	s.publish(ctx, Event{Kind: EventMessage, TenantID: p.TenantID, ConversationID: conv.ID, VisitorID: conv.VisitorID, AssigneeID: conv.assignee(), Message: &msg})
	if visitor {
		s.markActive(p.TenantID)
	}
	switch {
	case visitor && (conv.Status == StatusBot || conv.Status == StatusQueued):
		s.background(func() {
			s.observe(ctx, Happening{What: MessageStored, TenantID: p.TenantID, ConversationID: conv.ID, Text: in.Body})
		})
	case visitor && conv.Status == StatusAssigned:
		if agent := conv.assignee(); s.isGone(p.TenantID, agent) {
			s.background(func() {
				ctx := context.WithoutCancel(ctx)
				if s.presence.Status(ctx, p.TenantID, agent) == PresenceOffline {
					s.requeue(ctx, p.TenantID, agent, []string{conv.ID}, requeueOffline)
				}
			})
		}
	case conv.Status == StatusResolved && author.Type == AuthorAgent && !in.Private:
		// An agent's reply reopens the conversation, with them.
		s.background(func() { s.reopenByAgent(context.WithoutCancel(ctx), p, conv.ID) })
	}
	if author.Type == AuthorAgent && !in.Private {
		// Not read within the delay (the visitor is away): e-mailed.
		s.scheduleReplyMail(p.TenantID, conv.ID, s.mailDelay)
	}
	return msg, false, nil
}

// isGone reports whether the agent has been offline past the grace period
// (as this node heard over the bus).
func (s *Service) isGone(tenantID, agentID string) bool {
	gone, _ := s.gone.Get(tenantID + "/" + agentID)
	return gone
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// checkWriter checks, before a message is queued for the commit, that p may
// write where it asks, and fills in a visitor's open conversation when they
// name none and this node knows it (left empty otherwise: the opening
// transaction finds it or opens one). A
// visitor's own open conversation is known from the cache; any other id a
// visitor names, and any conversation an agent limited to a scope names, is
// checked with one indexed read. The commit checks a visitor's ownership
// again, per request.
func (s *Service) checkWriter(ctx context.Context, db *tenants.DB, p tenants.Principal, in *SendInput) error {
	if p.Kind == tenants.KindVisitor {
		open, cached := s.openConvs.Get(p.TenantID + "/" + p.ID)
		switch {
		case in.ConversationID == "" && cached:
			in.ConversationID = open
		case in.ConversationID == "":
			// Not known here (a new visitor, or one this node has not
			// seen): the opening transaction finds or opens theirs, and
			// the cache learns it.
		case !cached || open != in.ConversationID:
			if _, err := s.access(ctx, p, in.ConversationID); err != nil {
				return err
			}
		}
		return nil
	}
	sc, err := s.ScopeOf(ctx, p)
	if err != nil {
		return err
	}
	if !sc.All {
		_, err = s.access(ctx, p, in.ConversationID)
	}
	return err
}

// sendOpening is the visitor's first message of a conversation: one
// transaction that locks the visitor, finds their open conversation or opens
// one with this message as seq 1, and stores the message; a new conversation
// is then routed with what the transaction already read. A resend of a
// message already stored in any of the visitor's conversations returns the
// original.
func (s *Service) sendOpening(ctx context.Context, db *tenants.DB, p tenants.Principal, author Author, in SendInput, attJSON string, uploads []string) (Message, bool, error) {
	var (
		conv       conversationRow
		open       opening
		created    bool
		reopened   bool
		reopenNote Message
		orig       Message
	)
	now := s.stamp()
	tctx, span := s.child(ctx, "message.commit", trace.WithAttributes(attribute.Bool("kefu.opening", true), attribute.String("db.system", db.Dialect)))
	row := messageRow{ID: tenants.NewID(), AuthorType: author.Type, AuthorID: author.ID, AuthorName: author.Name, Body: in.Body, Attachments: attJSON, CreatedAt: now}
	if in.ClientID != "" {
		row.ClientID = &in.ClientID
	}
	hookMsg := s.wantsHook(ctx, db, p.TenantID, HookMessageCreated)
	hookConv := s.wantsHook(ctx, db, p.TenantID, HookConversationCreated)
	hookReopen := s.wantsHook(ctx, db, p.TenantID, HookConversationReopened)
	// Whether the plan allows a new conversation, asked before the
	// transaction (it may read) and used only if one opens.
	admit := s.admitConversation(ctx, p.TenantID)
	// The pre-chat form's required fields, checked if one opens; a tenant
	// with some takes the single path, which checks them.
	var required []string
	if ws, err := s.tenants.WidgetSettingsOf(ctx, p.TenantID); err == nil {
		required = ws.Prechat.Required()
	}
	var err error
	handled := false
	_, known := s.returning.Get(p.TenantID + "/" + p.ID)
	if len(uploads) == 0 && p.Kind == tenants.KindVisitor && len(required) == 0 && !known {
		// A new visitor's first conversation opens in the tenant's next
		// batch of openings (openbatch.go); anything else comes back
		// unhandled and takes the transaction below.
		res := s.openings.open(tctx, &openReq{db: db, tenantID: p.TenantID, visitor: p.ID, row: row, admit: admit, hookMsg: hookMsg, hookConv: hookConv})
		if handled = res.handled; handled {
			err = res.err
			if err == nil {
				created, conv, row = true, res.conv, res.row
				open = opening{visitor: res.visitor}
			}
		}
	}
	if !handled {
		err = db.WithContext(tctx).Transaction(func(tx *gorm.DB) error {
			// The visitor's row is the lock: two first messages sent at once
			// open one conversation, not two.
			var vs []visitorRow
			if err := tx.Raw(`UPDATE `+db.Table("visitors")+` SET last_seen_at = ? WHERE id = ? RETURNING *`, now, p.ID).Scan(&vs).Error; err != nil {
				return err
			}
			if len(vs) == 0 {
				return kefu.Errorf(kefu.ENotFound, "no such visitor")
			}
			// Their open conversation first, and whether they had others.
			var convs []conversationRow
			if err := tx.Where("visitor_id = ?", p.ID).Order("CASE WHEN status = '" + StatusResolved + "' THEN 1 ELSE 0 END, created_at DESC").Limit(2).Find(&convs).Error; err != nil {
				return err
			}
			if in.ClientID != "" && len(convs) > 0 {
				m, ok, err := findByClientID(tx, db, p, "", author.ID, in.ClientID)
				if err != nil {
					return err
				}
				if ok {
					orig = s.messageOf(p.TenantID, m)
					return errDuplicate
				}
			}
			if len(convs) > 0 && convs[0].Status != StatusResolved {
				row.ConversationID = convs[0].ID
				c, err := s.appendTx(tx, db, &row)
				conv = c
				if err != nil {
					return err
				}
				if err := s.createMessageTx(tx, db, &row, uploads); err != nil {
					return err
				}
				return s.openingHooks(tx, db, p.TenantID, hookMsg, nil, row, conv)
			}
			if len(convs) > 0 && s.reopenable(ctx, p.TenantID, convs[0]) {
				c, m, err := s.reopenTx(tx, db, convs[0], s.language(ctx, p.TenantID), now)
				if err != nil {
					return err
				}
				reopened, reopenNote = true, m
				open = opening{conv: c, visitor: vs[0], returning: true}
				row.ConversationID = c.ID
				if conv, err = s.appendTx(tx, db, &row); err != nil {
					return err
				}
				if err := s.createMessageTx(tx, db, &row, uploads); err != nil {
					return err
				}
				var evs []hookEvent
				if hookReopen {
					evs = append(evs, conversationHook(p.TenantID, HookConversationReopened, c.conversation(vs[0].visitor()), "", now))
				}
				if hookMsg {
					evs = append(evs, messageHookOf(p.TenantID, m, c))
				}
				return s.openingHooks(tx, db, p.TenantID, hookMsg, evs, row, conv)
			}
			if missing := prechatMissing(vs[0], required); missing != nil {
				return prechatError(missing)
			}
			if admit != nil {
				return admit
			}
			created = true
			open = opening{visitor: vs[0], returning: len(convs) > 0}
			conv = conversationRow{ID: tenants.NewID(), VisitorID: p.ID, Status: StatusBot, Labels: "[]", Attributes: "{}", LastSeq: 1, CreatedAt: now, UpdatedAt: now,
				LastMessageBody: previewOf(row), LastMessageAuthor: row.AuthorType, LastMessageAt: &now,
				LastVisitorBody: previewOf(row), LastVisitorAt: &now, WaitingSince: &now}
			row.ConversationID, row.Seq = conv.ID, 1
			if err := tx.Create(&conv).Error; err != nil {
				return err
			}
			if err := s.createMessageTx(tx, db, &row, uploads); err != nil {
				return err
			}
			var evs []hookEvent
			if hookConv {
				evs = append(evs, conversationHook(p.TenantID, HookConversationCreated, conv.conversation(vs[0].visitor()), "", now))
			}
			return s.openingHooks(tx, db, p.TenantID, hookMsg, evs, row, conv)
		})
	}
	span.End()
	if errors.Is(err, errDuplicate) {
		return orig, true, nil
	}
	if err != nil && tenants.IsUniqueViolation(err) && in.ClientID != "" {
		m, ok, ferr := s.findByClientID(ctx, db, p, "", author.ID, in.ClientID)
		if ferr == nil && ok {
			return m, true, nil
		}
		return Message{}, false, err
	}
	if err != nil {
		return Message{}, false, err
	}
	s.openConvs.Add(p.TenantID+"/"+p.ID, conv.ID)
	s.returning.Add(p.TenantID+"/"+p.ID, struct{}{})
	if created {
		s.countConversation(p.TenantID)
	}
	if hookMsg || (created && hookConv) || (reopened && hookReopen) {
		s.hooksWritten(p.TenantID)
	}
	s.metrics.stored.WithLabelValues(author.Type).Inc()
	msg := s.messageOf(p.TenantID, row)
	if created || reopened {
		s.publish(ctx, Event{Kind: EventConversation, TenantID: p.TenantID, ConversationID: conv.ID, VisitorID: conv.VisitorID, Conversation: ptr(conv.conversation(open.visitor.visitor()))})
	}
	if reopened {
		s.publish(ctx, Event{Kind: EventMessage, TenantID: p.TenantID, ConversationID: conv.ID, VisitorID: conv.VisitorID, Message: &reopenNote})
	}
	s.publish(ctx, Event{Kind: EventMessage, TenantID: p.TenantID, ConversationID: conv.ID, VisitorID: conv.VisitorID, AssigneeID: conv.assignee(), Message: &msg})
	s.markActive(p.TenantID)
	switch {
	case created:
		open.conv = conv
		s.background(func() {
			s.observe(ctx, Happening{What: ConversationOpened, TenantID: p.TenantID, ConversationID: conv.ID, Text: in.Body, Opening: &Opening{open}})
		})
	case reopened:
		open.conv = conv
		s.background(func() {
			s.observe(ctx, Happening{What: ConversationReopened, TenantID: p.TenantID, ConversationID: conv.ID, Text: in.Body, Opening: &Opening{open}})
		})
	case conv.Status == StatusBot || conv.Status == StatusQueued:
		s.background(func() {
			s.observe(ctx, Happening{What: MessageStored, TenantID: p.TenantID, ConversationID: conv.ID, Text: in.Body})
		})
	}
	return msg, false, nil
}

// openingHooks writes to the webhook outbox, in the opening transaction
// and with one statement, evs (what opened or reopened the conversation)
// and, when msg, message.created for the visitor's message.
func (s *Service) openingHooks(tx *gorm.DB, db *tenants.DB, tenantID string, msg bool, evs []hookEvent, row messageRow, conv conversationRow) error {
	if msg {
		evs = append(evs, s.messageHook(tenantID, row, conv))
	}
	return s.enqueueHooks(tx, db, tenantID, evs)
}

// opening is what the transaction that opened a conversation read: the flow
// that routes it need not read it again.
type opening struct {
	conv      conversationRow
	visitor   visitorRow
	returning bool // the visitor had conversations before
}

func ptr[T any](v T) *T { return &v }

var errDuplicate = errors.New("duplicate client_id")

// createMessageTx stores row in tx, and the files it carries become its.
func (s *Service) createMessageTx(tx *gorm.DB, db *tenants.DB, row *messageRow, uploads []string) error {
	if err := tx.Create(row).Error; err != nil {
		return err
	}
	return claimUploadsTx(tx, db, uploads, *row)
}

func (s *Service) findByClientID(ctx context.Context, db *tenants.DB, p tenants.Principal, convID, authorID, clientID string) (Message, bool, error) {
	row, ok, err := findByClientID(db.WithContext(ctx), db, p, convID, authorID, clientID)
	if !ok || err != nil {
		return Message{}, ok, err
	}
	return s.messageOf(p.TenantID, row), true, nil
}

// findByClientID looks for a message the same sender stored with clientID:
// in the given conversation, or for a visitor without one, in any of theirs.
// Either way it is a lookup on the unique (conversation, author, client id)
// index, per conversation of the visitor — never a scan of the messages.
func findByClientID(q *gorm.DB, db *tenants.DB, p tenants.Principal, convID, authorID, clientID string) (messageRow, bool, error) {
	var rows []messageRow
	var err error
	if convID != "" {
		err = q.Where("conversation_id = ? AND author_id = ? AND client_id = ?", convID, authorID, clientID).Limit(1).Find(&rows).Error
	} else {
		err = q.Raw(`SELECT m.* FROM `+db.Table("conversations")+` c JOIN `+db.Table("messages")+` m ON m.conversation_id = c.id AND m.author_id = ? AND m.client_id = ? WHERE c.visitor_id = ? LIMIT 1`, authorID, clientID, p.ID).Scan(&rows).Error
	}
	if err != nil || len(rows) == 0 {
		return messageRow{}, false, err
	}
	return rows[0], true, nil
}

// appendTx gives row the conversation's next seq, inside tx. The UPDATE takes
// the conversation's row lock, so concurrent senders get 1, 2, 3 … with no
// gap and no duplicate, and a rolled-back transaction gives its seq back.
func (s *Service) appendTx(tx *gorm.DB, db *tenants.DB, row *messageRow) (conversationRow, error) {
	set := "last_seq = last_seq + 1, updated_at = ?"
	args := []any{row.CreatedAt}
	if !row.Private && row.AuthorType != AuthorSystem {
		set += ", last_message_body = ?, last_message_author = ?, last_message_at = ?"
		args = append(args, previewOf(*row), row.AuthorType, row.CreatedAt)
	}
	switch {
	case row.AuthorType == AuthorVisitor:
		set += ", last_visitor_body = ?, last_visitor_at = ?, waiting_since = COALESCE(waiting_since, ?)"
		args = append(args, previewOf(*row), row.CreatedAt, row.CreatedAt)
	case row.AuthorType == AuthorAgent && !row.Private:
		set += ", waiting_since = NULL"
	}
	args = append(args, row.ConversationID)
	var convs []conversationRow
	err := tx.Raw(`UPDATE `+db.Table("conversations")+` SET `+set+` WHERE id = ? RETURNING *`, args...).Scan(&convs).Error
	if err != nil {
		return conversationRow{}, err
	}
	if len(convs) == 0 {
		return conversationRow{}, kefu.Errorf(kefu.ENotFound, "no such conversation")
	}
	row.Seq = convs[0].LastSeq
	return convs[0], nil
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Messages returns up to limit messages with seq > afterSeq, in seq order.
// Private notes are left out for visitors.
func (s *Service) Messages(ctx context.Context, p tenants.Principal, convID string, afterSeq int64, limit int) ([]Message, error) {
	if _, err := s.access(ctx, p, convID); err != nil {
		return nil, err
	}
	return s.messagesAfter(ctx, p.TenantID, Scope{All: true}, convID, afterSeq, limit, p.Kind == tenants.KindVisitor)
}

// previewOf is the inbox preview of a message: its text, or for a message
// that is only files, the first file's name.
func previewOf(r messageRow) string {
	if strings.TrimSpace(r.Body) == "" && r.Attachments != "[]" {
		var atts []Attachment
		if json.Unmarshal([]byte(r.Attachments), &atts) == nil && len(atts) > 0 {
			return truncateUTF8("📎 "+atts[0].Name, 200)
		}
	}
	return truncateUTF8(r.Body, 200)
}
