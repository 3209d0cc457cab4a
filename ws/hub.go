package ws

import (
	"hash/fnv"
	"sync"

	"kefu/chat"
	"kefu/tenants"
)

const shardCount = 64

// Hub indexes this node's connections by tenant, so delivering an event
// touches only the sockets that want it. It is split into shards by tenant,
// each with its own lock: no lock is crossed by every tenant's traffic.
type Hub struct {
	shards [shardCount]shard
}

type shard struct {
	mu      sync.RWMutex
	tenants map[string]*tenantIndex
}

type connSet map[*conn]struct{}

type tenantIndex struct {
	visitors map[string]connSet // visitor id → sockets
	users    map[string]connSet // user id → sockets
	staff    connSet            // users who see every conversation (supervisors, admins, owners; agents when the tenant allows)
	agents   connSet            // agents limited to a scope: they hear of the conversations it covers
	subs     map[string]connSet // conversation id → sockets that opened it
	keys     connSet            // API keys' sockets: every event of the tenant
	count    int
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	h := &Hub{}
	for i := range h.shards {
		h.shards[i].tenants = map[string]*tenantIndex{}
	}
	return h
}

func (h *Hub) shard(tenant string) *shard {
	f := fnv.New32a()
	f.Write([]byte(tenant))
	return &h.shards[f.Sum32()%shardCount]
}

func add(m map[string]connSet, k string, c *conn) {
	s := m[k]
	if s == nil {
		s = connSet{}
		m[k] = s
	}
	s[c] = struct{}{}
}

func remove(m map[string]connSet, k string, c *conn) {
	if s := m[k]; s != nil {
		delete(s, c)
		if len(s) == 0 {
			delete(m, k)
		}
	}
}

func (h *Hub) register(c *conn) {
	sh := h.shard(c.p.TenantID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ti := sh.tenants[c.p.TenantID]
	if ti == nil {
		ti = &tenantIndex{visitors: map[string]connSet{}, users: map[string]connSet{}, staff: connSet{}, agents: connSet{}, subs: map[string]connSet{}, keys: connSet{}}
		sh.tenants[c.p.TenantID] = ti
	}
	ti.count++
	if c.p.Kind == tenants.KindVisitor {
		add(ti.visitors, c.p.ID, c)
		return
	}
	add(ti.users, c.p.ID, c)
	if c.p.Kind == tenants.KindAPIKey {
		ti.keys[c] = struct{}{}
	}
	if c.scope.All {
		ti.staff[c] = struct{}{}
	} else {
		ti.agents[c] = struct{}{}
	}
}

func (h *Hub) unregister(c *conn) {
	sh := h.shard(c.p.TenantID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ti := sh.tenants[c.p.TenantID]
	if ti == nil {
		return
	}
	remove(ti.visitors, c.p.ID, c)
	remove(ti.users, c.p.ID, c)
	delete(ti.staff, c)
	delete(ti.agents, c)
	delete(ti.keys, c)
	for conv := range c.subscribed {
		remove(ti.subs, conv, c)
	}
	ti.count--
	if ti.count == 0 {
		delete(sh.tenants, c.p.TenantID)
	}
}

// subscribe makes c receive conv's messages (a user opened it). c.subscribed
// is guarded by the shard lock.
func (h *Hub) subscribe(c *conn, conv string, on bool) {
	sh := h.shard(c.p.TenantID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ti := sh.tenants[c.p.TenantID]
	if ti == nil {
		return
	}
	if on {
		add(ti.subs, conv, c)
		c.subscribed[conv] = struct{}{}
	} else {
		remove(ti.subs, conv, c)
		delete(c.subscribed, conv)
	}
}

// Count is the number of open connections on this node.
func (h *Hub) Count() int {
	n := 0
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		for _, ti := range sh.tenants {
			n += ti.count
		}
		sh.mu.RUnlock()
	}
	return n
}

// dispatch hands an event to the sockets that want it, and says to how
// many. It never blocks: a socket whose queue is full is dropped and
// resumes by seq.
func (h *Hub) dispatch(e chat.Event) int {
	if e.Kind == chat.EventResync {
		h.resync()
		return 0
	}
	sh := h.shard(e.TenantID)
	sh.mu.RLock()
	ti := sh.tenants[e.TenantID]
	if ti == nil {
		sh.mu.RUnlock()
		return 0
	}
	if e.Kind == chat.EventRevoke {
		doomed := revokeTargets(ti, e)
		sh.mu.RUnlock()
		for _, c := range doomed {
			c.revoke(e.Reason)
		}
		return len(doomed)
	}
	targets := make(connSet, 4)
	put := func(s connSet) {
		for c := range s {
			targets[c] = struct{}{}
		}
	}
	participants := func() {
		if e.VisitorID != "" {
			put(ti.visitors[e.VisitorID])
		}
		if e.AssigneeID != "" {
			put(ti.users[e.AssigneeID])
		}
		put(ti.subs[e.ConversationID])
	}
	var (
		it   *item
		lost []*conn // subscribers the conversation is no longer visible to
	)
	switch e.Kind {
	case chat.EventMessage:
		participants()
		put(ti.keys)
		it = messageItem(e.Message)
	case chat.EventConversation:
		participants()
		put(ti.staff)
		if e.PrevAssigneeID != "" {
			put(ti.users[e.PrevAssigneeID])
		}
		if cv := e.Conversation; cv != nil {
			for c := range ti.agents {
				if c.scope.CanSee(cv.Visitor.ID, cv.AssigneeID, cv.Team) {
					targets[c] = struct{}{}
				}
			}
			for c := range ti.subs[e.ConversationID] {
				if !c.scope.CanSee(cv.Visitor.ID, cv.AssigneeID, cv.Team) {
					lost = append(lost, c)
				}
			}
		}
		it = conversationItem(e.Conversation)
	case chat.EventRead:
		participants()
		put(ti.keys)
		it = frameItem(frameRead, encode(readFrame{Type: "read", ConversationID: e.ConversationID, Reader: e.Reader, Seq: e.Seq}))
	case chat.EventTyping:
		participants()
		it = frameItem(frameTyping, encode(typingFrame{Type: "typing", ConversationID: e.ConversationID, Author: e.Reader, State: e.State}))
		it.skipOwn = e.Reader.ID
	case chat.EventDelta:
		participants() // the visitor and the agents who opened it
		it = frameItem(frameDelta, encode(deltaFrame{Type: "message.delta", ConversationID: e.ConversationID, StreamID: e.StreamID, Text: e.Text, Done: e.Done}))
	case chat.EventQueue:
		if e.VisitorID != "" {
			put(ti.visitors[e.VisitorID])
		}
		qf := queueFrame{Type: "queue", ConversationID: e.ConversationID, Position: e.Position}
		if e.Position > 0 && e.Wait >= 0 {
			w := e.Wait
			qf.EstimatedWaitSeconds = &w
		}
		it = frameItem(frameQueue, encode(qf))
	case chat.EventPresence:
		put(ti.staff)
		put(ti.users[e.UserID])
		it = frameItem(framePresence, encode(presenceFrame{Type: "presence", UserID: e.UserID, Status: e.Status}))
		it.skipSession = e.Origin
	}
	sh.mu.RUnlock()
	for _, c := range lost {
		h.subscribe(c, e.ConversationID, false)
	}
	if it == nil {
		return 0 // an event no socket hears (a flow published, say)
	}
	for c := range targets {
		c.enqueue(it)
	}
	return len(targets)
}

// resync asks every socket to catch up from the database, after the bus may
// have lost events.
func (h *Hub) resync() {
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		var all []*conn
		for _, ti := range sh.tenants {
			for _, set := range ti.visitors {
				for c := range set {
					all = append(all, c)
				}
			}
			for _, set := range ti.users {
				for c := range set {
					all = append(all, c)
				}
			}
		}
		sh.mu.RUnlock()
		for _, c := range all {
			c.enqueue(resyncItem())
		}
	}
}
