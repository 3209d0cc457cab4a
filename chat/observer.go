package chat

import "context"

// The flow runtime (published flows, the queue, automatic assignment, model
// calls) is told what happened to conversations and agents through
// Observer, and acts through the Service's exported operations. chat never
// calls the runtime directly: it only says what it stored (issue #14, "The
// house"; the runtime is the package flowrun, which imports chat, never the
// other way round).

// Happened is the kind of a Happening.
type Happened int

// What chat tells its Observer. Each is told after the change it reports
// has committed (and been published), never inside a transaction.
const (
	// MessageStored: a visitor's message was stored in a conversation that
	// is with the bot or queued (Text is the message).
	MessageStored Happened = iota + 1
	// ConversationOpened: a visitor's first message opened a conversation
	// (Text; Opening holds what the opening read).
	ConversationOpened
	// ConversationReopened: a resolved conversation went back to the bot,
	// by a visitor's message (Text and Opening set) or by staff (neither).
	ConversationReopened
	// ConversationResolved: a pending model call or queue deadline of the
	// conversation is moot, and its agent may take another.
	ConversationResolved
	// ConversationRequeued: the conversation went back to the queue
	// because its agent (UserID) is gone.
	ConversationRequeued
	// CapacityFreed: an agent came online, a conversation was given to a
	// team, an agent was deactivated, recovery queued conversations: the
	// tenant's queue may be offered to agents again.
	CapacityFreed
	// QueueDeadlineDue: the durable backstop of a queue deadline (a job,
	// or one found past due by recovery) is due for the conversation
	// waiting at Node.
	QueueDeadlineDue
	// FlowResumed: what the flow waited for at Node came (a model call
	// settled, or the visitor asked for a person): resume the run there by
	// the branch Label (answered, handoff), for Event and Text.
	FlowResumed
	// Started: the service started (re-arm what an earlier run planned).
	// Told synchronously from Start.
	Started
	// Closing: the service is closing (stop timers; the durable jobs stay).
	// Told synchronously from Close, before it waits for background work.
	Closing
)

// Happening is one thing that happened, for the Observer.
type Happening struct {
	What           Happened
	TenantID       string
	ConversationID string
	UserID         string // ConversationRequeued: the agent who is gone
	Text           string // MessageStored, ConversationOpened, ConversationReopened by a visitor
	Node           string // QueueDeadlineDue: the flow node the conversation waits at; FlowResumed: where the run resumes
	Event          string // FlowResumed: the routing event the run was for
	Label          string // FlowResumed: the branch it resumes by
	// Opening is what the opening (or reopening) transaction read, so the
	// runtime need not read it again; nil when it was not read.
	Opening *Opening
}

// Opening is what a visitor's message that opened or reopened a
// conversation read: the conversation, the visitor, and whether they had
// conversations before. Its fields are chat's; FlowInput reads them.
type Opening struct {
	o opening
}

// Observer is told what happened. Observe runs on the goroutine chat calls
// it from: in the background for what came from a request (after its
// answer), synchronously from recovery, jobs and Start. It must not block
// on work of the caller's transaction (there is none left by then).
type Observer interface {
	Observe(ctx context.Context, h Happening)
}

// SetObserver names who is told what happened (the flow runtime:
// flowrun.New calls it). Call it before the service starts or serves
// anything; it is not safe to call while it does.
func (s *Service) SetObserver(o Observer) { s.observer = o }

// observe tells the observer, if any.
func (s *Service) observe(ctx context.Context, h Happening) {
	s.markActive(h.TenantID)
	if s.observer != nil {
		s.observer.Observe(ctx, h)
	}
}
