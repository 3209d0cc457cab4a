package chat

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"kefu/routing"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// TestBreaker: repeated failures of the assignment path open the tenant's
// breaker, assignments (AutoAssign, as the flow runtime calls it) are then
// refused at once and the conversation waits in the queue, and after the
// timeout a successful probe closes it again.
func TestBreaker(t *testing.T) {
	ctx := context.Background()
	store := tenantstest.SQLite(t)
	ten := tenants.NewService(store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
	// The open state lasts long enough for the send below to be routed
	// while it holds, on a machine busy with -race and other tests.
	const open = 3 * time.Second
	s := NewService(Config{Tenants: ten, Bus: NewLocalBus(), BreakerTimeout: open})
	t.Cleanup(func() { s.Close(context.Background()) })
	res, err := ten.Signup(ctx, tenants.SignupInput{Company: "Breaker Co", Email: "o@example.com", Password: "password1", Name: "Olga"})
	if err != nil {
		t.Fatal(err)
	}
	owner, _ := ten.Authenticate(ctx, res.Token)
	s.UserConnected(owner)
	if err := s.SetPresence(ctx, owner, PresenceOnline, ""); err != nil {
		t.Fatal(err)
	}
	tid := res.Tenant.ID
	for i := 0; i < 5; i++ {
		s.reportAssignFailure(tid, errors.New("agent dropped the conversation"))
	}
	opened := time.Now()
	if got := s.BreakerState(tid); got != "open" {
		t.Fatalf("after 5 failures the breaker is %s, want open", got)
	}
	// While open, an assignment is refused at once and the run queues.
	_, err = s.assignGuarded(ctx, tid, "no-such-conversation", routing.AssignRequest{Strategy: routing.StrategyRoundRobin}, "")
	if !errors.Is(err, gobreaker.ErrOpenState) {
		t.Fatalf("assign while open: %v", err)
	}
	ws, err := s.StartWidgetSession(ctx, res.Tenant.WidgetKey, "", VisitorInput{Name: "V"})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := ten.Authenticate(ctx, ws.VisitorToken)
	m, _, err := s.Send(ctx, v, SendInput{Body: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	// The run's assign node: refused by the open breaker, so it queues.
	rr := routing.AssignRequest{Strategy: routing.StrategyRoundRobin}
	if _, err := s.AutoAssign(ctx, tid, m.ConversationID, rr, ""); !errors.Is(err, gobreaker.ErrOpenState) {
		t.Fatalf("AutoAssign while open: %v", err)
	}
	decide(t, s, tid, m.ConversationID, routing.Result{Action: routing.ActionQueue})
	if c, _ := s.Conversation(ctx, owner, m.ConversationID); c.Status != StatusQueued {
		t.Fatalf("refused by the breaker, the conversation is %s", c.Status)
	}
	// After the timeout, one probe goes through; it succeeds and closes it.
	time.Sleep(time.Until(opened.Add(open + 50*time.Millisecond)))
	if got := s.BreakerState(tid); got != "half-open" {
		t.Fatalf("after the timeout the breaker is %s, want half-open", got)
	}
	if a, err := s.AutoAssign(ctx, tid, m.ConversationID, rr, ""); err != nil || a.ID != owner.ID {
		t.Fatalf("the probe: %+v, %v", a, err)
	}
	c, _ := s.Conversation(ctx, owner, m.ConversationID)
	if c.Status != StatusAssigned || s.BreakerState(tid) != "closed" {
		t.Fatalf("after a good probe: conversation %s, breaker %s; want assigned and closed", c.Status, s.BreakerState(tid))
	}
}
