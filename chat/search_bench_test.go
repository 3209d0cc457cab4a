package chat_test

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"testing"
	"time"

	"kefu/chat"
	"kefu/flowrun"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

var (
	searchMessages = flag.Int("search-messages", 1_000_000, "BenchmarkSearch's tenant stores this many messages")
	searchExplain  = flag.Bool("search-explain", false, "BenchmarkSearch logs each message search's plan (EXPLAIN ANALYZE)")
)

// BenchmarkSearch measures one search request (Service.Search: validation,
// scope, the query, snippets) on a PostgreSQL tenant that stores
// -search-messages messages (100 per conversation), as the owner (every
// conversation in scope) and as an agent (only their own). Seeding a
// million messages and building the trigram index takes a few minutes:
//
//	go test -run '^$' -bench BenchmarkSearch -benchtime 50x -timeout 30m ./chat/
func BenchmarkSearch(b *testing.B) {
	store := tenantstest.Postgres(b)
	if store == nil {
		b.Skip("BenchmarkSearch needs PostgreSQL")
	}
	ctx := context.Background()
	ten := tenants.NewService(store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
	svc := chat.NewService(chat.Config{Tenants: ten, Bus: chat.NewLocalBus()})
	flowrun.New(svc, flowrun.Config{})
	defer svc.Close(ctx)
	res, err := ten.Signup(ctx, tenants.SignupInput{Company: "Search bench " + tenants.NewID()[24:], Email: "o@example.com", Password: "password1", Name: "O"})
	if err != nil {
		b.Fatal(err)
	}
	owner, _ := ten.Authenticate(ctx, res.Token)
	db, _ := ten.DB(res.Tenant.ID)
	const perConv = 100
	convs := *searchMessages / perConv
	bodies := []string{
		"你好，我想退货，茶壶坏了", "请问什么时候发货？", "Where is my order? It has been a week", "我的优惠券不能用",
		"Can I change the delivery address?", "发票抬头写错了，能重开吗", "The teapot arrived broken", "谢谢，问题解决了",
		"How do I reset my password?", "物流信息一直没有更新", "I would like a refund please", "尺码偏小，可以换大一号吗",
		"Thanks for your help!", "会员积分怎么兑换", "Do you ship to Hong Kong?", "客服什么时候上班",
		"The app crashes when I pay", "订单显示已签收但我没收到", "Is this item in stock?", "好的，我再等等",
	}
	// The index is built once after the rows are in (as CREATE INDEX on a
	// restored tenant would), not row by row through the indexer.
	for _, ix := range []string{"message_search_trgm", "message_search_bigrams", "message_search_recent", "message_search_conversation"} {
		if err := db.Exec(`DROP INDEX IF EXISTS ` + db.Table(ix)).Error; err != nil {
			b.Fatal(err)
		}
	}
	if err := seedSearchHistory(ctx, db, owner.ID, convs, perConv, bodies); err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO ` + db.Table("message_search") + ` (message_id, body, conversation_id, private, created_at) SELECT id, body, conversation_id, private, created_at FROM ` + db.Table("messages") + ` ON CONFLICT DO NOTHING`,
		`TRUNCATE ` + db.Table("search_pending"),
		`CREATE INDEX IF NOT EXISTS message_search_trgm ON ` + db.Table("message_search") + ` USING gin (body gin_trgm_ops)`,
		`CREATE INDEX IF NOT EXISTS message_search_bigrams ON ` + db.Table("message_search") + ` USING gin (` + db.Table("search_bigrams") + `(body))`,
		`CREATE INDEX IF NOT EXISTS message_search_recent ON ` + db.Table("message_search") + ` (created_at DESC, message_id DESC)`,
		`CREATE INDEX IF NOT EXISTS message_search_conversation ON ` + db.Table("message_search") + ` (conversation_id, created_at DESC)`,
		`VACUUM ANALYZE ` + db.Table("messages"),
		`VACUUM ANALYZE ` + db.Table("message_search"),
		`ANALYZE`,
	} {
		if err := db.Exec(q).Error; err != nil {
			b.Fatal(err)
		}
	}
	// An agent with ten of the conversations.
	agent, err := ten.CreateAgent(ctx, owner, tenants.AgentInput{Email: "a@example.com", Name: "A", Password: "password1", Role: tenants.RoleAgent})
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Exec(`UPDATE `+db.Table("conversations")+` SET assignee_id = ?, status = 'assigned' WHERE id IN ('s-c1','s-c2','s-c3','s-c4','s-c5','s-c6','s-c7','s-c8','s-c9','s-c10')`, agent.ID).Error; err != nil {
		b.Fatal(err)
	}
	token, _, err := ten.Login(ctx, res.Tenant.Slug, "a@example.com", "password1")
	if err != nil {
		b.Fatal(err)
	}
	ag, _ := ten.Authenticate(ctx, token)
	for _, who := range []struct {
		name string
		p    tenants.Principal
	}{{"owner", owner}, {"agent", ag}} {
		for _, c := range []struct{ name, q, typ string }{
			{"zh-common-5pct", "茶壶坏了", chat.SearchMessages},
			{"zh-2-chars", "退货", chat.SearchMessages},
			{"zh-1-char-scan", "货", chat.SearchMessages},
			{"en-common-5pct", "teapot", chat.SearchMessages},
			{"one-conversation", fmt.Sprintf("了 #%d", convs/2), chat.SearchMessages},
			{"miss", "不存在的词语", chat.SearchMessages},
			{"contacts", fmt.Sprintf("Visitor %d", convs/3), chat.SearchContacts},
		} {
			if *searchExplain && c.typ == chat.SearchMessages {
				plan, err := chat.ExplainSearch(ctx, svc, who.p, chat.SearchInput{Q: c.q, Type: c.typ})
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("%s/%s %q:\n%s", who.name, c.name, c.q, plan)
			}
			b.Run(who.name+"/"+c.name, func(b *testing.B) {
				var n int
				var took []time.Duration
				for b.Loop() {
					start := time.Now()
					hits, _, err := svc.Search(ctx, who.p, chat.SearchInput{Q: c.q, Type: c.typ})
					if err != nil {
						b.Fatal(err)
					}
					took = append(took, time.Since(start))
					n = len(hits)
				}
				slices.Sort(took)
				b.ReportMetric(float64(n), "hits")
				b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
			})
		}
	}
}

// seedSearchHistory fills a PostgreSQL tenant as a year of use would: convs
// conversations of perConv messages each, spread evenly over the last 12
// months, with UUIDv7-shaped message ids (their first 48 bits the creation
// time) so the rows land in their monthly partitions, not the default one.
// Message k of conversation n says bodies[(n+k) % len(bodies)] + " #n".
func seedSearchHistory(ctx context.Context, db *tenants.DB, agentID string, convs, perConv int, bodies []string) error {
	if err := chat.SeedHistory(ctx, db, chat.History{Conversations: convs, Messages: 0, Prefix: "s-", AgentID: agentID}); err != nil {
		return err
	}
	now := time.Now().UTC()
	start := now.AddDate(-1, 0, 0)
	if err := db.WithContext(ctx).Exec(`SELECT `+db.Table("create_message_partitions")+`(?, ?)`, start, now.AddDate(0, 2, 0)).Error; err != nil {
		return err
	}
	// Conversation n starts at start + (n/convs) of the year; its messages
	// follow a minute apart.
	at := `(?::timestamptz + (?::timestamptz - ?::timestamptz) * (c.n::float8 / ?))`
	if err := db.WithContext(ctx).Exec(`UPDATE `+db.Table("conversations")+` x SET last_seq = ?, created_at = t, updated_at = t + ? * interval '1 minute', last_message_at = t + ? * interval '1 minute'
		FROM (SELECT n, `+at+` AS t FROM generate_series(1, ?) AS c(n)) c WHERE x.id = 's-c' || c.n`,
		perConv, perConv, perConv, start, now, start, convs, convs).Error; err != nil {
		return err
	}
	body := "CASE (c.n + s.k) % " + fmt.Sprint(len(bodies))
	var args []any
	for i, t := range bodies {
		body += fmt.Sprintf(" WHEN %d THEN ?", i)
		args = append(args, t)
	}
	body += " END || ' #' || c.n"
	const chunk = 1000
	for from := 1; from <= convs; from += chunk {
		to := min(from+chunk-1, convs)
		q := `INSERT INTO ` + db.Table("messages") + ` (id, conversation_id, seq, client_id, author_type, author_id, author_name, body, private, attachments, created_at)
			SELECT ` + db.Table("message_id_floor") + `(x.t) || '-7' || substr(x.h, 1, 3) || '-8' || substr(x.h, 4, 3) || '-' || substr(x.h, 7, 12),
				's-c' || c.n, s.k, 'h' || s.k,
				CASE WHEN s.k % 2 = 1 THEN 'visitor' ELSE 'agent' END,
				CASE WHEN s.k % 2 = 1 THEN 's-v' || c.n ELSE ? END,
				'', ` + body + `, false, '[]', x.t
			FROM generate_series(?::int, ?::int) AS c(n), generate_series(1, ?::int) AS s(k),
				LATERAL (SELECT ` + at + ` + s.k * interval '1 minute' AS t, md5(c.n || '-' || s.k) AS h) x`
		a := append([]any{agentID}, args...)
		a = append(a, from, to, perConv, start, now, start, convs)
		if err := db.WithContext(ctx).Exec(q, a...).Error; err != nil {
			return fmt.Errorf("seed messages %d-%d: %w", from, to, err)
		}
	}
	return nil
}
