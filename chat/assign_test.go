package chat_test

import (
	"context"
	"sync"
	"testing"

	"kefu/chat"
	"kefu/flowrun"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// TestAssignmentRespectsCaps opens many conversations at once through two
// chat services over one store — two nodes — with two online agents, and
// checks that no agent ever holds more than max_concurrent and that the load
// counters match the conversations.
func TestAssignmentRespectsCaps(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, b.Store)
			node2 := chat.NewService(chat.Config{Tenants: f.ten, Bus: chat.NewLocalBus()})
			flowrun.New(node2, flowrun.Config{})
			t.Cleanup(func() { node2.Close(context.Background()) })
			caps := map[string]int{f.owner.ID: 4, f.agent.ID: 3}
			for id, c := range caps {
				if _, err := f.ten.UpdateAgent(ctx, f.owner, id, tenants.AgentUpdate{MaxConcurrent: &c}); err != nil {
					t.Fatal(err)
				}
			}
			for _, node := range []*chat.Service{f.chat, node2} {
				for _, p := range []tenants.Principal{f.owner, f.agent} {
					node.UserConnected(p)
					if err := node.SetPresence(ctx, p, chat.PresenceOnline, ""); err != nil {
						t.Fatal(err)
					}
				}
			}
			const visitors = 20
			var wg sync.WaitGroup
			convs := make(chan string, visitors)
			for i := 0; i < visitors; i++ {
				v := f.newVisitor(t)
				node := f.chat
				if i%2 == 1 {
					node = node2
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					m, _, err := node.Send(ctx, v, chat.SendInput{Body: "help"})
					if err != nil {
						t.Errorf("send: %v", err)
						return
					}
					convs <- m.ConversationID
				}()
			}
			wg.Wait()
			close(convs)
			held := map[string]int{}
			queued := 0
			for id := range convs {
				c := f.settled(t, id)
				switch c.Status {
				case chat.StatusAssigned:
					held[c.AssigneeID]++
				case chat.StatusQueued:
					queued++
				default:
					t.Fatalf("conversation %s is %s", id, c.Status)
				}
			}
			users, _ := f.ten.Users(ctx, f.tenant.ID)
			for _, u := range users {
				if held[u.ID] > caps[u.ID] {
					t.Errorf("%s holds %d conversations over a cap of %d", u.Name, held[u.ID], caps[u.ID])
				}
				if u.Load != held[u.ID] {
					t.Errorf("%s: load counter %d, but holds %d", u.Name, u.Load, held[u.ID])
				}
			}
			if held[f.owner.ID]+held[f.agent.ID] != 7 || queued != visitors-7 {
				t.Fatalf("assigned %v, queued %d; want 7 assigned (4+3) and %d queued", held, queued, visitors-7)
			}

			t.Run("resolving frees a slot that the queue takes", func(t *testing.T) {
				list, _, _ := f.chat.Conversations(ctx, f.owner, chat.ListFilter{Assignee: f.agent.ID, Status: chat.StatusAssigned})
				if _, err := f.chat.Resolve(ctx, f.agent, list[0].ID); err != nil {
					t.Fatal(err)
				}
				waitFor(t, func() bool {
					q, _, _ := f.chat.Conversations(ctx, f.owner, chat.ListFilter{Status: chat.StatusQueued, Limit: 100})
					u, _ := f.ten.User(ctx, f.tenant.ID, f.agent.ID)
					return len(q) == queued-1 && u.Load == 3
				})
			})
		})
	}
}
