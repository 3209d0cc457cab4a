package ws

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"kefu"
	"kefu/chat"
	"kefu/tenants"
)

// item is one thing for a connection's writer: a ready frame, a message to
// deliver in seq order, a conversation update, a catch-up, a ping. Items are
// read-only once enqueued, so one is shared by every socket an event goes to.
type item struct {
	frame   []byte
	kind    frameKind // frame's type, for the frames-out counter
	msg     *chat.Message
	conv    *chat.Conversation
	catchup string
	since   int64
	cursors map[string]int64 // where the socket's conversations start (hello's since)
	resync  bool             // catch up every conversation this socket follows
	ping    bool             // ping the peer
	ack     *ackItem

	encodeOnce  sync.Once // msg's message.new frame, encoded once for every socket
	encoded     []byte
	skipOwn     string // do not send to the principal with this id
	skipSession string // do not send to this session
}

// frameOnce is the message.new frame of it.msg, encoded by the first socket
// that needs it and shared with the others.
func (it *item) frameOnce() []byte {
	it.encodeOnce.Do(func() {
		m := it.msg
		it.encoded = encode(messageNewFrame{Type: "message.new", ConversationID: m.ConversationID, Seq: m.Seq, Message: m})
	})
	return it.encoded
}

// ackItem answers a message.send once its message is stored.
type ackItem struct {
	clientID string
	conv     string
	seq      int64
	frame    []byte
	read     time.Time // when its message.send was read (ack latency)
}

// conn is one WebSocket. Its serve goroutine reads client frames. A
// writer goroutine exists only while there is something to write: enqueue
// starts one if none runs, and it exits when the queue is empty, so an idle
// socket costs one goroutine. At most one writer runs at a time, and it
// alone owns the per-conversation seq cursors, so ordering and
// de-duplication need no lock.
type conn struct {
	srv       *Server
	ws        *websocket.Conn
	net       *corkConn // under ws: collects the writer's frames into one write
	p         tenants.Principal
	scope     chat.Scope // what p may see (set before the socket is registered)
	lang      string     // of its error frames' messages (the upgrade's Accept-Language)
	sessionID string
	ipKey     string // the client address it is counted under (admission)
	queue     chan *item
	limiter   *rate.Limiter // message.send
	frames    *rate.Limiter // every other frame

	// Reader goroutine only: refused frames (made on the first refusal),
	// and when the last rate_limited error frame went out.
	strikes     *rate.Limiter
	lastLimited time.Time

	// cursors: conversation id → last seq written. Writer goroutine only.
	cursors map[string]int64

	// sending: the client ids of this socket's messages whose ack is not
	// written yet (the reader adds one before storing the message, the
	// writer removes it with the ack). Their message.new is not written back
	// to this socket: the ack, queued behind it, delivers it.
	sendMu  sync.Mutex
	sending []string

	subscribed map[string]struct{} // guarded by the hub shard lock

	ctx       context.Context // the connection's: ended when it ends
	running   atomic.Bool     // a writer goroutine is active
	pingTimer *time.Timer

	closeOnce  sync.Once
	done       chan struct{} // closed when the connection should end
	closeCode  websocket.StatusCode
	closeWhy   string
	closeFrame []byte // written just before the close frame, if set
	shutOnce   sync.Once
	finished   chan struct{} // closed once the socket is shut

	revalidateTimer *time.Timer // user sockets: the next check of their session
}

// enqueue never blocks: a socket that cannot keep up is closed with 1013 and
// its client resumes by seq.
func (c *conn) enqueue(it *item) {
	if it.skipOwn != "" && it.skipOwn == c.p.ID {
		return
	}
	if it.skipSession != "" && it.skipSession == c.sessionID {
		return
	}
	select {
	case c.queue <- it:
		c.kick()
	case <-c.done:
	default:
		c.srv.metrics.slow.Inc()
		c.srv.slowDrops.Add(1)
		c.close(websocket.StatusTryAgainLater, "slow consumer: reconnect and resume by seq")
	}
}

// close ends the connection once; the first reason given wins. A writer
// then shuts the socket, which ends the reader.
func (c *conn) close(code websocket.StatusCode, why string) {
	c.closeWith(code, why, nil)
}

// closeWith is close that first tells the client why in a frame (an error
// frame), written ahead of anything still queued.
func (c *conn) closeWith(code websocket.StatusCode, why string, frame []byte) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeWhy, c.closeFrame = code, why, frame
		close(c.done)
	})
	c.kick()
}

// kick starts a writer unless one is running.
func (c *conn) kick() {
	if c.running.CompareAndSwap(false, true) {
		go c.writeLoop()
	}
}

func (c *conn) isDone() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// writeLoop writes what is queued and exits when the queue is empty (or
// shuts the socket when the connection is done).
func (c *conn) writeLoop() {
	for {
		if c.isDone() {
			c.shut()
			return // running stays set: no writer is needed any more
		}
		select {
		case it := <-c.queue:
			c.net.cork()
			if err := c.handle(c.ctx, it); err != nil {
				if errors.Is(err, errPingTimeout) {
					c.close(websocket.StatusGoingAway, "ping timeout")
				} else {
					c.close(websocket.StatusInternalError, "write failed")
				}
			}
			continue
		default:
		}
		if err := c.net.uncork(); err != nil {
			c.close(websocket.StatusInternalError, "write failed")
			continue
		}
		c.running.Store(false)
		// Something may have arrived between the empty check and the store;
		// whoever wins the flag carries on.
		if (len(c.queue) == 0 && !c.isDone()) || !c.running.CompareAndSwap(false, true) {
			return
		}
	}
}

// shut says why, when there is a why and the socket can still take it,
// then closes the socket. A socket closed for breaking the rules (1008)
// first gets the error frames still queued for it, which say which rule.
func (c *conn) shut() {
	c.shutOnce.Do(func() {
		if c.closeCode == websocket.StatusPolicyViolation {
			c.net.cork()
			for n := len(c.queue); n > 0; n-- {
				if it := <-c.queue; it.frame != nil {
					_ = c.write(it.kind, it.frame)
				}
			}
		}
		_ = c.net.uncork()
		if c.pingTimer != nil {
			c.pingTimer.Stop()
		}
		if c.revalidateTimer != nil {
			c.revalidateTimer.Stop()
		}
		if c.closeFrame != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			c.srv.metrics.framesOut[frameError].Inc()
			_ = c.ws.Write(ctx, websocket.MessageText, c.closeFrame)
			cancel()
		}
		if c.closeCode != 0 && c.closeCode != websocket.StatusMessageTooBig {
			c.ws.Close(c.closeCode, c.closeWhy)
		}
		c.ws.CloseNow()
		close(c.finished)
	})
}

var (
	errPingTimeout = errors.New("ping timeout")
	errClosing     = errors.New("connection closing")
)

// startPings pings the peer every interval from a timer (no goroutine
// waits for it); a peer that does not answer in time is gone.
func (c *conn) startPings(interval time.Duration) {
	c.pingTimer = time.AfterFunc(interval, func() {
		if c.isDone() {
			return
		}
		c.enqueue(&item{ping: true})
		c.pingTimer.Reset(interval)
	})
}

// logger carries the socket's tenant and principal; made when something is
// logged rather than kept per socket, which idle sockets would pay for.
func (c *conn) logger() *slog.Logger {
	return c.srv.log.With("tenant_id", c.p.TenantID, "principal", c.p.Kind+":"+c.p.ID)
}

func (c *conn) isVisitor() bool { return c.p.Kind == tenants.KindVisitor }

// write writes one frame of the given kind. The writer runs corked, so
// this only copies the frame into memory (no context is needed, and one
// would cost a timer registration per frame); uncork sends it, within the
// write timeout.
func (c *conn) write(kind frameKind, b []byte) error {
	c.srv.metrics.framesOut[kind].Inc()
	return c.ws.Write(context.Background(), websocket.MessageText, b)
}

func (c *conn) handle(ctx context.Context, it *item) error {
	switch {
	case it.frame != nil:
		return c.write(it.kind, it.frame)
	case it.msg != nil:
		return c.deliver(ctx, it)
	case it.ack != nil:
		return c.acknowledge(ctx, it.ack)
	case it.conv != nil:
		var f conversationFrame
		if c.isVisitor() {
			f = conversationFrame{Type: "conversation.updated", Conversation: it.conv.ForVisitor()}
		} else {
			f = conversationFrame{Type: "conversation.updated", Conversation: it.conv}
		}
		if err := c.write(frameConversation, encode(f)); err != nil {
			return err
		}
		// Newly assigned to this agent: send what they have not seen.
		if !c.isVisitor() && it.conv.AssigneeID == c.p.ID {
			if _, seen := c.cursors[it.conv.ID]; !seen {
				return c.catchUp(ctx, it.conv.ID, 0)
			}
		}
		return nil
	case it.catchup != "":
		return c.catchUp(ctx, it.catchup, it.since)
	case it.cursors != nil:
		for id, seq := range it.cursors {
			c.cursors[id] = max(c.cursors[id], seq)
		}
		return nil
	case it.resync:
		return c.resync(ctx)
	case it.ping:
		// The ping must leave now, and the writer waits for its pong.
		if err := c.net.uncork(); err != nil {
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, c.srv.cfg.PingInterval)
		defer cancel()
		if err := c.ws.Ping(pctx); err != nil {
			return errPingTimeout
		}
	}
	return nil
}

// resync catches up every conversation the socket follows, and for a user
// the open conversations assigned to them (an assignment event may be among
// what was lost).
func (c *conn) resync(ctx context.Context) error {
	follow := map[string]bool{}
	for id := range c.cursors {
		follow[id] = true
	}
	var convs []chat.Conversation
	var err error
	if c.isVisitor() {
		convs, err = c.srv.chat.VisitorConversations(ctx, c.p)
	} else {
		convs, _, err = c.srv.chat.Conversations(ctx, c.p, chat.ListFilter{OpenOnly: true, Assignee: "me", Limit: 200})
	}
	if err != nil {
		c.logger().Warn("ws resync", "err", err)
	}
	for i := range convs {
		cv := &convs[i]
		if !follow[cv.ID] && !c.isVisitor() {
			if err := c.write(frameConversation, encode(conversationFrame{Type: "conversation.updated", Conversation: cv})); err != nil {
				return err
			}
		}
		follow[cv.ID] = true
	}
	for id := range follow {
		if err := c.catchUp(ctx, id, 0); err != nil {
			return err
		}
	}
	return nil
}

// deliver writes m if it is the next seq this socket needs; an old seq is
// dropped, and a gap is filled from the store first.
func (c *conn) deliver(ctx context.Context, it *item) error {
	m := it.msg
	cur, following := c.cursors[m.ConversationID]
	if !following && c.p.Kind == tenants.KindAPIKey {
		// A key hears every conversation from the moment it connects; it
		// catches up earlier messages only where its hello asked.
		cur = m.Seq - 1
	}
	switch {
	case m.Seq <= cur:
		return nil
	case m.Seq == cur+1:
		c.cursors[m.ConversationID] = m.Seq
		if m.Private && c.isVisitor() {
			return nil // the visitor never sees notes; the seq is simply skipped
		}
		if c.own(m) {
			return nil
		}
		return c.write(frameMessageNew, it.frameOnce())
	default:
		return c.catchUp(ctx, m.ConversationID, cur)
	}
}

// own: m is this socket's message, whose ack is still to come.
func (c *conn) own(m *chat.Message) bool {
	if m.ClientID == "" || m.Author.ID != c.p.ID {
		return false
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	for _, id := range c.sending {
		if id == m.ClientID {
			return true
		}
	}
	return false
}

func (c *conn) startSending(clientID string) {
	if clientID != "" {
		c.sendMu.Lock()
		c.sending = append(c.sending, clientID)
		c.sendMu.Unlock()
	}
}

func (c *conn) doneSending(clientID string) {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	for i, id := range c.sending {
		if id == clientID {
			c.sending = append(c.sending[:i], c.sending[i+1:]...)
			break
		}
	}
	if len(c.sending) == 0 {
		c.sending = nil
	}
}

// acknowledge writes an ack, which also delivers the sender's own message to
// this socket: every earlier seq of the conversation is written first (from
// the store if the bus has not brought it yet), and the cursor moves past the
// message, so the sender is not sent its own message back as message.new. A
// client holding the ack for seq N therefore holds every message before N,
// and may resume from N. (A user's socket that does not follow the
// conversation just gets the ack.)
func (c *conn) acknowledge(ctx context.Context, a *ackItem) error {
	defer c.doneSending(a.clientID)
	cur, following := c.cursors[a.conv]
	if following || c.isVisitor() {
		switch {
		case a.seq == cur+1:
			c.cursors[a.conv] = a.seq
		case a.seq > cur+1:
			if err := c.catchUp(ctx, a.conv, cur); err != nil {
				return err
			}
		}
	}
	err := c.write(frameAck, a.frame)
	c.srv.metrics.ack.Observe(time.Since(a.read).Seconds())
	return err
}

// catchUp writes every stored message after max(since, cursor), in order.
func (c *conn) catchUp(ctx context.Context, convID string, since int64) error {
	cur, ok := c.cursors[convID]
	if !ok || since > cur {
		cur = since
	}
	for {
		var (
			msgs []chat.Message
			err  error
		)
		shallow(func() { msgs, err = c.srv.chat.MessagesAfter(ctx, c.p, c.scope, convID, cur, 200) })
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			c.logger().Warn("ws catch-up", "conversation_id", convID, "err", err)
			c.cursors[convID] = cur
			return nil
		}
		for i := range msgs {
			m := &msgs[i]
			cur = m.Seq
			if c.own(m) {
				continue // its ack is coming
			}
			if err := c.write(frameMessageNew, encode(messageNewFrame{Type: "message.new", ConversationID: convID, Seq: m.Seq, Message: m})); err != nil {
				return err
			}
		}
		c.cursors[convID] = cur
		if len(msgs) < 200 {
			return nil
		}
	}
}

// readBufs hold a client frame while it is decoded: an idle socket keeps no
// read buffer of its own.
var readBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readFrame reads the next client frame and decodes it (the decoded frame
// copies what it keeps, so the buffer goes back to the pool). It reads
// without a context: shut closes the socket, which ends the read, and a
// context would cost a timer registration per frame.
func (c *conn) readFrame() (websocket.MessageType, inFrame, error) {
	typ, r, err := c.ws.Reader(context.Background())
	if err != nil {
		return 0, inFrame{}, err
	}
	buf := readBufs.Get().(*bytes.Buffer)
	defer readBufs.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(r); err != nil {
		return 0, inFrame{}, err
	}
	if typ != websocket.MessageText {
		return typ, inFrame{}, nil
	}
	f, err := parseFrame(buf.Bytes())
	if _, invalid := kefu.AsError(err); err != nil && !invalid {
		return typ, inFrame{}, errBadJSON{err}
	}
	return typ, f, err
}

type errBadJSON struct{ error }

// errFlood ends a socket that kept sending frames after being refused.
var errFlood = errors.New("frame flood")

// reader handles client frames until the socket fails or closes.
func (c *conn) reader(ctx context.Context) error {
	for {
		typ, f, err := c.readFrame()
		var bad errBadJSON
		invalid, isInvalid := kefu.AsError(err)
		if err != nil && !errors.As(err, &bad) && !isInvalid {
			return err
		}
		if c.isDone() {
			// Closing (signed out, say): nothing more is acted on.
			return errClosing
		}
		if !c.allow(f) {
			if c.flooding() {
				c.srv.metrics.refused.WithLabelValues("flood").Inc()
				c.sendError("", kefu.ERateLimit, "too many frames: closing")
				c.close(websocket.StatusPolicyViolation, "too many frames")
				return errFlood
			}
			continue
		}
		if typ != websocket.MessageText {
			c.sendError("", kefu.EInvalid, "frames must be JSON text")
			continue
		}
		c.srv.metrics.frameIn(f.Type)
		switch {
		case isInvalid:
			c.sendErr(f.ClientID, invalid)
		case err != nil:
			c.sendError("", kefu.EInvalid, "bad JSON: "+err.Error())
		default:
			c.dispatch(ctx, f)
		}
	}
}

// allow spends a frame's budget: message.send has its own (the send rate),
// every other frame shares the frame budget. A refused send is answered
// with rate_limited for its client_id (its sender must know it failed);
// other refused frames get at most one rate_limited error a second.
func (c *conn) allow(f inFrame) bool {
	if f.Type == "message.send" {
		if c.limiter.Allow() {
			return true
		}
		c.sendError(f.ClientID, kefu.ERateLimit, "sending too fast; slow down")
		return false
	}
	if c.frames.Allow() {
		return true
	}
	if now := time.Now(); now.Sub(c.lastLimited) >= time.Second {
		c.lastLimited = now
		c.sendError("", kefu.ERateLimit, "too many frames; slow down")
	}
	return false
}

// flooding counts a refused frame, and reports whether the client has kept
// on sending after refusals for as long as the frame burst.
func (c *conn) flooding() bool {
	if c.strikes == nil {
		c.strikes = rate.NewLimiter(c.srv.cfg.FrameRate, c.srv.cfg.FrameBurst)
	}
	return !c.strikes.Allow()
}

func (c *conn) sendError(clientID, code, msg string) {
	c.enqueue(&item{frame: encode(errorFrame{Type: "error", ClientID: clientID, Code: code, Message: kefu.Localize(c.lang, msg)}), kind: frameError})
}

func (c *conn) sendErr(clientID string, err error) {
	if e, ok := kefu.AsError(err); ok {
		c.sendError(clientID, e.Code, e.Message)
		return
	}
	c.logger().Error("ws request failed", "err", err)
	c.sendError(clientID, kefu.EInternal, "internal error")
}

func (c *conn) dispatch(ctx context.Context, f inFrame) {
	switch f.Type {
	case "ping":
		c.enqueue(&item{frame: pongFrame, kind: framePong})
	case "message.send":
		if c.p.Kind == tenants.KindAPIKey {
			// A key's socket reads; it sends only if its role may write.
			if ok, err := c.srv.tenants.Can(c.p, tenants.ObjConversations, tenants.ActWrite); err != nil || !ok {
				c.sendError(f.ClientID, kefu.EDenied, "this API key may not send messages")
				return
			}
		}
		read := time.Now()
		c.startSending(f.ClientID)
		sctx, span := c.traceSend(ctx, f)
		m, dup, err := c.srv.chat.Send(sctx, c.p, chat.SendInput{ConversationID: f.ConversationID, ClientID: f.ClientID, Body: f.Body, Private: f.Private, Attachments: f.Attachments})
		if span != nil {
			if err != nil {
				span.SetStatus(codes.Error, kefu.Code(err))
			}
			span.SetAttributes(attribute.String("kefu.conversation_id", m.ConversationID), attribute.Int64("kefu.seq", m.Seq))
			span.End()
		}
		if err != nil {
			c.doneSending(f.ClientID)
			c.sendErr(f.ClientID, err)
			return
		}
		c.srv.metrics.messagesIn.Inc()
		c.enqueue(&item{ack: &ackItem{clientID: f.ClientID, conv: m.ConversationID, seq: m.Seq, frame: encode(ackFrame{Type: "ack", ClientID: f.ClientID, ConversationID: m.ConversationID, Seq: m.Seq, MessageID: m.ID, Duplicate: dup}), read: read}})
	case "read":
		if _, err := c.srv.chat.MarkRead(ctx, c.p, f.ConversationID, f.Seq); err != nil {
			c.sendErr("", err)
		}
	case "typing":
		if err := c.srv.chat.Typing(ctx, c.p, f.ConversationID, f.State, c.sessionID); err != nil {
			c.sendErr("", err)
		}
	case "presence":
		if c.p.Kind != tenants.KindUser {
			c.sendError("", kefu.EDenied, "only users have presence")
			return
		}
		if err := c.srv.chat.SetPresence(ctx, c.p, f.Status, c.sessionID); err != nil {
			c.sendErr("", err)
			return
		}
		c.enqueue(&item{frame: encode(presenceFrame{Type: "presence", UserID: c.p.ID, Status: f.Status}), kind: framePresence})
	case "subscribe", "unsubscribe":
		if c.p.Kind != tenants.KindUser {
			c.sendError("", kefu.EDenied, "only users open conversations")
			return
		}
		if _, err := c.srv.chat.Conversation(ctx, c.p, f.ConversationID); err != nil {
			c.sendErr("", err)
			return
		}
		c.srv.hub.subscribe(c, f.ConversationID, f.Type == "subscribe")
		if f.Type == "subscribe" {
			c.enqueue(&item{catchup: f.ConversationID, since: f.sinceSeq()})
		}
	case "handoff":
		// The widget's "talk to a person" button.
		if !c.isVisitor() {
			c.sendError("", kefu.EDenied, "only visitors ask for a person")
			return
		}
		if !c.limiter.Allow() {
			c.sendError("", kefu.ERateLimit, "too fast; slow down")
			return
		}
		if err := c.srv.chat.RequestPerson(ctx, c.p, f.ConversationID); err != nil {
			c.sendErr("", err)
		}
	case "hello":
		c.sendError("", kefu.EInvalid, "already authenticated")
	default:
		c.sendError("", kefu.EInvalid, "unknown frame type "+quote(f.Type))
	}
}

// traceSend starts the trace of a message.send (nil span when tracing is
// off): its message's path — Send, the commit, the publication, the
// deliveries — hangs under it.
func (c *conn) traceSend(ctx context.Context, f inFrame) (context.Context, trace.Span) {
	if c.srv.tracer == nil {
		return ctx, nil
	}
	return c.srv.tracer.Start(ctx, "ws message.send", trace.WithSpanKind(trace.SpanKindServer), trace.WithNewRoot(),
		trace.WithAttributes(attribute.String("kefu.tenant_id", c.p.TenantID), attribute.String("kefu.principal", c.p.Kind), attribute.String("kefu.client_id", f.ClientID)))
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return `"` + s + `"`
}
