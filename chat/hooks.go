package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"gorm.io/gorm"

	"kefu/tenants"
)

// Webhook events. chat writes each one into the webhook outbox in the same
// statement or transaction as the change it reports (a transactional
// outbox); the webhook package delivers them. The outbox is the platform's
// table on PostgreSQL, so the workers of every node claim from one table,
// and the tenant's own file on SQLite, where a transaction cannot span
// files.
const (
	HookConversationCreated     = "conversation.created"
	HookConversationAssigned    = "conversation.assigned"
	HookConversationTransferred = "conversation.transferred"
	HookConversationResolved    = "conversation.resolved"
	HookConversationReopened    = "conversation.reopened"
	HookMessageCreated          = "message.created"
	HookContactCreated          = "contact.created"
	HookContactUpdated          = "contact.updated"
	HookCSATSubmitted           = "csat.submitted"
	// HookTest is what "send test event" delivers; no one subscribes to it.
	HookTest = "webhook.test"
)

// HookEvents is every event type a webhook may subscribe to.
func HookEvents() []string {
	return []string{HookConversationCreated, HookConversationAssigned, HookConversationTransferred, HookConversationResolved,
		HookConversationReopened, HookMessageCreated, HookContactCreated, HookContactUpdated, HookCSATSubmitted}
}

// hookBit is an event type's bit in a tenant's subscription mask (0 for a
// type nobody can subscribe to).
func hookBit(typ string) uint16 {
	for i, t := range HookEvents() {
		if t == typ {
			return 1 << i
		}
	}
	return 0
}

// hookSubs caches, per tenant, which event types at least one enabled webhook
// subscribes to, so that a tenant without webhooks pays nothing on the
// message path: not a statement, not a byte. A change to a tenant's webhooks
// on any node drops the entry on every node (EventHooks on the bus); a
// resync drops them all; and entries expire after a minute in case a drop
// was lost. gen guards against a load that raced a drop storing what it read
// before the drop.
type hookSubs struct {
	cache *expirable.LRU[string, uint16]
	gen   atomic.Uint64
}

func newHookSubs() *hookSubs {
	return &hookSubs{cache: expirable.NewLRU[string, uint16](100000, nil, time.Minute)}
}

func (h *hookSubs) drop(tenantID string) {
	h.gen.Add(1)
	if tenantID == "" {
		h.cache.Purge()
		return
	}
	h.cache.Remove(tenantID)
}

// wantsHook reports whether an enabled webhook of the tenant subscribes to
// typ. The first call for a tenant (per node, per minute) reads its webhooks;
// when that read fails it answers true: the outbox insert joins the webhooks
// table itself, so a needless insert writes no row, while a wrong false
// would lose an event.
func (s *Service) wantsHook(ctx context.Context, db *tenants.DB, tenantID, typ string) bool {
	bit := hookBit(typ)
	if bit == 0 {
		return false
	}
	if m, ok := s.subs.cache.Get(tenantID); ok {
		return m&bit != 0
	}
	gen := s.subs.gen.Load()
	var lists []string
	if err := db.WithContext(ctx).Raw(`SELECT events FROM ` + db.Table("webhooks") + ` WHERE enabled`).Scan(&lists).Error; err != nil {
		s.log.Warn("webhook subscriptions", "tenant_id", tenantID, "err", err)
		return true
	}
	var mask uint16
	for _, l := range lists {
		var types []string
		_ = json.Unmarshal([]byte(l), &types)
		for _, t := range types {
			mask |= hookBit(t)
		}
	}
	if s.subs.gen.Load() == gen {
		s.subs.cache.Add(tenantID, mask)
	}
	return mask&bit != 0
}

// WebhooksChanged tells every node that the tenant's webhooks changed, so
// their cached subscriptions are read again. The webhook service calls it
// after every change; an event committed on a node before it hears of the
// change follows the old subscriptions.
func (s *Service) WebhooksChanged(ctx context.Context, tenantID string) {
	s.subs.drop(tenantID)
	s.publish(ctx, Event{Kind: EventHooks, TenantID: tenantID})
}

// OnWebhookEvents registers fn, called after a commit that wrote outbox rows
// for the tenant (the webhook worker of this node wakes up at once instead
// of at its next poll). Set it before the service handles traffic.
func (s *Service) OnWebhookEvents(fn func(tenantID string)) { s.hookWritten = fn }

func (s *Service) hooksWritten(tenantID string) {
	if s.hookWritten != nil {
		s.hookWritten(tenantID)
	}
}

// OutboxTable is the quoted name of the webhook outbox that holds db's
// events: the platform's table on PostgreSQL, the tenant's own on SQLite.
func (s *Service) OutboxTable(db *tenants.DB) string {
	if db.Dialect == tenants.Postgres {
		return s.tenants.Store().Platform().Table("webhook_outbox")
	}
	return db.Table("webhook_outbox")
}

// hookEvent is one event for the outbox: its payload is complete, and the
// insert fans it out to every enabled webhook of the tenant subscribed to its
// type (and, for a private note, asking for notes).
type hookEvent struct {
	id, typ, chain string
	payload        string
	private        bool
	at             time.Time
}

// enqueueHooks writes evs to the outbox inside tx with one statement: an
// INSERT … SELECT joining the events to the tenant's webhooks, in event
// order (the outbox id orders a conversation's events).
func (s *Service) enqueueHooks(tx *gorm.DB, db *tenants.DB, tenantID string, evs []hookEvent) error {
	if len(evs) == 0 {
		return nil
	}
	pg := db.Dialect == tenants.Postgres
	var b strings.Builder
	args := make([]any, 0, 1+7*len(evs))
	args = append(args, tenantID)
	for i, e := range evs {
		switch {
		case i > 0:
			b.WriteString(" UNION ALL SELECT ?, ?, ?, ?, ?, ?, ?")
		case pg:
			b.WriteString("SELECT CAST(? AS integer) AS ord, CAST(? AS text) AS event_id, CAST(? AS text) AS type, CAST(? AS text) AS chain, CAST(? AS text) AS payload, CAST(? AS boolean) AS private, CAST(? AS timestamptz) AS at")
		default:
			b.WriteString("SELECT ? AS ord, ? AS event_id, ? AS type, ? AS chain, ? AS payload, ? AS private, ? AS at")
		}
		args = append(args, i, e.id, e.typ, e.chain, e.payload, e.private, e.at)
	}
	match := `EXISTS (SELECT 1 FROM json_each(w.events) j WHERE j.value = e.type)`
	if pg {
		match = `jsonb_exists(w.events::jsonb, e.type)`
	}
	q := `INSERT INTO ` + s.OutboxTable(db) + ` (tenant_id, webhook_id, event_id, type, chain, payload, next_at, created_at, updated_at)
SELECT ?, w.id, e.event_id, e.type, e.chain, e.payload, e.at, e.at, e.at
FROM (` + b.String() + `) AS e JOIN ` + db.Table("webhooks") + ` w ON w.enabled AND ` + match + ` AND (NOT e.private OR w.include_private)
ORDER BY e.ord, w.id`
	return tx.Exec(q, args...).Error
}

// HookEnvelope is every delivery's body: {id, type, created_at, tenant_id,
// data}. event repeats type under the name the first contract gave it.
type HookEnvelope struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Event     string    `json:"event"`
	CreatedAt time.Time `json:"created_at"`
	TenantID  string    `json:"tenant_id"`
	Data      any       `json:"data"`
}

// HookPayload is an event's body as delivered.
func HookPayload(tenantID, id, typ string, at time.Time, data any) string {
	b, _ := json.Marshal(HookEnvelope{ID: id, Type: typ, Event: typ, CreatedAt: at, TenantID: tenantID, Data: data})
	return string(b)
}

// ConversationRef is the conversation a message.created event happened in,
// as of the message's commit.
type ConversationRef struct {
	ID         string  `json:"id"`
	Status     string  `json:"status"`
	AssigneeID *string `json:"assignee_id"`
	VisitorID  string  `json:"visitor_id"`
}

func refOf(c conversationRow) ConversationRef {
	return ConversationRef{ID: c.ID, Status: c.Status, AssigneeID: c.AssigneeID, VisitorID: c.VisitorID}
}

// messageHookParts splits message.created's payload around the message's
// seq, which on PostgreSQL only the storing statement knows: the payload is
// a + seq + b + the conversation's JSON + "}}". The first `"seq":0` of the
// encoding is the message's own (every string is escaped, so user text
// cannot hold one, and id and conversation_id come before it).
func messageHookParts(tenantID, eventID string, m Message) (a, b string) {
	m.Seq = 0
	mb, _ := json.Marshal(m)
	head, _ := json.Marshal(HookEnvelope{ID: eventID, Type: HookMessageCreated, Event: HookMessageCreated, CreatedAt: m.CreatedAt, TenantID: tenantID})
	// head ends with "data":null}: cut the null} and open data.
	head = bytes.TrimSuffix(head, []byte(`null}`))
	i := bytes.Index(mb, []byte(`"seq":0`))
	return string(head) + `{"message":` + string(mb[:i]) + `"seq":`, string(mb[i+len(`"seq":0`):]) + `,"conversation":`
}

// hookParts is message.created for one message, made before its seq and
// its conversation's state are known (messageHookParts).
type hookParts struct {
	id, msgID, tenantID, a, b string
	chain                     string
	private                   bool
	at                        time.Time
}

// hookPartsOf prepares message.created for m (as the API shows it).
func hookPartsOf(tenantID string, m Message) *hookParts {
	id := tenants.NewID()
	a, b := messageHookParts(tenantID, id, m)
	return &hookParts{id: id, msgID: m.ID, tenantID: tenantID, a: a, b: b, chain: m.ConversationID, private: m.Private, at: m.CreatedAt}
}

// newHookParts prepares message.created for row.
func (s *Service) newHookParts(tenantID string, row messageRow) *hookParts {
	return hookPartsOf(tenantID, s.messageOf(tenantID, row))
}

// event completes the payload once the message is stored as seq in conv.
func (h *hookParts) event(seq int64, conv conversationRow) hookEvent {
	cj, _ := json.Marshal(refOf(conv))
	return hookEvent{id: h.id, typ: HookMessageCreated, chain: h.chain, payload: h.a + strconv.FormatInt(seq, 10) + h.b + string(cj) + "}}", private: h.private, at: h.at}
}

// messageHook is message.created for a stored message.
func (s *Service) messageHook(tenantID string, row messageRow, conv conversationRow) hookEvent {
	return s.newHookParts(tenantID, row).event(row.Seq, conv)
}

// messageHookOf is message.created for a stored message as the API shows it.
func messageHookOf(tenantID string, m Message, conv conversationRow) hookEvent {
	return hookPartsOf(tenantID, m).event(m.Seq, conv)
}

// hookFor is message.created for row when a webhook of the tenant wants it.
func (s *Service) hookFor(ctx context.Context, db *tenants.DB, tenantID string, row messageRow) *hookParts {
	if !s.wantsHook(ctx, db, tenantID, HookMessageCreated) {
		return nil
	}
	return s.newHookParts(tenantID, row)
}

// ConversationHookData is the data of the conversation.* events.
type ConversationHookData struct {
	Conversation       Conversation `json:"conversation"`
	PreviousAssigneeID *string      `json:"previous_assignee_id,omitempty"`
}

// conversationHook is a conversation.* event.
func conversationHook(tenantID, typ string, c Conversation, prevAssignee string, at time.Time) hookEvent {
	id := tenants.NewID()
	d := ConversationHookData{Conversation: c}
	if prevAssignee != "" {
		d.PreviousAssigneeID = &prevAssignee
	}
	return hookEvent{id: id, typ: typ, chain: c.ID, payload: HookPayload(tenantID, id, typ, at, d), at: at}
}

// conversationHookTypes names what a change from before to after was, for
// webhooks: assigned (from nobody), transferred (from one agent to
// another), resolved, reopened.
func conversationHookTypes(before, after conversationRow) []string {
	var out []string
	switch {
	case after.assignee() != "" && before.assignee() == "":
		out = append(out, HookConversationAssigned)
	case after.assignee() != "" && before.assignee() != after.assignee():
		out = append(out, HookConversationTransferred)
	}
	if after.Status == StatusResolved && before.Status != StatusResolved {
		out = append(out, HookConversationResolved)
	}
	if before.Status == StatusResolved && after.Status != StatusResolved {
		out = append(out, HookConversationReopened)
	}
	if a, b := after.csat(), before.csat(); a != nil && (b == nil || a.Score != b.Score || a.Comment != b.Comment) {
		out = append(out, HookCSATSubmitted)
	}
	return out
}
