package chat

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

func TestSplitOwnersKeepsOneOwnerPerConversation(t *testing.T) {
	req := func(conv, vid string) *commitReq {
		return &commitReq{row: messageRow{ConversationID: conv}, visitorID: vid}
	}
	a1, b1, a2, x1, c1, x2, a3 := req("A", "v"), req("B", ""), req("A", "v"), req("A", "x"), req("C", "w"), req("A", "x"), req("A", "")
	now, next := splitOwners([]*commitReq{a1, b1, a2, x1, c1, x2, a3})
	want := []*commitReq{a1, b1, a2, c1}
	if fmt.Sprint(now) != fmt.Sprint(want) {
		t.Errorf("now = %v, want %v", now, want)
	}
	if fmt.Sprint(next) != fmt.Sprint([]*commitReq{x1, x2, a3}) {
		t.Errorf("next = %v, want the other senders in order", next)
	}
	one := []*commitReq{a1, a2, b1}
	if now, next := splitOwners(one); len(next) != 0 || len(now) != 3 {
		t.Errorf("a batch with one owner per conversation was split: %v / %v", now, next)
	}
}

// The commit checks ownership per request, whatever is in its batch: a
// request that skipped Send's own check (as under a race) still cannot land
// in another visitor's conversation.
func TestCommitChecksOwnershipPerRequest(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s, ten := newNode(t, b.Store, Config{})
			res := signupFor(t, ten, "Commit")
			visitor := func() tenants.Principal {
				ws, err := s.StartWidgetSession(ctx, res.Tenant.WidgetKey, "", VisitorInput{})
				if err != nil {
					t.Fatal(err)
				}
				p, _ := ten.Authenticate(ctx, ws.VisitorToken)
				return p
			}
			victim, attacker := visitor(), visitor()
			m, _, err := s.Send(ctx, victim, SendInput{Body: "open"})
			if err != nil {
				t.Fatal(err)
			}
			db, _ := s.db(res.Tenant.ID)
			var wg sync.WaitGroup
			results := make([][]commitRes, 2)
			for who, p := range []tenants.Principal{victim, attacker} {
				results[who] = make([]commitRes, 200)
				for i := range results[who] {
					wg.Add(1)
					go func() {
						defer wg.Done()
						row := messageRow{ID: tenants.NewID(), ConversationID: m.ConversationID, AuthorType: AuthorVisitor, AuthorID: p.ID, Body: "x", Attachments: "[]", CreatedAt: s.stamp()}
						results[who][i] = s.committer.commit(ctx, &commitReq{db: db, tenantID: res.Tenant.ID, row: row, visitorID: p.ID})
					}()
				}
			}
			wg.Wait()
			for i, r := range results[0] {
				if r.err != nil {
					t.Fatalf("the owner's request %d failed: %v", i, r.err)
				}
			}
			for i, r := range results[1] {
				if !errors.Is(r.err, errClosed) {
					t.Fatalf("the stranger's request %d: %+v, want errClosed", i, r)
				}
			}
		})
	}
}
