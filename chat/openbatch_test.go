package chat_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"kefu/chat"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// TestOpeningsAtOnce: many new visitors opening at the same moment (their
// openings share transactions, openbatch.go) each get their own
// conversation with their message at seq 1, announced once; one visitor's
// first messages sent together land in one conversation; a first
// message resent with its client_id is stored once.
func TestOpeningsAtOnce(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, b.Store)

			const n = 40
			visitors := make([]tenants.Principal, n)
			for i := range visitors {
				visitors[i] = f.newVisitor(t)
			}
			msgs := make([]chat.Message, n)
			var wg sync.WaitGroup
			for i := range visitors {
				wg.Add(1)
				go func() {
					defer wg.Done()
					m, dup, err := f.chat.Send(ctx, visitors[i], chat.SendInput{ClientID: fmt.Sprintf("open-%d", i), Body: fmt.Sprintf("question %d", i)})
					if err != nil || dup {
						t.Errorf("visitor %d: dup %v, err %v", i, dup, err)
					}
					msgs[i] = m
				}()
			}
			wg.Wait()
			convs := map[string]bool{}
			for i, m := range msgs {
				if m.Seq != 1 || convs[m.ConversationID] {
					t.Fatalf("visitor %d: seq %d in conversation %s (seen before: %v)", i, m.Seq, m.ConversationID, convs[m.ConversationID])
				}
				convs[m.ConversationID] = true
				c, err := f.chat.Conversation(ctx, visitors[i], m.ConversationID)
				if err != nil || c.Visitor.ID != visitors[i].ID {
					t.Fatalf("visitor %d cannot read their conversation: %+v %v", i, c.Visitor, err)
				}
				page, err := f.chat.Messages(ctx, f.owner, m.ConversationID, 0, 10)
				if err != nil || len(page) == 0 || page[0].Body != fmt.Sprintf("question %d", i) || page[0].ID != m.ID {
					t.Fatalf("visitor %d: stored %+v, %v", i, page, err)
				}
			}
			opened := map[string]int{}
			for _, e := range f.events.kinds(chat.EventConversation) {
				if convs[e.ConversationID] && e.Conversation != nil && e.Conversation.LastSeq == 1 && e.Conversation.Status == chat.StatusBot {
					opened[e.ConversationID]++
				}
			}
			for c := range convs {
				if opened[c] != 1 {
					t.Fatalf("conversation %s announced %d times as opened", c, opened[c])
				}
			}

			// One new visitor, six first messages at once: one conversation.
			v := f.newVisitor(t)
			got := make(chan chat.Message, 6)
			for i := 0; i < 6; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					m, _, err := f.chat.Send(ctx, v, chat.SendInput{ClientID: fmt.Sprintf("burst-%d", i), Body: "hi"})
					if err != nil {
						t.Errorf("burst %d: %v", i, err)
						return
					}
					got <- m
				}()
			}
			wg.Wait()
			close(got)
			seqs := map[int64]bool{}
			conv := ""
			for m := range got {
				if conv != "" && m.ConversationID != conv {
					t.Fatalf("one visitor's first messages opened two conversations: %s and %s", conv, m.ConversationID)
				}
				conv = m.ConversationID
				seqs[m.Seq] = true
			}
			if len(seqs) != 6 || !seqs[1] {
				t.Fatalf("seqs %v: want six distinct, the first at 1 (the flow's greeting may come between)", seqs)
			}

			// A first message resent at once with its client_id: stored once.
			w := f.newVisitor(t)
			ids := make(chan string, 5)
			for i := 0; i < 5; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					m, _, err := f.chat.Send(ctx, w, chat.SendInput{ClientID: "again", Body: "once"})
					if err != nil {
						t.Errorf("resend: %v", err)
						return
					}
					ids <- m.ID
				}()
			}
			wg.Wait()
			close(ids)
			one := map[string]bool{}
			for id := range ids {
				one[id] = true
			}
			if len(one) != 1 {
				t.Fatalf("a resent first message was stored as %d messages", len(one))
			}
		})
	}
}
