// Package chat owns conversations, messages, read state and visitors. It
// stores every message with a per-conversation seq in the storing
// transaction, deduplicates by client_id, and publishes what happened on the
// bus after the commit, for the WebSocket tier to deliver.
package chat

import (
	"encoding/json"
	"time"
)

// Conversation statuses.
const (
	StatusBot      = "bot"
	StatusQueued   = "queued"
	StatusAssigned = "assigned"
	StatusResolved = "resolved"
)

// Author types.
const (
	AuthorVisitor = "visitor"
	AuthorAgent   = "agent"
	AuthorBot     = "bot"
	AuthorSystem  = "system"
)

// Author is who wrote a message.
type Author struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Attachment is a file attached to a message.
type Attachment struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	URL         string `json:"url"`
}

// Message is one stored message; Seq is its place in the conversation.
type Message struct {
	ID             string       `json:"id"`
	ConversationID string       `json:"conversation_id"`
	Seq            int64        `json:"seq"`
	ClientID       string       `json:"client_id"`
	Author         Author       `json:"author"`
	Body           string       `json:"body"`
	Private        bool         `json:"private"`
	Attachments    []Attachment `json:"attachments"`
	// System is a system message's code and parameters (author.type
	// system); clients render it in their own language.
	System    *SystemNote `json:"system,omitempty"`
	CreatedAt time.Time   `json:"created_at"`
}

// Visitor is a website visitor (a contact).
type Visitor struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Email      string         `json:"email"`
	Attributes map[string]any `json:"attributes"`
}

// LastMessage previews a conversation's latest public message.
type LastMessage struct {
	Body       string    `json:"body"`
	AuthorType string    `json:"author_type"`
	CreatedAt  time.Time `json:"created_at"`
}

// Conversation is a thread between a visitor and the business.
type Conversation struct {
	ID          string       `json:"id"`
	Status      string       `json:"status"`
	Visitor     Visitor      `json:"visitor"`
	AssigneeID  string       `json:"assignee_id"`
	Team        string       `json:"team"`
	LastSeq     int64        `json:"last_seq"`
	LastMessage *LastMessage `json:"last_message"`
	// LastVisitorMessage is the visitor's latest message: what the inbox
	// shows (the last message is often the bot's or an agent's).
	LastVisitorMessage *LastMessage `json:"last_visitor_message"`
	// WaitingSince is when the visitor's oldest message not yet answered by
	// a person was sent; null once answered.
	WaitingSince *time.Time `json:"waiting_since"`
	Labels       []string   `json:"labels"`
	// Attributes are the conversation's custom attributes (the visitor's
	// are the contact's).
	Attributes map[string]any `json:"attributes"`
	// Priority is none, low, normal, high or urgent.
	Priority string `json:"priority"`
	// SnoozedUntil hides the conversation from the inbox until then.
	SnoozedUntil *time.Time `json:"snoozed_until"`
	// CSAT is the visitor's rating once given (null before).
	CSAT      *CSAT     `json:"csat"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// MarshalJSON writes an empty assignee or team as null, as the contract's
// clients expect.
func (c Conversation) MarshalJSON() ([]byte, error) {
	type plain Conversation
	out := struct {
		plain
		AssigneeID *string `json:"assignee_id"`
		Team       *string `json:"team"`
	}{plain: plain(c)}
	if c.AssigneeID != "" {
		out.AssigneeID = &c.AssigneeID
	}
	if c.Team != "" {
		out.Team = &c.Team
	}
	return json.Marshal(out)
}

// VisitorConversation is a conversation as its visitor sees it: none of the
// business's internal fields (labels, team, assignee, the attributes flows
// set on the visitor).
type VisitorConversation struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	LastSeq   int64     `json:"last_seq"`
	CSAT      *CSAT     `json:"csat"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ForVisitor is c as its visitor may see it.
func (c Conversation) ForVisitor() VisitorConversation {
	return VisitorConversation{ID: c.ID, Status: c.Status, LastSeq: c.LastSeq, CSAT: c.CSAT, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// Reader identifies who read up to a seq.
type Reader struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Event kinds on the bus.
const (
	EventMessage      = "message"
	EventConversation = "conversation"
	EventRead         = "read"
	EventTyping       = "typing"
	EventPresence     = "presence"
	EventQueue        = "queue"      // a waiting visitor's place changed
	EventFlow         = "flow"       // a flow was published: drop compiled copies
	EventHooks        = "hooks"      // a tenant's webhooks changed: drop cached subscriptions
	EventDelta        = "delta"      // a piece of a bot's answer (StreamID, Text; Done: the stream was abandoned)
	EventKnowledge    = "knowledge"  // a tenant's FAQ, articles or bot settings changed: drop indexed copies
	EventBotCancel    = "bot.cancel" // a conversation's pending model call was cancelled: stop it
	EventPolicies     = "policies"   // a tenant's roles or permissions changed: drop loaded policies
	// EventAgentGone: an agent has been offline past the grace period; a
	// visitor writing into a conversation still assigned to them sends it
	// back to the queue.
	EventAgentGone = "agent.gone"
	// EventAgentBack: an agent who was gone is online again (what the
	// presence event says, on the bus's control channel for nodes that hold
	// none of the tenant's sockets).
	EventAgentBack = "agent.back"
	// EventResync says this node may have missed events (without a tenant:
	// any tenant's; with one, that tenant's): sockets catch up from the
	// database.
	EventResync = "resync"
	// EventRevoke says a principal's credentials or rights changed: every
	// node closes the sockets of UserID that Session/Keep select (see
	// Revoke*); for RevokeRole, only those whose role is not Role.
	EventRevoke = "revoke"
)

// Why a revoke event closes sockets (Event.Reason).
const (
	RevokeSignedOut   = "signed_out"   // sessions ended: logout, sign out everywhere, password change or reset
	RevokeDeactivated = "deactivated"  // the user was deactivated or deleted
	RevokeRole        = "role_changed" // the user's role changed: reconnect to get the new one
	RevokeKey         = "key_revoked"  // an API key was revoked: its sockets close
)

// Event is what chat publishes after a commit. It carries who must hear of it
// (the visitor and the assignee as of the commit), so a node can deliver
// without reading the database.
type Event struct {
	Kind           string        `json:"k"`
	TenantID       string        `json:"t"`
	ConversationID string        `json:"c,omitempty"`
	VisitorID      string        `json:"v,omitempty"`
	AssigneeID     string        `json:"a,omitempty"`
	PrevAssigneeID string        `json:"pa,omitempty"`
	Message        *Message      `json:"m,omitempty"`
	Conversation   *Conversation `json:"cv,omitempty"`
	Reader         *Reader       `json:"r,omitempty"`
	Seq            int64         `json:"s,omitempty"`
	State          bool          `json:"st,omitempty"`
	UserID         string        `json:"u,omitempty"`
	Status         string        `json:"p,omitempty"`
	Origin         string        `json:"o,omitempty"` // the sending session, which does not hear its own typing
	Position       int           `json:"qp,omitempty"`
	Wait           int           `json:"qw,omitempty"`
	// Revocations: which sessions of UserID (one, or all but Keep), why,
	// and for a role change the new role.
	Session string `json:"sid,omitempty"`
	Keep    string `json:"ks,omitempty"`
	Reason  string `json:"why,omitempty"`
	Role    string `json:"ro,omitempty"`
	// At is when the event was published (Unix microseconds), for the
	// bus lag metric.
	At int64 `json:"at,omitempty"`
	// TraceParent is the W3C traceparent of the publication when it was
	// traced: the delivering node continues the trace (Event.TraceContext).
	TraceParent string `json:"tp,omitempty"`
	// A bot's answer streaming: its stream, the piece, and whether the
	// stream was abandoned.
	StreamID string `json:"bs,omitempty"`
	Text     string `json:"tx,omitempty"`
	Done     bool   `json:"dn,omitempty"`
}
