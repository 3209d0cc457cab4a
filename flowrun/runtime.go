// Package flowrun runs the tenants' published flows: on what chat tells
// it happened (a visitor's message, a conversation opened, resolved,
// requeued, capacity freed, a deadline due), it runs the flow, drains the
// queue and keeps the queue deadlines, acting only through chat's exported
// operations (chat/flowops.go) and keeping its own state (run slots per
// tenant, conversation locks, deadline timers). chat never calls it: it is
// chat's Observer, registered by New.
package flowrun

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"kefu"
	"kefu/chat"
	"kefu/routing"
)

// Defaults of Config.
const (
	DefaultRuns    = 32 // runs mostly wait on the database; each one's evaluation is bounded by its budget
	DefaultRunWait = 30 * time.Second
)

// Config bounds the flow work of one tenant on this node.
type Config struct {
	// Runs is how many flow runs of one tenant run at once (default
	// DefaultRuns); more wait up to RunWait (default DefaultRunWait) for a
	// turn, and past that the conversation is queued for an agent without
	// running the flow.
	Runs    int
	RunWait time.Duration
}

// Runtime runs the tenants' published flows, drains their queues and
// keeps their queue deadlines for one chat.Service.
type Runtime struct {
	chat    *chat.Service
	log     *slog.Logger
	runs    *kefu.Gates // per tenant: flow runs under way
	runWait time.Duration
	locks   [256]sync.Mutex

	mu     sync.Mutex
	timers map[string]*time.Timer // tenant/conversation → its queue deadline
	closed bool
}

// New makes the runtime of svc and registers it as svc's Observer; call it
// before svc starts or serves anything.
func New(svc *chat.Service, cfg Config) *Runtime {
	if cfg.Runs <= 0 {
		cfg.Runs = DefaultRuns
	}
	if cfg.RunWait <= 0 {
		cfg.RunWait = DefaultRunWait
	}
	r := &Runtime{chat: svc, log: svc.Logger(), runs: kefu.NewGates(cfg.Runs), runWait: cfg.RunWait, timers: map[string]*time.Timer{}}
	svc.SetObserver(r)
	return r
}

// Observe implements chat.Observer.
func (r *Runtime) Observe(ctx context.Context, h chat.Happening) {
	switch h.What {
	case chat.MessageStored:
		r.run(ctx, h.TenantID, h.ConversationID, nil, routing.EventMessageCreated, h.Text, "", "")
	case chat.ConversationOpened:
		r.run(ctx, h.TenantID, h.ConversationID, h.Opening, routing.EventConversationCreated, h.Text, "", "")
	case chat.ConversationReopened:
		r.run(ctx, h.TenantID, h.ConversationID, h.Opening, routing.EventConversationReopened, h.Text, "", "")
	case chat.ConversationResolved:
		r.unscheduleTimeout(h.TenantID, h.ConversationID)
		r.chat.CancelModelCall(ctx, h.TenantID, h.ConversationID)
		// A slot may have opened up: offer it to whoever waits.
		r.chat.Background(func() { r.drainQueue(context.Background(), h.TenantID) })
	case chat.ConversationRequeued:
		r.run(ctx, h.TenantID, h.ConversationID, nil, routing.EventAgentOffline, "", "", "")
	case chat.CapacityFreed:
		r.drainQueue(ctx, h.TenantID)
	case chat.QueueDeadlineDue:
		r.queueTimeout(ctx, h.TenantID, h.ConversationID, h.Node)
	case chat.FlowResumed:
		r.run(ctx, h.TenantID, h.ConversationID, nil, h.Event, h.Text, h.Node, h.Label)
	case chat.Started:
		// In the background: it visits every tenant, and a start should
		// not wait for that (each deadline has a durable job as well, due
		// a second after it, so nothing is lost meanwhile).
		r.chat.Background(func() {
			if err := r.armTimeouts(context.WithoutCancel(ctx)); err != nil {
				r.log.ErrorContext(ctx, "flow runtime: re-arm queue deadlines", "err", err)
			}
		})
	case chat.Closing:
		r.close()
	}
}

// run runs the tenant's published flow for one event of a conversation
// and applies what it decided. It runs off the request path (after the
// visitor's ack); every run is logged on the conversation as an event.
// known is what the opening transaction read (nil: read it now).
//
// A tenant has at most FlowRuns runs under way on this node; a run waits
// for its turn first (before the conversation's lock, which other tenants'
// conversations share), and one that waited FlowRunWait in vain queues the
// conversation for an agent without running the flow, so it is never lost.
func (r *Runtime) run(ctx context.Context, tenantID, convID string, known *chat.Opening, event, text string, resumeNode, resumeLabel string) {
	ctx = context.WithoutCancel(ctx)
	ctx, span := r.chat.StartSpan(ctx, "flow.run", trace.WithAttributes(attribute.String("kefu.event", event), attribute.String("kefu.conversation_id", convID)))
	defer span.End()
	release, turn := r.runs.Acquire(ctx, tenantID, r.runWait)
	if turn {
		defer release()
	}
	mu := r.convLock(tenantID + "/" + convID)
	mu.Lock()
	defer mu.Unlock()

	flowID, version, prog, err := r.chat.PublishedProgram(ctx, tenantID)
	if err != nil {
		r.log.ErrorContext(ctx, "routing: load flow", "tenant_id", tenantID, "err", err)
		return
	}
	in, prefer, err := r.chat.FlowInput(ctx, tenantID, convID, known, event, text)
	if errors.Is(err, chat.ErrNotRouted) {
		return // a person has it, or it is closed
	}
	if err != nil {
		r.log.ErrorContext(ctx, "routing: input", "tenant_id", tenantID, "conversation_id", convID, "err", err)
		return
	}
	in.ResumeFrom, in.ResumeLabel = resumeNode, resumeLabel
	var res routing.Result
	if turn {
		res = prog.Run(ctx, in, &liveServices{chat: r.chat, tenantID: tenantID, convID: convID, prefer: prefer})
	} else {
		r.chat.CountFlowBusy()
		res = routing.Result{Action: routing.ActionQueue, Replies: []string{}, Trace: []routing.Step{{Type: routing.NodeQueue, Outcome: "queue",
			Detail: fmt.Sprintf("the flow did not run: this workspace already had %d runs under way for %v", r.runs.Size(), r.runWait)}}}
	}
	r.chat.CountRouting(res.Action)
	span.SetAttributes(attribute.String("kefu.action", res.Action))
	d := chat.Decision{FlowID: flowID, FlowVersion: version, Event: event, Result: res}
	// Logged before it is applied (which publishes the new state), so a
	// console that refreshes on conversation.updated finds the decision.
	r.chat.LogDecision(ctx, tenantID, convID, d)
	deadline, err := r.chat.ApplyDecision(ctx, tenantID, convID, d)
	if err != nil {
		r.log.ErrorContext(ctx, "routing: apply", "tenant_id", tenantID, "conversation_id", convID, "err", err)
		return
	}
	if res.Action == routing.ActionAssign {
		return
	}
	if deadline != nil && res.Waiting != "" {
		r.scheduleTimeout(tenantID, convID, res.Waiting, *deadline)
	} else {
		r.unscheduleTimeout(tenantID, convID)
	}
}

// liveServices are the flow's side effects for a real conversation.
type liveServices struct {
	chat     *chat.Service
	tenantID string
	convID   string
	prefer   string // the agent the conversation was last with
}

func (l *liveServices) AnswerFAQ(ctx context.Context, text string) (string, bool, error) {
	return l.chat.AnswerFAQ(ctx, l.tenantID, text)
}

func (l *liveServices) AskLLM(ctx context.Context, in routing.Input, req routing.LLMRequest) (routing.LLMOutcome, error) {
	return l.chat.AskModel(ctx, l.tenantID, l.convID, in, req)
}

func (l *liveServices) CallWebhook(ctx context.Context, url string, in routing.Input, timeout time.Duration) error {
	return l.chat.FlowWebhook(ctx, l.tenantID, l.convID, url, in, timeout)
}

func (l *liveServices) Reply(ctx context.Context, text string) error {
	_, err := l.chat.BotReply(ctx, l.tenantID, l.convID, text)
	return err
}

func (l *liveServices) Assign(ctx context.Context, req routing.AssignRequest) (string, string, bool, error) {
	a, err := l.chat.AutoAssign(ctx, l.tenantID, l.convID, req, l.prefer)
	if errors.Is(err, chat.ErrNoAgent) || errors.Is(err, chat.ErrTaken) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	return a.ID, a.Name, true, nil
}

// drainQueue offers the tenant's waiting conversations, oldest first, to
// the agents now online, each by the request of the assign node it waits at
// (round robin for a plain queue node).
func (r *Runtime) drainQueue(ctx context.Context, tenantID string) {
	queued, err := r.chat.Queued(ctx, tenantID, 200)
	if err != nil {
		r.log.ErrorContext(ctx, "drain queue", "tenant_id", tenantID, "err", err)
		return
	}
	_, _, prog, err := r.chat.PublishedProgram(ctx, tenantID)
	if err != nil {
		return
	}
	for _, c := range queued {
		req := routing.AssignRequest{Strategy: routing.StrategyRoundRobin}
		if c.Node != "" {
			if ar, ok := prog.AssignRequestAt(c.Node); ok {
				req = ar
			}
		}
		if req.Team == "" {
			req.Team = c.Team // given to a team: only its members take it
		}
		mu := r.convLock(tenantID + "/" + c.ConversationID)
		mu.Lock()
		_, err := r.chat.AutoAssign(ctx, tenantID, c.ConversationID, req, c.LastAgentID)
		mu.Unlock()
		switch {
		case err == nil:
			r.unscheduleTimeout(tenantID, c.ConversationID)
		case errors.Is(err, chat.ErrNoAgent) || errors.Is(err, chat.ErrTaken):
		default:
			r.log.WarnContext(ctx, "drain queue: assign", "tenant_id", tenantID, "conversation_id", c.ConversationID, "err", err)
			return
		}
	}
	r.chat.PublishQueue(tenantID)
}

// scheduleTimeout arms the overflow of a waiting conversation: at the
// deadline, if it still waits at the same node, the flow resumes there by
// its timeout branch. Every node arms its own timers; the conditional check
// makes the first one win, and a durable job backs the timer up.
func (r *Runtime) scheduleTimeout(tenantID, convID, node string, at time.Time) {
	key := tenantID + "/" + convID
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if t, ok := r.timers[key]; ok {
		t.Stop()
	}
	r.chat.Background(func() { r.chat.PlanQueueDeadline(tenantID, convID, node, at) })
	r.timers[key] = time.AfterFunc(time.Until(at), func() {
		r.mu.Lock()
		delete(r.timers, key)
		r.mu.Unlock()
		r.chat.Background(func() { r.queueTimeout(context.Background(), tenantID, convID, node) })
	})
}

func (r *Runtime) unscheduleTimeout(tenantID, convID string) {
	key := tenantID + "/" + convID
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.timers[key]; ok {
		t.Stop()
		delete(r.timers, key)
	}
}

// close stops the timers; the durable jobs stay for the next start.
func (r *Runtime) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for k, t := range r.timers {
		t.Stop()
		delete(r.timers, k)
	}
}

// queueTimeout resumes the flow by the timeout branch of the node a
// conversation waits at, once its deadline has passed. Clearing the
// deadline first lets the resumed run set a new one; only the node that
// clears it runs the flow (timer and job may both fire).
func (r *Runtime) queueTimeout(ctx context.Context, tenantID, convID, node string) {
	if ok, err := r.chat.ExpireQueueDeadline(ctx, tenantID, convID, node); err != nil || !ok {
		return
	}
	r.run(ctx, tenantID, convID, nil, routing.EventConversationIdle, "", node, "timeout")
}

// armTimeouts re-arms the queue deadlines of every tenant after a start.
func (r *Runtime) armTimeouts(ctx context.Context) error {
	ids, err := r.chat.TenantIDs(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		waiting, err := r.chat.QueueDeadlines(ctx, id, 10000)
		if err != nil {
			r.log.WarnContext(ctx, "arm queue timeouts", "tenant_id", id, "err", err)
			continue
		}
		for _, c := range waiting {
			r.scheduleTimeout(id, c.ConversationID, c.Node, *c.Deadline)
		}
	}
	return nil
}

// convLock serialises flow runs of one conversation on this node. The locks
// are striped (a fixed array) so they cost no memory per conversation;
// nothing holds two at once, so sharing a stripe cannot deadlock.
func (r *Runtime) convLock(key string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(key))
	return &r.locks[h.Sum32()%uint32(len(r.locks))]
}
