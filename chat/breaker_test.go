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
// breaker, assignments then wait in the queue without touching the path,
// and after the timeout a successful probe closes it again.
func TestBreaker(t *testing.T) {
	ctx := context.Background()
	store := tenantstest.SQLite(t)
	ten := tenants.NewService(store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
	// The open state lasts long enough for the queued send below to be
	// routed while it holds, on a machine busy with -race and other tests
	// (200 ms was seen to pass before the flow ran).
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
	waitUntil(t, func() bool {
		c, _ := s.Conversation(ctx, owner, m.ConversationID)
		return c.Status == StatusQueued
	})
	// After the timeout, one probe goes through; it succeeds and closes it.
	time.Sleep(time.Until(opened.Add(open + 50*time.Millisecond)))
	if got := s.BreakerState(tid); got != "half-open" {
		t.Fatalf("after the timeout the breaker is %s, want half-open", got)
	}
	s.observe(ctx, Happening{What: CapacityFreed, TenantID: tid}) // the flow runtime drains the queue
	c, _ := s.Conversation(ctx, owner, m.ConversationID)
	if c.Status != StatusAssigned || s.BreakerState(tid) != "closed" {
		t.Fatalf("after a good probe: conversation %s, breaker %s; want assigned and closed", c.Status, s.BreakerState(tid))
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met within 5s")
}
