package chat

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"kefu"
	"kefu/tenants"
)

// The group committer: the message write path batches concurrent sends —
// of many conversations and, on PostgreSQL, many tenants — into one
// transaction, so throughput grows with load while every sender still hears
// back only after the commit that stored its message.
//
// Each database (the PostgreSQL pool, or one SQLite file) has a few commit
// shards; a conversation always goes to the same shard, so two transactions
// never lock the same conversation rows and cannot deadlock. A shard takes
// whatever requests are waiting (up to maxBatch), commits them, answers, and
// takes the next lot: with one sender it commits at once, under load the
// batch grows while the previous commit is in flight. Within a batch each
// conversation's row is updated once (last_seq += k) and its messages take
// the k seqs in arrival order, so seqs stay gap-free.

const maxBatch = 512

// DefaultCommitShards is how many transactions commit at once on
// PostgreSQL. Fewer, larger batches beat more, smaller ones when the
// database is short of CPU (measured with BenchmarkSend on 2 cores).
const DefaultCommitShards = 2

type commitReq struct {
	db       *tenants.DB
	tenantID string
	row      messageRow
	// visitorID, for a visitor's message: the conversation must be theirs
	// and still open.
	visitorID string
	// uploads the message carries, claimed in its commit (claimUploadsTx).
	uploads []string
	// hook: a webhook of the tenant subscribes to message.created, so the
	// commit also writes the event to the outbox; its payload around the
	// seq, made by the sender's goroutine rather than the shard's.
	hook *hookParts
	// deadline: the sender hears back by then. It runs from joining the
	// queue, so time spent behind a stuck batch counts against it.
	deadline time.Time
	done     chan commitRes
}

type commitRes struct {
	row  messageRow
	conv conversationRow
	dup  bool
	err  error
	// batch and txStart describe the transaction that answered (tracing).
	batch   int
	txStart time.Time
}

// errClosed: a visitor wrote to a conversation that is resolved (or not
// theirs); the caller takes the slow path, which opens a new one.
var errClosed = errors.New("conversation closed")

type committer struct {
	s        *Service
	pgShards int
	timeout  time.Duration // a batch's deadline
	mu       sync.Mutex
	shards   map[string]*shardSet // "" for the PostgreSQL pool; a tenant id for its SQLite file
	wg       sync.WaitGroup
	stop     chan struct{}
	// noPartition: "tenant/messages_YYYYMM" of months whose partition a
	// one-shot found missing (pgOneShot then inserts through the parent).
	noPartition sync.Map
}

// shardSet is the commit shards of one database. A SQLite file's shard
// stops after shardIdle without work, so a node does not keep a goroutine
// for every tenant it ever wrote to; users counts the senders between
// taking the shard and queueing, so it never stops under one.
type shardSet struct {
	chans []chan *commitReq
	users int
}

// shardIdle is how long a SQLite file's commit shard waits for work
// before it stops (the next send starts it again).
const shardIdle = time.Minute

func newCommitter(s *Service, pgShards int, timeout time.Duration) *committer {
	if pgShards <= 0 {
		pgShards = DefaultCommitShards
	}
	if timeout <= 0 {
		timeout = DefaultWriteTimeout
	}
	return &committer{s: s, pgShards: pgShards, timeout: timeout, shards: map[string]*shardSet{}, stop: make(chan struct{})}
}

// shardFor takes the conversation's shard; the caller gives it back with
// c.done(key) once its request is queued.
func (c *committer) shardFor(db *tenants.DB, tenantID, convID string) (string, chan *commitReq) {
	key := tenantID
	if db.Dialect == tenants.Postgres {
		key = ""
	}
	c.mu.Lock()
	set, ok := c.shards[key]
	if !ok {
		set = &shardSet{}
		n := 1 // SQLite: one writer per file
		if db.Dialect == tenants.Postgres {
			n = c.pgShards
		}
		for i := 0; i < n; i++ {
			ch := make(chan *commitReq, 4*maxBatch)
			set.chans = append(set.chans, ch)
			c.wg.Add(1)
			go c.run(key, db.Shared(), db.Dialect, ch)
		}
		c.shards[key] = set
	}
	set.users++
	c.mu.Unlock()
	if len(set.chans) == 1 {
		return key, set.chans[0]
	}
	h := fnv.New32a()
	h.Write([]byte(convID))
	return key, set.chans[h.Sum32()%uint32(len(set.chans))]
}

func (c *committer) done(key string) {
	c.mu.Lock()
	c.shards[key].users--
	c.mu.Unlock()
}

// retire removes an idle SQLite shard unless a sender is about to use it
// or work arrived meanwhile; it reports whether the shard may stop.
func (c *committer) retire(key string, ch chan *commitReq) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if set := c.shards[key]; set.users > 0 || len(ch) > 0 {
		return false
	}
	delete(c.shards, key)
	return true
}

// commit stores one message through its shard and waits for the commit.
func (c *committer) commit(ctx context.Context, req *commitReq) commitRes {
	ctx, span := c.s.child(ctx, "message.commit")
	defer span.End()
	start := time.Now()
	req.done = make(chan commitRes, 1)
	req.deadline = start.Add(c.timeout)
	key, ch := c.shardFor(req.db, req.tenantID, req.row.ConversationID)
	select {
	case ch <- req:
		c.done(key)
	case <-ctx.Done():
		c.done(key)
		return commitRes{err: ctx.Err()}
	case <-c.stop:
		c.done(key)
		return commitRes{err: kefu.Errorf(kefu.EUnavailable, "server is shutting down")}
	}
	// Once queued, the request is committed or failed whatever ctx does:
	// wait for the answer so an ack never goes missing for a stored message.
	res := <-req.done
	c.s.metrics.commit.Observe(time.Since(start).Seconds())
	if res.err != nil && !errors.Is(res.err, errClosed) {
		c.s.metrics.commitFailed.Inc()
	}
	if span.IsRecording() {
		// The span runs from the request joining its shard's queue to the
		// answer; the event marks when its transaction began.
		span.SetAttributes(attribute.Int("kefu.batch_size", res.batch), attribute.String("db.system", req.db.Dialect), attribute.Int64("kefu.seq", res.row.Seq))
		if !res.txStart.IsZero() {
			span.AddEvent("transaction started", trace.WithTimestamp(res.txStart))
		}
		if res.err != nil {
			span.SetStatus(codes.Error, kefu.Code(res.err))
		}
	}
	return res
}

func (c *committer) run(key string, shared *gorm.DB, dialect string, ch chan *commitReq) {
	defer c.wg.Done()
	var idle <-chan time.Time
	if dialect == tenants.SQLite {
		t := time.NewTicker(shardIdle)
		defer t.Stop()
		idle = t.C
	}
	for {
		var first *commitReq
		select {
		case <-idle:
			if c.retire(key, ch) {
				return
			}
			continue
		case first = <-ch:
		case <-c.stop:
			// Finish what is queued.
			for {
				select {
				case r := <-ch:
					c.flush(shared, dialect, []*commitReq{r})
				default:
					return
				}
			}
		}
		batch := []*commitReq{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case r := <-ch:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		c.flush(shared, dialect, batch)
	}
}

// close stops taking requests and waits, until ctx ends, for the shards to
// finish what is queued (each batch is bounded by the write deadline).
func (c *committer) close(ctx context.Context) {
	close(c.stop)
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// DefaultWriteTimeout bounds one group commit: past it the batch's senders
// get unavailable (never an ack), so one hung connection cannot stall a
// shard, its senders or shutdown for longer.
const DefaultWriteTimeout = 10 * time.Second

// errSlow is what a batch's senders hear when it missed its deadline.
var errSlow = kefu.Errorf(kefu.EUnavailable, "the database did not answer in time; send again (the same client_id is safe)")

type dedupKey struct{ conv, author, client string }

// splitOwners keeps in now the requests whose conversation's first request
// in the batch has the same owner check (the same visitor, or none), and
// puts the others in next, in arrival order. A sender's requests all go the
// same way, so each sender's order is kept.
func splitOwners(batch []*commitReq) (now, next []*commitReq) {
	if len(batch) < 2 {
		return batch, nil
	}
	owner := make(map[string]string, len(batch))
	for i, r := range batch {
		v, ok := owner[r.row.ConversationID]
		if !ok {
			owner[r.row.ConversationID] = r.visitorID
			v = r.visitorID
		}
		switch {
		case v != r.visitorID && next == nil:
			now = append(make([]*commitReq, 0, len(batch)), batch[:i]...)
			next = append(next, r)
		case v != r.visitorID:
			next = append(next, r)
		case next != nil:
			now = append(now, r)
		}
	}
	if next == nil {
		return batch, nil
	}
	return now, next
}

// flush commits a batch in one transaction. It first assumes no request is
// a resend of a stored message (resends are rare: a client that lost an
// ack): the unique index on (conversation, author, client id) would refuse
// one, and then the batch runs again with the lookup for stored copies.
// If that fails too, each request is retried on its own so one bad request
// cannot fail its neighbours.
func (c *committer) flush(shared *gorm.DB, dialect string, batch []*commitReq) {
	// Every request's ownership is checked by its conversation's bump, once
	// per conversation: a batch holds, for each conversation, requests of
	// one sender kind only (one visitor, or users and keys). The rest wait
	// for the next round, so a stranger's message never rides on the
	// owner's check.
	if now, next := splitOwners(batch); len(next) > 0 {
		c.flush(shared, dialect, now)
		c.flush(shared, dialect, next)
		return
	}
	start := time.Now()
	// Requests that waited out their deadline behind a slow batch are
	// answered now; the batch runs until the earliest deadline left.
	live := batch[:0:0]
	deadline := start.Add(c.timeout)
	for _, r := range batch {
		if !r.deadline.IsZero() && !r.deadline.After(start) {
			r.done <- commitRes{err: errSlow}
			continue
		}
		live = append(live, r)
		if !r.deadline.IsZero() && r.deadline.Before(deadline) {
			deadline = r.deadline
		}
	}
	if batch = live; len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	results := make([]commitRes, len(batch))
	attempt := func(lookup bool) error {
		return shared.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			byTenant := map[string][]int{}
			var order []string
			for i, r := range batch {
				if _, ok := byTenant[r.tenantID]; !ok {
					order = append(order, r.tenantID)
				}
				byTenant[r.tenantID] = append(byTenant[r.tenantID], i)
			}
			for _, tid := range order {
				if err := c.flushTenant(tx, dialect, batch, byTenant[tid], results, lookup); err != nil {
					return err
				}
			}
			return nil
		})
	}
	var err error
	// On PostgreSQL a client id is unique within a month's partition only
	// (tenant migration 0023): in the first day of a month a resend's
	// original may be in last month's, so the batch looks resends up first.
	lookupFirst := dialect == tenants.Postgres && start.UTC().Day() == 1
	if lookupFirst {
		err = attempt(true)
	} else if dialect == tenants.Postgres && oneTenant(batch) {
		// The common case, one statement: no transaction round trips.
		err = c.pgOneShot(ctx, shared, batch, results)
	} else {
		err = attempt(false)
	}
	if err != nil && tenants.IsUniqueViolation(err) {
		results = make([]commitRes, len(batch))
		err = attempt(true)
	}
	if err != nil && ctx.Err() != nil {
		// Out of time: retrying each request alone would take as long
		// again, for each. The senders hear it now and send again.
		c.s.log.Warn("group commit missed its deadline", "batch", len(batch), "timeout", c.timeout, "err", err)
		for _, r := range batch {
			r.done <- commitRes{err: errSlow}
		}
		return
	}
	if err != nil && len(batch) > 1 {
		for i := range batch {
			c.flush(shared, dialect, batch[i:i+1])
		}
		return
	}
	if err != nil {
		results[0] = commitRes{err: err}
	} else {
		c.wakeHooks(batch)
	}
	c.s.metrics.batch.Observe(float64(len(batch)))
	c.s.metrics.persist.Observe(time.Since(start).Seconds())
	for i, r := range batch {
		results[i].batch, results[i].txStart = len(batch), start
		r.done <- results[i]
	}
	// The batch's messages queued themselves for the search index.
	last := ""
	for _, r := range batch {
		if r.tenantID != last {
			last = r.tenantID
			c.s.searchIdx.mark(last)
		}
	}
}

func (c *committer) flushTenant(tx *gorm.DB, dialect string, batch []*commitReq, idx []int, results []commitRes, lookup bool) error {
	db := batch[idx[0]].db
	stored := map[dedupKey]messageRow{}
	if lookup {
		var keys []dedupKey
		for _, i := range idx {
			if k, ok := batch[i].key(); ok {
				keys = append(keys, k)
			}
		}
		if len(keys) > 0 {
			rows, err := findStored(tx, db, keys)
			if err != nil {
				return err
			}
			for _, m := range rows {
				stored[dedupKey{m.ConversationID, m.AuthorID, *m.ClientID}] = m
			}
		}
	}
	groups, later := splitBatch(batch, idx, stored, results)
	if len(groups) > 0 {
		updated, err := bumpConversations(tx, dialect, db, bumpsOf(groups))
		if err != nil {
			return err
		}
		rows := settle(batch, groups, updated, results)
		if dialect == tenants.Postgres {
			if err := pgInsertMessages(tx, db, rows); err != nil {
				return err
			}
		} else {
			for start := 0; start < len(rows); start += 500 {
				if err := insertMessages(tx, db, rows[start:min(start+500, len(rows))]); err != nil {
					return err
				}
			}
		}
		if err := c.s.enqueueHooks(tx, db, batch[idx[0]].tenantID, batchHooks(batch, groups, results)); err != nil {
			return err
		}
	}
	markRepeats(later, results)
	for _, i := range idx {
		if res := results[i]; len(batch[i].uploads) > 0 && res.err == nil && !res.dup {
			if err := claimUploadsTx(tx, db, batch[i].uploads, res.row); err != nil {
				return err
			}
		}
	}
	return nil
}

// batchHooks is message.created for each message of the groups stored for
// a request that asked for it (none when the tenant has no webhook for it).
func batchHooks(batch []*commitReq, groups []*convGroup, results []commitRes) []hookEvent {
	var evs []hookEvent
	for _, g := range groups {
		for _, i := range g.members {
			if h := batch[i].hook; h != nil && results[i].err == nil {
				evs = append(evs, h.event(results[i].row.Seq, results[i].conv))
			}
		}
	}
	return evs
}

// wakeHooks tells the webhook worker of the tenants whose messages of a
// committed batch went to the outbox.
func (c *committer) wakeHooks(batch []*commitReq) {
	last := ""
	for _, r := range batch {
		if r.hook != nil && r.tenantID != last {
			last = r.tenantID
			c.s.hooksWritten(r.tenantID)
		}
	}
}

// key is the request's idempotency key, if it has a client id.
func (r *commitReq) key() (dedupKey, bool) {
	if r.row.ClientID == nil {
		return dedupKey{}, false
	}
	return dedupKey{r.row.ConversationID, r.row.AuthorID, *r.row.ClientID}, true
}

// convGroup is one conversation's share of a batch: its bump (k more
// messages, the preview of the last public one) and the requests that take
// those k seqs, in arrival order.
type convGroup struct {
	bump    convBump
	members []int
}

// splitBatch sorts a tenant's requests: those already stored are answered
// from stored; a repeat of a client id earlier in the batch goes into later
// (its index → the earlier one's); the rest are grouped by conversation,
// in arrival order.
func splitBatch(batch []*commitReq, idx []int, stored map[dedupKey]messageRow, results []commitRes) ([]*convGroup, map[int]int) {
	// Sized for the batch: this runs for every commit, and growing maps
	// and slices batch after batch is most of the committer's garbage.
	firstOf := make(map[dedupKey]int, len(idx))
	later := map[int]int{}
	byConv := make(map[string]*convGroup, len(idx))
	groups := make([]*convGroup, 0, len(idx))
	for _, i := range idx {
		r := batch[i]
		if k, ok := r.key(); ok {
			if m, ok := stored[k]; ok {
				results[i] = commitRes{row: m, dup: true}
				continue
			}
			if j, ok := firstOf[k]; ok {
				later[i] = j
				continue
			}
			firstOf[k] = i
		}
		g := byConv[r.row.ConversationID]
		if g == nil {
			g = &convGroup{bump: convBump{id: r.row.ConversationID}}
			byConv[r.row.ConversationID] = g
			groups = append(groups, g)
		}
		g.bump.k++
		g.bump.at = r.row.CreatedAt
		g.bump.waiting(r.row)
		g.members = append(g.members, i)
		if !r.row.Private && r.row.AuthorType != AuthorSystem {
			g.bump.pv, g.bump.body, g.bump.author = true, previewOf(r.row), r.row.AuthorType
		}
		g.bump.vid = r.visitorID // the same for every member (splitOwners)
	}
	return groups, later
}

func bumpsOf(groups []*convGroup) []convBump {
	out := make([]convBump, len(groups))
	for i, g := range groups {
		out[i] = g.bump
	}
	return out
}

// settle gives each group's requests the seqs their conversation's bump
// handed out (the k seqs up to its new last_seq) and answers them; a
// conversation the bump did not find answers not_found (errClosed for a
// visitor). It returns the rows to insert.
func settle(batch []*commitReq, groups []*convGroup, updated []conversationRow, results []commitRes) []messageRow {
	byID := make(map[string]conversationRow, len(updated))
	for _, cv := range updated {
		byID[cv.ID] = cv
	}
	rows := make([]messageRow, 0, len(batch))
	for _, g := range groups {
		cv, ok := byID[g.bump.id]
		for n, i := range g.members {
			switch {
			case ok:
				row := batch[i].row
				row.Seq = cv.LastSeq - g.bump.k + int64(n+1)
				rows = append(rows, row)
				results[i] = commitRes{row: row, conv: cv}
			case batch[i].visitorID != "":
				results[i] = commitRes{err: errClosed}
			default:
				results[i] = commitRes{err: kefu.Errorf(kefu.ENotFound, "no such conversation")}
			}
		}
	}
	return rows
}

// markRepeats answers each repeat in the batch as a duplicate of its first.
func markRepeats(later map[int]int, results []commitRes) {
	for i, j := range later {
		res := results[j]
		res.dup = true
		results[i] = res
	}
}

func insertMessages(tx *gorm.DB, db *tenants.DB, rows []messageRow) error {
	var b strings.Builder
	b.WriteString(`INSERT INTO ` + db.Table("messages") + ` (id, conversation_id, seq, client_id, author_type, author_id, author_name, body, private, attachments, created_at) VALUES `)
	args := make([]any, 0, len(rows)*11)
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, r.ID, r.ConversationID, r.Seq, r.ClientID, r.AuthorType, r.AuthorID, r.AuthorName, r.Body, r.Private, r.Attachments, r.CreatedAt)
	}
	return tx.Exec(b.String(), args...).Error
}

// convBump is one conversation's share of a batch: k more messages, the
// preview of the last public one (pv), the last visitor message (hv), and
// what happens to waiting_since (wmode, see waiting).
type convBump struct {
	id, vid      string
	k            int64
	at           time.Time
	pv           bool
	body, author string
	hv           bool
	vbody        string
	vat          time.Time
	wmode        int64
	wat          time.Time
	answered     bool // an agent answered within the batch
}

// waiting_since changes (convBump.wmode): kept, cleared (a person answered
// last), set unless already set (the visitor wrote last and no answer came
// in the batch), set (the visitor wrote after an answer in the batch).
const (
	waitKeep int64 = iota
	waitClear
	waitSetIfNull
	waitSet
)

// waiting folds one message, in arrival order, into the bump's last
// visitor message and waiting_since: a visitor waits from their first
// message after a person's last public answer.
func (b *convBump) waiting(r messageRow) {
	switch {
	case r.AuthorType == AuthorVisitor:
		b.hv, b.vbody, b.vat = true, previewOf(r), r.CreatedAt
		if b.wmode == waitKeep || b.wmode == waitClear {
			b.wat = r.CreatedAt
			b.wmode = waitSetIfNull
			if b.answered {
				b.wmode = waitSet
			}
		}
	case r.AuthorType == AuthorAgent && !r.Private:
		b.answered = true
		b.wmode = waitClear
	}
}

// bumpSet moves last_seq and the preview. On PostgreSQL updated_at (indexed,
// for the inbox order) moves only when it is over hotWindow old, so most
// bumps change no indexed column and stay HOT updates (see migration 0003).
func bumpSet(dialect string) string {
	updated := "updated_at = v.at"
	if dialect == tenants.Postgres {
		updated = "updated_at = CASE WHEN v.at > t.updated_at + interval '" + hotWindow + "' THEN v.at ELSE t.updated_at END"
	}
	return "last_seq = t.last_seq + v.k, " + updated + "," + bumpPreview + "," + bumpWaiting + bumpWake
}

// bumpWake: a visitor who writes ends the conversation's snooze.
const bumpWake = `,
	snoozed_until = CASE WHEN v.vid <> '' THEN NULL ELSE t.snoozed_until END`

const bumpWaiting = `
	last_visitor_body = CASE WHEN v.hv THEN v.vbody ELSE t.last_visitor_body END,
	last_visitor_at = CASE WHEN v.hv THEN v.vat ELSE t.last_visitor_at END,
	waiting_since = CASE v.wmode WHEN 1 THEN NULL WHEN 2 THEN COALESCE(t.waiting_since, v.wat) WHEN 3 THEN v.wat ELSE t.waiting_since END`

const hotWindow = "5 seconds"

const bumpPreview = `
	last_message_body = CASE WHEN v.pv THEN v.body ELSE t.last_message_body END,
	last_message_author = CASE WHEN v.pv THEN v.author ELSE t.last_message_author END,
	last_message_at = CASE WHEN v.pv THEN v.at ELSE t.last_message_at END`

// bumpWhere: a visitor's message needs their own, unresolved conversation.
const bumpWhere = `t.id = v.id AND (v.vid = '' OR (t.visitor_id = v.vid AND t.status <> '` + StatusResolved + `'))`

// bumpConversations moves every conversation's last_seq in one statement and
// returns the rows as updated (their row locks are held until commit). On
// PostgreSQL the batch travels as arrays (unnest), one parameter per column,
// so the statement's size and planning time do not grow with the batch.
func bumpConversations(tx *gorm.DB, dialect string, db *tenants.DB, bumps []convBump) ([]conversationRow, error) {
	if dialect == tenants.Postgres {
		rows, err := tx.Statement.ConnPool.QueryContext(tx.Statement.Context, pgBumpSQL(db), bumpArgs(bumps)...)
		return scanBumped(len(bumps), rows, err)
	}
	// SQLite: the batch as a UNION ALL of rows (SQLite has no arrays).
	var sel []string
	var args []any
	for n, b := range bumps {
		if n == 0 {
			sel = append(sel, `SELECT ? AS id, ? AS k, ? AS at, ? AS pv, ? AS body, ? AS author, ? AS vid, ? AS hv, ? AS vbody, ? AS vat, ? AS wmode, ? AS wat`)
		} else {
			sel = append(sel, `SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`)
		}
		args = append(args, b.id, b.k, b.at, b.pv, b.body, b.author, b.vid, b.hv, b.vbody, b.vat, b.wmode, b.wat)
	}
	q := `UPDATE ` + db.Table("conversations") + ` AS t SET ` + bumpSet(dialect) + `
FROM (` + strings.Join(sel, " UNION ALL ") + `) AS v WHERE ` + bumpWhere + ` RETURNING *`
	var out []conversationRow
	err := tx.Raw(q, args...).Scan(&out).Error
	return out, err
}

// bumpRows is the bumps as a PostgreSQL row source: twelve arrays
// (bumpArgs), $1 … $12.
const bumpRows = `unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::boolean[], $5::text[], $6::text[], $7::text[], $8::boolean[], $9::text[], $10::timestamptz[], $11::bigint[], $12::timestamptz[])`

// pgBumpSQL is bumpConversations' statement on PostgreSQL; its parameters
// are bumpArgs.
func pgBumpSQL(db *tenants.DB) string {
	return `UPDATE ` + db.Table("conversations") + ` AS t SET ` + bumpSet(tenants.Postgres) + `
FROM ` + bumpRows + ` AS v(id, k, at, pv, body, author, vid, hv, vbody, vat, wmode, wat)
WHERE ` + bumpWhere + ` RETURNING t.id, t.visitor_id, t.assignee_id, t.status, t.last_seq`
}

// findStored returns the messages already stored under any of the
// (conversation, author, client id) keys: one index lookup each, on the
// unique index that enforces them.
func findStored(tx *gorm.DB, db *tenants.DB, keys []dedupKey) ([]messageRow, error) {
	var rows []messageRow
	if db.Dialect == tenants.Postgres {
		convs, authors, clients := make(pgArray, len(keys)), make(pgArray, len(keys)), make(pgArray, len(keys))
		for i, k := range keys {
			convs[i], authors[i], clients[i] = k.conv, k.author, k.client
		}
		err := tx.Raw(`SELECT * FROM `+db.Table("messages")+` WHERE client_id IS NOT NULL AND (conversation_id, author_id, client_id) IN (SELECT * FROM unnest(?::text[], ?::text[], ?::text[]))`, convs, authors, clients).Scan(&rows).Error
		return rows, err
	}
	var vals []string
	var args []any
	for _, k := range keys {
		vals = append(vals, "(?, ?, ?)")
		args = append(args, k.conv, k.author, k.client)
	}
	err := tx.Raw(`SELECT * FROM `+db.Table("messages")+` WHERE client_id IS NOT NULL AND (conversation_id, author_id, client_id) IN (VALUES `+strings.Join(vals, ", ")+`)`, args...).Scan(&rows).Error
	return rows, err
}

// pgArray passes a string slice as one PostgreSQL array parameter (GORM
// would otherwise expand a slice into a list of parameters).
type pgArray []string

func (a pgArray) Value() (driver.Value, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, s := range a {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, r := range s {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), nil
}

// pgInsertMessages inserts the batch with one INSERT … SELECT FROM unnest.
func pgInsertMessages(tx *gorm.DB, db *tenants.DB, rows []messageRow) error {
	_, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context, pgInsertSQL(db), messageArgs(rows)...)
	return err
}

// pgInsertSQL is pgInsertMessages' statement; its parameters are messageArgs.
func pgInsertSQL(db *tenants.DB) string {
	return `INSERT INTO ` + db.Table("messages") + ` (id, conversation_id, seq, client_id, author_type, author_id, author_name, body, private, attachments, created_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::boolean[], $10::text[], $11::timestamptz[])`
}

// bumpArgs passes bumps as the twelve arrays $1…$12 of a PostgreSQL
// unnest(id, k, at, pv, body, author, vid, hv, vbody, vat, wmode, wat).
func bumpArgs(bumps []convBump) []any {
	n := len(bumps)
	ids, vids, bodies, authors, vbodies := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	ks, wmodes := make([]int64, n), make([]int64, n)
	ats, vats, wats := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	pvs, hvs := make([]bool, n), make([]bool, n)
	for i, b := range bumps {
		ids[i], vids[i], bodies[i], authors[i], ks[i], ats[i], pvs[i] = b.id, b.vid, b.body, b.author, b.k, b.at, b.pv
		hvs[i], vbodies[i], vats[i], wmodes[i], wats[i] = b.hv, b.vbody, b.vat, b.wmode, b.wat
	}
	return []any{ids, ks, ats, pvs, bodies, authors, vids, hvs, vbodies, vats, wmodes, wats}
}

// messageArgs passes rows as eleven arrays in the messages table's column
// order (id, conversation_id, seq, client_id, author_type, author_id,
// author_name, body, private, attachments, created_at).
func messageArgs(rows []messageRow) []any {
	n := len(rows)
	ids, convs, clients, atypes, aids, anames, bodies, atts := make([]string, n), make([]string, n), make([]*string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	seqs, privs, ats := make([]int64, n), make([]bool, n), make([]time.Time, n)
	for i, r := range rows {
		ids[i], convs[i], clients[i], atypes[i], aids[i], anames[i], bodies[i], atts[i] = r.ID, r.ConversationID, r.ClientID, r.AuthorType, r.AuthorID, r.AuthorName, r.Body, r.Attachments
		seqs[i], privs[i], ats[i] = r.Seq, r.Private, r.CreatedAt
	}
	return []any{ids, convs, seqs, clients, atypes, aids, anames, bodies, privs, atts, ats}
}

func oneTenant(batch []*commitReq) bool {
	for _, r := range batch[1:] {
		if r.tenantID != batch[0].tenantID {
			return false
		}
	}
	return true
}

// pgOneShot stores a one-tenant batch on PostgreSQL with a single
// statement — bump the conversations, insert the messages with the seqs the
// bump handed out — which is atomic by itself, so the batch costs one round
// trip. It assumes no request repeats a stored client id; the unique index
// refuses the statement if one does, and the caller runs the batch again
// with the lookup.
func (c *committer) pgOneShot(ctx context.Context, shared *gorm.DB, batch []*commitReq, results []commitRes) error {
	db := batch[0].db
	idx := make([]int, len(batch))
	for i := range idx {
		idx[i] = i
	}
	groups, later := splitBatch(batch, idx, nil, results)
	// The messages travel with their rank within their conversation in the
	// seq column; the statement turns it into last_seq - k + rank.
	ranked := make([]messageRow, 0, len(batch))
	var claims [3][]string // upload, message, conversation
	var hooked []*hookParts
	for _, g := range groups {
		for n, i := range g.members {
			row := batch[i].row
			row.Seq = int64(n + 1)
			ranked = append(ranked, row)
			for _, u := range batch[i].uploads {
				claims[0], claims[1], claims[2] = append(claims[0], u), append(claims[1], row.ID), append(claims[2], row.ConversationID)
			}
			if batch[i].hook != nil {
				hooked = append(hooked, batch[i].hook)
			}
		}
	}
	args := append(bumpArgs(bumpsOf(groups)), messageArgs(ranked)...)
	if len(claims[0]) > 0 {
		args = append(args, claims[0], claims[1], claims[2])
	}
	outbox := ""
	if len(hooked) > 0 {
		outbox = c.s.OutboxTable(db)
		args = append(args, hookArgs(batch[0].tenantID, hooked)...)
	}
	part := c.monthOf(batch[0].tenantID, ranked)
	rows, err := shared.Statement.ConnPool.QueryContext(ctx, pgOneShotSQL(db, len(claims[0]) > 0, outbox, part), args...)
	updated, err := scanBumped(len(groups), rows, err)
	if err != nil && part != "" && missingPartition(err) {
		// The month's partition is not there (not made yet, or a tenant
		// not partitioned): through the parent from now on, this month.
		c.noPartition.Store(batch[0].tenantID+"/"+part, true)
		rows, err = shared.Statement.ConnPool.QueryContext(ctx, pgOneShotSQL(db, len(claims[0]) > 0, outbox, ""), args...)
		updated, err = scanBumped(len(groups), rows, err)
	}
	if err != nil {
		return err
	}
	settle(batch, groups, updated, results)
	markRepeats(later, results)
	return nil
}

// monthOf is the name of the monthly partition of messages (tenant
// migration 0023) that every row of a one-shot batch belongs to, by the
// UUIDv7 time of its id, or "" when they span two months, an id is not a
// UUIDv7 (the default partition's) or the month's partition is known to be
// missing.
func (c *committer) monthOf(tenantID string, rows []messageRow) string {
	part := ""
	for _, r := range rows {
		p := partitionOf(r.ID)
		if p == "" || (part != "" && p != part) {
			return ""
		}
		part = p
	}
	if _, missing := c.noPartition.Load(tenantID + "/" + part); missing {
		return ""
	}
	return part
}

// partitionOf names the month's partition of a UUIDv7 message id
// (messages_YYYYMM, the month in UTC of the id's first 48 bits, as
// create_message_partitions names and bounds them), or "" for another id.
func partitionOf(id string) string {
	if len(id) != 36 || id[8] != '-' || id[14] != '7' {
		return ""
	}
	ms, err := strconv.ParseInt(id[:8]+id[9:13], 16, 64)
	if err != nil {
		return ""
	}
	return "messages_" + time.UnixMilli(ms).UTC().Format("200601")
}

// missingPartition: the statement named a partition that does not exist,
// or a row its bounds refuse.
func missingPartition(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "23514")
}

// pgOneShotSQL is pgOneShot's statement: the bump's twelve arrays (bumpArgs)
// then the messages' eleven (messageArgs, with each message's rank within
// its conversation in the seq column).
//
// With part (monthOf), the messages go straight into that month's partition
// rather than through the partitioned parent: PostgreSQL then routes no
// tuples, locks and opens one table fewer and runs no statement trigger, so
// the partitioned layout's insert costs what an unpartitioned one did. The
// parent's statement trigger (messages_search_queue) does not fire for a
// partition's own inserts, so the statement queues the rows for the search
// index itself.
func pgOneShotSQL(db *tenants.DB, claims bool, outbox, part string) string {
	claim, hook := "", ""
	next := 24
	if claims {
		// The files the stored messages carry become theirs (claimUploadsTx):
		// three more arrays, $24 … $26 (upload, message, conversation).
		claim = `, claimed AS (
	UPDATE ` + db.Table("uploads") + ` AS up SET message_id = c.msg, conversation_id = c.conv
	FROM unnest($24::text[], $25::text[], $26::text[]) AS c(upload, msg, conv) JOIN bumped b ON b.id = c.conv
	WHERE up.id = c.upload AND up.message_id IS NULL
)`
		next = 27
	}
	if outbox != "" {
		// message.created to the webhook outbox, in the same statement (a
		// transactional outbox that costs no round trip): four more arrays
		// (hookArgs: message, event id, the payload before and after the
		// seq) and the tenant. The insert fans each event out to the
		// tenant's enabled webhooks subscribed to it (private notes only to
		// those asking for them), in conversation and seq order.
		p := func(k int) string { return "$" + strconv.Itoa(next+k) }
		hook = `, hook AS (
	INSERT INTO ` + outbox + ` (tenant_id, webhook_id, event_id, type, chain, payload, next_at, created_at, updated_at)
	SELECT ` + p(4) + `, w.id, h.event_id, '` + HookMessageCreated + `', m.conv,
		h.hook_a || (b.last_seq - v.k + m.rank) || h.hook_b || json_build_object('id', b.id, 'status', b.status, 'assignee_id', b.assignee_id, 'visitor_id', b.visitor_id) || '}}',
		m.created_at, m.created_at, m.created_at
	FROM unnest(` + p(0) + `::text[], ` + p(1) + `::text[], ` + p(2) + `::text[], ` + p(3) + `::text[]) AS h(msg, event_id, hook_a, hook_b)
	JOIN m ON m.id = h.msg JOIN bumped b ON b.id = m.conv JOIN v ON v.id = m.conv
	JOIN ` + db.Table("webhooks") + ` w ON w.enabled AND jsonb_exists(w.events::jsonb, '` + HookMessageCreated + `') AND (NOT m.private OR w.include_private)
	ORDER BY m.conv, m.rank, w.id
)`
	}
	into, returning, queue := "messages", "", ""
	if part != "" {
		into, returning = part, `
	RETURNING id`
		queue = `, queued AS (
	INSERT INTO ` + db.Table("search_pending") + ` (message_id) SELECT id FROM ins ON CONFLICT DO NOTHING
)`
	}
	return `WITH v AS (
	SELECT * FROM ` + bumpRows + ` AS v(id, k, at, pv, body, author, vid, hv, vbody, vat, wmode, wat)
), bumped AS (
	UPDATE ` + db.Table("conversations") + ` AS t SET ` + bumpSet(tenants.Postgres) + `
	FROM v WHERE ` + bumpWhere + `
	RETURNING t.id, t.visitor_id, t.assignee_id, t.status, t.last_seq
), m AS (
	SELECT * FROM unnest($13::text[], $14::text[], $15::bigint[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::boolean[], $22::text[], $23::timestamptz[])
		AS m(id, conv, rank, client_id, author_type, author_id, author_name, body, private, attachments, created_at)
), ins AS (
	INSERT INTO ` + db.Table(into) + ` (id, conversation_id, seq, client_id, author_type, author_id, author_name, body, private, attachments, created_at)
	SELECT m.id, m.conv, b.last_seq - v.k + m.rank, m.client_id, m.author_type, m.author_id, m.author_name, m.body, m.private, m.attachments, m.created_at
	FROM m JOIN bumped b ON b.id = m.conv JOIN v ON v.id = m.conv` + returning + `
)` + queue + claim + hook + `
SELECT id, visitor_id, assignee_id, status, last_seq FROM bumped`
}

// hookArgs are the hook CTE's arrays (pgOneShotSQL with an outbox): the
// message, event id and payload before and after the seq of each message
// with an event, and the tenant.
func hookArgs(tenantID string, hooked []*hookParts) []any {
	msgs, ids, as, bs := make([]string, len(hooked)), make([]string, len(hooked)), make([]string, len(hooked)), make([]string, len(hooked))
	for i, h := range hooked {
		msgs[i], ids[i], as[i], bs[i] = h.msgID, h.id, h.a, h.b
	}
	return []any{msgs, ids, as, bs, tenantID}
}

// scanBumped reads the (id, visitor_id, assignee_id, status, last_seq) rows
// a bump returns.
func scanBumped(n int, rows *sql.Rows, err error) ([]conversationRow, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]conversationRow, 0, n)
	for rows.Next() {
		var c conversationRow
		if err := rows.Scan(&c.ID, &c.VisitorID, &c.AssigneeID, &c.Status, &c.LastSeq); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
