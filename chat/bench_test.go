package chat_test

import (
	"context"
	"flag"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"kefu/chat"
	"kefu/flowrun"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

var benchHistory = flag.Int("history", 0, "BenchmarkSend also runs on a tenant that already stores this many messages")

// BenchmarkSend measures the durable write path (group commit included):
// many goroutines each send into their own conversation, every Send
// returning after its commit, the way the widget sends (visitors, no
// conversation id) and the way API clients and agents do (a named
// conversation). With -history N it runs again on a tenant that already
// stores N messages; the cost of a message must not grow with it:
//
//	go test -run '^$' -bench BenchmarkSend -benchtime 20000x ./chat/ -args -history 1000000
func BenchmarkSend(b *testing.B) {
	histories := []int{0}
	if *benchHistory > 0 {
		histories = append(histories, *benchHistory)
	}
	for _, be := range tenantstest.Backends(b) {
		for _, history := range histories {
			ctx := context.Background()
			ten := tenants.NewService(be.Store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
			svc := chat.NewService(chat.Config{Tenants: ten, Bus: chat.NewLocalBus()})
			flowrun.New(svc, flowrun.Config{})
			b.Cleanup(func() { svc.Close(context.Background()) })
			res, err := ten.Signup(ctx, tenants.SignupInput{Company: "Bench " + tenants.NewID()[24:], Email: "o@example.com", Password: "password1", Name: "O"})
			if err != nil {
				b.Fatal(err)
			}
			owner, _ := ten.Authenticate(ctx, res.Token)
			if history > 0 {
				db, _ := ten.DB(res.Tenant.ID)
				const perConv = 50
				if err := chat.SeedHistory(ctx, db, chat.History{Conversations: history / perConv, Messages: perConv, Prefix: "h-", AgentID: owner.ID}); err != nil {
					b.Fatal(err)
				}
				// A history that grew over months is indexed already; the
				// seed's rows would otherwise keep the search indexer (and
				// SQLite's one writer) busy through the measurement.
				if _, err := svc.IndexSearch(ctx, res.Tenant.ID); err != nil {
					b.Fatal(err)
				}
				if err := db.Exec("ANALYZE").Error; err != nil {
					b.Fatal(err)
				}
			}
			const convs = 256
			visitors := make([]tenants.Principal, convs)
			ids := make([]string, convs)
			for i := range ids {
				ws, _ := svc.StartWidgetSession(ctx, res.Tenant.WidgetKey, "", chat.VisitorInput{})
				visitors[i], _ = ten.Authenticate(ctx, ws.VisitorToken)
				m, _, err := svc.Send(ctx, visitors[i], chat.SendInput{Body: "open"})
				if err != nil {
					b.Fatal(err)
				}
				ids[i] = m.ConversationID
			}
			run := func(name string, send func(i int, clientID string) error) {
				b.Run(fmt.Sprintf("%s/history=%d/%s", be.Name, history, name), func(b *testing.B) {
					var next atomic.Int64
					b.SetParallelism(64) // 64 senders per CPU, like many sockets
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						i := int(next.Add(1) % convs)
						n := 0
						for pb.Next() {
							n++
							if err := send(i, fmt.Sprintf("%s-%d-%d-%d", name, i, next.Add(1), n)); err != nil {
								b.Error(err)
								return
							}
						}
					})
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
				})
			}
			run("widget", func(i int, clientID string) error {
				_, _, err := svc.Send(ctx, visitors[i], chat.SendInput{ClientID: clientID, Body: "hello there"})
				return err
			})
			run("named", func(i int, clientID string) error {
				_, _, err := svc.Send(ctx, owner, chat.SendInput{ConversationID: ids[i], ClientID: clientID, Body: "hello there"})
				return err
			})
			// The same with a webhook subscribed to message.created: every
			// message also writes its event to the outbox (nothing delivers
			// it here; this is the write path's cost).
			db, _ := ten.DB(res.Tenant.ID)
			if err := db.Exec(`INSERT INTO `+db.Table("webhooks")+` (id, url, events, secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
				tenants.NewID(), "https://example.com/hook", `["message.created"]`, "whsec_x", time.Now(), time.Now()).Error; err != nil {
				b.Fatal(err)
			}
			svc.WebhooksChanged(ctx, res.Tenant.ID)
			run("widget+webhook", func(i int, clientID string) error {
				_, _, err := svc.Send(ctx, visitors[i], chat.SendInput{ClientID: clientID, Body: "hello there"})
				return err
			})
			run("named+webhook", func(i int, clientID string) error {
				_, _, err := svc.Send(ctx, owner, chat.SendInput{ConversationID: ids[i], ClientID: clientID, Body: "hello there"})
				return err
			})
			svc.Close(ctx)
		}
	}
}
