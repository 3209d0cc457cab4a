package chat_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"kefu"
	"kefu/chat"
	"kefu/flowrun"
	"kefu/routing"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// capped is one tenant on a service configured by cfg.
type capped struct {
	ten    *tenants.Service
	svc    *chat.Service
	tenant tenants.Tenant
	owner  tenants.Principal
}

func newCapped(t *testing.T, store *tenants.Store, cfg chat.Config) *capped {
	t.Helper()
	c := &capped{ten: tenants.NewService(store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})}
	cfg.Tenants, cfg.Bus, cfg.AllowPrivateNetworks = c.ten, chat.NewLocalBus(), true
	c.svc = chat.NewService(cfg)
	flowrun.New(c.svc, flowrun.Config{})
	t.Cleanup(func() { c.svc.Close(context.Background()) })
	res, err := c.ten.Signup(context.Background(), tenants.SignupInput{Company: "Cap Co " + tenants.NewID()[24:], Email: "owner@example.com", Password: "password1", Name: "Olga"})
	if err != nil {
		t.Fatal(err)
	}
	c.tenant, c.owner = res.Tenant, mustAuth(t, c.ten, res.Token)
	return c
}

// send opens a conversation from a new visitor.
func (c *capped) send(t *testing.T, body string) string {
	t.Helper()
	ws, err := c.svc.StartWidgetSession(context.Background(), c.tenant.WidgetKey, "", chat.VisitorInput{Name: "Vera"})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := c.svc.Send(context.Background(), mustAuth(t, c.ten, ws.VisitorToken), chat.SendInput{ClientID: tenants.NewID(), Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return m.ConversationID
}

// waitRouted waits until a conversation's routing decision is logged.
func waitRouted(t *testing.T, svc *chat.Service, p tenants.Principal, conv string) chat.Conversation {
	t.Helper()
	var c chat.Conversation
	waitFor(t, func() bool {
		c, _ = svc.Conversation(context.Background(), p, conv)
		evs, _ := svc.ConversationEvents(context.Background(), p, conv)
		return c.Status != chat.StatusBot && len(evs) > 0
	})
	return c
}

// TestSimulationLimits: a sample event over routing.MaxInputBytes is
// too_large; a replay past its time limit reports what it did, truncated.
func TestSimulationLimits(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			c := newCapped(t, b.Store, chat.Config{ReplayTimeout: time.Nanosecond})
			_, err := c.svc.Simulate(ctx, c.owner, "default", chat.SimulateInput{Message: routing.MessageEnv{Text: strings.Repeat("x", routing.MaxInputBytes)}})
			if kefu.Code(err) != kefu.ETooLarge {
				t.Fatalf("an oversized sample event: %v", err)
			}
			for _, body := range []string{"one", "two"} {
				waitRouted(t, c.svc, c.owner, c.send(t, body))
			}
			rep, err := c.svc.Replay(ctx, c.owner, "default", 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Truncated || rep.Total != 0 {
				t.Fatalf("a replay past its time: %+v", rep)
			}
		})
	}
}

// TestReplayOfBudgetSpenders: a replay whose runs each spend their whole
// evaluation time stops after MaxReplayEvalTime of it, truncated.
func TestReplayOfBudgetSpenders(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			c := newCapped(t, b.Store, chat.Config{})
			const convs = 60 // more than MaxReplayEvalTime / routing.MaxRunTime
			for i := 0; i < convs; i++ {
				c.send(t, "hello")
			}
			g := routing.Graph{
				Nodes: []routing.Node{{ID: "start", Type: "start"}, {ID: "c", Type: "condition", Data: []byte(`{"expr":"any(1..10000, {any(1..10000, {message.text contains \"zz\"})})"}`)}, {ID: "q", Type: "queue"}},
				Edges: []routing.Edge{{ID: "e1", Source: "start", Target: "c"}, {ID: "e2", Source: "c", Target: "q", Label: "error"}},
			}
			f, err := c.svc.CreateFlow(ctx, c.owner, "spender", g)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			rep, err := c.svc.Replay(ctx, c.owner, f.ID, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			// Each spender run ends at MaxRunTime or, on a fast core a little
			// sooner, at MaxRunSteps: about 34 runs fit (36 were seen), never
			// all 60 (1.8 s), and the replay does not stop early either.
			least := int(chat.MaxReplayEvalTime/routing.MaxRunTime) / 2
			if !rep.Truncated || rep.Total < least || rep.Total >= convs {
				t.Fatalf("replayed %d of %d conversations (truncated %v), want %d to %d, truncated", rep.Total, convs, rep.Truncated, least, convs-1)
			}
			if took := time.Since(start); took > 3*chat.MaxReplayEvalTime {
				t.Errorf("the replay took %v", took)
			}
		})
	}
}
