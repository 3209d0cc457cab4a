package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"kefu/cmd/internal/kefuclient"
)

// The load: per tenant a few agents and visitors, each on a preferred node.
// A visitor sends one message at a time with a client id, and resends it
// with the same id after an error, a timeout or a lost socket (reconnecting
// to whichever node answers, saying since); every ack is recorded. Agents
// read every message.new and record each conversation's seqs.

type cluster struct {
	nodes []*node
}

// up lists the nodes to try, preferred first.
func (c *cluster) order(pref int) []*node {
	out := []*node{c.nodes[pref%len(c.nodes)]}
	for i, n := range c.nodes {
		if i != pref%len(c.nodes) {
			out = append(out, n)
		}
	}
	return out
}

// dial connects to the first node that answers, preferred first.
func (c *cluster) dial(ctx context.Context, pref int, token string, since map[string]int64) (*websocket.Conn, int, error) {
	var last error
	for _, n := range c.order(pref) {
		if !n.running() {
			continue
		}
		conn, err := kefuclient.Dial(ctx, n.base(), token, since)
		if err == nil {
			return conn, n.idx, nil
		}
		last = err
	}
	if last == nil {
		last = errors.New("no node is running")
	}
	return nil, -1, last
}

// call makes a REST call on the first node that answers.
func (c *cluster) call(ctx context.Context, method, path, token string, body, out any) error {
	var last error
	for _, n := range c.nodes {
		if !n.running() {
			continue
		}
		err := kefuclient.Call(ctx, method, n.base()+path, token, body, out)
		var se *kefuclient.StatusError
		if err == nil || (errors.As(err, &se) && se.Status < 500) {
			return err
		}
		last = err
	}
	if last == nil {
		last = errors.New("no node is running")
	}
	return last
}

type tenantLoad struct {
	name     string
	id       string
	owner    string
	key      string
	agents   []*agent
	visitors []*visitor
}

// visitor is one visitor and its conversation.
type visitor struct {
	t     *tenantLoad
	idx   int
	pref  int
	token string
	conv  string

	mu       sync.Mutex
	c        *websocket.Conn
	node     int
	n        int              // the next message number
	acked    map[string]int64 // client id → seq
	lastAck  time.Time
	sentAt   time.Time     // when the message in flight was first written
	maxWait  time.Duration // the longest wait for an answer (ack or error) since reset
	errors   int
	unanswer int // sends that got no answer within the deadline
}

// agent is one agent's socket and what it received.
type agent struct {
	t     *tenantLoad
	id    string
	token string
	pref  int

	mu       sync.Mutex
	c        *websocket.Conn
	node     int
	last     map[string]int64 // conversation → the last seq received
	dup, ooo int
	samples  []string // the first few duplicates and gaps, for the report
	lastMsg  time.Time
}

func (a *agent) run(ctx context.Context, cl *cluster, wg *sync.WaitGroup) {
	defer wg.Done()
	var buf bytes.Buffer
	for ctx.Err() == nil {
		a.mu.Lock()
		since := make(map[string]int64, len(a.last))
		for k, v := range a.last {
			since[k] = v
		}
		a.mu.Unlock()
		c, idx, err := cl.dial(ctx, a.pref, a.token, since)
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		// A console says it is online again after it reconnects.
		p, _ := json.Marshal(map[string]any{"type": "presence", "status": "online"})
		if c.Write(ctx, websocket.MessageText, p) != nil {
			c.CloseNow()
			continue
		}
		a.mu.Lock()
		a.c, a.node = c, idx
		a.mu.Unlock()
		for {
			data, err := kefuclient.ReadFrame(c, &buf)
			if err != nil {
				break
			}
			if kefuclient.FrameType(data) != "message.new" {
				continue
			}
			conv := kefuclient.StrField(data, "conversation_id")
			seq := kefuclient.IntField(data, "seq")
			a.mu.Lock()
			switch last := a.last[conv]; {
			case seq <= last:
				a.dup++
				a.sample("seq %d of %s again after %d, on node %d", seq, conv, last, idx)
			case seq != last+1:
				a.ooo++
				a.sample("seq %d of %s after %d, on node %d", seq, conv, last, idx)
				a.last[conv] = seq
			default:
				a.last[conv] = seq
			}
			a.lastMsg = time.Now()
			a.mu.Unlock()
		}
		c.CloseNow()
	}
}

func (a *agent) sample(format string, args ...any) {
	if len(a.samples) < 3 {
		a.samples = append(a.samples, fmt.Sprintf("agent %s: "+format, append([]any{a.id}, args...)...))
	}
}

// kick closes the socket: the client reconnects, preferred node first.
func (a *agent) kick() {
	a.mu.Lock()
	if a.c != nil {
		a.c.CloseNow()
	}
	a.mu.Unlock()
}

func (v *visitor) kick() {
	v.mu.Lock()
	if v.c != nil {
		v.c.CloseNow()
	}
	v.mu.Unlock()
}

// run sends until ctx ends. answerWithin is how long a send may wait for
// its ack or error before it counts as unanswered (and the socket is
// dropped and the message resent).
func (v *visitor) run(ctx context.Context, cl *cluster, interval, answerWithin time.Duration, wg *sync.WaitGroup) {
	defer wg.Done()
	var buf bytes.Buffer
	for ctx.Err() == nil {
		c, idx, err := cl.dial(ctx, v.pref, v.token, nil)
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		v.mu.Lock()
		v.c, v.node = c, idx
		v.mu.Unlock()
		// Frames arrive on their own goroutine; the sender waits on them.
		frames := make(chan []byte, 64)
		go func() {
			defer close(frames)
			for {
				data, err := kefuclient.ReadFrame(c, &buf)
				if err != nil {
					return
				}
				switch kefuclient.FrameType(data) {
				case "ack", "error":
					frames <- bytes.Clone(data)
				}
			}
		}()
		v.sendLoop(ctx, c, frames, interval, answerWithin)
		c.CloseNow()
		for range frames {
		}
	}
}

// sendLoop sends on one socket until it fails; the message in flight is
// resent on the next.
func (v *visitor) sendLoop(ctx context.Context, c *websocket.Conn, frames <-chan []byte, interval, answerWithin time.Duration) {
	for ctx.Err() == nil {
		v.mu.Lock()
		id := strconv.Itoa(v.idx) + "-" + strconv.Itoa(v.n)
		if v.sentAt.IsZero() {
			v.sentAt = time.Now()
		}
		v.mu.Unlock()
		msg, _ := json.Marshal(map[string]any{"type": "message.send", "client_id": id, "conversation_id": v.conv, "body": "chaos " + id})
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := c.Write(wctx, websocket.MessageText, msg)
		cancel()
		if err != nil {
			return
		}
		written := time.Now()
		timer := time.NewTimer(answerWithin)
	wait:
		for {
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
				v.mu.Lock()
				v.unanswer++
				v.mu.Unlock()
				return // drop the socket; resend on the next
			case data, ok := <-frames:
				if !ok {
					timer.Stop()
					return
				}
				if kefuclient.StrField(data, "client_id") != id {
					continue
				}
				took := time.Since(written)
				v.mu.Lock()
				v.maxWait = max(v.maxWait, took)
				if kefuclient.FrameType(data) == "ack" {
					if prev, ok := v.acked[id]; ok && prev != kefuclient.IntField(data, "seq") {
						// Two acks for one client id with different seqs:
						// recorded as a duplicate by the store check.
						v.acked[id+"#"] = kefuclient.IntField(data, "seq")
					}
					v.acked[id] = kefuclient.IntField(data, "seq")
					v.n++
					v.sentAt = time.Time{}
					v.lastAck = time.Now()
					v.mu.Unlock()
					timer.Stop()
					break wait
				}
				v.errors++
				v.mu.Unlock()
				timer.Stop()
				time.Sleep(200 * time.Millisecond) // then the same id again
				break wait
			}
		}
		time.Sleep(interval)
	}
}

// snapshot copies the acks so far.
func (v *visitor) snapshot() map[string]int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]int64, len(v.acked))
	for k, s := range v.acked {
		out[k] = s
	}
	return out
}

func randSuffix() string { return strconv.FormatInt(time.Now().UnixNano()%1e9, 36) }

// setupTenant signs a tenant up with a flow that assigns at once, its
// agents online and its visitors' conversations opened and assigned.
func setupTenant(ctx context.Context, cl *cluster, name string, agents, visitors int) (*tenantLoad, error) {
	t := &tenantLoad{name: name}
	var su struct {
		Tenant struct {
			ID        string `json:"id"`
			Slug      string `json:"slug"`
			WidgetKey string `json:"widget_key"`
		} `json:"tenant"`
		Token string `json:"token"`
	}
	body := map[string]any{"company": "Chaos " + name + " " + randSuffix(), "email": "owner@example.com", "password": "chaos-password", "name": "Owner"}
	if err := cl.call(ctx, "POST", "/api/v1/signup", "", body, &su); err != nil {
		return nil, err
	}
	t.id, t.owner, t.key = su.Tenant.ID, su.Token, su.Tenant.WidgetKey
	flow := map[string]any{"name": "Chaos", "graph": map[string]any{
		"nodes": []map[string]any{{"id": "start", "type": "start"}, {"id": "assign", "type": "assign", "data": map[string]any{"strategy": "round_robin"}}},
		"edges": []map[string]any{{"id": "e", "source": "start", "target": "assign"}},
	}}
	var f struct{ ID string }
	if err := cl.call(ctx, "POST", "/api/v1/flows", t.owner, flow, &f); err != nil {
		return nil, err
	}
	if err := cl.call(ctx, "POST", "/api/v1/flows/"+f.ID+"/publish", t.owner, nil, nil); err != nil {
		return nil, err
	}
	for i := 0; i < agents; i++ {
		email := fmt.Sprintf("agent%d@example.com", i)
		var ag struct{ ID string }
		if err := cl.call(ctx, "POST", "/api/v1/agents", t.owner, map[string]any{"email": email, "name": fmt.Sprintf("Agent %d", i), "password": "chaos-password", "max_concurrent": 100}, &ag); err != nil {
			return nil, err
		}
		var lg struct{ Token string }
		if err := cl.call(ctx, "POST", "/api/v1/auth/login", "", map[string]any{"tenant": su.Tenant.Slug, "email": email, "password": "chaos-password"}, &lg); err != nil {
			return nil, err
		}
		t.agents = append(t.agents, &agent{t: t, id: ag.ID, token: lg.Token, pref: i, last: map[string]int64{}})
	}
	for i := 0; i < visitors; i++ {
		var ws struct {
			Token string `json:"visitor_token"`
		}
		if err := cl.call(ctx, "POST", "/api/v1/widget/sessions", "", map[string]any{"widget_key": t.key, "visitor": map[string]any{"name": fmt.Sprintf("Visitor %d", i)}}, &ws); err != nil {
			return nil, err
		}
		t.visitors = append(t.visitors, &visitor{t: t, idx: i, pref: i, token: ws.Token, acked: map[string]int64{}})
	}
	return t, nil
}

// open sends each visitor's first message, which opens its conversation,
// and records the conversation.
func (v *visitor) open(ctx context.Context, cl *cluster) error {
	c, _, err := cl.dial(ctx, v.pref, v.token, nil)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	id := strconv.Itoa(v.idx) + "-open"
	msg, _ := json.Marshal(map[string]any{"type": "message.send", "client_id": id, "body": "hello"})
	if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		_, data, err := c.Read(rctx)
		if err != nil {
			return err
		}
		switch kefuclient.FrameType(data) {
		case "ack":
			v.conv = kefuclient.StrField(data, "conversation_id")
			v.acked[id] = kefuclient.IntField(data, "seq")
			return nil
		case "error":
			return fmt.Errorf("open: %s", data)
		}
	}
}
