package chat

import (
	"context"
	"errors"
	"testing"

	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// One batch opens the first conversations of several new visitors in one
// transaction, answers the plan's refusal per request, and leaves to the
// single path what it does not take: a visitor's second request in the
// batch, a returning visitor, an unknown visitor.
func TestOpenBatchTakesThePlainCases(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s, ten := newNode(t, b.Store, Config{})
			res := signupFor(t, ten, "Openings")
			visitor := func() tenants.Principal {
				ws, err := s.StartWidgetSession(ctx, res.Tenant.WidgetKey, "", VisitorInput{})
				if err != nil {
					t.Fatal(err)
				}
				p, _ := ten.Authenticate(ctx, ws.VisitorToken)
				return p
			}
			a, bb, c, back := visitor(), visitor(), visitor(), visitor()
			if _, _, err := s.Send(ctx, back, SendInput{Body: "earlier"}); err != nil {
				t.Fatal(err)
			}
			db, err := s.db(res.Tenant.ID)
			if err != nil {
				t.Fatal(err)
			}
			refused := errors.New("plan says no")
			req := func(p tenants.Principal, body string, admit error) *openReq {
				return &openReq{db: db, tenantID: res.Tenant.ID, visitor: p.ID, admit: admit,
					row: messageRow{ID: tenants.NewID(), AuthorType: AuthorVisitor, AuthorID: p.ID, Body: body, Attachments: "[]", CreatedAt: s.stamp()}}
			}
			batch := []*openReq{req(a, "a1", nil), req(bb, "b1", nil), req(a, "a2", nil), req(back, "again", nil), req(c, "c1", refused), req(tenants.Principal{ID: "nobody"}, "x", nil)}
			results := make([]openRes, len(batch))
			if err := s.openings.openAll(ctx, batch, results); err != nil {
				t.Fatal(err)
			}
			want := []bool{true, true, false, false, true, false}
			for i, r := range results {
				if r.handled != want[i] {
					t.Fatalf("request %d (%s): handled %v, want %v", i, batch[i].row.Body, r.handled, want[i])
				}
			}
			if !errors.Is(results[4].err, refused) {
				t.Fatalf("the plan's refusal: got %v", results[4].err)
			}
			for _, i := range []int{0, 1} {
				r := results[i]
				var n int64
				db.Model(&messageRow{}).Where("conversation_id = ? AND seq = 1 AND body = ?", r.conv.ID, batch[i].row.Body).Count(&n)
				var conv conversationRow
				db.Where("id = ?", r.conv.ID).Take(&conv)
				if n != 1 || conv.VisitorID != batch[i].visitor || conv.Status != StatusBot || conv.LastSeq != 1 || r.row.Seq != 1 {
					t.Fatalf("request %d: %d messages, conversation %+v", i, n, conv)
				}
			}
			var convsOfC int64
			db.Model(&conversationRow{}).Where("visitor_id = ?", c.ID).Count(&convsOfC)
			if convsOfC != 0 {
				t.Fatalf("a refused opening stored a conversation")
			}
		})
	}
}
