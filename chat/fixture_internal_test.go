package chat

import (
	"context"
	"testing"

	"kefu/routing"
	"kefu/tenants"
)

// newNode is a chat service on store (no flow runtime: package chat's
// tests decide as the runtime would, with decide), with its tenants
// service; it closes when the test ends. cfg's Tenants and, when nil, Bus
// are filled in.
func newNode(t *testing.T, store *tenants.Store, cfg Config) (*Service, *tenants.Service) {
	t.Helper()
	ten := tenants.NewService(store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
	cfg.Tenants = ten
	if cfg.Bus == nil {
		cfg.Bus = NewLocalBus()
	}
	s := NewService(cfg)
	t.Cleanup(func() { s.Close(context.Background()) })
	return s, ten
}

// signupFor makes a workspace named company (made unique) on ten.
func signupFor(t *testing.T, ten *tenants.Service, company string) tenants.SignupResult {
	t.Helper()
	res, err := ten.Signup(context.Background(), tenants.SignupInput{Company: company + " " + tenants.NewID()[24:], Email: "o@example.com", Password: "password1", Name: "O"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// decide does with a routing decision what the flow runtime (flowrun)
// does after a run: the bot's replies, the routing log, the new state.
// chat's own tests run without the runtime (it imports chat).
func decide(t *testing.T, s *Service, tenantID, convID string, res routing.Result) {
	t.Helper()
	ctx := context.Background()
	for _, text := range res.Replies {
		if _, err := s.BotReply(ctx, tenantID, convID, text); err != nil {
			t.Fatal(err)
		}
	}
	d := Decision{Event: routing.EventMessageCreated, Result: res}
	s.LogDecision(ctx, tenantID, convID, d)
	if _, err := s.ApplyDecision(ctx, tenantID, convID, d); err != nil {
		t.Fatal(err)
	}
}
