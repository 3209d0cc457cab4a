package chat_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"kefu"
	"kefu/chat"
	"kefu/tenants/tenantstest"
)

// A visitor who names another visitor's conversation is refused every time,
// also when their messages share a group commit with the owner's: ownership
// is checked per request, not once per conversation of a batch.
func TestVisitorsCannotWriteIntoEachOthersConversations(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, b.Store)
			victimConv := f.open(t)
			attacker := f.newVisitor(t)
			var wg sync.WaitGroup
			var stolen, refused atomic.Int64
			for g := 0; g < 8; g++ {
				wg.Add(2)
				go func() {
					defer wg.Done()
					for i := 0; i < 40; i++ {
						if _, _, err := f.chat.Send(ctx, f.visitor, chat.SendInput{ConversationID: victimConv, ClientID: fmt.Sprintf("v%d-%d", g, i), Body: "mine"}); err != nil {
							t.Errorf("the owner's send failed: %v", err)
							return
						}
					}
				}()
				go func() {
					defer wg.Done()
					for i := 0; i < 40; i++ {
						m, _, err := f.chat.Send(ctx, attacker, chat.SendInput{ConversationID: victimConv, ClientID: fmt.Sprintf("a%d-%d", g, i), Body: "INJECTED"})
						switch {
						case err == nil && m.ConversationID == victimConv:
							stolen.Add(1)
						case kefu.Code(err) == kefu.ENotFound:
							refused.Add(1)
						case err != nil:
							t.Errorf("attacker: %v", err)
						}
					}
				}()
			}
			wg.Wait()
			if n := stolen.Load(); n > 0 {
				t.Fatalf("%d of the attacker's messages were stored in the victim's conversation", n)
			}
			if refused.Load() != 8*40 {
				t.Errorf("attacker refused %d times, want %d", refused.Load(), 8*40)
			}
			msgs, err := f.chat.Messages(ctx, f.owner, victimConv, 0, 500)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				if m.Author.ID == attacker.ID || m.Body == "INJECTED" {
					t.Fatalf("the victim's conversation holds the attacker's message %+v", m)
				}
			}
			// Catch-up reads are filtered by scope too: nothing of the
			// victim's conversation reaches the attacker's view.
			sc, _ := f.chat.ScopeOf(ctx, attacker)
			got, err := f.chat.MessagesAfter(ctx, attacker, sc, victimConv, 0, 200)
			if err != nil || len(got) != 0 {
				t.Fatalf("the attacker's catch-up of the victim's conversation: %d messages, %v", len(got), err)
			}
		})
	}
}
