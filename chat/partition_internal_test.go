package chat

import (
	"context"
	"database/sql"
	"flag"
	"sort"
	"testing"
	"time"

	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

var partitionExplain = flag.Bool("partition-explain", false, "TestPartitionedWritePath: log the write path's plans and per-statement times on both layouts")

// UnpartitionMessages moves a PostgreSQL tenant's messages back to one plain
// table shaped as before tenant migration 0023 (the same columns, primary
// key, unique indexes, foreign key and triggers), for measurements that
// compare the two layouts with the same code (BenchmarkSendLayout).
func UnpartitionMessages(db *tenants.DB) error {
	m, old := db.Table("messages"), db.Table("messages_parted")
	return db.Exec(`ALTER TABLE ` + m + ` RENAME TO messages_parted;
CREATE TABLE ` + m + ` (LIKE ` + old + ` INCLUDING DEFAULTS);
INSERT INTO ` + m + ` SELECT * FROM ` + old + `;
DROP TABLE ` + old + ` CASCADE;
ALTER TABLE ` + m + ` ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX ON ` + m + ` (conversation_id, seq);
CREATE UNIQUE INDEX ON ` + m + ` (conversation_id, author_id, client_id) WHERE client_id IS NOT NULL;
ALTER TABLE ` + m + ` ADD FOREIGN KEY (conversation_id) REFERENCES ` + db.Table("conversations") + `(id);
CREATE TRIGGER messages_search_forget AFTER DELETE ON ` + m + `
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ` + db.Table("forget_message_search") + `();
CREATE TRIGGER messages_search_queue AFTER INSERT ON ` + m + `
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ` + db.Table("queue_message_search") + `();`).Error
}

// WaitBackground waits until the work a service started in the background
// (flow runs after visitors' messages, bot calls, reopenings) has finished,
// for measurements that must not let one run's leftovers fall on the next.
// No send may start while it waits.
func WaitBackground(s *Service) { s.bg.Wait() }

// TestPartitionedWritePath is an investigation, run by hand: the group
// commit's one-shot statement (widget-style and named) on a partitioned
// and an unpartitioned tenant, each prepared once and executed serially on
// one connection as pgx does (generic plans after the fifth run), with the
// plans of the last run and the median time per statement:
//
//	go test -run TestPartitionedWritePath -v ./chat/ -args -partition-explain
func TestPartitionedWritePath(t *testing.T) {
	if !*partitionExplain {
		t.Skip("an investigation: -args -partition-explain")
	}
	pg := tenantstest.Postgres(t)
	if pg == nil {
		t.Skip("needs PostgreSQL")
	}
	ctx := context.Background()
	ten := tenants.NewService(pg, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
	s := NewService(Config{Tenants: ten, Bus: NewLocalBus()})
	t.Cleanup(func() { s.Close(context.Background()) })
	type layout struct {
		name  string
		db    *tenants.DB
		convs []string
		vids  []string
	}
	var layouts []layout
	for _, plain := range []bool{false, true} {
		res, err := ten.Signup(ctx, tenants.SignupInput{Company: "Layout " + tenants.NewID()[24:], Email: "o@example.com", Password: "password1", Name: "O"})
		if err != nil {
			t.Fatal(err)
		}
		db, _ := s.db(res.Tenant.ID)
		name := "partitioned"
		if plain {
			name = "unpartitioned"
			if err := UnpartitionMessages(db); err != nil {
				t.Fatal(err)
			}
		}
		l := layout{name: name, db: db}
		for i := 0; i < 16; i++ {
			ws, _ := s.StartWidgetSession(ctx, res.Tenant.WidgetKey, "", VisitorInput{})
			v, _ := ten.Authenticate(ctx, ws.VisitorToken)
			m, _, err := s.Send(ctx, v, SendInput{Body: "open"})
			if err != nil {
				t.Fatal(err)
			}
			l.convs, l.vids = append(l.convs, m.ConversationID), append(l.vids, v.ID)
		}
		layouts = append(layouts, l)
	}
	// The partitioned tenant once more, its messages inserted through the
	// parent as before the one-shot named the month's partition.
	parent := layouts[0]
	parent.name = "partitioned-via-parent"
	layouts = append(layouts, parent)
	const runs = 400
	for _, kind := range []string{"widget", "named"} {
		// The layouts take turns statement by statement, so the machine's
		// load falls on both alike.
		times := map[string][]time.Duration{}
		conns := make([]*sql.Conn, len(layouts))
		queries := make([]string, len(layouts))
		for k, l := range layouts {
			pool, err := l.db.Shared().DB()
			if err != nil {
				t.Fatal(err)
			}
			if conns[k], err = pool.Conn(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = conns[k].Close() })
			queries[k] = pgOneShotSQL(l.db, false, "", partitionOf(tenants.NewID()))
			if l.name != "partitioned" {
				queries[k] = pgOneShotSQL(l.db, false, "", "")
			}
		}
		args := func(l layout, n int) []any {
			i := n % len(l.convs)
			row := messageRow{ID: tenants.NewID(), ConversationID: l.convs[i], Seq: 1, AuthorType: AuthorAgent, AuthorID: "owner", Body: "hello there", Attachments: "[]", CreatedAt: time.Now()}
			b := convBump{id: l.convs[i], k: 1, at: row.CreatedAt, pv: true, body: "hello there", author: "O"}
			if kind == "widget" {
				row.AuthorType, row.AuthorID = AuthorVisitor, l.vids[i]
				b.vid = l.vids[i]
				b.waiting(row)
			}
			return append(bumpArgs([]convBump{b}), messageArgs([]messageRow{row})...)
		}
		for n := 0; n < runs; n++ {
			for k, l := range layouts {
				a := args(l, n)
				start := time.Now()
				rows, err := conns[k].QueryContext(ctx, queries[k], a...)
				if err == nil {
					for rows.Next() {
					}
					err = rows.Err()
					rows.Close()
				}
				if err != nil {
					t.Fatal(err)
				}
				times[l.name] = append(times[l.name], time.Since(start))
			}
		}
		for k, l := range layouts {
			explainGeneric(t, conns[k], queries[k], args(l, runs))
			d := times[l.name]
			sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
			t.Logf("%s %s: median %v, p90 %v over %d serial runs (plan in the server log)", kind, l.name, d[len(d)/2], d[len(d)*9/10], len(d))
		}
	}
}

// explainGeneric runs q once more on c, where pgx has used it more than five
// times (a generic plan, as pgx's statement cache runs it), with auto_explain
// logging the plan to the server's log (where the test's reader finds it).
func explainGeneric(t *testing.T, c *sql.Conn, q string, args []any) string {
	t.Helper()
	ctx := context.Background()
	for _, set := range []string{`LOAD 'auto_explain'`, `SET auto_explain.log_min_duration = 0`, `SET auto_explain.log_analyze = on`,
		`SET auto_explain.log_verbose = on`, `SET auto_explain.log_buffers = on`, `SET auto_explain.log_nested_statements = on`} {
		if _, err := c.ExecContext(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	defer func() { _, _ = c.ExecContext(ctx, `SET auto_explain.log_min_duration = -1`) }()
	rows, err := c.QueryContext(ctx, q, args...)
	if err != nil {
		t.Fatal(err)
	}
	rows.Close()
	return "(plan in the server log)"
}
