package chat

import (
	"context"
	"database/sql/driver"
	"errors"
	"hash/fnv"
	"strings"
	"sync"
	"time"

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
	done      chan commitRes
}

type commitRes struct {
	row  messageRow
	conv conversationRow
	dup  bool
	err  error
}

// errClosed: a visitor wrote to a conversation that is resolved (or not
// theirs); the caller takes the slow path, which opens a new one.
var errClosed = errors.New("conversation closed")

type committer struct {
	s        *Service
	pgShards int
	mu       sync.Mutex
	shards   map[*gorm.DB][]chan *commitReq
	wg       sync.WaitGroup
	stop     chan struct{}
}

func newCommitter(s *Service, pgShards int) *committer {
	if pgShards <= 0 {
		pgShards = DefaultCommitShards
	}
	return &committer{s: s, pgShards: pgShards, shards: map[*gorm.DB][]chan *commitReq{}, stop: make(chan struct{})}
}

func (c *committer) shardFor(db *tenants.DB, convID string) chan *commitReq {
	key := db.Shared()
	c.mu.Lock()
	chans, ok := c.shards[key]
	if !ok {
		n := 1 // SQLite: one writer per file
		if db.Dialect == tenants.Postgres {
			n = c.pgShards
		}
		for i := 0; i < n; i++ {
			ch := make(chan *commitReq, 4*maxBatch)
			chans = append(chans, ch)
			c.wg.Add(1)
			go c.run(key, db.Dialect, ch)
		}
		c.shards[key] = chans
	}
	c.mu.Unlock()
	if len(chans) == 1 {
		return chans[0]
	}
	h := fnv.New32a()
	h.Write([]byte(convID))
	return chans[h.Sum32()%uint32(len(chans))]
}

// commit stores one message through its shard and waits for the commit.
func (c *committer) commit(ctx context.Context, req *commitReq) commitRes {
	req.done = make(chan commitRes, 1)
	select {
	case c.shardFor(req.db, req.row.ConversationID) <- req:
	case <-ctx.Done():
		return commitRes{err: ctx.Err()}
	case <-c.stop:
		return commitRes{err: kefu.Errorf(kefu.EUnavailable, "server is shutting down")}
	}
	// Once queued, the request is committed or failed whatever ctx does:
	// wait for the answer so an ack never goes missing for a stored message.
	return <-req.done
}

func (c *committer) run(shared *gorm.DB, dialect string, ch chan *commitReq) {
	defer c.wg.Done()
	for {
		var first *commitReq
		select {
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

func (c *committer) close() {
	close(c.stop)
	c.wg.Wait()
}

type dedupKey struct{ conv, author, client string }

// flush commits a batch in one transaction. It first assumes no request is
// a resend of a stored message (resends are rare: a client that lost an
// ack): the unique index on (conversation, author, client id) would refuse
// one, and then the batch runs again with the lookup for stored copies.
// If that fails too, each request is retried on its own so one bad request
// cannot fail its neighbours.
func (c *committer) flush(shared *gorm.DB, dialect string, batch []*commitReq) {
	start := time.Now()
	results := make([]commitRes, len(batch))
	attempt := func(lookup bool) error {
		return shared.Transaction(func(tx *gorm.DB) error {
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
	if dialect == tenants.Postgres && oneTenant(batch) {
		// The common case, one statement: no transaction round trips.
		err = c.pgOneShot(shared, batch, results)
	} else {
		err = attempt(false)
	}
	if err != nil && tenants.IsUniqueViolation(err) {
		results = make([]commitRes, len(batch))
		err = attempt(true)
	}
	if err != nil && len(batch) > 1 {
		for i := range batch {
			c.flush(shared, dialect, batch[i:i+1])
		}
		return
	}
	if err != nil {
		results[0] = commitRes{err: err}
	}
	c.s.metrics.batch.Observe(float64(len(batch)))
	c.s.metrics.persist.Observe(time.Since(start).Seconds())
	for i, r := range batch {
		r.done <- results[i]
	}
}

func (c *committer) flushTenant(tx *gorm.DB, dialect string, batch []*commitReq, idx []int, results []commitRes, lookup bool) error {
	db := batch[idx[0]].db
	// 1. Duplicates: stored before, or twice in this batch.
	var keys []dedupKey
	for _, i := range idx {
		r := batch[i]
		if r.row.ClientID != nil {
			keys = append(keys, dedupKey{r.row.ConversationID, r.row.AuthorID, *r.row.ClientID})
		}
	}
	stored := map[dedupKey]messageRow{}
	if lookup && len(keys) > 0 {
		rows, err := findStored(tx, db, keys)
		if err != nil {
			return err
		}
		for _, m := range rows {
			stored[dedupKey{m.ConversationID, m.AuthorID, *m.ClientID}] = m
		}
	}
	firstOf := map[dedupKey]int{}
	var fresh []int
	later := map[int]int{} // batch index → index of the same message earlier in the batch
	for _, i := range idx {
		r := batch[i]
		if r.row.ClientID != nil {
			k := dedupKey{r.row.ConversationID, r.row.AuthorID, *r.row.ClientID}
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
		fresh = append(fresh, i)
	}
	if len(fresh) > 0 {
		if err := c.append(tx, dialect, db, batch, fresh, results); err != nil {
			return err
		}
	}
	for i, j := range later {
		res := results[j]
		res.dup = true
		results[i] = res
	}
	return nil
}

// append gives the fresh messages their seqs (one UPDATE for all their
// conversations) and inserts them (one multi-row INSERT per chunk).
func (c *committer) append(tx *gorm.DB, dialect string, db *tenants.DB, batch []*commitReq, fresh []int, results []commitRes) error {
	type convAgg struct {
		k       int64
		at      time.Time
		preview *messageRow
		vid     string
		members []int
	}
	aggs := map[string]*convAgg{}
	var convOrder []string
	for _, i := range fresh {
		r := batch[i]
		a := aggs[r.row.ConversationID]
		if a == nil {
			a = &convAgg{vid: r.visitorID}
			aggs[r.row.ConversationID] = a
			convOrder = append(convOrder, r.row.ConversationID)
		}
		a.k++
		a.at = r.row.CreatedAt
		a.members = append(a.members, i)
		if !r.row.Private && r.row.AuthorType != AuthorSystem {
			row := r.row
			a.preview = &row
		}
		if r.visitorID != "" {
			a.vid = r.visitorID
		}
	}
	bumps := make([]convBump, 0, len(convOrder))
	for _, id := range convOrder {
		a := aggs[id]
		bp := convBump{id: id, k: a.k, at: a.at, vid: a.vid}
		if a.preview != nil {
			bp.pv, bp.body, bp.author = true, previewOf(*a.preview), a.preview.AuthorType
		}
		bumps = append(bumps, bp)
	}
	updated, err := bumpConversations(tx, dialect, db, bumps)
	if err != nil {
		return err
	}
	byID := map[string]conversationRow{}
	for _, cv := range updated {
		byID[cv.ID] = cv
	}
	var rows []messageRow
	var owners []int
	for _, id := range convOrder {
		a := aggs[id]
		cv, ok := byID[id]
		if !ok {
			for _, i := range a.members {
				if batch[i].visitorID != "" {
					results[i] = commitRes{err: errClosed}
				} else {
					results[i] = commitRes{err: kefu.Errorf(kefu.ENotFound, "no such conversation")}
				}
			}
			continue
		}
		seq := cv.LastSeq - a.k
		for _, i := range a.members {
			seq++
			row := batch[i].row
			row.Seq = seq
			rows = append(rows, row)
			owners = append(owners, i)
			results[i] = commitRes{row: row, conv: cv}
		}
	}
	if dialect == tenants.Postgres {
		return pgInsertMessages(tx, db, rows)
	}
	for start := 0; start < len(rows); start += 500 {
		end := min(start+500, len(rows))
		if err := insertMessages(tx, db, rows[start:end]); err != nil {
			return err
		}
	}
	return nil
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

func uniq(xs []string) []string {
	seen := make(map[string]bool, len(xs))
	out := xs[:0:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// convBump is one conversation's share of a batch: k more messages, and the
// preview of the last public one (pv).
type convBump struct {
	id, vid      string
	k            int64
	at           time.Time
	pv           bool
	body, author string
}

// bumpSet moves last_seq and the preview. On PostgreSQL updated_at (indexed,
// for the inbox order) moves only when it is over hotWindow old, so most
// bumps change no indexed column and stay HOT updates (see migration 0003).
func bumpSet(dialect string) string {
	updated := "updated_at = v.at"
	if dialect == tenants.Postgres {
		updated = "updated_at = CASE WHEN v.at > t.updated_at + interval '" + hotWindow + "' THEN v.at ELSE t.updated_at END"
	}
	return "last_seq = t.last_seq + v.k, " + updated + "," + bumpPreview
}

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
		n := len(bumps)
		ids, vids, bodies, authors := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		ks, ats, pvs := make([]int64, n), make([]time.Time, n), make([]bool, n)
		for i, b := range bumps {
			ids[i], vids[i], bodies[i], authors[i], ks[i], ats[i], pvs[i] = b.id, b.vid, b.body, b.author, b.k, b.at, b.pv
		}
		q := `UPDATE ` + db.Table("conversations") + ` AS t SET ` + bumpSet(dialect) + `
FROM unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::boolean[], $5::text[], $6::text[], $7::text[]) AS v(id, k, at, pv, body, author, vid)
WHERE ` + bumpWhere + ` RETURNING t.id, t.visitor_id, t.assignee_id, t.status, t.last_seq`
		rows, err := tx.Statement.ConnPool.QueryContext(tx.Statement.Context, q, ids, ks, ats, pvs, bodies, authors, vids)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []conversationRow
		for rows.Next() {
			var c conversationRow
			if err := rows.Scan(&c.ID, &c.VisitorID, &c.AssigneeID, &c.Status, &c.LastSeq); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, rows.Err()
	}
	// SQLite: the batch as a UNION ALL of rows (SQLite has no arrays).
	var sel []string
	var args []any
	for n, b := range bumps {
		if n == 0 {
			sel = append(sel, `SELECT ? AS id, ? AS k, ? AS at, ? AS pv, ? AS body, ? AS author, ? AS vid`)
		} else {
			sel = append(sel, `SELECT ?, ?, ?, ?, ?, ?, ?`)
		}
		args = append(args, b.id, b.k, b.at, b.pv, b.body, b.author, b.vid)
	}
	q := `UPDATE ` + db.Table("conversations") + ` AS t SET ` + bumpSet(dialect) + `
FROM (` + strings.Join(sel, " UNION ALL ") + `) AS v WHERE ` + bumpWhere + ` RETURNING *`
	var out []conversationRow
	err := tx.Raw(q, args...).Scan(&out).Error
	return out, err
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
	n := len(rows)
	ids, convs, clients, atypes, aids, anames, bodies, atts := make([]string, n), make([]string, n), make([]*string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	seqs, privs, ats := make([]int64, n), make([]bool, n), make([]time.Time, n)
	for i, r := range rows {
		ids[i], convs[i], clients[i], atypes[i], aids[i], anames[i], bodies[i], atts[i] = r.ID, r.ConversationID, r.ClientID, r.AuthorType, r.AuthorID, r.AuthorName, r.Body, r.Attachments
		seqs[i], privs[i], ats[i] = r.Seq, r.Private, r.CreatedAt
	}
	q := `INSERT INTO ` + db.Table("messages") + ` (id, conversation_id, seq, client_id, author_type, author_id, author_name, body, private, attachments, created_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::boolean[], $10::text[], $11::timestamptz[])`
	_, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context, q, ids, convs, seqs, clients, atypes, aids, anames, bodies, privs, atts, ats)
	return err
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
func (c *committer) pgOneShot(shared *gorm.DB, batch []*commitReq, results []commitRes) error {
	db := batch[0].db
	type agg struct {
		k       int64
		at      time.Time
		preview *messageRow
		vid     string
		members []int
	}
	aggs := map[string]*agg{}
	var convOrder []string
	firstOf := map[dedupKey]int{}
	later := map[int]int{}
	for i, r := range batch {
		if r.row.ClientID != nil {
			k := dedupKey{r.row.ConversationID, r.row.AuthorID, *r.row.ClientID}
			if j, ok := firstOf[k]; ok {
				later[i] = j
				continue
			}
			firstOf[k] = i
		}
		a := aggs[r.row.ConversationID]
		if a == nil {
			a = &agg{}
			aggs[r.row.ConversationID] = a
			convOrder = append(convOrder, r.row.ConversationID)
		}
		a.k++
		a.at = r.row.CreatedAt
		a.members = append(a.members, i)
		if !r.row.Private && r.row.AuthorType != AuthorSystem {
			row := r.row
			a.preview = &row
		}
		if r.visitorID != "" {
			a.vid = r.visitorID
		}
	}
	n := len(convOrder)
	cids, vids, bodies, authors := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	ks, ats, pvs := make([]int64, n), make([]time.Time, n), make([]bool, n)
	for i, id := range convOrder {
		a := aggs[id]
		cids[i], vids[i], ks[i], ats[i] = id, a.vid, a.k, a.at
		if a.preview != nil {
			pvs[i], bodies[i], authors[i] = true, previewOf(*a.preview), a.preview.AuthorType
		}
	}
	var (
		mids, mconvs, atypes, aids, anames, mbodies, atts []string
		clients                                           []*string
		ranks                                             []int64
		privs                                             []bool
		mats                                              []time.Time
	)
	for _, id := range convOrder {
		for rank, i := range aggs[id].members {
			r := batch[i].row
			mids, mconvs, clients = append(mids, r.ID), append(mconvs, r.ConversationID), append(clients, r.ClientID)
			atypes, aids, anames = append(atypes, r.AuthorType), append(aids, r.AuthorID), append(anames, r.AuthorName)
			mbodies, atts, privs, mats = append(mbodies, r.Body), append(atts, r.Attachments), append(privs, r.Private), append(mats, r.CreatedAt)
			ranks = append(ranks, int64(rank+1))
		}
	}
	q := `WITH v AS (
	SELECT * FROM unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::boolean[], $5::text[], $6::text[], $7::text[]) AS v(id, k, at, pv, body, author, vid)
), bumped AS (
	UPDATE ` + db.Table("conversations") + ` AS t SET ` + bumpSet(tenants.Postgres) + `
	FROM v WHERE ` + bumpWhere + `
	RETURNING t.id, t.visitor_id, t.assignee_id, t.status, t.last_seq
), m AS (
	SELECT * FROM unnest($8::text[], $9::text[], $10::bigint[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::boolean[], $17::text[], $18::timestamptz[])
		AS m(id, conv, rank, client_id, author_type, author_id, author_name, body, private, attachments, created_at)
), ins AS (
	INSERT INTO ` + db.Table("messages") + ` (id, conversation_id, seq, client_id, author_type, author_id, author_name, body, private, attachments, created_at)
	SELECT m.id, m.conv, b.last_seq - v.k + m.rank, m.client_id, m.author_type, m.author_id, m.author_name, m.body, m.private, m.attachments, m.created_at
	FROM m JOIN bumped b ON b.id = m.conv JOIN v ON v.id = m.conv
)
SELECT id, visitor_id, assignee_id, status, last_seq FROM bumped`
	rows, err := shared.Statement.ConnPool.QueryContext(context.Background(), q,
		cids, ks, ats, pvs, bodies, authors, vids,
		mids, mconvs, ranks, clients, atypes, aids, anames, mbodies, privs, atts, mats)
	if err != nil {
		return err
	}
	byID := map[string]conversationRow{}
	for rows.Next() {
		var cv conversationRow
		if err := rows.Scan(&cv.ID, &cv.VisitorID, &cv.AssigneeID, &cv.Status, &cv.LastSeq); err != nil {
			rows.Close()
			return err
		}
		byID[cv.ID] = cv
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range convOrder {
		a := aggs[id]
		cv, ok := byID[id]
		for rank, i := range a.members {
			switch {
			case ok:
				row := batch[i].row
				row.Seq = cv.LastSeq - a.k + int64(rank+1)
				results[i] = commitRes{row: row, conv: cv}
			case batch[i].visitorID != "":
				results[i] = commitRes{err: errClosed}
			default:
				results[i] = commitRes{err: kefu.Errorf(kefu.ENotFound, "no such conversation")}
			}
		}
	}
	for i, j := range later {
		res := results[j]
		res.dup = true
		results[i] = res
	}
	return nil
}
