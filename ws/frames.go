// Package ws is Kefu's WebSocket edge: it authenticates the first frame,
// keeps one reader and one writer goroutine per connection, and delivers
// what the chat service publishes on the bus to the sockets interested in it,
// exactly once per seq and in order, catching up from the store when a
// socket has missed something.
package ws

import (
	"encoding/json"
	"strconv"

	"kefu"
	"kefu/chat"
)

// inFrame is any client frame; which fields matter depends on Type.
type inFrame struct {
	Type           string          `json:"type"`
	Token          string          `json:"token"`
	Since          json.RawMessage `json:"since"`
	ClientID       string          `json:"client_id"`
	ConversationID string          `json:"conversation_id"`
	Body           string          `json:"body"`
	Private        bool            `json:"private"`
	Attachments    []string        `json:"attachments"`
	Seq            int64           `json:"seq"`
	State          bool            `json:"state"`
	Status         string          `json:"status"`
	// csat: the rating (score, or the contract's first name, rating) and
	// its comment.
	Score   int    `json:"score"`
	Rating  int    `json:"rating"`
	Comment string `json:"comment"`
}

type principalOut struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Role string `json:"role,omitempty"`
}

type welcomeFrame struct {
	Type          string       `json:"type"`
	SessionID     string       `json:"session_id"`
	Principal     principalOut `json:"principal"`
	Conversations any          `json:"conversations"` // []chat.Conversation, or []chat.VisitorConversation to a visitor
}

type ackFrame struct {
	Type           string `json:"type"`
	ClientID       string `json:"client_id"`
	ConversationID string `json:"conversation_id"`
	Seq            int64  `json:"seq"`
	MessageID      string `json:"message_id"`
	Duplicate      bool   `json:"duplicate,omitempty"`
}

type messageNewFrame struct {
	Type           string        `json:"type"`
	ConversationID string        `json:"conversation_id"`
	Seq            int64         `json:"seq"`
	Message        *chat.Message `json:"message"`
}

type conversationFrame struct {
	Type         string `json:"type"`
	Conversation any    `json:"conversation"` // *chat.Conversation, or chat.VisitorConversation to a visitor
}

type readFrame struct {
	Type           string       `json:"type"`
	ConversationID string       `json:"conversation_id"`
	Reader         *chat.Reader `json:"reader,omitempty"`
	Seq            int64        `json:"seq"`
}

type typingFrame struct {
	Type           string       `json:"type"`
	ConversationID string       `json:"conversation_id"`
	Author         *chat.Reader `json:"author"`
	State          bool         `json:"state"`
}

type presenceFrame struct {
	Type   string `json:"type"`
	UserID string `json:"user_id,omitempty"`
	Status string `json:"status"`
}

type queueFrame struct {
	Type                 string `json:"type"`
	ConversationID       string `json:"conversation_id"`
	Position             int    `json:"position"`
	EstimatedWaitSeconds *int   `json:"estimated_wait_seconds"` // null: unknown (too little recent data), or out of the queue
}

// deltaFrame is a piece of a bot's answer as it streams. Done (with no
// text) says the stream was abandoned: no message will complete it.
type deltaFrame struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id"`
	StreamID       string `json:"stream_id"`
	Text           string `json:"text"`
	Done           bool   `json:"done,omitempty"`
}

type errorFrame struct {
	Type     string `json:"type"`
	ClientID string `json:"client_id,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	// Reason says why a session ended (signed_out, deactivated) on the
	// frame that precedes a revoked socket's close.
	Reason string `json:"reason,omitempty"`
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own frame types are encoded
	}
	return b
}

var pongFrame = []byte(`{"type":"pong"}`)

// parseFrame decodes a client frame. A frame whose strings are not clean
// text (kefu.TextProblem: NUL and other control characters, which
// PostgreSQL cannot store) comes back with an invalid_argument error naming
// the field, and without the offending client_id.
func parseFrame(data []byte) (inFrame, error) {
	var f inFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return f, err
	}
	var fields map[string]string // made on the first problem: most frames have none
	check := func(name, v string) {
		if p := kefu.TextProblem(v); p != "" {
			if fields == nil {
				fields = map[string]string{}
			}
			fields[name] = p
		}
	}
	check("type", f.Type)
	check("token", f.Token)
	check("client_id", f.ClientID)
	check("conversation_id", f.ConversationID)
	check("body", f.Body)
	check("status", f.Status)
	for i, a := range f.Attachments {
		check("attachments["+strconv.Itoa(i)+"]", a)
	}
	if len(f.Since) > 0 && f.Since[0] == '{' {
		var since map[string]json.RawMessage
		if json.Unmarshal(f.Since, &since) == nil {
			for id := range since {
				check("since", id)
			}
		}
	}
	if len(fields) == 0 {
		return f, nil
	}
	if fields["client_id"] != "" {
		f.ClientID = ""
	}
	if fields["type"] != "" {
		f.Type = ""
	}
	return f, kefu.Invalid(fields)
}

// sinceMap is hello's since: conversation id → last seq seen.
func (f inFrame) sinceMap() map[string]int64 {
	m := map[string]int64{}
	if len(f.Since) > 0 {
		_ = json.Unmarshal(f.Since, &m)
	}
	return m
}

// sinceSeq is subscribe's since: the last seq seen.
func (f inFrame) sinceSeq() int64 {
	var n int64
	if len(f.Since) > 0 {
		_ = json.Unmarshal(f.Since, &n)
	}
	return max(n, 0)
}
