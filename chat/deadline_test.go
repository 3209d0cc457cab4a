package chat_test

import (
	"context"
	"testing"
	"time"

	"kefu"
	"kefu/chat"
	"kefu/flowrun"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// A database that does not answer (here: a row lock another session holds)
// gives the senders an error within the write deadline — never an ack,
// never silence — and the path recovers once the lock goes.
func TestSendsFailWithinTheWriteDeadline(t *testing.T) {
	store := tenantstest.Postgres(t)
	if store == nil {
		return
	}
	ctx := context.Background()
	ten := tenants.NewService(store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
	s := chat.NewService(chat.Config{Tenants: ten, Bus: chat.NewLocalBus(), WriteTimeout: 400 * time.Millisecond})
	flowrun.New(s, flowrun.Config{})
	t.Cleanup(func() { s.Close(context.Background()) })
	res, err := ten.Signup(ctx, tenants.SignupInput{Company: "Hang " + tenants.NewID()[24:], Email: "o@example.com", Password: "password1", Name: "O"})
	if err != nil {
		t.Fatal(err)
	}
	owner, _ := ten.Authenticate(ctx, res.Token)
	ws, _ := s.StartWidgetSession(ctx, res.Tenant.WidgetKey, "", chat.VisitorInput{})
	vis, _ := ten.Authenticate(ctx, ws.VisitorToken)
	m, _, err := s.Send(ctx, vis, chat.SendInput{Body: "open"})
	if err != nil {
		t.Fatal(err)
	}
	db, _ := ten.DB(res.Tenant.ID)
	sqlDB, _ := db.DB.DB()
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`SELECT id FROM `+db.Table("conversations")+` WHERE id = $1 FOR UPDATE`, m.ConversationID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []tenants.Principal{vis, owner} {
		start := time.Now()
		in := chat.SendInput{Body: "while locked", ClientID: "locked-" + p.ID}
		if p.Kind != tenants.KindVisitor {
			in.ConversationID = m.ConversationID
		}
		_, _, err := s.Send(ctx, p, in)
		took := time.Since(start)
		if kefu.Code(err) != kefu.EUnavailable || took > 3*time.Second {
			t.Fatalf("%s's send into a locked conversation: %v after %v; want unavailable within the deadline", p.Kind, err, took)
		}
	}
	_ = tx.Rollback()
	// Resending the same client_id now stores it once (as a client does:
	// again on unavailable, which a busy machine may still answer).
	var err2 error
	for i := 0; i < 10; i++ {
		var dup bool
		if _, dup, err2 = s.Send(ctx, vis, chat.SendInput{Body: "while locked", ClientID: "locked-" + vis.ID}); err2 == nil {
			if dup {
				t.Fatal("a send refused under the lock was stored after all")
			}
			break
		}
		if kefu.Code(err2) != kefu.EUnavailable {
			break
		}
	}
	if err2 != nil {
		t.Fatalf("after the lock: %v", err2)
	}
	msgs, _ := s.Messages(ctx, owner, m.ConversationID, 0, 100)
	if len(msgs) < 2 {
		t.Fatalf("messages after the lock went: %d", len(msgs))
	}
}
