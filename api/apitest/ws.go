package apitest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Frame is one server frame: the fields the contract's frames share, typed
// (a frame type's unused ones stay empty), and the whole frame as a map.
type Frame struct {
	Type           string          `json:"type"`
	SessionID      string          `json:"session_id"`
	ClientID       string          `json:"client_id"`
	ConversationID string          `json:"conversation_id"`
	Seq            int64           `json:"seq"`
	MessageID      string          `json:"message_id"`
	Code           string          `json:"code"`
	Status         string          `json:"status"`
	Message        json.RawMessage `json:"message"` // object in message.new, text in error
	Conversation   json.RawMessage `json:"conversation"`
	Conversations  json.RawMessage `json:"conversations"`

	M     map[string]any `json:"-"` // the frame decoded as an object (nil if it is not one)
	Index int            `json:"-"` // position in the connection's history
	Raw   string         `json:"-"` // the frame as received
}

// Msg decodes the message of a message.new frame.
func (f Frame) Msg() (Message, error) {
	var m Message
	if len(f.Message) == 0 || f.Message[0] != '{' {
		return m, fmt.Errorf("no message object in %s", f.Raw)
	}
	err := json.Unmarshal(f.Message, &m)
	return m, err
}

func (f Frame) String() string {
	s := f.Raw
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	if strings.HasPrefix(f.Type, "<") {
		s = f.Type + " " + s
	}
	return s
}

// Is matches frames of type typ.
func Is(typ string) func(Frame) bool { return func(f Frame) bool { return f.Type == typ } }

// SeqSeen is a seq a connection was given for a conversation: by a
// message.new, or by an ack (which delivers the sender's own message).
type SeqSeen struct {
	Seq int64
	Ack bool
}

// DialOptions say how Dial connects.
type DialOptions struct {
	Name   string // for messages (default "ws")
	Origin string // the Origin header ("" for none)
	// ReadLimit is the largest frame the client reads (default 4 MiB).
	ReadLimit int64
	// Discard drops the frames a wait passes over; by default they stay
	// pending for a later wait, so waiting for one type loses no other.
	Discard bool
	// Lifetime closes the connection when it ends (default: the dialing test).
	Lifetime testing.TB
	Timeout  time.Duration // for the handshake (default 10 s)
}

// Conn is one WebSocket connection with a reader goroutine. Every frame is
// kept in the history, and the seqs of message.new and ack frames are
// logged per conversation.
type Conn struct {
	Name string
	WS   *websocket.Conn

	cancel  context.CancelFunc
	frames  chan Frame
	done    chan struct{}
	discard bool

	mu      sync.Mutex
	readErr error
	history []Frame
	seqs    map[string][]SeqSeen

	pending []Frame // only touched by the waiting goroutine
}

// WSURL is the /ws address of the server at baseURL (http → ws).
func WSURL(baseURL string) string { return "ws" + strings.TrimPrefix(baseURL, "http") + "/ws" }

// TryDial connects to url without failing a test; the connection is not
// closed by any test's cleanup. A refused handshake's error names the
// status the server answered.
func TryDial(ctx context.Context, url string, o DialOptions) (*Conn, error) {
	var do *websocket.DialOptions
	if o.Origin != "" {
		do = &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {o.Origin}}}
	}
	// coder/websocket has replaced the handshake's body already: it needs no Close.
	ws, res, err := websocket.Dial(ctx, url, do) //nolint:bodyclose
	if err != nil {
		status := "no answer"
		if res != nil {
			status = res.Status
		}
		return nil, fmt.Errorf("%w (%s)", err, status)
	}
	if o.ReadLimit == 0 {
		o.ReadLimit = 4 << 20
	}
	if o.Name == "" {
		o.Name = "ws"
	}
	ws.SetReadLimit(o.ReadLimit)
	readCtx, cancel := context.WithCancel(context.Background())
	c := &Conn{Name: o.Name, WS: ws, cancel: cancel, frames: make(chan Frame, 4096), done: make(chan struct{}),
		discard: o.Discard, seqs: map[string][]SeqSeen{}}
	go c.readLoop(readCtx)
	return c, nil
}

// Dial connects to url (see WSURL) and fails the test if it cannot.
func Dial(t testing.TB, url string, o DialOptions) *Conn {
	t.Helper()
	d := o.Timeout
	if d == 0 {
		d = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	c, err := TryDial(ctx, url, o)
	if err != nil {
		t.Fatalf("%s: dialing %s: %v", o.Name, url, err)
	}
	lifetime := o.Lifetime
	if lifetime == nil {
		lifetime = t
	}
	lifetime.Cleanup(c.CloseNow)
	return c
}

func (c *Conn) readLoop(ctx context.Context) {
	defer close(c.done)
	defer close(c.frames)
	for {
		typ, data, err := c.WS.Read(ctx)
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			return
		}
		f := Frame{Raw: string(data)}
		if typ != websocket.MessageText {
			f.Type = "<binary frame>"
		} else {
			_ = json.Unmarshal(data, &f.M)
			if err := json.Unmarshal(data, &f); err != nil {
				f.Type = "<undecodable frame: " + err.Error() + ">"
			}
		}
		c.mu.Lock()
		f.Index = len(c.history)
		c.history = append(c.history, f)
		if f.Type == "message.new" || f.Type == "ack" {
			c.seqs[f.ConversationID] = append(c.seqs[f.ConversationID], SeqSeen{Seq: f.Seq, Ack: f.Type == "ack"})
		}
		c.mu.Unlock()
		select {
		case c.frames <- f:
		case <-ctx.Done():
			return
		}
	}
}

// Frames is the stream of frames as they arrive (closed when the
// connection ends), for a test that reads it itself.
func (c *Conn) Frames() <-chan Frame { return c.frames }

// TrySend writes one JSON frame without failing a test.
func (c *Conn) TrySend(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.WriteRaw(data)
}

// WriteRaw writes one text frame exactly as given, within 5 s.
func (c *Conn) WriteRaw(data []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.WS.Write(ctx, websocket.MessageText, data)
}

// Send writes one JSON frame and fails the test if it cannot.
func (c *Conn) Send(t testing.TB, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: encoding a frame: %v", c.Name, err)
	}
	c.SendRaw(t, data)
}

// SendRaw writes one text frame exactly as given and fails the test if it cannot.
func (c *Conn) SendRaw(t testing.TB, data []byte) {
	t.Helper()
	if err := c.WriteRaw(data); err != nil {
		t.Fatalf("%s: writing a frame: %v", c.Name, err)
	}
}

// HelloFrame is the hello frame: token authenticates, since maps
// conversation ids to the last seq already seen (nil: omitted).
func HelloFrame(token string, since map[string]int64) map[string]any {
	msg := map[string]any{"type": "hello", "token": token}
	if since != nil {
		msg["since"] = since
	}
	return msg
}

// Hello authenticates and returns the welcome frame; an error frame instead
// fails the test.
func (c *Conn) Hello(t testing.TB, token string, since map[string]int64, timeout time.Duration) Frame {
	t.Helper()
	c.Send(t, HelloFrame(token, since))
	f := c.ExpectMatch(t, "welcome (or error)", func(f Frame) bool { return f.Type == "welcome" || f.Type == "error" }, timeout)
	if f.Type != "welcome" {
		t.Fatalf("%s: hello was refused: %s", c.Name, f)
	}
	return f
}

// Expect waits for the next frame of type typ.
func (c *Conn) Expect(t testing.TB, typ string, timeout time.Duration) Frame {
	t.Helper()
	return c.ExpectMatch(t, typ, Is(typ), timeout)
}

// ExpectMatch waits for the first frame match accepts, and fails the test
// after timeout or if the connection ends.
func (c *Conn) ExpectMatch(t testing.TB, desc string, match func(Frame) bool, timeout time.Duration) Frame {
	t.Helper()
	f, err := c.Next(match, timeout)
	if err != nil {
		t.Fatalf("%s: waiting for %s: %v\nframes received so far:\n%s", c.Name, desc, err, c.HistoryText())
	}
	return f
}

// Next is ExpectMatch without a test: it returns an error instead of
// failing. Frames it passes over stay pending unless the connection
// discards them.
func (c *Conn) Next(match func(Frame) bool, timeout time.Duration) (Frame, error) {
	for i, f := range c.pending {
		if match(f) {
			c.pending = append(c.pending[:i:i], c.pending[i+1:]...)
			return f, nil
		}
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				return Frame{}, fmt.Errorf("the connection ended: %v", c.Err())
			}
			if match(f) {
				return f, nil
			}
			if !c.discard {
				c.pending = append(c.pending, f)
			}
		case <-timer.C:
			return Frame{}, fmt.Errorf("nothing within %v", timeout)
		}
	}
}

// ExpectNone reports (without stopping the test) a frame match accepts
// arriving within d.
func (c *Conn) ExpectNone(t testing.TB, desc string, match func(Frame) bool, d time.Duration) {
	t.Helper()
	if f, err := c.Next(match, d); err == nil {
		t.Errorf("%s: want no %s, got %s", c.Name, desc, f)
	}
}

// WaitClosed waits for the connection to end and returns the read error (a
// websocket.CloseError when the server closed it properly); ok is false if
// it is still open after timeout.
func (c *Conn) WaitClosed(timeout time.Duration) (err error, ok bool) {
	select {
	case <-c.done:
		return c.Err(), true
	case <-time.After(timeout):
		return nil, false
	}
}

// Err is the error that ended the reader (nil while it runs).
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readErr
}

// IsOpen reports whether the reader still runs.
func (c *Conn) IsOpen() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// Close performs a normal close handshake (the client going away on purpose).
func (c *Conn) Close() {
	_ = c.WS.Close(websocket.StatusNormalClosure, "bye")
	c.cancel()
	<-c.done
}

// CloseNow drops the connection without a handshake (safe to call twice).
func (c *Conn) CloseNow() {
	_ = c.WS.CloseNow()
	c.cancel()
	<-c.done
}

// History is every frame received so far.
func (c *Conn) History() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Frame(nil), c.history...)
}

// HistoryText is the last 40 frames received, one a line, for messages.
func (c *Conn) HistoryText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	start := 0
	if len(c.history) > 40 {
		start = len(c.history) - 40
		fmt.Fprintf(&b, "  … %d earlier frames\n", start)
	}
	for _, f := range c.history[start:] {
		fmt.Fprintf(&b, "  #%d %s\n", f.Index, f)
	}
	if b.Len() == 0 {
		return "  (none)\n"
	}
	return b.String()
}

// Seqs is what this connection was given of conv, in arrival order.
func (c *Conn) Seqs(conv string) []SeqSeen {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]SeqSeen(nil), c.seqs[conv]...)
}

// MaxSeq is the highest seq this connection has seen for conv, delivered or
// acked: what a reconnect sends as since.
func (c *Conn) MaxSeq(conv string) int64 {
	var top int64
	for _, s := range c.Seqs(conv) {
		top = max(top, s.Seq)
	}
	return top
}

// WaitSeq waits until this connection has seen conv up to seq.
func (c *Conn) WaitSeq(t testing.TB, conv string, seq int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for c.MaxSeq(conv) < seq {
		if time.Now().After(deadline) {
			t.Fatalf("%s: saw conversation %s only up to seq %d within %v, want %d\nframes:\n%s",
				c.Name, conv, c.MaxSeq(conv), timeout, seq, c.HistoryText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// CheckSeqs asserts the delivery guarantee for conv on this connection: the
// message.new seqs arrive strictly increasing (no duplicates), and together
// with the connection's own acks they cover every seq from `from` to the
// highest one seen, with no gap.
func (c *Conn) CheckSeqs(t testing.TB, conv string, from int64) {
	t.Helper()
	c.mu.Lock()
	log, ok := c.seqs[conv]
	var delivered []int64
	seen := map[int64]bool{}
	for _, s := range log {
		if s.Ack {
			seen[s.Seq] = true
		} else {
			delivered = append(delivered, s.Seq)
		}
	}
	c.mu.Unlock()
	if !ok {
		t.Errorf("%s: saw nothing of conversation %s", c.Name, conv)
		return
	}
	for i, s := range delivered {
		if i > 0 && s <= delivered[i-1] {
			t.Errorf("%s: message.new seqs for %s are not strictly increasing: %v", c.Name, conv, delivered)
			break
		}
	}
	var top int64
	for _, s := range delivered {
		seen[s] = true
	}
	for s := range seen {
		top = max(top, s)
	}
	var missing []int64
	for s := from; s <= top; s++ {
		if !seen[s] {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%s: gaps in conversation %s: seqs %v never arrived (delivered %v)\nframes:\n%s",
			c.Name, conv, missing, delivered, c.HistoryText())
	}
}

// IsCloseStatus reports whether err is a close with the given status.
func IsCloseStatus(err error, code websocket.StatusCode) bool {
	return err != nil && websocket.CloseStatus(err) == code
}

// Conv decodes the conversation of a conversation.* frame (nil if it has none).
func (f Frame) Conv() *Conversation {
	if len(f.Conversation) == 0 || f.Conversation[0] != '{' {
		return nil
	}
	var c Conversation
	if json.Unmarshal(f.Conversation, &c) != nil {
		return nil
	}
	return &c
}
