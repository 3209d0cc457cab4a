package chat

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// Every statement of the message path uses an index: a tenant with a
// history (a few thousand conversations, tens of thousands of messages)
// runs the path's workload — widget-style sends with and without a
// conversation id, resends, a resume by since, the catch-up, the inbox
// lists and the queue — while every statement it runs is recorded; each
// recorded statement over messages or conversations is then EXPLAINed and
// the test fails on a full scan of either table. On PostgreSQL the
// statements that bypass the recorder (the group commit's array
// statements) are EXPLAINed by name, and the tables' own seq_scan counters
// must not move during the workload.
func TestMessagePathUsesIndexes(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s, ten := newNode(t, b.Store, Config{})
			// Callbacks are registered before anything else can use the
			// handles (registering is not safe beside running queries); the
			// recorder keeps nothing until it is started.
			rec := &recorder{seen: map[string]statement{}}
			rec.attach(t, b.Store.Platform().DB)
			res := signupFor(t, ten, "Plans")
			tdb, _ := s.db(res.Tenant.ID)
			if tdb.DB != b.Store.Platform().DB {
				rec.attach(t, tdb.DB)
			}
			owner, _ := ten.Authenticate(ctx, res.Token)
			if _, err := ten.CreateAgent(ctx, owner, tenants.AgentInput{Email: "ann@example.com", Name: "Ann", Password: "password1", Teams: []string{"billing"}}); err != nil {
				t.Fatal(err)
			}
			tok, _, _ := ten.Login(ctx, res.Tenant.Slug, "ann@example.com", "password1")
			agent, _ := ten.Authenticate(ctx, tok)
			db, _ := s.db(res.Tenant.ID)
			convs := 3000 // PostgreSQL's planner scans small tables, rightly: it needs a real history
			if db.Dialect == tenants.SQLite {
				convs = 800 // the pure-Go SQLite is slow under -race; its planner follows ANALYZE's figures
			}
			if err := SeedHistory(ctx, db, History{Conversations: convs, Messages: 20, Prefix: "h1-", AgentID: owner.ID}); err != nil {
				t.Fatal(err)
			}
			analyze(t, db)
			// A webhook subscribed to every event: the workload also writes
			// the outbox (its statements run inside the recorded ones).
			if err := db.Exec(`INSERT INTO `+db.Table("webhooks")+` (id, url, events, secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
				tenants.NewID(), "http://example.com/hook", `["conversation.created","conversation.assigned","conversation.transferred","conversation.resolved","message.created"]`, "whsec_x", time.Now(), time.Now()).Error; err != nil {
				t.Fatal(err)
			}
			before := seqScans(t, b.Store, db)

			rec.start()
			messagePathWorkload(t, ctx, s, ten, res.Tenant.WidgetKey, owner, agent)
			rec.stop()

			var outboxRows int64
			if err := db.Raw(`SELECT count(*) FROM ` + s.OutboxTable(db)).Scan(&outboxRows).Error; err != nil || outboxRows < 20 {
				t.Errorf("the workload wrote %d webhook events (%v): the outbox paths did not run", outboxRows, err)
			}
			if after := seqScans(t, b.Store, db); after != before {
				t.Errorf("the workload scanned messages or conversations sequentially: seq_scan %v → %v", before, after)
			}
			stmts := rec.statements()
			if len(stmts) < 15 {
				t.Fatalf("only %d statements recorded: the recorder is broken", len(stmts))
			}
			if db.Dialect == tenants.Postgres {
				bumps := bumpArgs([]convBump{{id: "x", k: 1, at: time.Now(), vid: "v"}})
				msgs := messageArgs([]messageRow{{ID: "m", ConversationID: "x", Seq: 1, Attachments: "[]", CreatedAt: time.Now()}})
				stmts = append(stmts,
					statement{sql: pgBumpSQL(db), vars: bumps},
					statement{sql: pgInsertSQL(db), vars: msgs},
					statement{sql: pgOneShotSQL(db, false, "", ""), vars: append(append([]any{}, bumps...), msgs...)},
					statement{sql: pgOneShotSQL(db, true, "", ""), vars: append(append(append([]any{}, bumps...), msgs...), []string{"u"}, []string{"m"}, []string{"x"})},
					statement{sql: pgOneShotSQL(db, true, "", partitionOf(tenants.NewID())), vars: append(append(append([]any{}, bumps...), msgs...), []string{"u"}, []string{"m"}, []string{"x"})},
					statement{sql: pgOneShotSQL(db, true, s.OutboxTable(db), ""), vars: append(append(append(append([]any{}, bumps...), msgs...), []string{"u"}, []string{"m"}, []string{"x"}),
						hookArgs(res.Tenant.ID, []*hookParts{s.newHookParts(res.Tenant.ID, messageRow{ID: "m", ConversationID: "x", Seq: 1, Attachments: "[]", CreatedAt: time.Now()})})...)})
			}
			checked := 0
			for _, st := range stmts {
				if !touchesHotTables(st.sql) {
					continue
				}
				checked++
				if testing.Verbose() {
					t.Logf("checked: %s", strings.Join(strings.Fields(st.sql), " "))
				}
				if scan := fullScan(t, db, st); scan != "" {
					t.Errorf("full scan (%s) in:\n%s", scan, st.sql)
				}
			}
			t.Logf("%d statements over messages or conversations checked", checked)
		})
	}
}

// messagePathWorkload runs what visitors, agents and the console do.
func messagePathWorkload(t *testing.T, ctx context.Context, s *Service, ten *tenants.Service, widgetKey string, owner, agent tenants.Principal) {
	t.Helper()
	must := func(_ any, _ bool, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	newVisitor := func() tenants.Principal {
		ws, err := s.StartWidgetSession(ctx, widgetKey, "", VisitorInput{Name: "V"})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := ten.Authenticate(ctx, ws.VisitorToken)
		return p
	}
	v := newVisitor()
	first, _, err := s.Send(ctx, v, SendInput{ClientID: "o1", Body: "hello"}) // opens
	if err != nil {
		t.Fatal(err)
	}
	conv := first.ConversationID
	for i := 0; i < 5; i++ { // widget-style: no conversation id
		must(s.Send(ctx, v, SendInput{ClientID: fmt.Sprintf("w%d", i), Body: "more"}))
	}
	must(s.Send(ctx, v, SendInput{ClientID: "w1", Body: "more"})) // a resend, caught in the batch
	must(s.Send(ctx, v, SendInput{ConversationID: conv, ClientID: "c1", Body: "named"}))
	// Another node, whose cache knows nothing of the visitor.
	other := NewService(Config{Tenants: ten, Bus: NewLocalBus()})
	defer other.Close(context.Background())
	must(other.Send(ctx, v, SendInput{ClientID: "n1", Body: "from another node"}))
	must(other.Send(ctx, v, SendInput{ClientID: "n1", Body: "from another node"}))
	// Concurrent senders share group commits.
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := newVisitor()
			for i := 0; i < 5; i++ {
				if _, _, err := s.Send(ctx, p, SendInput{ClientID: fmt.Sprintf("g%d-%d", g, i), Body: "x"}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	must(s.Send(ctx, owner, SendInput{ConversationID: conv, ClientID: "a1", Body: "reply"}))
	must(s.Send(ctx, agent, SendInput{ConversationID: conv, ClientID: "a2", Body: "note", Private: true}))
	// Reads: resume by since, catch-up, the inbox, the queue.
	for _, p := range []tenants.Principal{v, owner, agent} {
		if _, err := s.Messages(ctx, p, conv, 2, 100); err != nil {
			t.Fatal(err)
		}
		sc, _ := s.ScopeOf(ctx, p)
		if _, err := s.MessagesAfter(ctx, p, sc, conv, 3, 200); err != nil {
			t.Fatal(err)
		}
		if _, err := s.VisitorConversations(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []ListFilter{{}, {Status: StatusQueued}, {Assignee: "me"}, {Assignee: "none"}, {OpenOnly: true}, {Limit: 20}} {
		for _, p := range []tenants.Principal{owner, agent} {
			page, next, err := s.Conversations(ctx, p, f)
			if err != nil {
				t.Fatal(err)
			}
			if next != "" && len(page) > 0 {
				f.Cursor = next
				if _, _, err := s.Conversations(ctx, p, f); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if _, err := s.MarkRead(ctx, agent, conv, 3); err != nil {
		t.Fatal(err)
	}
	s.publishQueue(ctx, owner.TenantID)
	if _, err := s.Assign(ctx, owner, conv, AssignInput{AgentID: agent.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve(ctx, agent, conv); err != nil {
		t.Fatal(err)
	}
	// After resolve: a resend of an old client id, then a new conversation.
	must(s.Send(ctx, v, SendInput{ClientID: "w2", Body: "more"}))
	must(s.Send(ctx, v, SendInput{ClientID: "after", Body: "new question"}))
	// The flows these sends started run their statements too: closing
	// waits for them.
	other.Close(ctx)
	s.Close(ctx)
}

type statement struct {
	sql  string
	vars []any
}

type recorder struct {
	mu   sync.Mutex
	on   bool
	n    int
	seen map[string]statement
}

// attach registers a callback on every GORM processor of db that keeps
// each distinct statement it runs (with its first arguments) while the
// recorder is on.
func (r *recorder) attach(t *testing.T, db *gorm.DB) {
	t.Helper()
	keep := func(db *gorm.DB) {
		r.mu.Lock()
		defer r.mu.Unlock()
		q := db.Statement.SQL.String()
		if !r.on || q == "" {
			return
		}
		if _, ok := r.seen[q]; !ok {
			r.seen[q] = statement{sql: q, vars: append([]any(nil), db.Statement.Vars...)}
		}
	}
	r.n++
	name := fmt.Sprintf("plan:record:%d", r.n)
	cb := db.Callback()
	for _, err := range []error{
		cb.Query().After("gorm:query").Register(name, keep),
		cb.Row().After("gorm:row").Register(name, keep),
		cb.Raw().After("gorm:raw").Register(name, keep),
		cb.Create().After("gorm:create").Register(name, keep),
		cb.Update().After("gorm:update").Register(name, keep),
		cb.Delete().After("gorm:delete").Register(name, keep),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func (r *recorder) start() {
	r.mu.Lock()
	r.on = true
	r.mu.Unlock()
}

func (r *recorder) stop() {
	r.mu.Lock()
	r.on = false
	r.mu.Unlock()
}

func (r *recorder) statements() []statement {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]statement, 0, len(r.seen))
	for _, st := range r.seen {
		out = append(out, st)
	}
	return out
}

var hotTables = regexp.MustCompile("[`\"](messages|conversations)[`\"]")

func touchesHotTables(q string) bool {
	return hotTables.MatchString(q) && !strings.HasPrefix(strings.TrimSpace(strings.ToUpper(q)), "EXPLAIN")
}

// fullScan EXPLAINs st and returns the plan line that scans messages or
// conversations in full, or "".
func fullScan(t *testing.T, db *tenants.DB, st statement) string {
	t.Helper()
	sqlDB, err := db.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	prefix := "EXPLAIN "
	if db.Dialect == tenants.SQLite {
		prefix = "EXPLAIN QUERY PLAN "
	}
	rows, err := sqlDB.Query(prefix+st.sql, st.vars...)
	if err != nil {
		t.Fatalf("explain %s: %v", st.sql, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	aliases := aliasesOf(st.sql)
	for rows.Next() {
		dest := make([]any, len(cols))
		var line string
		for i := range dest {
			dest[i] = new(sql.RawBytes)
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		line = string(*dest[len(dest)-1].(*sql.RawBytes))
		if db.Dialect == tenants.Postgres {
			if m := regexp.MustCompile(`Seq Scan on (\w+)`).FindStringSubmatch(line); len(m) > 1 && (m[1] == "messages" || m[1] == "conversations") {
				return strings.TrimSpace(line)
			}
			continue
		}
		// SQLite: "SCAN t" is a full scan; "SCAN t USING [COVERING] INDEX"
		// walks an index in order (a LIMIT stops it early); a search with
		// ANY(column) skips over an index's leading column, visiting every
		// value of it — a scan too.
		m := regexp.MustCompile(`^(SCAN|SEARCH) (\w+)\b(.*)$`).FindStringSubmatch(strings.TrimSpace(line))
		if len(m) > 3 && aliases[m[2]] && ((m[1] == "SCAN" && m[3] == "") || strings.Contains(m[3], "ANY(")) {
			return line
		}
	}
	return ""
}

// aliasesOf is the set of names messages and conversations go by in q.
func aliasesOf(q string) map[string]bool {
	out := map[string]bool{"messages": true, "conversations": true}
	for _, m := range regexp.MustCompile("[`\"](?:messages|conversations)[`\"]\\s+(?:AS\\s+)?([a-z]\\w*)").FindAllStringSubmatch(q, -1) {
		switch strings.ToUpper(m[1]) {
		case "WHERE", "SET", "ON", "JOIN", "ORDER", "LIMIT", "VALUES", "LEFT", "INNER", "GROUP":
		default:
			out[m[1]] = true
		}
	}
	return out
}

func analyze(t *testing.T, db *tenants.DB) {
	t.Helper()
	q := "ANALYZE"
	if db.Dialect == tenants.Postgres {
		q = "ANALYZE " + db.Table("messages") + ", " + db.Table("conversations") + ", " + db.Table("visitors")
	}
	if err := db.Exec(q).Error; err != nil {
		t.Fatal(err)
	}
}

// seqScans is PostgreSQL's count of sequential scans of the tenant's
// messages and conversations (0 on SQLite). Statistics reach the view when
// a backend exits, so the pool's connections are closed first.
func seqScans(t *testing.T, store *tenants.Store, db *tenants.DB) [2]int64 {
	t.Helper()
	if db.Dialect != tenants.Postgres {
		return [2]int64{}
	}
	pool, _ := store.Platform().DB.DB()
	pool.SetMaxIdleConns(0)
	pool.SetMaxIdleConns(16)
	time.Sleep(300 * time.Millisecond)
	var out [2]int64
	for i, table := range []string{"messages", "conversations"} {
		var n sql.NullInt64
		schema := strings.Trim(strings.Split(db.Table(table), ".")[0], `"`)
		if err := store.Platform().Raw(`SELECT seq_scan FROM pg_stat_user_tables WHERE schemaname = ? AND relname = ?`, schema, table).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		out[i] = n.Int64
	}
	return out
}
