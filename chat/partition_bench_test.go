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

var layoutPause = flag.Duration("layout-pause", time.Second, "BenchmarkSendLayout: the pause between runs, after the previous run's background work has finished")

var layoutRounds = flag.Int("layout-rounds", 3, "BenchmarkSendLayout: how many interleaved rounds of partitioned and unpartitioned")

// BenchmarkSendLayout measures what partitioning messages by month costs the
// write path on PostgreSQL, with the same code on both sides: two tenants of
// one service, one with the migrations' partitioned messages table and one
// whose messages are moved back to a plain table (the layout before tenant
// migration 0023: the same columns, primary key, unique indexes, foreign key
// and triggers). The widget and named sends of BenchmarkSend alternate
// between the two, round after round, so the machine's load falls on both:
//
//	go test -run '^$' -bench BenchmarkSendLayout -benchtime 10000x ./chat/ -args -layout-rounds 4 -layout-pause 1s
func BenchmarkSendLayout(b *testing.B) {
	pg := tenantstest.Postgres(b)
	if pg == nil {
		b.Skip("needs PostgreSQL")
	}
	ctx := context.Background()
	ten := tenants.NewService(pg, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
	svc := chat.NewService(chat.Config{Tenants: ten, Bus: chat.NewLocalBus()})
	flowrun.New(svc, flowrun.Config{})
	b.Cleanup(func() { svc.Close(context.Background()) })

	type side struct {
		name     string
		owner    tenants.Principal
		visitors []tenants.Principal
		ids      []string
	}
	const convs = 256
	setup := func(name string, plain bool) side {
		res, err := ten.Signup(ctx, tenants.SignupInput{Company: "Layout " + tenants.NewID()[24:], Email: "o@example.com", Password: "password1", Name: "O"})
		if err != nil {
			b.Fatal(err)
		}
		if plain {
			db, _ := ten.DB(res.Tenant.ID)
			if err := chat.UnpartitionMessages(db); err != nil {
				b.Fatal(err)
			}
		}
		s := side{name: name, visitors: make([]tenants.Principal, convs), ids: make([]string, convs)}
		s.owner, _ = ten.Authenticate(ctx, res.Token)
		for i := range s.ids {
			ws, _ := svc.StartWidgetSession(ctx, res.Tenant.WidgetKey, "", chat.VisitorInput{})
			s.visitors[i], _ = ten.Authenticate(ctx, ws.VisitorToken)
			m, _, err := svc.Send(ctx, s.visitors[i], chat.SendInput{Body: "open"})
			if err != nil {
				b.Fatal(err)
			}
			s.ids[i] = m.ConversationID
		}
		return s
	}
	sides := []side{setup("partitioned", false), setup("unpartitioned", true)}

	var next atomic.Int64 // across runs: b.Run's warm-up run must not reuse a client id
	run := func(name string, send func(i int, clientID string) error) {
		// The previous run's flow runs (one per visitor message) finish
		// first, then a pause for PostgreSQL's own background work, so
		// that neither layout pays for the other's leftovers.
		chat.WaitBackground(svc)
		time.Sleep(*layoutPause)
		b.Run(name, func(b *testing.B) {
			b.SetParallelism(64)
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
	for round := 1; round <= *layoutRounds; round++ {
		for _, kind := range []string{"widget", "named"} {
			// Alternate which layout goes first, so neither always follows
			// the other's background work (flow runs, search indexing).
			order := []int{0, 1}
			if round%2 == 0 {
				order = []int{1, 0}
			}
			for _, k := range order {
				s := sides[k]
				name := fmt.Sprintf("round=%d/%s/%s", round, kind, s.name)
				if kind == "widget" {
					run(name, func(i int, clientID string) error {
						_, _, err := svc.Send(ctx, s.visitors[i], chat.SendInput{ClientID: clientID, Body: "hello there"})
						return err
					})
				} else {
					run(name, func(i int, clientID string) error {
						_, _, err := svc.Send(ctx, s.owner, chat.SendInput{ConversationID: s.ids[i], ClientID: clientID, Body: "hello there"})
						return err
					})
				}
			}
		}
	}
}
