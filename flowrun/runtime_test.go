package flowrun_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"kefu/chat"
	"kefu/flowrun"
	"kefu/routing"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// tenant is one workspace on a chat service with its flow runtime.
type tenant struct {
	ten    *tenants.Service
	svc    *chat.Service
	tenant tenants.Tenant
	owner  tenants.Principal
}

func newTenant(t *testing.T, store *tenants.Store, cfg flowrun.Config) *tenant {
	t.Helper()
	c := &tenant{ten: tenants.NewService(store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})}
	c.svc = chat.NewService(chat.Config{Tenants: c.ten, Bus: chat.NewLocalBus(), AllowPrivateNetworks: true})
	flowrun.New(c.svc, cfg)
	t.Cleanup(func() { c.svc.Close(context.Background()) })
	res, err := c.ten.Signup(context.Background(), tenants.SignupInput{Company: "Flow Co " + tenants.NewID()[24:], Email: "owner@example.com", Password: "password1", Name: "Olga"})
	if err != nil {
		t.Fatal(err)
	}
	c.tenant, c.owner = res.Tenant, c.auth(t, res.Token)
	return c
}

func (c *tenant) auth(t *testing.T, token string) tenants.Principal {
	t.Helper()
	p, err := c.ten.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// send opens a conversation from a new visitor.
func (c *tenant) send(t *testing.T, body string) string {
	t.Helper()
	ws, err := c.svc.StartWidgetSession(context.Background(), c.tenant.WidgetKey, "", chat.VisitorInput{Name: "Vera"})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := c.svc.Send(context.Background(), c.auth(t, ws.VisitorToken), chat.SendInput{ClientID: tenants.NewID(), Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return m.ConversationID
}

// waitRouted waits until a conversation's routing decision is logged.
func waitRouted(t *testing.T, svc *chat.Service, p tenants.Principal, conv string) chat.Conversation {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, _ := svc.Conversation(context.Background(), p, conv)
		evs, _ := svc.ConversationEvents(context.Background(), p, conv)
		if c.Status != chat.StatusBot && len(evs) > 0 {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("conversation %s was never routed (%s)", conv, c.Status)
		}
	}
}

// TestFlowRunsPerTenant: a tenant has at most Runs runs under way; a
// conversation whose run found no turn within RunWait is still routed
// (queued, with the reason logged), and the run that held the turn ends
// normally.
func TestFlowRunsPerTenant(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			hold := make(chan struct{})
			arrived := make(chan struct{}, 2)
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { arrived <- struct{}{}; <-hold }))
			defer hook.Close()
			defer close(hold)
			c := newTenant(t, b.Store, flowrun.Config{Runs: 1, RunWait: 100 * time.Millisecond})
			svc, owner := c.svc, c.owner
			g := routing.Graph{
				Nodes: []routing.Node{{ID: "start", Type: "start"}, {ID: "hook", Type: "webhook", Data: []byte(`{"url":"` + hook.URL + `","timeout_ms":10000}`)}, {ID: "wait", Type: "queue"}},
				Edges: []routing.Edge{{ID: "e1", Source: "start", Target: "hook"}, {ID: "e2", Source: "hook", Target: "wait"}, {ID: "e3", Source: "hook", Target: "wait", Label: "error"}},
			}
			f, err := svc.CreateFlow(ctx, owner, "Slow hook", g)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.PublishFlow(ctx, owner, f.ID, 0); err != nil {
				t.Fatal(err)
			}

			first := c.send(t, "first")
			select { // the first run is at the webhook, holding the turn
			case <-arrived:
			case <-time.After(10 * time.Second):
				t.Fatal("the first run never called its webhook")
			}
			second := c.send(t, "second")
			conv := waitRouted(t, svc, owner, second)
			if conv.Status != chat.StatusQueued {
				t.Fatalf("the second conversation is %s, want queued", conv.Status)
			}
			evs, _ := svc.ConversationEvents(ctx, owner, second)
			if len(evs) != 1 || !strings.Contains(string(evs[0].Detail), "the flow did not run") {
				t.Fatalf("the second conversation's routing log: %v", evs)
			}
			if evs, _ := svc.ConversationEvents(ctx, owner, first); len(evs) != 0 {
				t.Fatalf("the first run finished while its webhook was held: %s", evs[0].Detail)
			}
			hold <- struct{}{}
			conv = waitRouted(t, svc, owner, first)
			evs, _ = svc.ConversationEvents(ctx, owner, first)
			if conv.Status != chat.StatusQueued || len(evs) != 1 || !strings.Contains(string(evs[0].Detail), `"node":"hook"`) {
				t.Fatalf("the first conversation is %s after its run: %v", conv.Status, evs)
			}
		})
	}
}
