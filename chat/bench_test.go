package chat_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"kefu/chat"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// BenchmarkSend measures the durable write path (group commit included):
// many goroutines each send to their own conversation, every Send returning
// after its commit. Run with -cpu to vary the senders:
//
//	go test -run '^$' -bench BenchmarkSend -benchtime 20000x ./chat/
func BenchmarkSend(b *testing.B) {
	for _, be := range tenantstest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			ten := tenants.NewService(be.Store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
			svc := chat.NewService(chat.Config{Tenants: ten, Bus: chat.NewLocalBus()})
			res, err := ten.Signup(ctx, tenants.SignupInput{Company: "Bench " + tenants.NewID()[24:], Email: "o@example.com", Password: "password1", Name: "O"})
			if err != nil {
				b.Fatal(err)
			}
			agent, _ := ten.Authenticate(ctx, res.Token)
			const convs = 256
			ids := make([]string, convs)
			for i := range ids {
				ws, _ := svc.StartWidgetSession(ctx, res.Tenant.WidgetKey, "", chat.VisitorInput{})
				v, _ := ten.Authenticate(ctx, ws.VisitorToken)
				m, _, err := svc.Send(ctx, v, chat.SendInput{Body: "open"})
				if err != nil {
					b.Fatal(err)
				}
				ids[i] = m.ConversationID
			}
			var next atomic.Int64
			b.SetParallelism(64) // 64 senders per CPU, like many sockets
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				conv := ids[next.Add(1)%convs]
				n := 0
				for pb.Next() {
					n++
					if _, _, err := svc.Send(ctx, agent, chat.SendInput{ConversationID: conv, ClientID: fmt.Sprintf("%s-%d-%d", conv, next.Add(1), n), Body: "hello there"}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
