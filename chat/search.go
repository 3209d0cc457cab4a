package chat

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"

	"kefu"
	"kefu/tenants"
)

// Search finds messages, contacts (visitors) and conversations by a piece
// of their text, Chinese included: it matches substrings, not words, so
// "退货" finds "我想退货" with no word segmenter. On PostgreSQL it is ILIKE
// over pg_trgm GIN indexes (tenant migration 0016); on SQLite an FTS5 index
// with the trigram tokenizer, kept by triggers. Both indexes answer
// patterns of three characters or more; a shorter one is a scan of the
// tenant's rows, bounded by the page size.
//
// Every hit is within the caller's scope (Scope): an agent finds only the
// conversations they may open, and only their messages and visitors.
// Private notes are found by whoever may read the conversation's notes
// (people and API keys, never visitors).

// Search result types.
const (
	SearchMessages      = "messages"
	SearchContacts      = "contacts"
	SearchConversations = "conversations"
)

// Search limits.
const (
	MaxSearchRunes     = 200
	MaxSearchLimit     = 50
	snippetBefore      = 30 // runes of context before the first match
	snippetAfter       = 90 // runes after it
	maxHighlights      = 20
	DefaultSearchLimit = 20
)

// SearchInput is one search request.
type SearchInput struct {
	Q      string
	Type   string // messages (default), contacts or conversations
	Limit  int
	Cursor string
}

// SearchHit is one result. Snippet is the matching text around the first
// match, and Highlights the [start, end) offsets of each match in it,
// counted in Unicode code points, for the client to mark.
type SearchHit struct {
	Type           string        `json:"type"`
	ConversationID string        `json:"conversation_id,omitempty"`
	Message        *Message      `json:"message,omitempty"`
	Visitor        *Visitor      `json:"visitor,omitempty"`
	Conversation   *Conversation `json:"conversation,omitempty"`
	Field          string        `json:"field"`
	Snippet        string        `json:"snippet"`
	Highlights     [][2]int      `json:"highlights"`
}

// Search runs a search. Errors: invalid_argument.
func (s *Service) Search(ctx context.Context, p tenants.Principal, in SearchInput) ([]SearchHit, string, error) {
	in.Q = strings.TrimSpace(in.Q)
	fields := map[string]string{}
	switch n := utf8.RuneCountInString(in.Q); {
	case !kefu.CheckText(fields, "q", in.Q):
	case n == 0:
		fields["q"] = "is required"
	case n > MaxSearchRunes:
		fields["q"] = "must be at most 200 characters"
	}
	if in.Type == "" {
		in.Type = SearchMessages
	}
	if in.Type != SearchMessages && in.Type != SearchContacts && in.Type != SearchConversations {
		fields["type"] = "must be messages, contacts or conversations"
	}
	if in.Limit == 0 {
		in.Limit = DefaultSearchLimit
	}
	if in.Limit < 1 || in.Limit > MaxSearchLimit {
		fields["limit"] = "must be between 1 and 50"
	}
	if len(fields) > 0 {
		return nil, "", kefu.Invalid(fields)
	}
	sc, err := s.ScopeOf(ctx, p)
	if err != nil {
		return nil, "", err
	}
	db, err := s.db(p.TenantID)
	if err != nil {
		return nil, "", err
	}
	return s.engine.Search(ctx, SearchRequest{Principal: p, Scope: sc, DB: db, Input: in})
}

// SearchEngine answers searches that Search has validated. The built-in
// engine (the default) queries the tenant's own database; an external one
// (OpenSearch, Elasticsearch, Meilisearch) may be set in Config.SearchEngine.
// An engine must return only what the request's Scope lets its Principal see
// (private notes never to a visitor). Cursors are the engine's own: a cursor
// it cannot read is invalid_argument with the field "cursor".
//
// An external engine keeps a copy of the text, so it is told when messages
// leave the store or are redacted (retention, a contact's erasure): Forget
// must remove them before it returns, and a later Search must not find
// them. The built-in engine's index lives in the tenant's database and
// changes in the transactions that change the messages, so it needs no
// telling.
type SearchEngine interface {
	Search(ctx context.Context, r SearchRequest) ([]SearchHit, string, error)
	Forget(ctx context.Context, f SearchForget) error
}

// SearchRequest is a validated search with what the caller may see.
type SearchRequest struct {
	Principal tenants.Principal
	Scope     Scope
	DB        *tenants.DB
	Input     SearchInput // Q trimmed, Type and Limit filled in
}

// SearchForget names what an external engine must drop from its index.
type SearchForget struct {
	TenantID        string
	ConversationIDs []string  // every message of these was redacted (a contact's erasure)
	VisitorIDs      []string  // contacts erased (their name and email go too)
	Before          time.Time // when not zero: every message created before this (retention)
}

// builtinSearch is the default SearchEngine: SQL over the tenant's store.
type builtinSearch struct{ s *Service }

func (e builtinSearch) Search(ctx context.Context, r SearchRequest) ([]SearchHit, string, error) {
	var after *cursor
	if r.Input.Cursor != "" {
		c, err := decodeCursor(r.Input.Cursor)
		if err != nil {
			return nil, "", kefu.Invalid(map[string]string{"cursor": "is not a cursor this server gave"})
		}
		after = &c
	}
	q := searchQuery{s: e.s, p: r.Principal, sc: r.Scope, db: r.DB, ctx: ctx, text: r.Input.Q, limit: r.Input.Limit, after: after}
	if r.DB.Dialect != tenants.Postgres {
		return q.search(r.Input.Type)
	}
	// On PostgreSQL the plan must be made for this pattern: a cached
	// generic plan (pgx prepares statements, and PostgreSQL switches to a
	// generic plan after five runs) cannot tell a common word, best found
	// by walking the newest rows, from a rare one, best found by its index.
	// And no parallel workers: starting them costs more (tens of
	// milliseconds on a busy machine) than finding one page.
	var hits []SearchHit
	var next string
	err := r.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL max_parallel_workers_per_gather = 0").Error; err != nil {
			return err
		}
		q.tx = tx
		var err error
		hits, next, err = q.search(r.Input.Type)
		return err
	})
	return hits, next, err
}

func (q searchQuery) search(typ string) ([]SearchHit, string, error) {
	switch typ {
	case SearchContacts:
		return q.contacts()
	case SearchConversations:
		return q.conversations()
	}
	return q.messages()
}

// Forget has nothing to do: the built-in index is changed with the rows.
func (builtinSearch) Forget(context.Context, SearchForget) error { return nil }

type searchQuery struct {
	s     *Service
	p     tenants.Principal
	sc    Scope
	db    *tenants.DB
	ctx   context.Context
	text  string
	limit int
	after *cursor
	tx    *gorm.DB // when set, the transaction to run in (PostgreSQL)
}

// run is the connection a search's queries go through.
func (q searchQuery) run() *gorm.DB {
	if q.tx != nil {
		return q.tx
	}
	return q.db.WithContext(q.ctx)
}

// like is the pattern and operator that match the text as a substring
// (case-insensitively for the letters that have case).
func (q searchQuery) like(col string) (string, any) {
	op := "LIKE"
	if q.db.Dialect == tenants.Postgres {
		op = "ILIKE"
	}
	return col + " " + op + ` ? ESCAPE '\'`, "%" + likeEscape(q.text) + "%"
}

// inScope limits rows whose conversation id is in col to the caller's scope.
func (q searchQuery) inScope(tx *gorm.DB, col string) *gorm.DB {
	cond, args := q.sc.where()
	if cond == "" {
		return tx
	}
	return tx.Where("EXISTS (SELECT 1 FROM "+q.db.Table("conversations")+" sc WHERE sc.id = "+col+" AND "+cond+")", args...)
}

func (q searchQuery) page(tx *gorm.DB, timeCol, idCol string) *gorm.DB {
	if q.after != nil {
		tx = tx.Where(timeCol+" < ? OR ("+timeCol+" = ? AND "+idCol+" < ?)", q.after.at, q.after.at, q.after.id)
	}
	return tx.Order(timeCol + " DESC, " + idCol + " DESC").Limit(q.limit + 1)
}

// messagesTx is the query of a message search, one page of it: the
// messages' rows, or on PostgreSQL their ids (messagesPostgres).
func (q searchQuery) messagesTx() *gorm.DB {
	if q.db.Dialect == tenants.Postgres {
		return q.messagesPostgres()
	}
	tx := q.run().Table(q.db.Table("messages") + " m").Select("m.*")
	if q.db.Dialect == tenants.SQLite && utf8.RuneCountInString(q.text) >= 3 {
		// The trigram index finds the rows (a quoted string is a phrase,
		// which trigram matches as a substring); messages still queued for
		// the indexer (searchindex.go) are scanned.
		cond, arg := q.like("m.body")
		tx = tx.Where("(m.rowid IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?) OR (m.rowid IN (SELECT msg_rowid FROM search_pending) AND "+cond+"))",
			`"`+strings.ReplaceAll(q.text, `"`, `""`)+`"`, arg)
	} else {
		cond, arg := q.like("m.body")
		tx = tx.Where(cond, arg)
	}
	if q.p.Kind == tenants.KindVisitor {
		tx = tx.Where("m.private = ?", false)
	}
	tx = q.inScope(tx, "m.conversation_id")
	return q.page(tx, "m.created_at", "m.id")
}

// messagesPostgres finds a page of messages on PostgreSQL. message_search
// (tenant migrations 0016, 0045) holds each indexed message's text with its
// conversation, privacy and time, so the page is chosen there alone —
// walking the newest rows for a common word, or taking a rare word's few
// matches from the trigram (three characters or more) or bigram (two,
// Chinese) index and sorting them — and only that page's messages are read.
// Messages still queued for the indexer (search_pending) are scanned and
// join the page.
func (q searchQuery) messagesPostgres() *gorm.DB {
	op := "ILIKE"
	if strings.ToLower(q.text) == strings.ToUpper(q.text) {
		op = "LIKE" // nothing with case (Chinese, digits): LIKE is much cheaper than ILIKE
	}
	pattern := "%" + likeEscape(q.text) + "%"
	var args []any
	// filters adds what every part shares: the caller's scope, private
	// notes, the cursor. col is the table alias holding those columns.
	filters := func(alias string, at, id string) string {
		w := ""
		if q.p.Kind == tenants.KindVisitor {
			w += " AND NOT " + alias + ".private"
		}
		if cond, a := q.sc.where(); cond != "" {
			w += " AND EXISTS (SELECT 1 FROM " + q.db.Table("conversations") + " sc WHERE sc.id = " + alias + ".conversation_id AND " + cond + ")"
			args = append(args, a...)
		}
		if q.after != nil {
			w += " AND (" + at + ", " + id + ") < (?, ?)"
			args = append(args, q.after.at, q.after.id)
		}
		return w
	}
	match := "s.body " + op + ` ? ESCAPE ''`
	if utf8.RuneCountInString(q.text) == 2 && strings.ContainsFunc(q.text, func(r rune) bool { return r > unicode.MaxASCII }) &&
		!strings.ContainsFunc(q.text, unicode.IsSpace) {
		match = q.db.Table("search_bigrams") + "(s.body) @> ARRAY[lower(?)]::text[] AND " + match
		args = append(args, q.text)
	}
	args = append(args, pattern)
	indexed := "SELECT s.message_id AS id, s.created_at FROM " + q.db.Table("message_search") + " s WHERE " + match + filters("s", "s.created_at", "s.message_id") +
		" ORDER BY s.created_at DESC, s.message_id DESC LIMIT ?"
	args = append(args, q.limit+1)
	args = append(args, pattern)
	queued := "SELECT m2.id, m2.created_at FROM " + q.db.Table("search_pending") + " p JOIN " + q.db.Table("messages") + " m2 ON m2.id = p.message_id WHERE m2.body " + op + ` ? ESCAPE ''` +
		filters("m2", "m2.created_at", "m2.id")
	args = append(args, q.limit+1)
	return q.run().Raw("SELECT id FROM (("+indexed+") UNION ALL ("+queued+")) hit ORDER BY created_at DESC, id DESC LIMIT ?", args...)
}

func (q searchQuery) messages() ([]SearchHit, string, error) {
	var rows []messageRow
	if q.db.Dialect == tenants.Postgres {
		// The page's ids first, then their rows by id (each found in its
		// month's partition by the primary key; a join would let the
		// planner scan every partition for a handful of ids).
		var ids []string
		if err := q.messagesTx().Scan(&ids).Error; err != nil {
			return nil, "", err
		}
		if len(ids) > 0 {
			if err := q.run().Table(q.db.Table("messages")).Where("id IN ?", ids).Scan(&rows).Error; err != nil {
				return nil, "", err
			}
		}
		at := make(map[string]int, len(ids))
		for i, id := range ids {
			at[id] = i
		}
		slices.SortFunc(rows, func(a, b messageRow) int { return at[a.ID] - at[b.ID] })
	} else if err := q.messagesTx().Scan(&rows).Error; err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > q.limit {
		rows = rows[:q.limit]
		next = encodeCursor(cursor{at: rows[len(rows)-1].CreatedAt, id: rows[len(rows)-1].ID})
	}
	out := make([]SearchHit, 0, len(rows))
	for _, r := range rows {
		m := r.message()
		snip, hl := Highlight(m.Body, q.text)
		out = append(out, SearchHit{Type: "message", ConversationID: m.ConversationID, Message: &m, Field: "body", Snippet: snip, Highlights: hl})
	}
	return out, next, nil
}

func (q searchQuery) contacts() ([]SearchHit, string, error) {
	byName, arg := q.like("v.name")
	byEmail, _ := q.like("v.email")
	tx := q.run().Table(q.db.Table("visitors")+" v").Select("v.*").Where("("+byName+" OR "+byEmail+")", arg, arg)
	if cond, args := q.sc.where(); cond != "" {
		tx = tx.Where("EXISTS (SELECT 1 FROM "+q.db.Table("conversations")+" sc WHERE sc.visitor_id = v.id AND "+cond+")", args...)
	}
	var rows []visitorRow
	if err := q.page(tx, "v.last_seen_at", "v.id").Scan(&rows).Error; err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > q.limit {
		rows = rows[:q.limit]
		next = encodeCursor(cursor{at: rows[len(rows)-1].LastSeenAt, id: rows[len(rows)-1].ID})
	}
	latest, err := q.latestConversations(rows)
	if err != nil {
		return nil, "", err
	}
	out := make([]SearchHit, 0, len(rows))
	for _, r := range rows {
		v := r.visitor()
		field, text := "name", v.Name
		if !containsFold(v.Name, q.text) {
			field, text = "email", v.Email
		}
		snip, hl := Highlight(text, q.text)
		out = append(out, SearchHit{Type: "contact", ConversationID: latest[v.ID], Visitor: &v, Field: field, Snippet: snip, Highlights: hl})
	}
	return out, next, nil
}

// latestConversations maps each visitor to their most recent conversation
// within the caller's scope.
func (q searchQuery) latestConversations(vs []visitorRow) (map[string]string, error) {
	out := map[string]string{}
	if len(vs) == 0 {
		return out, nil
	}
	ids := make([]string, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	tx := q.run().Model(&conversationRow{}).Select("id, visitor_id, updated_at").Where("visitor_id IN ?", ids)
	if cond, args := q.sc.where(); cond != "" {
		tx = tx.Where(cond, args...)
	}
	var rows []conversationRow
	if err := tx.Order("updated_at DESC").Limit(1000).Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		if _, ok := out[r.VisitorID]; !ok {
			out[r.VisitorID] = r.ID
		}
	}
	return out, nil
}

func (q searchQuery) conversations() ([]SearchHit, string, error) {
	byName, arg := q.like("v.name")
	byEmail, _ := q.like("v.email")
	byLabel, _ := q.like("c.labels")
	tx := q.run().Table(q.db.Table("conversations")+" c").Select("c.*").
		Joins("JOIN "+q.db.Table("visitors")+" v ON v.id = c.visitor_id").
		Where("("+byName+" OR "+byEmail+" OR "+byLabel+" OR c.id = ?)", arg, arg, arg, q.text)
	if cond, args := q.sc.where(); cond != "" {
		tx = tx.Where("EXISTS (SELECT 1 FROM "+q.db.Table("conversations")+" sc WHERE sc.id = c.id AND "+cond+")", args...)
	}
	var rows []conversationRow
	if err := q.page(tx, "c.updated_at", "c.id").Scan(&rows).Error; err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > q.limit {
		rows = rows[:q.limit]
		next = encodeCursor(cursor{at: rows[len(rows)-1].UpdatedAt, id: rows[len(rows)-1].ID})
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.VisitorID
	}
	vs, err := q.s.visitors(q.ctx, q.p.TenantID, ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]SearchHit, 0, len(rows))
	for _, r := range rows {
		c := r.conversation(vs[r.VisitorID])
		field, text := "id", c.ID
		switch {
		case containsFold(c.Visitor.Name, q.text):
			field, text = "name", c.Visitor.Name
		case containsFold(c.Visitor.Email, q.text):
			field, text = "email", c.Visitor.Email
		default:
			for _, l := range c.Labels {
				if containsFold(l, q.text) {
					field, text = "label", l
					break
				}
			}
		}
		snip, hl := Highlight(text, q.text)
		out = append(out, SearchHit{Type: "conversation", ConversationID: c.ID, Conversation: &c, Field: field, Snippet: snip, Highlights: hl})
	}
	return out, next, nil
}

func fold(s string) []rune {
	r := []rune(s)
	for i, c := range r {
		r[i] = unicode.ToLower(c)
	}
	return r
}

func containsFold(s, sub string) bool {
	return indexRunes(fold(s), fold(sub), 0) >= 0
}

func indexRunes(s, sub []rune, from int) int {
	if len(sub) == 0 {
		return -1
	}
	for i := from; i+len(sub) <= len(s); i++ {
		match := true
		for j := range sub {
			if s[i+j] != sub[j] {
				match = false
				break
			}
		}
		if match {
			return i
		}
	}
	return -1
}

// Highlight cuts text down to the part around the first match of q (any
// case) and returns it with the [start, end) code-point offsets of every
// match in it. Without a match the snippet is the start of text.
func Highlight(text, q string) (string, [][2]int) {
	runes := []rune(text)
	low, sub := fold(text), fold(q)
	first := indexRunes(low, sub, 0)
	start, end := 0, min(len(runes), snippetBefore+snippetAfter)
	if first >= 0 {
		start = max(0, first-snippetBefore)
		end = min(len(runes), first+len(sub)+snippetAfter)
	}
	prefix := ""
	if start > 0 {
		prefix = "…"
	}
	suffix := ""
	if end < len(runes) {
		suffix = "…"
	}
	shift := utf8.RuneCountInString(prefix) - start
	hl := [][2]int{}
	for i := first; i >= 0 && i+len(sub) <= end && len(hl) < maxHighlights; i = indexRunes(low, sub, i+len(sub)) {
		hl = append(hl, [2]int{i + shift, i + len(sub) + shift})
	}
	return prefix + string(runes[start:end]) + suffix, hl
}
