package chat_test

import (
	"context"
	"flag"
	"fmt"
	"testing"

	"kefu/chat"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

var searchMessages = flag.Int("search-messages", 1_000_000, "BenchmarkSearch's tenant stores this many messages")

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
	trgm := db.Table("message_search") + "_trgm"
	if err := db.Exec(`DROP INDEX IF EXISTS ` + trgm).Error; err != nil {
		b.Fatal(err)
	}
	if err := chat.SeedHistory(ctx, db, chat.History{Conversations: convs, Messages: perConv, Prefix: "s-", AgentID: owner.ID, Bodies: bodies}); err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO ` + db.Table("message_search") + ` (message_id, body) SELECT id, body FROM ` + db.Table("messages") + ` ON CONFLICT DO NOTHING`,
		`TRUNCATE ` + db.Table("search_pending"),
		`CREATE INDEX IF NOT EXISTS message_search_trgm ON ` + db.Table("message_search") + ` USING gin (body gin_trgm_ops)`,
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
			{"zh-2-chars-scan", "退货", chat.SearchMessages},
			{"en-common-5pct", "teapot", chat.SearchMessages},
			{"one-conversation", fmt.Sprintf("了 #%d", convs/2), chat.SearchMessages},
			{"miss", "不存在的词语", chat.SearchMessages},
			{"contacts", fmt.Sprintf("Visitor %d", convs/3), chat.SearchContacts},
		} {
			b.Run(who.name+"/"+c.name, func(b *testing.B) {
				var n int
				for b.Loop() {
					hits, _, err := svc.Search(ctx, who.p, chat.SearchInput{Q: c.q, Type: c.typ})
					if err != nil {
						b.Fatal(err)
					}
					n = len(hits)
				}
				b.ReportMetric(float64(n), "hits")
			})
		}
	}
}
