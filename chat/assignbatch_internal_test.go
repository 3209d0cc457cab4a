package chat

import (
	"context"
	"errors"
	"testing"

	"kefu/routing"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// One batch gives several waiting conversations to agents in one
// transaction: in rank order against the loads the batch has given so far,
// never over a cap, one note each, the counters moved by the batch's
// counts; a conversation no longer waiting is answered taken, one with no
// eligible agent left is answered "no agent", a second request for the same
// conversation goes the single way. When a counter no longer has the room
// the batch counted on (another node filled it), nothing of the batch is
// stored.
func TestAssignBatch(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s, ten := newNode(t, b.Store, Config{})
			res := signupFor(t, ten, "Assign")
			tid := res.Tenant.ID
			owner, _ := ten.Authenticate(ctx, res.Token)
			// Nobody online while the conversations open: the default flow
			// queues them (decided here as the runtime would).
			const n = 9
			convs := make([]string, n)
			for i := range convs {
				ws, err := s.StartWidgetSession(ctx, res.Tenant.WidgetKey, "", VisitorInput{})
				if err != nil {
					t.Fatal(err)
				}
				p, _ := ten.Authenticate(ctx, ws.VisitorToken)
				m, _, err := s.Send(ctx, p, SendInput{Body: "help"})
				if err != nil {
					t.Fatal(err)
				}
				convs[i] = m.ConversationID
				decide(t, s, tid, m.ConversationID, routing.Result{Action: routing.ActionQueue})
			}
			db, _ := s.db(tid)
			var queued int64
			db.WithContext(ctx).Model(&conversationRow{}).Where("status = ?", StatusQueued).Count(&queued)
			if queued != n {
				t.Fatalf("%d of %d conversations queued", queued, n)
			}
			capacity := 5
			if _, err := ten.UpdateAgent(ctx, owner, owner.ID, tenants.AgentUpdate{MaxConcurrent: &capacity}); err != nil {
				t.Fatal(err)
			}
			// Online as the assignment sees it (the presence store), without
			// the queue being drained behind the test's back.
			s.presence.Connect(ctx, tid, owner.ID)
			if _, err := s.presence.Set(ctx, tid, owner.ID, PresenceOnline); err != nil {
				t.Fatal(err)
			}
			// The first one is taken by hand before the batch.
			if _, err := s.assign(ctx, tid, convs[0], owner.ID, owner.Name, "", assignTake); err != nil {
				t.Fatal(err)
			}
			req := func(conv string) *assignReq {
				return &assignReq{tenantID: tid, convID: conv, req: routing.AssignRequest{Strategy: routing.StrategyLeastBusy}}
			}
			batch := []*assignReq{req(convs[0]), req(convs[1]), req(convs[2]), req(convs[1]), req(convs[3]), req(convs[4]), req(convs[5]), req(convs[6])}
			results := make([]assignRes, len(batch))
			done, err := s.assigns.assignAll(ctx, tid, batch, results)
			if err != nil {
				t.Fatal(err)
			}
			// convs[0] taken; 1, 2, 3, 4 given (the owner had one, cap 5);
			// the second request for convs[1] unhandled; 5 and 6 no agent.
			want := []struct {
				handled bool
				err     error
			}{{true, errTaken}, {true, nil}, {true, nil}, {false, nil}, {true, nil}, {true, nil}, {true, errNoAgent}, {true, errNoAgent}}
			for i, w := range want {
				r := results[i]
				if r.handled != w.handled || !errors.Is(r.err, w.err) || (r.err == nil && w.handled && r.agent.ID != owner.ID) {
					t.Fatalf("request %d: %+v, want handled %v err %v", i, r, w.handled, w.err)
				}
			}
			if len(done) != 4 {
				t.Fatalf("%d conversations changed, want 4", len(done))
			}
			users, _ := ten.Users(ctx, tid)
			for _, u := range users {
				if u.ID == owner.ID && u.Load != 5 {
					t.Fatalf("the owner's counter is %d, want 5", u.Load)
				}
			}
			for _, c := range convs[1:5] {
				var row conversationRow
				db.WithContext(ctx).Where("id = ?", c).Take(&row)
				var notes []messageRow
				db.WithContext(ctx).Where("conversation_id = ? AND author_type = ?", c, AuthorSystem).Find(&notes)
				assigned := 0
				for _, m := range notes {
					if m.Seq > row.LastSeq || m.Seq < 1 {
						t.Fatalf("note at seq %d of %d", m.Seq, row.LastSeq)
					}
					if sys := decodeNote(m.System); sys != nil && sys.Code == NoteAssigned {
						assigned++
					}
				}
				if row.Status != StatusAssigned || row.assignee() != owner.ID || assigned != 1 {
					t.Fatalf("conversation %s: %s to %q with %d assignment notes", c, row.Status, row.assignee(), assigned)
				}
			}

			// Another node filled the owner's last slot since the batch read
			// the counters: the batch stores nothing.
			more := 7
			if _, err := ten.UpdateAgent(ctx, owner, owner.ID, tenants.AgentUpdate{MaxConcurrent: &more}); err != nil {
				t.Fatal(err)
			}
			if err := db.WithContext(ctx).Exec(`UPDATE `+db.Table("users")+` SET active_conversations = 6 WHERE id = ?`, owner.ID).Error; err != nil {
				t.Fatal(err)
			}
			s.assigns.agents = func(context.Context, string) ([]routing.Agent, error) {
				return []routing.Agent{{ID: owner.ID, Name: owner.Name, MaxConcurrent: 7, Load: 5, Online: true}}, nil
			}
			results = make([]assignRes, 2)
			_, err = s.assigns.assignAll(ctx, tid, []*assignReq{req(convs[5]), req(convs[6])}, results)
			if !errors.Is(err, errAtCap) {
				t.Fatalf("a batch over the real counter: %v, want errAtCap", err)
			}
			for _, c := range convs[5:7] {
				var row conversationRow
				db.WithContext(ctx).Where("id = ?", c).Take(&row)
				if row.Status != StatusQueued {
					t.Fatalf("conversation %s is %s after a batch that failed", c, row.Status)
				}
			}
		})
	}
}
