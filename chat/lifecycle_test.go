package chat_test

import (
	"context"
	"testing"
	"time"

	"kefu/chat"
	"kefu/flowrun"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// The conversation lifecycle of issue 9: system messages as codes in the
// tenant's language, reopen within the window, an agent's reply reopens, an
// agent gone past the grace loses only what waits for an answer, and a
// return to the same agent tells the visitor nothing.
func TestLifecycle(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			ten := tenants.NewService(b.Store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
			bus := chat.NewLocalBus()
			rec := &recorder{}
			bus.Subscribe(rec.add)
			s := chat.NewService(chat.Config{Tenants: ten, Bus: bus, OfflineGrace: 50 * time.Millisecond})
			flowrun.New(s, flowrun.Config{})
			t.Cleanup(func() { s.Close(context.Background()) })
			res, err := ten.Signup(ctx, tenants.SignupInput{Company: "Life " + tenants.NewID()[24:], Email: "o@example.com", Password: "password1", Name: "Olga", Language: "zh-CN"})
			if err != nil {
				t.Fatal(err)
			}
			owner, _ := ten.Authenticate(ctx, res.Token)
			agentUser, err := ten.CreateAgent(ctx, owner, tenants.AgentInput{Email: "ann@example.com", Name: "Ann", Password: "password1"})
			if err != nil {
				t.Fatal(err)
			}
			tok, _, _ := ten.Login(ctx, res.Tenant.Slug, "ann@example.com", "password1")
			ann, _ := ten.Authenticate(ctx, tok)
			ws, _ := s.StartWidgetSession(ctx, res.Tenant.WidgetKey, "", chat.VisitorInput{})
			vis, _ := ten.Authenticate(ctx, ws.VisitorToken)
			visibleTo := func(conv string, p tenants.Principal) []chat.Message {
				t.Helper()
				ms, err := s.Messages(ctx, p, conv, 0, 500)
				if err != nil {
					t.Fatal(err)
				}
				return ms
			}
			settle := func(conv, status string) chat.Conversation {
				t.Helper()
				var c chat.Conversation
				waitFor(t, func() bool { c, _ = s.Conversation(ctx, owner, conv); return c.Status == status })
				return c
			}

			// Ann online: the default flow (in Chinese: the tenant signed up
			// in zh-CN) greets and assigns.
			s.UserConnected(ann)
			if err := s.SetPresence(ctx, ann, chat.PresenceOnline, ""); err != nil {
				t.Fatal(err)
			}
			m, _, err := s.Send(ctx, vis, chat.SendInput{ClientID: "v1", Body: "我的订单在哪里？"})
			if err != nil {
				t.Fatal(err)
			}
			conv := m.ConversationID
			c := settle(conv, chat.StatusAssigned)
			if c.WaitingSince == nil || c.LastVisitorMessage == nil || c.LastVisitorMessage.Body != "我的订单在哪里？" {
				t.Fatalf("waiting_since/last visitor message: %+v %+v", c.WaitingSince, c.LastVisitorMessage)
			}
			var greeted, assigned bool
			for _, msg := range visibleTo(conv, vis) {
				if msg.Author.Type == chat.AuthorBot && msg.Body == "您好！感谢您的咨询，我们马上为您服务。" && msg.Author.Name == "" {
					greeted = true
				}
				if msg.System != nil && msg.System.Code == chat.NoteAssigned && msg.System.Params["agent_name"] == "Ann" && msg.Body == "已分配给 Ann" {
					assigned = true
				}
			}
			if !greeted || !assigned {
				t.Fatalf("greeting in zh-CN %v, assigned note with code %v: %+v", greeted, assigned, visibleTo(conv, vis))
			}
			if qs := rec.kinds(chat.EventQueue); len(qs) > 0 && qs[len(qs)-1].Position != 0 {
				t.Errorf("the last queue frame after assignment: %+v", qs[len(qs)-1])
			}

			// Ann answers: nobody waits any more.
			if _, _, err := s.Send(ctx, ann, chat.SendInput{ConversationID: conv, Body: "在路上了"}); err != nil {
				t.Fatal(err)
			}
			if c, _ = s.Conversation(ctx, owner, conv); c.WaitingSince != nil {
				t.Fatalf("waiting_since after the agent's answer: %v", c.WaitingSince)
			}

			// A second conversation of Ann's waits for an answer.
			ws2, _ := s.StartWidgetSession(ctx, res.Tenant.WidgetKey, "", chat.VisitorInput{})
			vis2, _ := ten.Authenticate(ctx, ws2.VisitorToken)
			m2, _, _ := s.Send(ctx, vis2, chat.SendInput{Body: "还在吗？"})
			settle(m2.ConversationID, chat.StatusAssigned)

			// Ann's tab goes away past the grace: only the waiting one goes back.
			s.UserDisconnected(ann)
			settle(m2.ConversationID, chat.StatusQueued)
			if c, _ = s.Conversation(ctx, owner, conv); c.Status != chat.StatusAssigned || c.AssigneeID != ann.ID {
				t.Fatalf("an answered conversation was requeued: %+v", c)
			}
			for _, msg := range visibleTo(m2.ConversationID, vis2) {
				if msg.System != nil && msg.System.Code == chat.NoteAgentAway {
					t.Fatalf("the visitor was told of the agent going away: %+v", msg)
				}
			}
			// The visitor of the answered one writes while Ann is gone: it goes back too.
			if _, _, err := s.Send(ctx, vis, chat.SendInput{Body: "还有一个问题"}); err != nil {
				t.Fatal(err)
			}
			settle(conv, chat.StatusQueued)

			// Ann is back: both return to her, and the visitors hear nothing new.
			s.UserConnected(ann)
			before := len(visibleTo(conv, vis))
			if err := s.SetPresence(ctx, ann, chat.PresenceOnline, ""); err != nil {
				t.Fatal(err)
			}
			settle(conv, chat.StatusAssigned)
			settle(m2.ConversationID, chat.StatusAssigned)
			if after := visibleTo(conv, vis); len(after) != before {
				t.Fatalf("the visitor was told again who has the conversation: %+v", after[before:])
			}

			// Resolve, then the visitor writes within the window: the same
			// conversation reopens, with Ann.
			if _, err := s.Resolve(ctx, ann, conv); err != nil {
				t.Fatal(err)
			}
			again, _, err := s.Send(ctx, vis, chat.SendInput{ClientID: "v9", Body: "又有问题了"})
			if err != nil || again.ConversationID != conv {
				t.Fatalf("a message after resolve went to %s (want %s): %v", again.ConversationID, conv, err)
			}
			settle(conv, chat.StatusAssigned)
			var reopened bool
			for _, msg := range visibleTo(conv, owner) {
				reopened = reopened || (msg.System != nil && msg.System.Code == chat.NoteReopened)
			}
			if !reopened {
				t.Fatal("no reopened note")
			}

			// An agent's reply to a resolved conversation reopens it with them.
			if _, err := s.Resolve(ctx, ann, conv); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Send(ctx, ann, chat.SendInput{ConversationID: conv, Body: "补充一下"}); err != nil {
				t.Fatal(err)
			}
			c = settle(conv, chat.StatusAssigned)
			if c.AssigneeID != ann.ID {
				t.Fatalf("reopened by Ann's reply, assigned to %q", c.AssigneeID)
			}

			// Undo of a resolve gives it back to her; outside the window a new one opens.
			if _, err := s.Resolve(ctx, ann, conv); err != nil {
				t.Fatal(err)
			}
			if c, err = s.Reopen(ctx, ann, conv); err != nil || c.Status != chat.StatusAssigned || c.AssigneeID != ann.ID {
				t.Fatalf("reopen: %+v %v", c, err)
			}
			if _, err := s.Resolve(ctx, ann, conv); err != nil {
				t.Fatal(err)
			}
			zero := 0
			if _, err := ten.UpdateTenant(ctx, res.Tenant.ID, tenants.TenantUpdate{ReopenWindowDays: &zero}); err != nil {
				t.Fatal(err)
			}
			fresh, _, err := s.Send(ctx, vis, chat.SendInput{Body: "新的问题"})
			if err != nil || fresh.ConversationID == conv {
				t.Fatalf("with no reopen window the message went to %s: %v", fresh.ConversationID, err)
			}
			_ = agentUser
		})
	}
}
